process RANK {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(variants, stageAs: 'variants/*'), path(scores, stageAs: 'scores/*')

    output:
    tuple val(meta), path("ranked/*.ranked.tsv")        , emit: ranked      , optional: true
    tuple val(meta), path("ranked/*.top_candidates.tsv"), emit: top         , optional: true
    tuple val(meta), path("ranked/*.scores.vcf.gz*")    , emit: vcf         , optional: true
    path "versions.yml"                                 , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    mkdir -p ranked
    regvarbench rank \\
        --variants variants/*.variants.tsv \\
        --scores scores/*.scores.tsv \\
        ${args} \\
        --outdir ranked
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    mkdir -p ranked
    printf 'dataset\\tlocus_id\\tvariant_id\\n' > ranked/stub.ranked.tsv
    printf 'dataset\\tlocus_id\\tconsensus_rank\\n' > ranked/stub.top_candidates.tsv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
