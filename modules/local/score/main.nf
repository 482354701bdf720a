process SCORE {
    tag "${meta.id}"
    label 'process_low'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(model), path(windows)  // meta: [id, model, cell_line; one chunk: dataset, chunk; packed: datasets, chunks]; windows: one chunk or several
    tuple val(meta2), path(fasta), path(fai)   // the genome: track models embed each window in its genome flanks; others ignore it

    output:
    tuple val(meta), path("${meta.chunks != null ? '*' : prefix}.scores.tsv"), emit: scores   // one table per windows file
    path "versions.yml"                                                  , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"   // one chunk: <model>.<dataset>.<chunk>
    // a packed task (meta.chunks, --score_chunks_per_task): score names each table <model>.<dataset>.<chunk>.scores.tsv
    def packed = meta.chunks != null
    """
    regvarbench score --model ${model} --windows ${windows} --genome ${fasta} --threads ${task.cpus} ${args} ${packed ? '' : "--prefix ${prefix}"} --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    def packed = meta.chunks != null
    """
    regvarbench stub score ${packed ? "--model-name ${meta.model} --windows ${windows}" : "--prefix ${prefix}"} --process "${task.process}"
    """
}
