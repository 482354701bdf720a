/*
 * Enhancer training sets, per cell line in parallel: regions -> sequences -> split.
 */
include { BUILD_REGIONS     } from '../../../modules/local/build_regions'
include { EXTRACT_SEQUENCES } from '../../../modules/local/extract_sequences'
include { SPLIT             } from '../../../modules/local/split'

workflow TRAINING_SET {
    take:
    ch_regions  // channel: [ val(meta: id = cell line), path(dnase), path(h3k27ac), path(exons), path(tss), path(blacklist) ]; optional files as []
    ch_genome   // value channel: [ val(meta2: id), path(fasta), path(fai) ]

    main:
    BUILD_REGIONS(ch_regions, ch_genome)
    EXTRACT_SEQUENCES(BUILD_REGIONS.out.regions, ch_genome)
    SPLIT(EXTRACT_SEQUENCES.out.sequences)

    ch_versions = BUILD_REGIONS.out.versions
        .mix(EXTRACT_SEQUENCES.out.versions, SPLIT.out.versions)

    emit:
    split    = SPLIT.out.split                // channel: [ val(meta: id = cell line), path(<cell>.split.tsv) ]
    summary  = BUILD_REGIONS.out.summary      // channel: [ val(meta: id = cell line), path(<cell>.regions_summary.tsv) ]
    versions = ch_versions                    // channel: path(versions.yml), one per task
}
