process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(split), path(phase1, stageAs: 'phase1/*')   // meta: [id: "<model>__<cell>" (the output folder), model, cell_line, family, trainable, trained (fitted here: a trainable cnn or hf row), catalogue_row (the model's catalogue row as CSV text: header + row)]; phase1: other cell lines' split tables (trednet_like phase one) or []

    output:
    tuple val(meta), path("${meta.id}")                           , emit: model
    tuple val(meta), path("${meta.id}/enhancer_detection.tsv")    , emit: metrics
    path "versions.yml"                                           , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // the catalogue row decides the family and its options (regvarbench.catalogue); nothing per family here
    def catalogue_lines = meta.catalogue_row.trim().readLines().collect { line -> "'" + line.replace("'", "'\\''") + "'" }.join(' ')
    def phase1_files = phase1 instanceof List ? phase1 : [phase1]   // one staged file comes as a path, not a list
    def phase1_args = phase1_files ? "--phase1-data ${phase1_files.join(' ')}" : ''
    // trained models: one data-parallel process per GPU; with ext.checkpoint_dir, checkpoints that
    // outlive the task and a clean stop (exit 75) before its time runs out, so a retry continues
    def trained = meta.trained ?: false   // fitted here (a cnn or hf row with trainable true; the pipeline's model selection says)
    def runtime_args = trained && task.accelerator && task.accelerator.request > 1 ? "--processes ${task.accelerator.request}" : ''
    if (trained && task.ext.checkpoint_dir) {
        def time_limit = task.ext.time_limit != null ? task.ext.time_limit : (task.time ? (long) (task.time.toSeconds() * 0.9) : null)
        runtime_args += " --checkpoint-dir ${task.ext.checkpoint_dir}" + (time_limit != null ? " --time-limit ${time_limit}" : '')
    }
    """
    printf '%s\\n' ${catalogue_lines} > catalogue_row.csv
    regvarbench train \\
        --data ${split} \\
        --catalogue catalogue_row.csv \\
        --model-name ${meta.model} \\
        --cell-line ${meta.cell_line} ${phase1_args} \\
        --threads ${task.cpus} ${runtime_args} \\
        ${args} \\
        --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    """
    regvarbench stub train --model-name ${meta.model} --cell-line ${meta.cell_line} --process "${task.process}"
    """
}
