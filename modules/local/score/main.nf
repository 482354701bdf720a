process SCORE {
    tag "${meta.id}"
    label 'process_low'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(model), path(windows)  // meta: [id, model, dataset, cell_line, chunk]
    tuple val(meta2), path(fasta), path(fai)   // the genome: track models embed each window in its genome flanks; others ignore it

    output:
    tuple val(meta), path("${prefix}.scores.tsv"), emit: scores
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"   // <model>.<dataset>.<chunk>
    """
    regvarbench score --model ${model} --windows ${windows} --genome ${fasta} --threads ${task.cpus} ${args} --prefix ${prefix} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench stub score --prefix ${prefix} --process "${task.process}"
    """
}
