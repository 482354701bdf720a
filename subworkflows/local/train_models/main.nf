/*
 * One training run per (model, cell line) pair.
 */
include { TRAIN } from '../../../modules/local/train'

workflow TRAIN_MODELS {
    take:
    ch_split   // [meta(id: cell line), split.tsv]
    ch_models  // [model, family, architecture, source, ...] maps, one per selected catalogue row

    main:
    ch_jobs = ch_split
        .combine(ch_models)
        .map { meta, split, model ->
            [model + [id: "${model.model}__${meta.id}", cell_line: meta.id], split]
        }
    TRAIN(ch_jobs)

    emit:
    model    = TRAIN.out.model     // [meta(model, cell_line), model dir]
    metrics  = TRAIN.out.metrics   // [meta, enhancer_detection.tsv]
    versions = TRAIN.out.versions
}
