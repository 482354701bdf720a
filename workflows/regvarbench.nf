/*
 * The whole DAG: training sets and models per cell line, variants scattered over models and
 * chunks, gathered into one evaluation and one report.
 */
include { TRAINING_SET     } from '../subworkflows/local/training_set'
include { TRAIN_MODELS     } from '../subworkflows/local/train_models'
include { SCORE_VARIANTS   } from '../subworkflows/local/score_variants'
include { PREPARE_VARIANTS } from '../modules/local/prepare_variants'
include { EVALUATE         } from '../modules/local/evaluate'
include { REPORT           } from '../modules/local/report'

workflow REGVARBENCH {
    take:
    ch_regions   // [meta(id: cell line), dnase, h3k27ac, exons, tss, blacklist]
    ch_datasets  // [meta(id: dataset, cell_line, format, genome_build), source]
    ch_genome    // value: [fasta, fai]
    ch_chain     // value: chain file for liftover, or []
    ch_models    // [model, family, architecture] maps
    catalogue    // models catalogue CSV

    main:
    TRAINING_SET(ch_regions, ch_genome)
    TRAIN_MODELS(TRAINING_SET.out.split, ch_models, params.oneshot.toString().toBoolean())

    PREPARE_VARIANTS(ch_datasets, ch_genome, ch_chain)
    SCORE_VARIANTS(PREPARE_VARIANTS.out.variants, TRAIN_MODELS.out.model, ch_genome)

    // gather: one evaluation over every dataset, score chunk and trained model
    ch_gathered = PREPARE_VARIANTS.out.variants.map { _meta, f -> f }.collect(sort: true).map { files -> [files] }
        .combine(SCORE_VARIANTS.out.scores.map { _meta, f -> f }.collect(sort: true).map { files -> [files] })
        .combine(TRAIN_MODELS.out.model.map { _meta, d -> d }.collect(sort: true).map { files -> [files] })
        .map { variants, scores, models -> [[id: 'all'], variants, scores, models] }
    EVALUATE(ch_gathered, catalogue)
    REPORT(EVALUATE.out.evaluation)

    ch_versions = TRAINING_SET.out.versions.mix(
        TRAIN_MODELS.out.versions, PREPARE_VARIANTS.out.versions, SCORE_VARIANTS.out.versions,
        EVALUATE.out.versions, REPORT.out.versions)

    emit:
    report   = REPORT.out.report
    versions = ch_versions
}
