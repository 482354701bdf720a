/*
 * Pipeline initialisation and completion: --help, parameter and samplesheet validation against
 * nextflow_schema.json (no plugin needed, so it works offline), model selection from the
 * catalogue, and run provenance in <outdir>/pipeline_info.
 */
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

workflow PIPELINE_INITIALISATION {
    main:
    def schema = new JsonSlurper().parse(file("${projectDir}/nextflow_schema.json").toFile())
    if (params.help) {
        log.info(helpText(schema))
        System.exit(0)
    }
    if (params.version) {
        log.info("${workflow.manifest.name} ${workflow.manifest.version}")
        System.exit(0)
    }
    validateParameters(schema)
    if (params.input || params.regions) {
        validateSamplesheets()
    }
    def selected = selectModels(file(params.model_catalogue), params.models.toString())
    writeParams()

    emit:
    models = channel.fromList(selected)   // one map per selected catalogue row
}

workflow PIPELINE_COMPLETION {
    take:
    ch_versions  // versions.yml files of every task

    main:
    ch_versions
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true)
}

// Every parameter definition of the schema, flattened: name -> property map.
def schemaProperties(Map schema) {
    def props = [:]
    (schema.get('$defs') ?: schema.definitions ?: [:]).each { _group, defn -> props.putAll(defn.properties ?: [:]) }
    props.putAll(schema.properties ?: [:])
    return props
}

// Check every parameter against its schema entry; fail once, naming each bad parameter.
def validateParameters(Map schema) {
    def props = schemaProperties(schema)
    def errors = []
    params.each { name, value ->
        if (name.contains('-')) {
            return  // Nextflow mirrors camel/kebab-case spellings; the canonical one is checked
        }
        def prop = props[name]
        if (prop == null) {
            errors << "--${name}: unknown parameter (see --help for the list)"
            return
        }
        if (value == null) {
            return
        }
        def type = prop.type instanceof List ? prop.type : [prop.type]
        if ('integer' in type && !(value instanceof Integer || value instanceof Long)) {
            errors << "--${name}: expected an integer, got '${value}'"
            return
        }
        if ('number' in type && !(value instanceof Number)) {
            errors << "--${name}: expected a number, got '${value}'"
            return
        }
        if ('boolean' in type && !(value instanceof Boolean)) {
            errors << "--${name}: expected true or false, got '${value}'"
            return
        }
        if (prop.minimum != null && value instanceof Number && value < prop.minimum) {
            errors << "--${name}: ${value} is below the minimum ${prop.minimum}"
        }
        if (prop.maximum != null && value instanceof Number && value > prop.maximum) {
            errors << "--${name}: ${value} is above the maximum ${prop.maximum}"
        }
        if (prop.enum && !(value.toString() in prop.enum.collect { it.toString() })) {
            errors << "--${name}: '${value}' is not one of ${prop.enum.join(', ')}"
        }
        if (prop.pattern && !(value.toString() ==~ prop.pattern)) {
            errors << "--${name}: '${value}' does not match ${prop.pattern}"
        }
        if (prop.format in ['file-path', 'directory-path'] && prop.exists && !(value.toString() ==~ /^[a-z0-9]+:\/\/.*/)) {
            if (!file(value.toString()).exists()) {
                errors << "--${name}: file not found: ${value}"
            }
        }
    }
    if ((params.input || params.regions) && !(params.input && params.regions && params.genome)) {
        errors << "--input, --regions and --genome go together (give all three, or none for the synthetic benchmark)"
    }
    if (errors) {
        error("Invalid parameters:\n  " + errors.join('\n  '))
    }
}

// Column and file checks of the samplesheets, before any task runs.
def validateSamplesheets() {
    def errors = []
    def checkSheet = { path, required ->
        def sheet = file(path)
        def rows = sheet.splitCsv(header: true, strip: true)
        def header = sheet.readLines().find { it.trim() }?.split(',')*.trim() ?: []
        def missing = required.findAll { !(it in header) }
        if (missing) {
            errors << "${path}: missing column(s) ${missing.join(', ')} (found: ${header.join(', ')})"
            return []
        }
        rows.eachWithIndex { row, i ->
            required.findAll { !(it in ['exons', 'tss', 'blacklist']) && !row[it] }.each { col ->
                errors << "${path}, row ${i + 1}: empty '${col}'"
            }
        }
        return rows
    }
    def regionRows = checkSheet(params.regions, ['cell_line', 'dnase', 'h3k27ac'])
    def datasetRows = checkSheet(params.input, ['dataset', 'cell_line', 'format', 'path'])
    def knownFormats = ['sure_raqtl', 'kircher2019_satmut', 'standard', 'ld_blocks']
    def cellLines = regionRows*.cell_line as Set
    datasetRows.each { row ->
        if (row.format && !(row.format in knownFormats)) {
            errors << "${params.input}: dataset '${row.dataset}' has unknown format '${row.format}' (known: ${knownFormats.join(', ')})"
        }
        if (row.cell_line && !(row.cell_line in cellLines)) {
            errors << "${params.input}: dataset '${row.dataset}' is for cell line '${row.cell_line}', which has no row in ${params.regions} (no model would be trained for it)"
        }
    }
    def duplicated = datasetRows*.dataset.countBy { it }.findAll { _k, n -> n > 1 }.keySet()
    if (duplicated) {
        errors << "${params.input}: dataset names must be unique; repeated: ${duplicated.join(', ')}"
    }
    if (errors) {
        error("Invalid samplesheet:\n  " + errors.join('\n  '))
    }
}

// The catalogue rows named by --models (comma-separated), in the order given.
def selectModels(catalogue, String wanted) {
    def rows = catalogue.splitCsv(header: true, strip: true)
    def byName = rows.collectEntries { row -> [(row.model): row] }
    def names = wanted.tokenize(',')*.trim().findAll { it }
    def unknown = names.findAll { !byName.containsKey(it) }
    if (unknown) {
        error("--models: unknown model(s) ${unknown.join(', ')}; the catalogue ${catalogue} has: ${byName.keySet().join(', ')}")
    }
    def unsupported = names.findAll { byName[it].family != 'cnn' }
    if (unsupported) {
        error("--models: ${unsupported.join(', ')} belong to families this version cannot train yet (only 'cnn')")
    }
    return names.collect { name -> [model: name, family: byName[name].family, architecture: byName[name].source.replaceFirst(/^arch:/, '')] }
}

// The parameters of this run, as JSON, for provenance.
def writeParams() {
    def dir = file("${params.outdir}/pipeline_info")
    dir.mkdirs()
    def stamp = new java.util.Date().format('yyyy-MM-dd_HH-mm-ss')
    dir.resolve("params_${stamp}.json").text = JsonOutput.prettyPrint(JsonOutput.toJson(params.findAll { k, _v -> !k.contains('-') }))
}

// Grouped help from the schema.
def helpText(Map schema) {
    def lines = ["", "${schema.title ?: workflow.manifest.name}", "${schema.description ?: ''}", "",
                 "Usage: nextflow run . -profile <docker|slurm|gpu|test,...> [--input datasets.csv --regions regions.csv --genome genome.fa] --outdir results", ""]
    (schema.get('$defs') ?: schema.definitions ?: [:]).each { _key, group ->
        lines << "${group.title}:"
        (group.properties ?: [:]).each { name, prop ->
            def dflt = prop.default != null ? " [default: ${prop.default}]" : ''
            def choices = prop.enum ? " (${prop.enum.join('|')})" : ''
            lines << "  --${name.padRight(22)} ${prop.description ?: ''}${choices}${dflt}"
        }
        lines << ""
    }
    return lines.join('\n')
}
