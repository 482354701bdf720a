/*
 * Scatter: every window chunk of a dataset x every model trained for the dataset's cell line.
 */
include { MAKE_WINDOWS } from '../../../modules/local/make_windows'
include { SCORE        } from '../../../modules/local/score'
include { pipelineFacts } from '../utils_regvarbench_pipeline'

workflow SCORE_VARIANTS {
    take:
    ch_variants      // channel: [ val(meta: id = dataset, cell_line, format, genome_build), path(<dataset>.variants.tsv) ]
    ch_models        // channel: [ val(meta: id, model, cell_line, ...), path(<model>__<cell_line>/) ]
    ch_genome        // value channel: [ val(meta2: id), path(fasta), path(fai) ]
    chunks_per_task  // integer: window chunks one SCORE task scores (--score_chunks_per_task; 1: a task per chunk)

    main:
    MAKE_WINDOWS(ch_variants, ch_genome)

    // the chunk number of <dataset>.windows.<k>.tsv[.gz]: the package's pattern (x-pipeline.windows_chunk_regex)
    def chunkRegex = pipelineFacts().windows_chunk_regex
    ch_chunks = MAKE_WINDOWS.out.windows
        .flatMap { meta, files ->
            (files instanceof List ? files : [files]).collect { f ->
                def chunk = (f.name =~ chunkRegex)[0][1]
                [meta.cell_line, meta + [chunk: chunk], f]
            }
        }
    ch_pairs = ch_chunks
        .combine(ch_models.map { meta, dir -> [meta.cell_line, meta, dir] }, by: 0)
        .map { _cell_line, wmeta, windows, mmeta, dir -> [mmeta, dir, wmeta, windows] }
    ch_jobs = chunks_per_task > 1
        ? packChunks(ch_pairs, chunks_per_task)
        : ch_pairs.map { mmeta, dir, wmeta, windows ->
            [[id: "${mmeta.model}.${wmeta.id}.${wmeta.chunk}", model: mmeta.model, dataset: wmeta.id,
              cell_line: wmeta.cell_line, chunk: wmeta.chunk], dir, windows]
        }
    SCORE(ch_jobs, ch_genome)  // the genome gives track models their flanks

    emit:
    scores   = SCORE.out.scores   // channel: [ val(meta: id, model, cell_line, dataset, chunk (one chunk) or datasets, chunks (packed)), path(<model>.<dataset>.<chunk>.scores.tsv) or a list of them, one per chunk ]
    versions = MAKE_WINDOWS.out.versions.mix(SCORE.out.versions)   // channel: path(versions.yml), one per task
}

// Several window chunks per SCORE task: every chunk of a model's cell line, in (dataset, chunk)
// order, cut into groups of `size`, so that the same inputs give the same tasks (and -resume finds
// them). Waits for every chunk of the run before the first packed task starts. The score tables
// are those of one task per chunk: score writes <model>.<dataset>.<chunk>.scores.tsv for each.
def packChunks(ch_pairs, int size) {
    return ch_pairs
        .map { mmeta, dir, wmeta, windows -> [mmeta.id, mmeta, dir, wmeta, windows] }
        .groupTuple(by: 0)
        .flatMap { _id, mmetas, dirs, wmetas, files ->
            def order = (0..<wmetas.size()).toList().sort { a, b -> wmetas[a].id <=> wmetas[b].id ?: wmetas[a].chunk <=> wmetas[b].chunk }
            def mmeta = mmetas[0]
            order.collate(size).withIndex().collect { group, k ->
                [[id: "${mmeta.model}.${mmeta.cell_line}.pack${String.format('%05d', k)}", model: mmeta.model,
                  cell_line: mmeta.cell_line, datasets: group.collect { i -> wmetas[i].id },
                  chunks: group.collect { i -> wmetas[i].chunk }], dirs[0], group.collect { i -> files[i] }]
            }
        }
}
