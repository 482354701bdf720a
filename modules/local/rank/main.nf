process RANK {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(variants, stageAs: 'variants/*'), path(scores, stageAs: 'scores/*')

    output:
    tuple val(meta), path("${prefix}/*.ranked.tsv")        , emit: ranked      , optional: true
    tuple val(meta), path("${prefix}/*.top_candidates.tsv"), emit: top         , optional: true
    tuple val(meta), path("${prefix}/*.scores.vcf.gz*")    , emit: vcf         , optional: true
    path "versions.yml"                                 , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'ranked'   // the output folder
    """
    mkdir -p ${prefix}
    regvarbench rank \\
        --variants variants/*.variants.tsv \\
        --scores scores/*.scores.tsv \\
        ${args} \\
        --outdir ${prefix}
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: 'ranked'
    """
    regvarbench stub rank --prefix ${prefix} --process "${task.process}"
    """
}
