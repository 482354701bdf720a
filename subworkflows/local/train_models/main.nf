/*
 * One training run per (model, cell line) pair; with `oneshot`, also the same model untrained
 * (pretrained or initial network + a linear probe) for the fine-tuned vs one-shot comparison.
 * trednet_like models also get the other cell lines' split tables as phase-one data; models scored as
 * published (trednet, sei, the study's checkpoints) only get their spec and detection table.
 */
include { TRAIN   } from '../../../modules/local/train'
include { ONESHOT } from '../../../modules/local/oneshot'
include { modelDirName; oneshotName } from '../utils_regvarbench_pipeline'

workflow TRAIN_MODELS {
    take:
    ch_split   // channel: [ val(meta: id = cell line), path(<cell>.split.tsv) ]
    ch_models  // channel: val(model map: model, family, architecture, trainable, trained, catalogue_row), one per selected catalogue row
    oneshot    // boolean: also score cnn and hf models without training (--oneshot)

    main:
    // every cell line's split table, sorted by cell line: trednet's phase one is multi-task over
    // the enhancer labels of all cell lines of the run (the job's own table is always a task)
    ch_all_splits = ch_split
        .toSortedList { a, b -> a[0].id <=> b[0].id }
        .map { pairs -> [pairs] }
    ch_jobs = ch_split
        .combine(ch_models)
        .combine(ch_all_splits)
        .map { meta, split, model, pairs ->
            def phase1 = model.architecture == 'trednet' ? pairs.findAll { pair -> pair[0].id != meta.id }.collect { pair -> pair[1] } : []
            [model + [id: modelDirName(model.model, meta.id), cell_line: meta.id], split, phase1]
        }
    TRAIN(ch_jobs)

    ch_oneshot_jobs = ch_jobs
        .filter { meta, _split, _phase1 -> oneshot && meta.trained }   // published models: nothing to compare
        .map { meta, split, _phase1 -> [meta + [id: modelDirName(oneshotName(meta.model), meta.cell_line)], split] }
    ONESHOT(ch_oneshot_jobs)
    // downstream, the one-shot model is a model of its own: <model>_oneshot
    ch_oneshot_model   = ONESHOT.out.model.map { meta, dir -> [meta + [model: oneshotName(meta.model)], dir] }
    ch_oneshot_metrics = ONESHOT.out.metrics.map { meta, f -> [meta + [model: oneshotName(meta.model)], f] }

    emit:
    model    = TRAIN.out.model.mix(ch_oneshot_model)       // channel: [ val(meta: id, model, cell_line, family, ...), path(<model>__<cell_line>/) ]
    metrics  = TRAIN.out.metrics.mix(ch_oneshot_metrics)   // channel: [ val(meta), path(enhancer_detection.tsv) ]
    versions = TRAIN.out.versions.mix(ONESHOT.out.versions)   // channel: path(versions.yml), one per task
}
