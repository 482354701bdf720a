process MAKE_WINDOWS {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(variants)      // meta.id = dataset
    tuple val(meta2), path(fasta), path(fai)   // the genome: meta2.id names it

    output:
    tuple val(meta), path("${prefix}.windows.*.tsv*")      , emit: windows   // one file per chunk (.tsv.gz: --layout loci)
    tuple val(meta), path("${prefix}.windows_summary.tsv") , emit: summary
    path "versions.yml"                                     , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench make-windows --variants ${variants} --genome ${fasta} ${args} --prefix ${prefix} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench stub make-windows --prefix ${prefix} --process "${task.process}"
    """
}
