#!/usr/bin/env nextflow
/*
 * regvarbench: benchmark deep-learning models at predicting which non-coding variants change
 * enhancer activity. See README.md and docs/usage.md.
 */
include { PIPELINE_INITIALISATION; PIPELINE_COMPLETION } from './subworkflows/local/utils_regvarbench_pipeline'
include { PREPARE_INPUTS } from './subworkflows/local/prepare_inputs'
include { REGVARBENCH    } from './workflows/regvarbench'

workflow {
    main:
    PIPELINE_INITIALISATION()
    PREPARE_INPUTS()
    REGVARBENCH(
        PREPARE_INPUTS.out.regions,
        PREPARE_INPUTS.out.datasets,
        PREPARE_INPUTS.out.genome,
        params.chain ? channel.value(file(params.chain, checkIfExists: true)) : channel.value([]),
        PREPARE_INPUTS.out.ld_vcf,
        PIPELINE_INITIALISATION.out.models,
        file(params.model_catalogue),
        PREPARE_INPUTS.out.predictions,
        PIPELINE_INITIALISATION.out.run_info,
        PREPARE_INPUTS.out.versions,
    )
    PIPELINE_COMPLETION(REGVARBENCH.out.versions)  // every task's, the inputs' (SIMULATE) included
}
