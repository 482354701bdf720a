process ONESHOT {
    tag "${meta.id}"
    label 'process_gpu'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(split)   // meta: [id: "<model>_oneshot__<cell>", model, cell_line, family, architecture; hf: source, max_tokens, trust_remote_code]

    output:
    tuple val(meta), path("${meta.model}_oneshot__${meta.cell_line}")                        , emit: model
    tuple val(meta), path("${meta.model}_oneshot__${meta.cell_line}/enhancer_detection.tsv") , emit: metrics
    path "versions.yml"                                                                      , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def family_args = meta.family == 'hf'
        ? "--family hf --source ${meta.source}" + (meta.max_tokens ? " --max-tokens ${meta.max_tokens}" : '') + (meta.trust_remote_code ? ' --trust-remote-code' : '')
        : "--family cnn --architecture ${meta.architecture}"
    """
    regvarbench oneshot \\
        --data ${split} \\
        --model-name ${meta.model} \\
        ${family_args} \\
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
