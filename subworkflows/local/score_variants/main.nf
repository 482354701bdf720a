/*
 * Scatter: every window chunk of a dataset x every model trained for the dataset's cell line.
 */
include { MAKE_WINDOWS } from '../../../modules/local/make_windows'
include { SCORE        } from '../../../modules/local/score'
include { pipelineFacts } from '../utils_regvarbench_pipeline'

workflow SCORE_VARIANTS {
    take:
    ch_variants  // channel: [ val(meta: id = dataset, cell_line, format, genome_build), path(<dataset>.variants.tsv) ]
    ch_models    // channel: [ val(meta: id, model, cell_line, ...), path(<model>__<cell_line>/) ]
    ch_genome    // value channel: [ val(meta2: id), path(fasta), path(fai) ]

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
    ch_jobs = ch_chunks
        .combine(ch_models.map { meta, dir -> [meta.cell_line, meta, dir] }, by: 0)
        .map { _cell_line, wmeta, windows, mmeta, dir ->
            [[id: "${mmeta.model}.${wmeta.id}.${wmeta.chunk}", model: mmeta.model, dataset: wmeta.id,
              cell_line: wmeta.cell_line, chunk: wmeta.chunk], dir, windows]
        }
    SCORE(ch_jobs, ch_genome)  // the genome gives track models their flanks

    emit:
    scores   = SCORE.out.scores   // channel: [ val(meta: id, model, dataset, cell_line, chunk), path(<model>.<dataset>.<chunk>.scores.tsv) ], one per model and chunk
    versions = MAKE_WINDOWS.out.versions.mix(SCORE.out.versions)   // channel: path(versions.yml), one per task
}
