process REPORT {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(evaluation)
    path(variant_summary)   // variants/summary.tsv (every dataset's accounting), or []
    path(ranked, stageAs: 'ranked/*')   // RANK's <dataset>.ranked.tsv and .top_candidates.tsv (a section per locus), or []
    path(run_info)          // run_info.json (Nextflow, the run, its parameters and records), or []
    path(task_versions)     // the versions.yml blocks of the run's tasks, concatenated, or []

    output:
    tuple val(meta), path("${prefix}"), emit: report
    path "versions.yml"             , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'report'   // the output folder
    def summary_arg = variant_summary ? "--variant-summary ${variant_summary}" : ''
    def run_info_arg = run_info ? "--run-info ${run_info}" : ''
    def versions_arg = task_versions ? "--software-versions ${task_versions}" : ''
    def ranked_arg = ranked ? "--ranked ranked" : ''
    """
    regvarbench report --evaluation ${evaluation} ${summary_arg} ${ranked_arg} ${run_info_arg} ${versions_arg} ${args} --outdir ${prefix}
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    // the outputs, header-only with their contract's columns, and versions.yml: one call (regvarbench.stub)
    prefix = task.ext.prefix ?: 'report'
    """
    regvarbench stub report --prefix ${prefix} --process "${task.process}"
    """
}
