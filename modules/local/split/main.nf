process SPLIT {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(sequences)   // meta.id = cell line

    output:
    tuple val(meta), path("${prefix}.split.tsv")         , emit: split
    tuple val(meta), path("${prefix}.split_summary.tsv") , emit: summary
    path "versions.yml"                                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench split --sequences ${sequences} ${args} --prefix ${prefix} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench stub split --prefix ${prefix} --process "${task.process}"
    """
}
