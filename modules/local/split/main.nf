process SPLIT {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(sequences)   // meta.id = cell line

    output:
    tuple val(meta), path("${meta.id}.split.tsv")         , emit: split
    tuple val(meta), path("${meta.id}.split_summary.tsv") , emit: summary
    path "versions.yml"                                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    regvarbench split --sequences ${sequences} ${args} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    printf 'region_id\\tchrom\\tstart\\tend\\tlabel\\tcell_line\\tsequence\\tsplit\\n' > ${meta.id}.split.tsv
    printf 'cell_line\\tsplit\\tlabel\\tcount\\n' > ${meta.id}.split_summary.tsv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
