/*
 * Pipeline initialisation and completion: --help, parameter and samplesheet validation against
 * nextflow_schema.json (no plugin needed, so it works offline), model selection from the
 * catalogue, and run provenance in <outdir>/pipeline_info.
 */
workflow PIPELINE_INITIALISATION {
    main:
    def schema = new groovy.json.JsonSlurper().parse(file("${projectDir}/nextflow_schema.json").toFile())
    if (asBoolean(params.help)) {
        log.info(helpText(schema))
        System.exit(0)
    }
    if (asBoolean(params.version)) {
        log.info("${workflow.manifest.name} ${workflow.manifest.version}")
        System.exit(0)
    }
    validateParameters(schema)
    if (params.input || params.regions) {
        validateSamplesheets()
    }
    if (params.predictions) {
        validatePredictions(file(params.predictions), file("${projectDir}/assets/schema_predictions.json"))
    }
    def selected = selectModels(file(params.model_catalogue), params.models.toString())
    def params_file = writeParams()
    // what the report's run-metadata section shows: Nextflow, the run, every parameter, where the
    // run records lie (also published as pipeline_info/run_info.json)
    ch_run_info = channel.of(groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(runInfo(params_file))))
        .collectFile(name: 'run_info.json', storeDir: "${params.outdir}/pipeline_info")

    emit:
    models   = channel.fromList(selected)   // channel: val(model map: model, family, architecture, trainable, trained, catalogue_row), one per selected catalogue row
    run_info = ch_run_info                  // channel: path(run_info.json), one file
}

workflow PIPELINE_COMPLETION {
    take:
    ch_versions  // channel: path(versions.yml), one per task

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
            errors << "--${name}: unknown parameter (see --help for the list)" +
                (name in ['max_cpus', 'max_memory', 'max_time'] ? "; the resource caps are Nextflow's process.resourceLimits now: set them in a -c config (docs/usage.md, \"Resources and clusters\")" : '')
            return
        }
        if (value == null) {
            return
        }
        def type = prop.type instanceof List ? prop.type : [prop.type]
        def typed = coerce(value, type)
        if ('integer' in type && !(typed instanceof Integer || typed instanceof Long)) {
            errors << "--${name}: expected an integer, got '${typed}'"
            return
        }
        if ('number' in type && !(typed instanceof Number)) {
            errors << "--${name}: expected a number, got '${typed}'"
            return
        }
        if ('boolean' in type && !(typed instanceof Boolean)) {
            errors << "--${name}: expected true or false, got '${typed}'"
            return
        }
        if (prop.minimum != null && typed instanceof Number && typed < prop.minimum) {
            errors << "--${name}: ${typed} is below the minimum ${prop.minimum}"
        }
        if (prop.maximum != null && typed instanceof Number && typed > prop.maximum) {
            errors << "--${name}: ${typed} is above the maximum ${prop.maximum}"
        }
        if (prop.enum && !(typed.toString() in prop.enum.collect { choice -> choice.toString() })) {
            errors << "--${name}: '${typed}' is not one of ${prop.enum.join(', ')}"
        }
        if (prop.pattern && !(typed.toString() ==~ prop.pattern)) {
            errors << "--${name}: '${typed}' does not match ${prop.pattern}"
        }
        if (prop.format in ['file-path', 'directory-path'] && prop.exists && !(typed.toString() ==~ /^[a-z0-9]+:\/\/.*/)) {
            if (!file(typed.toString()).exists()) {
                errors << "--${name}: file not found: ${typed}"
            }
        }
    }
    def noModels = !modelNames(params.models.toString())
    if (noModels && params.genome && !params.input) {
        errors << "--genome needs --input (with --models none, --regions is not needed and --genome is optional: without it the variants are not checked against a genome)"
    }
    else if (!noModels && params.model_dir && (params.input || params.regions) && !(params.input && params.genome)) {
        errors << "--model_dir with your own data needs --input and --genome (the models are not trained: --regions is not needed)"
    }
    else if (!noModels && !params.model_dir && (params.input || params.regions) && !(params.input && params.regions && params.genome)) {
        errors << "--input, --regions and --genome go together (give all three, or none for the synthetic benchmark)" +
            (vcfInput() ? "; to score a VCF with models trained before, give --model_dir (-profile predict)" : '')
    }
    if (workflow.profile.tokenize(',').contains('test_full')) {
        // the full-size test runs on the study's data: a missing folder is named, not a row of warnings
        def missing = ['', 'experimental', 'predictions'].collect { sub -> file("${params.published}/${sub}") }.find { dir -> !dir.isDirectory() }
        if (missing) {
            errors << "-profile test_full: the study's data folder ${missing} not found (give --published DIR, the folder holding the study's experimental/ and predictions/ files; docs/usage.md#the-full-size-test--profile-test_full)"
        }
    }
    if (workflow.profile.tokenize(',').contains('study') && !params.published) {
        errors << "-profile study needs --published DIR: the folder holding the study's experimental/ and predictions/ files (docs/usage.md#reproducing-the-study)"
    }
    if (noModels && !params.predictions) {
        errors << "--models none: nothing to evaluate without --predictions"
    }
    if (vcfInput() && !params.cell_line) {
        errors << "--input ${params.input} is a VCF: give --cell_line, the cell line whose models score it"
    }
    if (params.cell_line && !vcfInput()) {
        errors << "--cell_line applies to a VCF given as --input (a samplesheet names each dataset's cell line)"
    }
    if (workflow.profile.tokenize(',').contains('predict') && !params.model_dir) {
        errors << "-profile predict needs --model_dir DIR: the models/ folder of an earlier run (docs/usage.md#scoring-your-own-variants)"
    }
    if (params.model_dir && noModels) {
        errors << "--model_dir needs --models: the models to take from it"
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
        def rows = sheet.splitCsv(header: true, strip: true, quote: '"')  // quoted cells may hold commas
        def header = (sheet.readLines().find { line -> line.trim() }?.split(',') ?: []).collect { col -> col.trim() }
        def missing = required.findAll { col -> !(col in header) }
        if (missing) {
            errors << "${path}: missing column(s) ${missing.join(', ')} (found: ${header.join(', ')})"
            return []
        }
        rows.eachWithIndex { row, i ->
            required.findAll { col -> !(col in ['exons', 'tss', 'blacklist']) && !row[col] }.each { col ->
                errors << "${path}, row ${i + 1}: empty '${col}'"
            }
        }
        return rows
    }
    def regionRows = params.regions ? checkSheet(params.regions, ['cell_line', 'dnase', 'h3k27ac']) : null
    def datasetRows = vcfInput() ? [vcfInputRow()] : checkSheet(params.input, ['dataset', 'cell_line', 'format', 'path'])
    // the format list has one source: assets/schema_datasets.json (its enum is the parsers' registry, tested)
    def knownFormats = new groovy.json.JsonSlurper().parse(file("${projectDir}/assets/schema_datasets.json").toFile()).items.properties.format.enum
    def cellLines = (regionRows ?: []).collect { row -> row.cell_line }.toSet()
    datasetRows.each { row ->
        if (row.format && !(row.format in knownFormats)) {
            errors << "${params.input}: dataset '${row.dataset}' has unknown format '${row.format}' (known: ${knownFormats.join(', ')})"
        }
        if (regionRows != null && row.cell_line && !(row.cell_line in cellLines)) {
            errors << "${params.input}: dataset '${row.dataset}' is for cell line '${row.cell_line}', which has no row in ${params.regions} (no model would be trained for it)"
        }
    }
    def duplicated = datasetRows.collect { row -> row.dataset }.countBy { name -> name }.findAll { _name, n -> n > 1 }.keySet()
    if (duplicated) {
        errors << "${params.input}: dataset names must be unique; repeated: ${duplicated.join(', ')}"
    }
    if (errors) {
        error("Invalid samplesheet:\n  " + errors.join('\n  '))
    }
}

// The predictions samplesheet against assets/schema_predictions.json (required columns, enums,
// patterns: the schema is the only list of its columns), before any task; one message per problem.
def validatePredictions(sheet, schemaFile) {
    def items = new groovy.json.JsonSlurper().parse(schemaFile.toFile()).items
    def errors = []
    def header = (sheet.readLines().find { line -> line.trim() }?.split(',') ?: []).collect { col -> col.trim() }
    def missing = items.required.findAll { col -> !(col in header) }
    if (missing) {
        error("Invalid samplesheet:\n  ${sheet}: missing column(s) ${missing.join(', ')} (found: ${header.join(', ')})")
    }
    def rows = sheet.splitCsv(header: true, strip: true, quote: '"')
    rows.eachWithIndex { row, i ->
        items.properties.each { col, prop ->
            def value = (row[col] ?: '').toString()
            if (!value) {
                if (col in items.required) {
                    errors << "${sheet}, row ${i + 1}: empty '${col}' (${prop.errorMessage})"
                }
                return
            }
            if ((prop.enum && !(value in prop.enum)) || (prop.pattern && !(value ==~ prop.pattern))) {
                errors << "${sheet}, row ${i + 1}: ${col} '${value}': ${prop.errorMessage}"
            }
        }
    }
    def computed = modelNames(params.models.toString()).toSet()
    def clash = rows.collect { row -> row.model }.findAll { name -> name in computed }.unique()
    if (clash) {
        errors << "${sheet}: model(s) ${clash.join(', ')} also computed by this run (--models); each name must be one model's"
    }
    if (!rows) {
        errors << "${sheet}: no rows"
    }
    if (errors) {
        error("Invalid samplesheet:\n  " + errors.join('\n  '))
    }
}

// --input names one VCF (not a samplesheet): scored for --cell_line, as a dataset of its own.
def vcfInput() {
    return params.input && params.input.toString() ==~ /.*\.vcf(\.gz)?$/
}

// The datasets-samplesheet row standing for a VCF given as --input: named after the file.
def vcfInputRow() {
    def name = file(params.input.toString()).name.replaceFirst(/\.vcf(\.gz)?$/, '').replaceAll(/[^A-Za-z0-9_.-]/, '_')
    return [dataset: name, cell_line: params.cell_line, format: 'vcf', path: file(params.input.toString()).toString(), genome_build: '']
}

// The package's facts that Groovy needs: the x-pipeline object of assets/schema_models.json (the
// runnable and trained families, the model folder's separator, the one-shot suffix;
// tests/unit/test_catalogue.py checks them against regvarbench). Read on each call (a small file,
// one call per model job): a script may keep no state between calls under the strict syntax parser.
def pipelineFacts() {
    return new groovy.json.JsonSlurper().parse(file("${projectDir}/assets/schema_models.json").toFile())['x-pipeline']
}

// The folder name of a model prepared for a cell line: <model>__<cell_line> (regvarbench.artifacts.model_dir;
// the separator is x-pipeline.model_dir_separator).
def modelDirName(String model, String cellLine) {
    return model + pipelineFacts().model_dir_separator + cellLine
}

// The name of a model's one-shot twin (ONESHOT): <model>_oneshot (regvarbench.contracts.ONESHOT_SUFFIX,
// x-pipeline.oneshot_suffix).
def oneshotName(String model) {
    return model + pipelineFacts().oneshot_suffix
}

// --model_dir: the prepared model folders of one catalogue model for a cell line, as TRAIN_MODELS
// emits them ([meta, dir]; with --oneshot, the one-shot twin of a trained model too).
def preparedModels(Map model, String cellLine, boolean oneshot) {
    def names = [model.model] + (oneshot && model.trained ? [oneshotName(model.model)] : [])
    return names.collect { name ->
        def dir = file(params.model_dir.toString()).resolve(modelDirName(name, cellLine))
        [model + [id: dir.name, model: name, cell_line: cellLine] + (name == model.model ? [:] : [oneshot_of: model.model]), dir]
    }
}

// The message for a prepared model folder that is not in --model_dir (naming it and what the
// folder holds), or null when every one is there; the caller stops the run with it.
def missingModelDir(List prepared) {
    def missing = prepared.find { entry -> !entry[1].isDirectory() || !entry[1].resolve('spec.json').exists() }
    if (!missing) {
        return null
    }
    def meta = missing[0]
    def base = file(params.model_dir.toString())
    def separator = pipelineFacts().model_dir_separator
    def found = (base.listFiles() ?: []).findAll { f -> f.isDirectory() && f.name.contains(separator) }.collect { f -> f.name }.sort()
    return "--model_dir ${base}: no model folder ${meta.id} (model ${meta.model}, cell line ${meta.cell_line}, with its spec.json); " +
        "it holds ${found ? found.join(', ') : 'no <model>' + separator + '<cell_line> folders'}. Train it in a run without --model_dir, or leave it out of --models" +
        (meta.oneshot_of ? ' (or give --oneshot false)' : '')
}

// Names of --models (comma-separated); 'none' names no model (a --predictions-only run).
def modelNames(String wanted) {
    def names = wanted.tokenize(',').collect { name -> name.trim() }.findAll { name -> name }
    return names == ['none'] ? [] : names
}

// The catalogue rows named by --models (comma-separated), in the order given. Each map carries
// the row itself as CSV text (header + row, notes left out): TRAIN hands it to `regvarbench train --catalogue`,
// which decides the family's options; a val, so editing another row re-runs nothing.
def selectModels(catalogue, String wanted) {
    def rows = catalogue.splitCsv(header: true, strip: true, quote: '"')  // notes are quoted and hold commas
    def header = catalogue.splitCsv(header: false, strip: true, quote: '"')[0].findAll { col -> col != 'notes' }  // free text: not an option
    def byName = rows.collectEntries { row -> [(row.model): row] }
    def names = modelNames(wanted)
    def unknown = names.findAll { name -> !byName.containsKey(name) }
    if (unknown) {
        error("--models: unknown model(s) ${unknown.join(', ')}; the catalogue ${catalogue} has: ${byName.keySet().join(', ')}")
    }
    // which families the package runs, and which it fits and probes: assets/schema_models.json (x-pipeline)
    def facts = pipelineFacts()
    def runnable = facts.runnable_families
    def unsupported = names.findAll { name -> !(byName[name].family in runnable) }
    if (unsupported) {
        error("--models: ${unsupported.join(', ')} belong to families this version cannot run (only ${runnable.join(', ')})")
    }
    // remote code (a checkpoint's own modelling code, run on load) only for rows of the pipeline's
    // own catalogue with the same source and revision, or where the user passes --trust_remote_code
    def isTrue = { value -> (value ?: '').toString().trim().toLowerCase() == 'true' }
    def shippedFile = file("${projectDir}/assets/models.csv")
    def shipped = shippedFile.exists() ? shippedFile.splitCsv(header: true, strip: true, quote: '"').collectEntries { row -> [(row.model): row] } : [:]
    def vetted = { name ->
        def mine = shipped[name]
        def row = byName[name]
        mine && isTrue(mine.trust_remote_code) && mine.source == row.source && (mine.revision ?: '') == (row.revision ?: '')
    }
    def unvetted = names.findAll { name -> isTrue(byName[name].trust_remote_code) && !vetted(name) }
    if (unvetted && !params.trust_remote_code) {
        error("--models: ${unvetted.join(', ')} would run the modelling code shipped with the checkpoint (trust_remote_code true in ${catalogue}), and the pipeline's own catalogue has no such row with the same source and revision; pass --trust_remote_code to allow it (pin the code with the revision column, a commit hash)")
    }
    def csvCell = { value -> '"' + (value ?: '').toString().replace('"', '""') + '"' }
    return names.collect { name ->
        def row = byName[name]
        def trainable = isTrue(row.trainable)
        // trained: TRAIN fits it (and ONESHOT, with --oneshot, probes it untrained); both pass
        // catalogue_row to the package, which reads the family's options from it
        return [model: name, family: row.family, architecture: row.source.replaceFirst(/^arch:/, ''),
                trainable: trainable, trained: trainable && row.family in facts.trained_families,
                catalogue_row: header.collect { col -> csvCell(col) }.join(',') + '\n' + header.collect { col -> csvCell(row[col]) }.join(',') + '\n']
    }
}

// The parameters of this run (canonical spellings only), name -> value.
def runParams() {
    return params.findAll { k, _v -> !k.contains('-') }
}

// The parameters of this run, as JSON, for provenance; returns the file written.
def writeParams() {
    def dir = file("${params.outdir}/pipeline_info")
    dir.mkdirs()
    def target = dir.resolve("params_${params.trace_report_suffix}.json")
    target.text = groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(runParams()))
    return target
}

// The run's metadata for the report: Nextflow and pipeline versions, the run's identity, its
// parameters, and the run records it writes (paths relative to --outdir, read from this run's own
// config scopes, so a changed file name in nextflow.config is followed).
def runInfo(params_file) {
    def outdir = file(params.outdir).toString()
    def relative = { path -> def p = file(path.toString()).toString(); p.startsWith(outdir + '/') ? p.substring(outdir.length() + 1) : null }
    def records = ['report', 'timeline', 'trace', 'dag']
        .findAll { scope -> workflow.session.config.navigate("${scope}.enabled") }
        .collect { scope -> relative(workflow.session.config.navigate("${scope}.file")) }
    def published = [params_file, "${outdir}/pipeline_info/software_versions.yml",
                     "${outdir}/pipeline_info/provenance.tsv", "${outdir}/pipeline_info/run_info.json"].collect { path -> relative(path) }
    return [
        pipeline: workflow.manifest.name, pipeline_version: workflow.manifest.version,
        nextflow_version: nextflow.version.toString(), run_name: workflow.runName,
        session_id: workflow.sessionId.toString(), start: workflow.start.toString(), resumed: workflow.resume,
        command_line: workflow.commandLine, profile: workflow.profile,
        revision: workflow.revision ?: '', commit_id: workflow.commitId ?: '',
        container_engine: workflow.containerEngine ?: '', user: workflow.userName,
        launch_dir: workflow.launchDir.toString(), project_dir: workflow.projectDir.toString(),
        work_dir: workflow.workDir.toString(),
        run_records: (records + published).findAll { path -> path },
        params: runParams().collectEntries { k, v -> [k, v instanceof CharSequence || v instanceof Number || v instanceof Boolean || v == null ? v : v.toString()] },
    ]
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

// A CLI value given as a string, converted to the schema's type where it parses (the strict
// syntax parser no longer guesses CLI types, the legacy one does; both end up the same here).
def coerce(value, List type) {
    if (!(value instanceof CharSequence)) {
        return value
    }
    def text = value.toString().trim()
    if ('integer' in type && text ==~ /^[+-]?\d+$/) {
        return text.toLong()
    }
    if ('number' in type && text.isNumber()) {
        return text.toBigDecimal()
    }
    if ('boolean' in type && text.toLowerCase() in ['true', 'false']) {
        return text.toBoolean()
    }
    return value
}

// A boolean parameter, whether it arrived as a boolean or as the string 'true'/'false'.
def asBoolean(value) {
    return value instanceof Boolean ? value : value.toString().trim().toBoolean()
}
