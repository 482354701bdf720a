process IMPORT_PREDICTIONS {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(predictions, stageAs: 'predictions/*')   // meta: id, model (or *), kind, dataset_map
    path(variants, stageAs: 'variants/*')                           // every variants table of the run

    output:
    tuple val(meta), path("${prefix}/*.external.scores.tsv"), emit: scores, optional: true
    tuple val(meta), path("${prefix}/import_report.tsv")    , emit: report
    path "versions.yml"                                      , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def model = meta.model && meta.model != '*' ? "--model ${meta.model}" : ''
    def dataset_map = meta.dataset_map ? "--dataset-map ${meta.dataset_map.tokenize(';').join(' ')}" : ''
    """
    regvarbench import-predictions \\
        --predictions ${predictions} \\
        --variants variants/*.variants.tsv \\
        ${model} --kind ${meta.kind ?: 'auto'} ${dataset_map} \\
        ${args} \\
        --outdir ${prefix}
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    regvarbench stub import-predictions --prefix ${prefix} --process "${task.process}"
    """
}
