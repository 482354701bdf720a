process REPORT {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(evaluation)
    path(variant_summary)   // variants/summary.tsv (every dataset's accounting), or []

    output:
    tuple val(meta), path("report") , emit: report
    path "versions.yml"             , emit: versions

    script:
    def args = task.ext.args ?: ''
    def summary_arg = variant_summary ? "--variant-summary ${variant_summary}" : ''
    """
    regvarbench report --evaluation ${evaluation} --pipeline-info ../pipeline_info ${summary_arg} ${args} --outdir report
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    mkdir -p report
    echo '<html><body>stub</body></html>' > report/index.html
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
