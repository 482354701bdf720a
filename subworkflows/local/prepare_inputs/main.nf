/*
 * Input channels: from the user's samplesheets (--input, --regions, --genome) or, when none is
 * given, from the synthetic benchmark written by SIMULATE.
 */
include { SIMULATE } from '../../../modules/local/simulate'
include { vcfInput; vcfInputRow } from '../utils_regvarbench_pipeline'

workflow PREPARE_INPUTS {
    main:
    if (params.input || params.regions) {
        // without --genome (allowed with --models none) PREPARE_VARIANTS skips the genome checks
        def fai = params.genome ? file("${params.genome}.fai") : null
        def fasta = params.genome ? file(params.genome, checkIfExists: true) : null
        ch_genome   = params.genome
            ? channel.value([[id: fasta.baseName], fasta, fai.exists() ? fai : []])
            : channel.value([[:], [], []])
        ch_regions  = params.regions  // not needed with --models none
            ? channel.fromList(readSamplesheet(file(params.regions)).collect { row -> regionsEntry(row, sheetBase(params.regions)) })
            : channel.empty()
        // a VCF as --input is one dataset (scored for --cell_line); a samplesheet has a row per dataset
        def dataset_rows = !params.input ? [] : vcfInput() ? [vcfInputRow()] : readSamplesheet(file(params.input))
        ch_datasets = channel.fromList(dataset_rows.collect { row -> datasetEntry(row, sheetBase(params.input)) })
        ch_versions = channel.empty()
        ch_ld_vcf   = params.ld_vcf ? channel.value(file(params.ld_vcf, checkIfExists: true)) : channel.value([])
    }
    else {
        SIMULATE([id: "seed${params.simulate_seed}"])
        ch_genome   = SIMULATE.out.genome
        ch_regions  = SIMULATE.out.benchmark.flatMap { _meta, dir -> readSamplesheet(dir.resolve('regions.csv')).collect { row -> regionsEntry(row, dir) } }
        ch_datasets = SIMULATE.out.benchmark.flatMap { _meta, dir -> readSamplesheet(dir.resolve('datasets.csv')).collect { row -> datasetEntry(row, dir) } }
        ch_versions = SIMULATE.out.versions
        // the synthetic LD exports take their alleles from the benchmark's VCF of their SNPs (--ld_vcf overrides)
        ch_ld_vcf   = params.ld_vcf ? channel.value(file(params.ld_vcf, checkIfExists: true)) : SIMULATE.out.ld_vcf.map { _meta, vcf -> vcf }
    }

    // --datasets: only the named rows of the datasets samplesheet (or of the synthetic benchmark's)
    def wanted = datasetNames()
    if (wanted) {
        ch_datasets = ch_datasets.toList().flatMap { entries ->
            def names = entries.collect { entry -> entry[0].id }
            def unknown = wanted.findAll { name -> !(name in names) }
            if (unknown) {
                error("--datasets: ${unknown.join(', ')} not among the datasets (${names.sort().join(', ')})")
            }
            return entries.findAll { entry -> entry[0].id in wanted }
        }
    }

    ch_predictions = params.predictions
        ? channel.fromList(readSamplesheet(file(params.predictions)).collect { row -> predictionsEntry(row, sheetBase(params.predictions)) })
        : channel.empty()

    emit:
    genome      = ch_genome       // value channel: [ val(meta2: id), path(fasta), path(fai) or [] ], or [ [:], [], [] ] without --genome
    ld_vcf      = ch_ld_vcf       // value channel: path(vcf) giving the alleles of LD exports (--ld_vcf; when simulating, the benchmark's), or []
    predictions = ch_predictions  // channel: [ val(meta: id, model, kind, dataset_map), path(prediction table) ]
    regions     = ch_regions      // channel: [ val(meta: id = cell line), path(dnase), path(h3k27ac), path(exons), path(tss), path(blacklist) ]; optional files as []
    datasets    = ch_datasets     // channel: [ val(meta: id = dataset, cell_line, format, genome_build[, unavailable]), path(source) or [] ]
    versions    = ch_versions     // channel: path(versions.yml) of SIMULATE, or empty
}

// The names given with --datasets (comma-separated), or [] for every dataset.
def datasetNames() {
    return params.datasets ? params.datasets.toString().tokenize(',').collect { name -> name.trim() }.findAll { name -> name } : []
}

// Rows of a CSV samplesheet as maps (header line required).
def readSamplesheet(sheet) {
    return sheet.splitCsv(header: true, strip: true, quote: '"')  // quoted cells may hold commas
}

// The folder a samplesheet's relative paths start from: --published when given (the study's data
// folder, for -profile study's sheets in assets/), else the sheet's own folder.
def sheetBase(sheet) {
    return params.published ? file(params.published) : file(sheet).parent
}

// A path from a samplesheet: URLs and absolute paths as they are, others relative to sheetBase.
def resolveEntry(String value, base) {
    if (!value) {
        return []
    }
    return (isUrl(value) || value.startsWith('/')) ? file(value) : file(base.resolve(value).toString())
}

// A samplesheet value naming a URL (scheme://...): staged by Nextflow, not checked for existence here.
def isUrl(String value) {
    return value ==~ /^[a-z0-9]+:\/\/.*/
}

def regionsEntry(Map row, base) {
    def meta = [id: row.cell_line]
    return [meta] + ['dnase', 'h3k27ac', 'exons', 'tss', 'blacklist'].collect { key -> resolveEntry(row[key] ?: '', base) }
}

// A local source file that does not exist is not an error: the dataset goes on marked unavailable
// (meta.unavailable says why), PREPARE_VARIANTS reports it in its summary, nothing scores it.
def datasetEntry(Map row, base) {
    def meta = [id: row.dataset, cell_line: row.cell_line, format: row.format, genome_build: row.genome_build ?: 'unknown']
    def source = resolveEntry(row.path, base)
    if (!isUrl(row.path) && !source.exists()) {
        log.warn "dataset ${row.dataset}: source file not found: ${source}; reported as unavailable"
        return [meta + [unavailable: "file not found: ${row.path}"], []]
    }
    return [meta, source]
}

def predictionsEntry(Map row, base) {
    def source = resolveEntry(row.path, base)
    if (!isUrl(row.path) && !source.exists()) {
        error("Invalid samplesheet:\n  ${params.predictions}: prediction table not found: ${source}"
              + (params.published ? " (relative paths start at --published ${params.published})" : " (relative paths start at the sheet's folder; --published names another)"))
    }
    def stem = source.name.replaceFirst(/(\.tsv)?(\.gz)?$/, '')
    def meta = [id: "${row.model == '*' ? 'all' : row.model}.${stem}", model: row.model, kind: row.kind,
                dataset_map: row.dataset_map ?: '']
    return [meta, source]
}
