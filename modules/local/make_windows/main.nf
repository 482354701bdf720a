process MAKE_WINDOWS {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(variants)      // meta.id = dataset
    tuple path(genome), path(genome_fai)

    output:
    tuple val(meta), path("${meta.id}.windows.*.tsv*")     , emit: windows   // one file per chunk (.tsv.gz: --layout loci)
    tuple val(meta), path("${meta.id}.windows_summary.tsv") , emit: summary
    path "versions.yml"                                     , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    regvarbench make-windows --variants ${variants} --genome ${genome} ${args} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    printf 'variant_id\\tdataset\\tcell_line\\tref_seq\\talt_seq\\tn_padded\\tref_row\\tchrom\\twindow_start\\talt_start\\talt_end\\tvariant_class\\n' > ${meta.id}.windows.00000.tsv
    printf 'dataset\\tn_variants\\tn_chunks\\tn_padded_windows\\n' > ${meta.id}.windows_summary.tsv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
