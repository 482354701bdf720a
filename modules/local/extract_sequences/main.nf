process EXTRACT_SEQUENCES {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(regions)     // meta.id = cell line
    tuple path(genome), path(genome_fai)

    output:
    tuple val(meta), path("${meta.id}.sequences.tsv")         , emit: sequences
    tuple val(meta), path("${meta.id}.sequences_summary.tsv") , emit: summary
    path "versions.yml"                                       , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    regvarbench extract-sequences --regions ${regions} --genome ${genome} ${args} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    printf 'region_id\\tchrom\\tstart\\tend\\tlabel\\tcell_line\\tsequence\\n' > ${meta.id}.sequences.tsv
    printf 'cell_line\\tstep\\tcount\\n' > ${meta.id}.sequences_summary.tsv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
