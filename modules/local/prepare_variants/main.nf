process PREPARE_VARIANTS {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(source)        // meta: [id: dataset, cell_line, format, genome_build[, unavailable]]; [] when unavailable
    tuple val(meta2), path(fasta), path(fai)   // the genome, for its checks; [ [:], [], [] ] to skip them
    path chain                           // UCSC chain file for liftover; [] when none
    path ld_vcf                          // VCF giving the alleles of LD exports (ensembl_ld); [] when none

    output:
    tuple val(meta), path("${prefix}.variants.tsv") , emit: variants
    tuple val(meta), path("${prefix}.skipped.tsv")  , emit: skipped
    tuple val(meta), path("${prefix}.summary.tsv")  , emit: summary
    path "versions.yml"                              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def genome_arg = fasta ? "--genome ${fasta}" : ''
    def chain_arg = chain ? "--chain ${chain}" : ''
    def ld_vcf_arg = ld_vcf ? "--ld-vcf ${ld_vcf}" : ''
    // a dataset whose source file is missing: empty tables and a summary saying why
    def source_arg = source ? "--input ${source}" : "--unavailable '${(meta.unavailable ?: 'no source file').replace("'", '')}'"
    """
    regvarbench prepare-variants \\
        --dataset ${meta.id} \\
        --cell-line ${meta.cell_line} \\
        --format ${meta.format} \\
        --genome-build ${meta.genome_build} \\
        ${source_arg} \\
        ${genome_arg} \\
        ${chain_arg} \\
        ${ld_vcf_arg} \\
        ${args} \\
        --prefix ${prefix} \\
        --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench stub prepare-variants --prefix ${prefix} --process "${task.process}"
    """
}
