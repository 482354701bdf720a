process EVALUATE {
    tag "${meta.id}"
    label 'process_low'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(variants, stageAs: 'variants/*'), path(scores, stageAs: 'scores/*'), path(models, stageAs: 'models/*')
    path(catalogue)   // models catalogue CSV, or []
    path(run_inputs, stageAs: 'inputs/?/*')   // files the run read (samplesheets, sources, peaks, genome): provenance

    output:
    tuple val(meta), path("${prefix}")  , emit: evaluation
    path "${prefix}/tables/provenance.tsv", emit: provenance   // also published to pipeline_info/
    path "versions.yml"                 , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'evaluation'   // the output folder
    def catalogue_arg = catalogue ? "--catalogue ${catalogue}" : ''
    """
    shopt -s nullglob
    training=(models/*/enhancer_detection.tsv)
    regvarbench evaluate \\
        --variants variants/*.variants.tsv \\
        --scores scores/*.scores.tsv \\
        \${training[@]:+--training "\${training[@]}"} \\
        ${catalogue_arg} \\
        --inputs inputs/*/* \\
        --model-dirs models/* \\
        ${args} \\
        --outdir ${prefix}
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: 'evaluation'
    """
    regvarbench stub evaluate --prefix ${prefix} --process "${task.process}"
    """
}
