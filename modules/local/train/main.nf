process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(split)   // meta: [id: "<model>__<cell>", model, cell_line, architecture; hf: family, source, max_tokens, trust_remote_code; enformer/borzoi: source, tracks, input_length]

    output:
    tuple val(meta), path("${meta.model}__${meta.cell_line}")                           , emit: model
    tuple val(meta), path("${meta.model}__${meta.cell_line}/enhancer_detection.tsv")    , emit: metrics
    path "versions.yml"                                                                 , emit: versions

    script:
    def args = task.ext.args ?: ''
    def hf = meta.family == 'hf'   // fine-tune a Hugging Face checkpoint; motif: a JASPAR PWM set, nothing to fit
    def tracks = meta.family in ['enformer', 'borzoi']   // one-shot track models: nothing is fitted
    def family_args = hf
        ? "--family ${meta.family} --source ${meta.source} --max-tokens ${meta.max_tokens ?: 512}" + (meta.trust_remote_code ? ' --trust-remote-code' : '')
        : tracks ? "--family ${meta.family} --source ${meta.source} --cell-line ${meta.cell_line} --tracks '${meta.tracks}'" + (meta.input_length ? " --input-length ${meta.input_length}" : '')
        : (meta.family == 'motif' ? "--family motif --cell-line ${meta.cell_line}" : "--architecture ${meta.architecture}")
    """
    regvarbench train \\
        --data ${split} \\
        --model-name ${meta.model} \\
        ${family_args} \\
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
