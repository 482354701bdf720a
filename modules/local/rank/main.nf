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
    prefix = task.ext.prefix ?: 'ranked'
    """
    mkdir -p ${prefix}
    printf 'dataset\\tlocus_id\\tvariant_id\\n' > ${prefix}/stub.ranked.tsv
    printf 'dataset\\tlocus_id\\tconsensus_rank\\n' > ${prefix}/stub.top_candidates.tsv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
