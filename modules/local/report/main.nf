process REPORT {
    tag "${meta.id}"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(evaluation)

    output:
    tuple val(meta), path("report") , emit: report
    path "versions.yml"             , emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    regvarbench report --evaluation ${evaluation} --pipeline-info ../pipeline_info ${args} --outdir report
    regvarbench versions --process "${task.process}" > versions.yml
    """

    stub:
    """
    mkdir -p report
    echo '<html><body>stub</body></html>' > report/index.html
    regvarbench versions --process "${task.process}" > versions.yml
    """
}
