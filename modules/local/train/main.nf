process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(split)   // meta: [id: "<model>__<cell>", model, cell_line, architecture]

    output:
    tuple val(meta), path("${meta.model}__${meta.cell_line}")                           , emit: model
    tuple val(meta), path("${meta.model}__${meta.cell_line}/enhancer_detection.tsv")    , emit: metrics
    path "versions.yml"                                                                 , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    regvarbench train \\
        --data ${split} \\
        --model-name ${meta.model} \\
        --architecture ${meta.architecture} \\
        --threads ${task.cpus} \\
        ${args} \\
        --outdir .
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    mkdir -p ${meta.model}__${meta.cell_line}
    touch ${meta.model}__${meta.cell_line}/model.pt ${meta.model}__${meta.cell_line}/spec.json
    printf 'model\\tcell_line\\tsplit\\tn\\tauroc\\tauprc\\tf1\\n' > ${meta.model}__${meta.cell_line}/enhancer_detection.tsv
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
