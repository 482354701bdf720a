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
    prefix = task.ext.prefix ?: 'simulation'
    """
    mkdir -p ${prefix}/peaks ${prefix}/annotation ${prefix}/variants
    printf '>chr1\\nACGT\\n' > ${prefix}/genome.fa
    printf 'chr1\\t4\\t6\\t4\\t5\\n' > ${prefix}/genome.fa.fai
    touch ${prefix}/peaks/HepG2.dnase.narrowPeak ${prefix}/peaks/HepG2.h3k27ac.bed
    touch ${prefix}/annotation/exons.bed ${prefix}/annotation/tss.bed ${prefix}/annotation/blacklist.bed
    touch ${prefix}/variants/sim_raqtl_HepG2.txt.gz ${prefix}/variants/sim_loci.region.vcf.gz
    printf 'cell_line,dnase,h3k27ac,exons,tss,blacklist,genome\\nHepG2,peaks/HepG2.dnase.narrowPeak,peaks/HepG2.h3k27ac.bed,annotation/exons.bed,annotation/tss.bed,annotation/blacklist.bed,genome.fa\\n' > ${prefix}/regions.csv
    printf 'dataset,cell_line,format,path,genome_build\\nsim_raqtl_HepG2,HepG2,sure_raqtl,variants/sim_raqtl_HepG2.txt.gz,sim1\\n' > ${prefix}/datasets.csv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
