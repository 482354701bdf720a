"""--predictions with --models none: external predictions imported and evaluated, nothing trained.

The synthetic benchmark of -profile test is simulated here too (same seed, seconds), so that the
prediction tables can name its variants: an "oracle" (the measured effect plus fixed noise, a
file without model and kind columns) and a study-style many-model file whose model `Geneformer`
must resolve to its catalogue row through the `aliases` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from regvarbench.cli import main

from .helpers import read_trace, run_nextflow

pytestmark = pytest.mark.pipeline

SEED = 7  # params.simulate_seed


@pytest.fixture(scope="module")
def predictions_run(nextflow, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nf_predictions")
    assert main(["simulate", "--outdir", str(workdir / "sim"), "--seed", str(SEED)]) == 0
    satmut = pd.read_csv(workdir / "sim" / "variants" / "sim_satmut_HepG2.csv")
    noise = np.random.default_rng(0).normal(0, 0.2, len(satmut))
    oracle = pd.DataFrame({"dataset": "satmut", "chrom": satmut["Chromosome"].astype(str), "pos": satmut["Position"],
                           "ref": satmut["Ref"], "alt": satmut["Alt"],
                           "score": satmut["VariantExpressionEffect (log2)"] + noise})
    oracle.to_csv(workdir / "oracle.tsv", sep="\t", index=False)
    study = oracle.drop(columns="score").assign(dataset="sim_satmut_HepG2", model="Geneformer", kind="prob",
                                                ref_p=0.5, alt_p=np.clip(0.5 + 0.1 * oracle["score"], 0.01, 0.99))
    study.to_csv(workdir / "study.predictions.tsv.gz", sep="\t", index=False)
    (workdir / "predictions.csv").write_text("model,path,kind,dataset_map\n"
                                             "ext_oracle,oracle.tsv,diff,satmut=sim_satmut_HepG2\n"
                                             "*,study.predictions.tsv.gz,auto,\n")
    outdir = workdir / "results"
    proc = run_nextflow(nextflow, workdir, "-profile", "test", "--models", "none", "--predictions",
                        str(workdir / "predictions.csv"), "--outdir", str(outdir), timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return workdir, outdir, oracle


def test_nothing_trained(predictions_run):
    _, outdir, _ = predictions_run
    ran = {row["process"].split(":")[-1] for row in read_trace(outdir)}
    assert ran == {"SIMULATE", "PREPARE_VARIANTS", "IMPORT_PREDICTIONS", "EVALUATE", "RANK", "REPORT"}
    assert not (outdir / "models").exists() and not (outdir / "regions").exists()
    assert (outdir / "report" / "index.html").stat().st_size > 10_000


def test_imported_scores_evaluated(predictions_run):
    workdir, outdir, oracle = predictions_run
    tables = outdir / "evaluation" / "tables"
    by_dataset = pd.read_csv(tables / "correlation_by_dataset.tsv", sep="\t").set_index(["model", "group"])
    assert set(by_dataset.index) == {("ext_oracle", "sim_satmut_HepG2"), ("Geneformer", "sim_satmut_HepG2")}
    # independent recomputation: the oracle file joined to the published variants table by locus
    variants = pd.read_csv(outdir / "variants" / "sim_satmut_HepG2.variants.tsv", sep="\t")
    variants["chrom"] = variants["chrom"].astype(str).str.replace("^chr", "", regex=True)
    joined = variants.merge(oracle.drop(columns="dataset"), on=["chrom", "pos", "ref", "alt"], validate="1:1")
    row = by_dataset.loc[("ext_oracle", "sim_satmut_HepG2")]
    assert row["n"] == len(joined) == len(variants) and row["n_dropped"] == 0
    assert row["pearson_r"] == pytest.approx(stats.pearsonr(joined["score"], joined["effect_log2"])[0], abs=1e-9)
    models = pd.read_csv(tables / "models.tsv", sep="\t").set_index("model")
    assert models.loc["Geneformer", ["family", "architecture_class"]].tolist() == ["hf", "transformer"]  # alias
    assert models.loc["ext_oracle", "family"] == "unknown"
    for prefix in ("ext_oracle.oracle", "all.study.predictions"):
        assert pd.read_csv(outdir / "imported" / prefix / "import_report.tsv", sep="\t").empty, prefix
