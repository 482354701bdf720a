process ONESHOT {
    tag "${meta.id}"
    label 'process_gpu'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(split)   // meta: [id: "<model>_oneshot__<cell>" (the output folder), model, cell_line, family, catalogue_row (the model's catalogue row as CSV text: header + row; a cnn or hf row)]

    output:
    tuple val(meta), path("${meta.id}")                        , emit: model
    tuple val(meta), path("${meta.id}/enhancer_detection.tsv") , emit: metrics
    path "versions.yml"                                        , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // the catalogue row decides the family and its options (regvarbench.catalogue); nothing per family here
    def catalogue_lines = meta.catalogue_row.trim().readLines().collect { line -> "'" + line.replace("'", "'\\''") + "'" }.join(' ')
    """
    printf '%s\\n' ${catalogue_lines} > catalogue_row.csv
    regvarbench oneshot \\
        --data ${split} \\
        --catalogue catalogue_row.csv \\
        --model-name ${meta.model} \\
        --threads ${task.cpus} \\
        ${args} \\
        --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    """
    regvarbench stub oneshot --model-name ${meta.model} --cell-line ${meta.cell_line} --process "${task.process}"
    """
}
