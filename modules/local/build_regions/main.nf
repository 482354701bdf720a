process BUILD_REGIONS {
    tag "${meta.id}"
    label 'process_low'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(dnase), path(h3k27ac), path(exons), path(tss), path(blacklist)  // meta.id = cell line; optional files as []
    tuple val(meta2), path(fasta), path(fai)   // the genome: meta2.id names it

    output:
    tuple val(meta), path("${prefix}.regions.tsv")         , emit: regions
    tuple val(meta), path("${prefix}.regions_summary.tsv") , emit: summary
    path "versions.yml"                                     , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def optional = [exons ? "--exons ${exons}" : '', tss ? "--tss ${tss}" : '', blacklist ? "--blacklist ${blacklist}" : ''].join(' ')
    """
    regvarbench build-regions \\
        --cell-line ${meta.id} \\
        --dnase ${dnase} \\
        --h3k27ac ${h3k27ac} \\
        --genome ${fasta} \\
        ${optional} \\
        ${args} \\
        --prefix ${prefix} \\
        --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench stub build-regions --prefix ${prefix} --process "${task.process}"
    """
}
