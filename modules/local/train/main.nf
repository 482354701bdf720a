process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(split), path(phase1, stageAs: 'phase1/*')   // meta: [id: "<model>__<cell>", model, cell_line, architecture; hf: family, source, max_tokens, trust_remote_code; enformer/borzoi: source, tracks, input_length]; phase1: other cell lines' split tables (trednet phase one) or []

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
    def phase1_files = phase1 instanceof List ? phase1 : [phase1]   // one staged file comes as a path, not a list
    family_args += phase1_files ? " --phase1-data ${phase1_files.join(' ')}" : ''
    // trained families: one data-parallel process per GPU; with ext.checkpoint_dir, checkpoints that
    // outlive the task and a clean stop (exit 75) before its time runs out, so a retry continues
    def trained = meta.family in ['cnn', 'hf'] || !meta.family
    def runtime_args = trained && task.accelerator && task.accelerator.request > 1 ? "--processes ${task.accelerator.request}" : ''
    if (trained && task.ext.checkpoint_dir) {
        def time_limit = task.ext.time_limit != null ? task.ext.time_limit : (task.time ? (long) (task.time.toSeconds() * 0.9) : null)
        runtime_args += " --checkpoint-dir ${task.ext.checkpoint_dir}" + (time_limit != null ? " --time-limit ${time_limit}" : '')
    }
    """
    regvarbench train \\
        --data ${split} \\
        --model-name ${meta.model} \\
        ${family_args} \\
        --threads ${task.cpus} ${runtime_args} \\
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
