process SIMULATE {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    val(meta)   // [id: seed label]

    output:
    tuple val(meta), path("${prefix}")                                                 , emit: benchmark
    tuple val(meta), path("${prefix}/genome.fa"), path("${prefix}/genome.fa.fai")     , emit: genome
    tuple val(meta), path("${prefix}/variants/sim_loci.region.vcf.gz")                 , emit: ld_vcf   // alleles of the LD exports
    path "versions.yml"                                                              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'simulation'   // the benchmark's folder
    """
    regvarbench simulate ${args} --outdir ${prefix}
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: 'simulation'
    """
    regvarbench stub simulate --prefix ${prefix} --process "${task.process}"
    """
}
