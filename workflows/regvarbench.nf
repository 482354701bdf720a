/*
 * The whole DAG: training sets and models per cell line, variants scattered over models and
 * chunks, external predictions imported beside them, gathered into one evaluation and one report.
 * With --models none (a --predictions-only run) no training set is built and nothing is trained;
 * with --model_dir the models come from an earlier run's models/ folder, also without training.
 */
include { TRAINING_SET     } from '../subworkflows/local/training_set'
include { TRAIN_MODELS     } from '../subworkflows/local/train_models'
include { SCORE_VARIANTS   } from '../subworkflows/local/score_variants'
include { PREPARE_VARIANTS } from '../modules/local/prepare_variants'
include { IMPORT_PREDICTIONS } from '../modules/local/import_predictions'
include { modelNames; preparedModels; missingModelDir } from '../subworkflows/local/utils_regvarbench_pipeline'
include { EVALUATE         } from '../modules/local/evaluate'
include { REPORT           } from '../modules/local/report'
include { RANK             } from '../modules/local/rank'

workflow REGVARBENCH {
    take:
    ch_regions         // channel: [ val(meta: id = cell line), path(dnase), path(h3k27ac), path(exons), path(tss), path(blacklist) ]; optional files as []
    ch_datasets        // channel: [ val(meta: id = dataset, cell_line, format, genome_build[, unavailable]), path(source) or [] ]
    ch_genome          // value channel: [ val(meta2: id), path(fasta), path(fai) ], or [ [:], [], [] ] without --genome
    ch_chain           // value channel: path(chain) for liftover, or []
    ch_ld_vcf          // value channel: path(vcf) giving the alleles of LD exports (--ld_vcf), or []
    ch_models          // channel: val(model map), one per selected catalogue row (model, family, architecture, trainable, trained, catalogue_row)
    catalogue          // path: the models catalogue CSV
    ch_predictions     // channel: [ val(meta: id, model, kind, dataset_map), path(prediction table) ], one per --predictions row
    ch_run_info        // channel: path(run_info.json), one file: Nextflow, the run, its parameters and records
    ch_input_versions  // channel: path(versions.yml) of the tasks that made the inputs (SIMULATE), or empty

    main:
    def has_models = !modelNames(params.models.toString()).isEmpty()
    def oneshot = params.oneshot.toString().toBoolean()
    // --model_dir: the models an earlier run prepared, for every cell line of the datasets; no
    // training set is built and nothing is trained
    TRAINING_SET(has_models && !params.model_dir ? ch_regions : channel.empty(), ch_genome)
    TRAIN_MODELS(TRAINING_SET.out.split, ch_models, oneshot)
    ch_prepared = params.model_dir
        ? ch_models.combine(ch_datasets.filter { meta, _source -> !meta.unavailable }.map { meta, _source -> meta.cell_line }.unique())
            .flatMap { model, cell_line ->
                def prepared = preparedModels(model, cell_line, oneshot)
                def missing = missingModelDir(prepared)
                if (missing) {
                    error(missing)
                }
                return prepared
            }
        : TRAIN_MODELS.out.model

    PREPARE_VARIANTS(ch_datasets, ch_genome, ch_chain, ch_ld_vcf)
    // a dataset whose source was unavailable has no variants: reported (its summary), not scored
    ch_scorable = PREPARE_VARIANTS.out.variants.filter { meta, _variants -> !meta.unavailable }
    SCORE_VARIANTS(has_models ? ch_scorable : channel.empty(), ch_prepared, ch_genome, params.score_chunks_per_task as int)
    ch_all_variants = PREPARE_VARIANTS.out.variants.map { _meta, f -> f }.collect(sort: true)
    IMPORT_PREDICTIONS(ch_predictions, ch_all_variants)

    // gather: one evaluation over every dataset, score chunk and trained model
    // (imported score tables join the computed ones; a run without models gathers no model dirs)
    ch_gathered = ch_all_variants.map { files -> [files] }
        .combine(SCORE_VARIANTS.out.scores.flatMap { _meta, files -> files instanceof List ? files : [files] }
            .mix(IMPORT_PREDICTIONS.out.scores.flatMap { _meta, files -> files instanceof List ? files : [files] })
            .collect(sort: true).map { files -> [files] })
        .combine(ch_prepared.map { _meta, d -> d }.collect(sort: true).ifEmpty([]).map { files -> [files] })
        .map { variants, scores, models -> [[id: 'all'], variants, scores, models] }
    // provenance: every file the run read, hashed by EVALUATE (samplesheets, sources, peaks, genome, chain)
    ch_run_inputs = ch_regions.flatMap { row -> row.drop(1).flatten() }
        .mix(ch_datasets.map { _meta, source -> source }, ch_predictions.map { _meta, table -> table })
        .mix(ch_genome.flatMap { _meta2, fasta, fai -> [fasta, fai].flatten() }, ch_chain.flatten(), ch_ld_vcf.flatten())
        .mix(channel.fromList([params.input, params.regions, params.predictions].findAll { sheet -> sheet }.collect { sheet -> file(sheet) }))
        .unique()
        .collect(sort: true)
        .ifEmpty([])
    EVALUATE(ch_gathered, catalogue, ch_run_inputs)
    // loci (LD exports, ld_blocks) and datasets without measured effects: ranked variants, consensus, VCF
    RANK(ch_gathered.map { meta, variants, scores, _models -> [meta, variants, scores] })
    // every dataset's accounting (rows in/kept/skipped, allele audit) in one table, also shown in the report
    ch_variant_summary = PREPARE_VARIANTS.out.summary.map { _meta, f -> f }
        .collectFile(name: 'summary.tsv', keepHeader: true, skip: 1, sort: { f -> f.name }, storeDir: "${params.outdir}/variants")
        .ifEmpty([])
    // the provenance table (sha256 of every input and model file) also beside Nextflow's own run records
    EVALUATE.out.provenance.subscribe { table -> table.copyTo(file("${params.outdir}/pipeline_info/provenance.tsv")) }
    // the ranked loci (tables of every dataset RANK ranked): the report's section per locus
    ch_ranked = RANK.out.ranked.mix(RANK.out.top).flatMap { _meta, files -> files instanceof List ? files : [files] }
        .collect(sort: true).ifEmpty([])
    // the software versions of every task before REPORT, for its run-metadata section
    ch_task_versions = ch_input_versions.mix(TRAINING_SET.out.versions,
        TRAIN_MODELS.out.versions, PREPARE_VARIANTS.out.versions, SCORE_VARIANTS.out.versions,
        IMPORT_PREDICTIONS.out.versions, EVALUATE.out.versions, RANK.out.versions)
    REPORT(EVALUATE.out.evaluation, ch_variant_summary, ch_ranked, ch_run_info,
           ch_task_versions.unique().collectFile(name: 'task_versions.yml', sort: true))

    ch_versions = ch_task_versions.mix(REPORT.out.versions)

    emit:
    report   = REPORT.out.report  // channel: [ val(meta: id = 'all'), path(report/) ]
    versions = ch_versions        // channel: path(versions.yml), one per task
}
