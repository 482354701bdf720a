process SIMULATE {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    val(meta)   // [id: seed label]

    output:
    tuple val(meta), path("simulation")                                              , emit: benchmark
    tuple val(meta), path("simulation/genome.fa"), path("simulation/genome.fa.fai")  , emit: genome
    tuple val(meta), path("simulation/variants/sim_loci.region.vcf.gz")              , emit: ld_vcf   // alleles of the LD exports
    path "versions.yml"                                                              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    regvarbench simulate ${args} --outdir simulation
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    mkdir -p simulation/peaks simulation/annotation simulation/variants
    printf '>chr1\\nACGT\\n' > simulation/genome.fa
    printf 'chr1\\t4\\t6\\t4\\t5\\n' > simulation/genome.fa.fai
    touch simulation/peaks/HepG2.dnase.narrowPeak simulation/peaks/HepG2.h3k27ac.bed
    touch simulation/annotation/exons.bed simulation/annotation/tss.bed simulation/annotation/blacklist.bed
    touch simulation/variants/sim_raqtl_HepG2.txt.gz simulation/variants/sim_loci.region.vcf.gz
    printf 'cell_line,dnase,h3k27ac,exons,tss,blacklist,genome\\nHepG2,peaks/HepG2.dnase.narrowPeak,peaks/HepG2.h3k27ac.bed,annotation/exons.bed,annotation/tss.bed,annotation/blacklist.bed,genome.fa\\n' > simulation/regions.csv
    printf 'dataset,cell_line,format,path,genome_build\\nsim_raqtl_HepG2,HepG2,sure_raqtl,variants/sim_raqtl_HepG2.txt.gz,sim1\\n' > simulation/datasets.csv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
