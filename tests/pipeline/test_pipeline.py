"""The pipeline end to end on the synthetic benchmark: real Nextflow running real tasks."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re

import numpy as np
import pandas as pd
import pysam
import pytest
from scipy.stats import spearmanr

from regvarbench.genome import Genome
from regvarbench.io import read_tsv
from regvarbench.models import load_model
from regvarbench.models.precision import BUDGET_SPEARMAN, MEETS_BUDGET, budget_figures
from regvarbench.rank import RANKED_COLUMNS, RANKED_SUFFIX, TOP_COLUMNS, TOP_SUFFIX, VCF_SUFFIX
from regvarbench.contracts import SCORE_COLUMNS, parse_windows_name, scores_file_name
from regvarbench.score import score_windows, set_precision
from regvarbench.windows import build_windows

from .helpers import ROOT, read_trace, run_nextflow

pytestmark = pytest.mark.pipeline

PROCESSES = {"SIMULATE", "BUILD_REGIONS", "EXTRACT_SEQUENCES", "SPLIT", "TRAIN", "ONESHOT", "PREPARE_VARIANTS",
             "MAKE_WINDOWS", "SCORE", "EVALUATE", "RANK", "REPORT"}


def test_motif_baseline_correlates(test_run):
    """The training-free JASPAR baseline also finds the planted motif effects (diff score)."""
    _, outdir, _ = test_run
    by_dataset = pd.read_csv(outdir / "evaluation" / "tables" / "correlation_by_dataset.tsv", sep="\t")
    satmut = by_dataset.set_index(["model", "group"]).loc[("motif_jaspar", "sim_satmut_HepG2")]
    assert satmut.pearson_r > 4 / math.sqrt(satmut.n - 1)


# the first attempt of every TRAIN stops after one epoch (exit 75) and its retry resumes from the
# checkpoint kept in --train_checkpoint_dir (tests/unit/test_runtime.py shows a resumed training equals an
# uninterrupted one)
PAUSE_FIRST_ATTEMPT = "process {\n    withName: 'REGVARBENCH:TRAIN_MODELS:TRAIN' { ext.time_limit = { task.attempt == 1 ? 0 : null } }\n}\n"


def paused_training_args(workdir) -> list[str]:
    config = workdir / "pause_first_attempt.config"
    config.write_text(PAUSE_FIRST_ATTEMPT)
    return ["--train_checkpoint_dir", str(workdir / "checkpoints"), "-c", str(config)]


@pytest.fixture(scope="module")
def test_run(nextflow, tmp_path_factory):
    """One full `-profile test` run, shared by the checks below."""
    workdir = tmp_path_factory.mktemp("nf_test_profile")
    outdir = workdir / "results"
    proc = run_nextflow(nextflow, workdir, "-profile", "test", "--outdir", str(outdir), *paused_training_args(workdir))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return workdir, outdir, proc


def test_every_process_ran(test_run):
    _, outdir, _ = test_run
    trace = read_trace(outdir)
    ran = {row["process"].split(":")[-1] for row in trace}
    assert ran == PROCESSES
    # every task completed; the only failures are the paused first attempts of trained models
    done = {(row["process"], row["tag"]) for row in trace if row["status"] == "COMPLETED"}
    assert done == {(row["process"], row["tag"]) for row in trace}
    assert all(row["exit"] == "75" and row["process"].endswith(":TRAIN") for row in trace
               if row["status"] != "COMPLETED")


# outputs of -profile test that do not depend on the CPU's floating-point kernels: the synthetic
# benchmark, the training sets and the prepared variant tables (model scores do: AVX2, AVX-512 and
# AMX sum in other orders); their sha256 is committed, so a refactor that changes one shows here
CHECKSUMS = ROOT / "tests" / "pipeline" / "profile_test_checksums.tsv"
CHECKSUMMED = ("simulation/**/*", "regions/**/*", "variants/*.variants.tsv", "variants/*.skipped.tsv",
               "variants/*.summary.tsv", "variants/summary.tsv")


def output_checksums(outdir) -> dict[str, str]:
    """Relative path -> sha256 of every output matched by CHECKSUMMED (gzip files by their content)."""
    out = {}
    for pattern in CHECKSUMMED:
        for path in sorted(outdir.glob(pattern)):
            if path.is_file():
                data = path.read_bytes()
                if path.suffix == ".gz" and data[:2] == b"\x1f\x8b":
                    data = gzip.decompress(data)  # the compressed bytes may differ by zlib build
                out[str(path.relative_to(outdir))] = hashlib.sha256(data).hexdigest()
    return out


def test_machine_independent_outputs_match_the_checksum_list(test_run):
    """Byte-identical to the committed list (tests/pipeline/profile_test_checksums.tsv); to change
    it on purpose, run this test with REGVARBENCH_RECORD_CHECKSUMS=1 and commit the new list."""
    _, outdir, _ = test_run
    found = output_checksums(outdir)
    if os.environ.get("REGVARBENCH_RECORD_CHECKSUMS") == "1":
        CHECKSUMS.write_text("path\tsha256\n" + "".join(f"{k}\t{v}\n" for k, v in sorted(found.items())))
    recorded = dict(line.split("\t") for line in CHECKSUMS.read_text().splitlines()[1:])
    assert sorted(found) == sorted(recorded), sorted(set(found) ^ set(recorded))
    changed = sorted(k for k in found if found[k] != recorded[k])
    assert not changed, f"outputs changed: {changed}"


def test_local_executor_bounded_by_task_count(test_run):
    """conf/local_capacity.config: -profile test's local executor has CPU and memory counts no lost
    update can exhaust (the Nextflow 24.10 race that once left TRAIN queued forever), and at most
    min(2, cores) tasks at once (2: the cpus of -profile test's process.resourceLimits)."""
    workdir, _, _ = test_run
    config = (ROOT / "conf" / "local_capacity.config").read_text()
    cpus = re.search(r"^\s*cpus\s*=\s*(\d+)", config, re.M).group(1)
    line = re.search(r"Creating local task monitor for executor 'local' > (.*)", (workdir / ".nextflow.log").read_text())
    assert line, "no local task monitor in .nextflow.log"
    assert f"cpus={cpus};" in line.group(1) and f"capacity={min(2, os.cpu_count())};" in line.group(1), line.group(1)


def test_training_paused_and_resumed_across_task_attempts(test_run):
    """--train_checkpoint_dir: a TRAIN attempt stopped at its time limit (exit 75) is retried, and
    the retry continues from the checkpoint instead of epoch 1; checkpoints are removed after."""
    workdir, outdir, _ = test_run
    train = [row for row in read_trace(outdir) if row["process"].endswith(":TRAIN")]
    cnn = sorted({row["tag"] for row in train if row["tag"].startswith("cnn_small__")})
    assert cnn == ["cnn_small__HepG2", "cnn_small__K562"]
    for tag in cnn:
        attempts = sorted((row for row in train if row["tag"] == tag), key=lambda r: int(r["attempt"]))
        assert [(r["attempt"], r["exit"]) for r in attempts] == [("1", "75"), ("2", "0")], attempts
        log = next((workdir / "work").glob(f"{attempts[1]['hash']}*/.command.log")).read_text()
        assert "resuming from" in log and "model after epoch 1" in log, log[-2000:]
        assert "epoch 1:" not in log  # not trained again
        curve = pd.read_csv(outdir / "models" / tag / "training_curve.tsv", sep="\t")
        assert curve["epoch"].tolist() == list(range(1, len(curve) + 1))
    motif = [row for row in train if row["tag"].startswith("motif_jaspar__")]
    assert motif and all(row["attempt"] == "1" for row in motif)  # nothing to train, never paused
    assert not any((workdir / "checkpoints").rglob("last.pt"))


def test_outputs_exist(test_run):
    _, outdir, _ = test_run
    assert (outdir / "report" / "index.html").stat().st_size > 10_000
    # the section per locus: a figure for each LD export and for the VCF of a region (RANK's tables reach REPORT)
    formats = ranked_datasets(outdir)
    drawn = sorted(p.name for p in (outdir / "report" / "figures").glob("locus_*.png"))
    assert len(drawn) == sum(f in ("ensembl_ld", "vcf") for f in formats.values()) == 7, drawn
    assert 'id="loci"' in (outdir / "report" / "index.html").read_text(encoding="utf-8")
    tables = outdir / "evaluation" / "tables"
    for name in ("correlation_by_dataset.tsv", "correlation_by_cell_line.tsv", "correlation_overall.tsv",
                 "direction.tsv", "ld_topk.tsv", "enhancer_detection.tsv"):
        assert (tables / name).exists(), name
    info = outdir / "pipeline_info"
    for pattern in ("execution_report_*.html", "execution_timeline_*.html", "execution_trace_*.txt",
                    "pipeline_dag_*.html", "params_*.json", "software_versions.yml"):
        assert list(info.glob(pattern)), pattern


def test_report_shows_the_run_metadata(test_run):
    """The report's run metadata: Nextflow's version, the run's identity and parameters, every seed
    (the models' included), each task's software versions, and links that resolve to the run records
    in pipeline_info/ (the names Nextflow's own config scopes gave them)."""
    _, outdir, _ = test_run
    info = json.loads((outdir / "pipeline_info" / "run_info.json").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["nextflow_version"]) and info["profile"] == "test"
    assert info["params"]["seed"] == 0 and info["params"]["models"] == "cnn_small,motif_jaspar"
    html = (outdir / "report" / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="run-metadata"'):]
    for text in (f"<td data-sort=\"{info['nextflow_version']}\">{info['nextflow_version']}</td>", info["run_name"],
                 "--train_epochs", "--simulate_seed", "model cnn_small (HepG2)", "evaluate (bootstrap intervals)"):
        assert text in section, text
    versions = section[section.index("<h3>Software versions"):section.index("<h3>Provenance")]
    for process in ("SIMULATE", "SCORE", "TRAIN", "EVALUATE", "RANK"):
        assert process in versions, process
    links = re.findall(r'<a href="([^"#]+)">', section)
    names = {link.split("/")[-1].split("_20")[0] for link in links}
    assert {"execution_report", "execution_timeline", "execution_trace", "pipeline_dag", "params",
            "software_versions.yml", "provenance.tsv", "run_info.json"} <= names, links
    for link in links:  # relative to the report's folder, each a file the run wrote
        assert (outdir / "report" / link).resolve().is_file(), link


def ranked_datasets(outdir) -> dict[str, str]:
    """dataset -> format of the synthetic datasets RANK ranks: LD blocks, LD exports and the VCF."""
    sheet = pd.read_csv(outdir / "simulation" / "datasets.csv")
    return dict(zip(sheet["dataset"], sheet["format"]))


def test_loci_ranked_with_an_annotated_vcf(test_run):
    """RANK: the LD-block datasets, the Ensembl LD exports (one locus each) and the VCF of a region get a
    ranked table (its contract: rank.RANKED_COLUMNS, one row per variant and model, ranks within the
    locus, the lead's rank), top candidates and a tabix-indexed VCF that pysam parses, with one INFO
    score per model per variant; datasets with measured effects and no loci are left to the evaluation."""
    _, outdir, _ = test_run
    variants = outdir / "variants"
    formats = ranked_datasets(outdir)
    expected = sorted(d for d, f in formats.items() if f in ("ld_blocks", "ensembl_ld", "vcf"))
    assert len(expected) == 2 + 6 + 1
    assert sorted(p.name[:-len(RANKED_SUFFIX)] for p in variants.glob(f"*{RANKED_SUFFIX}")) == expected
    for dataset in expected:
        ranked = pd.read_csv(variants / f"{dataset}{RANKED_SUFFIX}", sep="\t")
        prepared = pd.read_csv(variants / f"{dataset}.variants.tsv", sep="\t")
        assert list(ranked.columns) == RANKED_COLUMNS
        models = sorted(ranked["model"].unique())
        assert models == ["cnn_small", "cnn_small_oneshot", "motif_jaspar"], dataset
        # every variant once per model, every rank within 1..the locus' size
        assert len(ranked) == len(prepared) * len(models) and not ranked.duplicated(["variant_id", "model"]).any()
        assert set(ranked["variant_id"]) == set(prepared["variant_id"])
        sizes = ranked.groupby(["locus_id", "model"])["variant_id"].transform("size")
        assert (ranked["n_ranked"] == sizes).all() and ranked["rank"].between(1, sizes).all()
        assert ranked["consensus_rank"].between(1, sizes).all() and (ranked["n_models"] == len(models)).all()
        lead = ranked[ranked["is_lead"] == 1]
        if formats[dataset] == "ensembl_ld":
            assert ranked["locus_id"].nunique() == 1 and lead["snp_id"].nunique() == 1
            assert (ranked["locus_id"] == lead["snp_id"].iloc[0]).all()
            by_model = lead.set_index("model")["rank"]
            assert (ranked["lead_rank"] == ranked["model"].map(by_model)).all()
        else:
            assert lead.empty and ranked["lead_rank"].isna().all()
        top = pd.read_csv(variants / f"{dataset}{TOP_SUFFIX}", sep="\t")
        assert list(top.columns) == TOP_COLUMNS
        assert (top.groupby("locus_id").size() <= 3).all() and set(top["locus_id"]) == set(ranked["locus_id"])
        # the best of each locus by consensus (rank 1, or the last rank of those tied first)
        best = ranked.groupby("locus_id")["consensus_rank"].min()
        assert top.groupby("locus_id")["consensus_rank"].min().equals(best)
        vcf = pysam.VariantFile(str(variants / f"{dataset}{VCF_SUFFIX}"))
        assert (variants / f"{dataset}{VCF_SUFFIX}.tbi").exists()
        records = list(vcf)
        assert len(records) == ranked["variant_id"].nunique()
        for model in models:
            key = f"RVB_{model}"
            assert key in vcf.header.info and model in vcf.header.info[key].description
            assert sum(key in rec.info for rec in records) == ranked.loc[ranked["model"] == model, "score"].notna().sum()
        # one value per model per variant, equal to the ranked table's score
        scores = ranked.set_index(["variant_id", "model"])["score"]
        for rec in records:
            for model in models:
                assert rec.info[f"RVB_{model}"] == pytest.approx(scores[(rec.info["RVB_VARIANT"], model)], rel=1e-5)
        assert sum("RVB_LEAD" in rec.info for rec in records) == lead["variant_id"].nunique()
        assert [rec.ref for rec in records] == [rec.alleles[0] for rec in records]


def test_planted_causal_snps_rank_in_the_top_3(test_run):
    """The synthetic unresolved loci: motif_jaspar ranks each locus' planted causal SNP (a gain of a
    planted motif; truth/loci.tsv) in the top 3 well above chance. Under a random ranking the causal
    SNP of a locus of m ranked variants is in the top 3 with probability min(3, m)/m, independently
    per locus: the exact (Poisson-binomial) upper tail of the count of hits is the p-value. The lead
    is the causal SNP in only some loci, so ranking the lead first would not do."""
    _, outdir, _ = test_run
    truth = pd.read_csv(outdir / "simulation" / "truth" / "loci.tsv", sep="\t")
    causal = truth[truth["is_causal"] == 1].set_index("dataset")["snp_id"]
    loci = sorted(d for d, f in ranked_datasets(outdir).items() if f == "ensembl_ld")
    assert sorted(causal.index) == loci and 0 < truth.loc[truth["is_causal"] == 1, "is_lead"].sum() < len(loci)
    null, hits, lead_hits = np.array([1.0]), 0, 0
    for dataset in loci:
        ranked = pd.read_csv(outdir / "variants" / f"{dataset}{RANKED_SUFFIX}", sep="\t")
        ours = ranked[ranked["model"] == "motif_jaspar"]
        m = int(ours["n_ranked"].iloc[0])
        assert m == len(ours) >= 10
        p = min(3, m) / m
        null = np.convolve(null, [1 - p, p])
        hits += int(ours.loc[ours["snp_id"] == causal[dataset], "rank"].iloc[0] <= 3)
        lead_hits += int(ours.loc[ours["is_lead"] == 1, "snp_id"].iloc[0] == causal[dataset])
    expected = float(np.dot(np.arange(len(null)), null))
    p_value = float(null[hits:].sum())
    print(f"motif_jaspar: causal SNP in the top 3 of {hits} of {len(loci)} loci; random expectation {expected:.2f}, "
          f"exact one-sided p = {p_value:.2g}")
    assert hits > expected + 2 and p_value < 0.01, (hits, expected, p_value)
    assert lead_hits < len(loci)


def test_vcf_indels_and_mnv_scored_by_every_model(test_run):
    """The VCF of a region: its insertions, deletions and MNV are scored by every model of the run,
    and the score tables (SCORE's outputs) and the ranked table say which variants are indels."""
    workdir, outdir, _ = test_run
    dataset = "sim_vcf_HepG2"
    prepared = pd.read_csv(outdir / "variants" / f"{dataset}.variants.tsv", sep="\t")
    assert set(prepared["variant_class"]) == {"snv", "insertion", "deletion", "mnv"}
    classes = prepared.set_index("variant_id")["variant_class"]
    # -profile test packs each model's chunks into its SCORE tasks: find the dataset's tables in them
    tables: dict[str, list] = {}
    for row in read_trace(outdir):
        if row["process"].endswith(":SCORE"):
            for f in next((workdir / "work").glob(f"{row['hash']}*")).glob(f"*.{dataset}.*.scores.tsv"):
                tables.setdefault(f.name.split(".")[0], []).append(f)
    assert sorted(tables) == ["cnn_small", "cnn_small_oneshot", "motif_jaspar"]
    for files in tables.values():
        table = pd.concat([pd.read_csv(f, sep="\t") for f in files])
        assert list(table.columns) == SCORE_COLUMNS
        assert set(table["variant_id"]) == set(prepared["variant_id"]) and np.isfinite(table["score"]).all()
        assert (table.set_index("variant_id")["variant_class"] == classes.reindex(table["variant_id"]).values).all()
    ranked = pd.read_csv(outdir / "variants" / f"{dataset}{RANKED_SUFFIX}", sep="\t")
    assert (ranked.groupby("variant_class")["model"].nunique() == 3).all()
    # a deletion of a whole planted motif instance changes the motif baseline's score
    motif = ranked[(ranked["model"] == "motif_jaspar") & (ranked["ref"].str.len() > 11)]
    assert len(motif) == 1 and motif["score"].iloc[0] < 0



def test_score_tasks_pack_the_chunks_of_a_model(test_run):
    """-profile test's --score_chunks_per_task 8: a SCORE task per model and cell line scores up to 8
    window chunks in (dataset, chunk) order, one score table per staged chunk, each chunk once."""
    workdir, outdir, _ = test_run
    seen: dict[tuple[str, str, str], str] = {}
    per_model: dict[str, int] = {}
    for row in read_trace(outdir):
        if not row["process"].endswith(":SCORE"):
            continue
        model, cell_line, pack = row["tag"].split(".")
        assert re.fullmatch(r"pack\d{5}", pack), row["tag"]
        task_dir = next((workdir / "work").glob(f"{row['hash']}*"))
        chunks = sorted(parse_windows_name(f) for f in task_dir.glob("*.windows.*.tsv.gz"))
        assert 1 <= len(chunks) <= 8
        assert sorted(f.name for f in task_dir.glob("*.scores.tsv")) == \
            sorted(scores_file_name(model, dataset, chunk) for dataset, chunk in chunks)
        for dataset, chunk in chunks:
            assert (model, dataset, chunk) not in seen, (model, dataset, chunk)
            seen[(model, dataset, chunk)] = row["tag"]
        per_model[f"{model}.{cell_line}"] = per_model.get(f"{model}.{cell_line}", 0) + 1
    chunks_per_cell = {}
    for (model, dataset, chunk) in seen:
        chunks_per_cell.setdefault(seen[(model, dataset, chunk)].rsplit(".", 1)[0], set()).add((dataset, chunk))
    assert per_model == {key: -(-len(c) // 8) for key, c in chunks_per_cell.items()}
    assert {m for m, _, _ in seen} == {"cnn_small", "cnn_small_oneshot", "motif_jaspar"}

def test_every_variant_accounted_for(test_run):
    """Source rows = kept + skipped for every dataset, and every kept variant got a score."""
    _, outdir, _ = test_run
    summaries = list((outdir / "variants").glob("*.summary.tsv"))
    assert summaries
    for path in summaries:
        summary = pd.read_csv(path, sep="\t")
        first = summary.iloc[0]
        assert first.rows_in == first.rows_kept + first.rows_skipped, path.name
    scored = pd.read_csv(outdir / "evaluation" / "tables" / "scored_variants.tsv", sep="\t")
    for path in (outdir / "variants").glob("*.variants.tsv"):
        variants = pd.read_csv(path, sep="\t")
        assert set(variants.variant_id) <= set(scored.variant_id), path.name


def test_trained_cnn_recovers_planted_signal(test_run):
    """Pooled correlation of scores with measured effects beats the shuffled-score null.

    Under shuffling, a correlation over n pairs has standard deviation ~1/sqrt(n - 1), so we
    require more than 4 of those, and more than a quarter of the best achievable correlation (true
    vs measured effect, set by the simulation's noise level and recorded in simulation.json).
    Spearman is the pooled statistic: the study's score, a log-ratio of probabilities, is
    heavy-tailed where both probabilities are small, which Pearson over-weights.
    """
    _, outdir, _ = test_run
    scored = pd.read_csv(outdir / "evaluation" / "tables" / "scored_variants.tsv", sep="\t")
    scored = scored[(scored.model == "cnn_small") & np.isfinite(scored.effect_log2) & np.isfinite(scored.score)]
    n = len(scored)
    sim = json.loads((outdir / "simulation" / "simulation.json").read_text())
    ceiling = float(np.mean([sim["expected_correlation"][d] for d in scored.dataset.unique()]))
    null_bound = 4 / math.sqrt(n - 1)
    bound = max(null_bound, 0.25 * ceiling)

    rng = np.random.default_rng(0)
    shuffled = [spearmanr(rng.permutation(scored.score.to_numpy()), scored.effect_log2)[0] for _ in range(200)]
    assert max(abs(s) for s in shuffled) < null_bound
    rho = spearmanr(scored.score, scored.effect_log2)[0]
    assert rho > bound, (rho, bound)

    overall = pd.read_csv(outdir / "evaluation" / "tables" / "correlation_overall.tsv", sep="\t").set_index("model")
    assert np.isclose(overall.loc["cnn_small", "spearman_r"], rho)
    # the saturation-mutagenesis element: Pearson too, on one enhancer's variants
    by_dataset = pd.read_csv(outdir / "evaluation" / "tables" / "correlation_by_dataset.tsv", sep="\t")
    satmut = by_dataset.set_index(["model", "group"]).loc[("cnn_small", "sim_satmut_HepG2")]
    assert satmut.pearson_r > 4 / math.sqrt(satmut.n - 1)


def test_ld_topk_beats_random_on_planted_causal_snps(test_run):
    """Causal-variant retrieval on the synthetic LD blocks, where the causal SNP is planted.

    Each block holds one motif-destroying causal SNV and 3-7 near-neutral partners, so a model
    that learned the motifs ranks the causal SNV first (most negative score) far more often than
    a random ranking would. Under random ranking the count of blocks whose causal SNV comes first
    is a sum of Bernoulli(1/m_b) (m_b = the block's size): its exact (Poisson-binomial) upper tail
    is the p-value. The table's random expectation must equal the mean of min(k, m)/m recomputed
    here from the variants tables. (The JASPAR baseline is deterministic, so the count is too.)
    """
    _, outdir, _ = test_run
    topk = pd.read_csv(outdir / "evaluation" / "tables" / "ld_topk.tsv", sep="\t")
    scored = pd.read_csv(outdir / "evaluation" / "tables" / "scored_variants.tsv", sep="\t")
    sim = json.loads((outdir / "simulation" / "simulation.json").read_text())
    null = np.array([1.0])  # distribution of top-1 hits over all blocks under random ranking
    for cell, n_blocks in sim["counts"]["ld_blocks"].items():
        dataset = f"sim_ld_blocks_{cell}"
        variants = pd.read_csv(outdir / "variants" / f"{dataset}.variants.tsv", sep="\t")
        sizes = variants.groupby("block_id").size().to_numpy()
        for m in sizes:
            null = np.convolve(null, [1 - 1 / m, 1 / m])
        for model in ("cnn_small", "motif_jaspar"):
            row = topk.set_index(["model", "group", "ranking"]).loc[(model, dataset, "neg_score")]
            assert row.n_blocks == n_blocks
            for k in (1, 2, 3):
                assert row[f"random_top{k}"] == pytest.approx(np.mean(np.minimum(k, sizes) / sizes))
            # recompute top-1 from the scored variants: causal SNV strictly below every partner
            ours = scored[(scored.model == model) & (scored.dataset == dataset)]
            assert len(ours) == len(variants)
            ours = ours.merge(variants[["variant_id", "block_id", "is_causal"]], on="variant_id", validate="1:1")
            hits = sum(int(b.loc[b.is_causal == 1, "score"].iloc[0] < b.loc[b.is_causal == 0, "score"].min())
                       for _, b in ours.groupby("block_id"))
            assert row.top1 == pytest.approx(hits / n_blocks)
    pooled = topk[(topk.ranking == "neg_score") & (topk.model == "motif_jaspar")]
    hits = int(round((pooled.top1 * pooled.n_blocks).sum()))
    assert int(pooled.n_blocks.sum()) == len(null) - 1
    assert null[hits:].sum() < 0.01, (hits, null[hits:].sum())
    assert (pooled.top1 > pooled.random_top1).all()


def test_finetuned_vs_oneshot(test_run):
    """--oneshot (on in -profile test): the untrained cnn_small + probe is scored and paired."""
    _, outdir, _ = test_run
    pairs = pd.read_csv(outdir / "evaluation" / "tables" / "finetuned_vs_oneshot.tsv", sep="\t")
    pairs = pairs[(pairs.oneshot == "cnn_small_oneshot") & (pairs.finetuned == "cnn_small")]
    assert set(pairs.level) == {"dataset", "cell_line", "overall"}
    overall = pairs[pairs.level == "overall"].iloc[0]
    assert np.isfinite(overall.f1_oneshot) and np.isfinite(overall.pearson_r_finetuned)
    assert overall.n_finetuned == overall.n_oneshot > 1000
    assert (outdir / "models" / "cnn_small_oneshot__HepG2" / "spec.json").exists()


def test_enhancer_detection_is_learned(test_run):
    _, outdir, _ = test_run
    detection = pd.read_csv(outdir / "evaluation" / "tables" / "enhancer_detection.tsv", sep="\t")
    test_rows = detection[detection.split == "test"].set_index(["model", "cell_line"])
    assert len(test_rows) == 6  # cnn_small, cnn_small_oneshot and motif_jaspar x HepG2, K562
    assert (test_rows.loc["cnn_small"].auroc > 0.8).all(), test_rows
    assert (test_rows.loc["motif_jaspar"].auroc > 0.5).all(), test_rows


def test_resume_reruns_nothing_but_the_report(test_run, nextflow):
    workdir, outdir, _ = test_run
    proc = run_nextflow(nextflow, workdir, "-profile", "test", "--outdir", str(outdir), *paused_training_args(workdir),
                        "-resume")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # only the report is made again: it shows this run's metadata (run name, start, its run records)
    submitted = re.findall(r"Submitted process > (\S+)", proc.stdout)
    assert [name.split(":")[-1] for name in submitted] == ["REPORT"], submitted
    assert re.search(r"Cached process > \S+:SCORE", proc.stdout) and re.search(r"Cached process > \S+:EVALUATE", proc.stdout)
    section = (outdir / "report" / "index.html").read_text(encoding="utf-8").split('id="run-metadata"')[1]
    assert re.search(r"resumed \(-resume\)</td><td[^>]*>true</td>", section), section[:2000]


def test_predict_scores_a_vcf_with_the_models_of_an_earlier_run(test_run, nextflow, tmp_path):
    """-profile predict: a VCF as --input, scored for --cell_line by the models/ folder of the test
    run (--model_dir), nothing trained. Its ranked table is byte-identical to the test run's for the
    same VCF (--oneshot true takes the one-shot twin too, so the same three models rank it)."""
    _, outdir, _ = test_run
    sim = outdir / "simulation"
    out = tmp_path / "results"
    proc = run_nextflow(nextflow, tmp_path, "-profile", "test,predict", "--input", str(sim / "variants" / "sim_vcf_HepG2.vcf.gz"),
                        "--cell_line", "HepG2", "--genome", str(sim / "genome.fa"), "--model_dir", str(outdir / "models"),
                        "--models", "cnn_small,motif_jaspar", "--oneshot", "true", "--bootstrap", "20", "--outdir", str(out))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    ran = {row["process"].split(":")[-1] for row in read_trace(out)}
    assert ran == {"PREPARE_VARIANTS", "MAKE_WINDOWS", "SCORE", "EVALUATE", "RANK", "REPORT"}, ran
    name = "sim_vcf_HepG2"  # the dataset is named after the VCF
    assert (out / "variants" / f"{name}{RANKED_SUFFIX}").read_bytes() == (outdir / "variants" / f"{name}{RANKED_SUFFIX}").read_bytes()
    assert (out / "variants" / f"{name}{TOP_SUFFIX}").read_bytes() == (outdir / "variants" / f"{name}{TOP_SUFFIX}").read_bytes()
    records = [str(rec) for rec in pysam.VariantFile(str(out / "variants" / f"{name}{VCF_SUFFIX}"))]
    assert records == [str(rec) for rec in pysam.VariantFile(str(outdir / "variants" / f"{name}{VCF_SUFFIX}"))]
    models = pd.read_csv(out / "evaluation" / "tables" / "models.tsv", sep="\t")
    assert {"cnn_small", "cnn_small_oneshot", "motif_jaspar"} <= set(models["model"]), models
    assert "Ranked loci" in (out / "report" / "index.html").read_text()


def test_provenance_lists_inputs_and_weights(test_run):
    """pipeline_info/provenance.tsv: the sha256 of every input file and model file, per model its source.

    (Same inputs, same tables: tests/pipeline/test_faults.py compares an interrupted and resumed run
    with an uninterrupted one byte for byte, trained weights included; a paused and resumed
    training equals an uninterrupted one by tests/unit/test_runtime.py.)"""
    _, outdir, _ = test_run
    table = read_tsv(outdir / "pipeline_info" / "provenance.tsv")
    assert table.equals(read_tsv(outdir / "evaluation" / "tables" / "provenance.tsv"))
    files = table[table.kind != "model"]
    assert files["sha256"].str.fullmatch(r"[0-9a-f]{64}").all(), files
    inputs = table[table.kind == "input"]
    assert {"genome.fa", "genome.fa.fai", "models.csv"} <= set(inputs["name"]) and len(inputs) >= 8, inputs
    weights = table[(table.kind == "model_file") & (table.name == "model.pt")]
    assert sorted(weights["model"] + "__" + weights["cell_line"]) == ["cnn_small__HepG2", "cnn_small__K562"]
    for _, row in weights.iterrows():
        digest = hashlib.sha256((outdir / "models" / f"{row.model}__{row.cell_line}" / "model.pt").read_bytes())
        assert row.sha256 == digest.hexdigest()
    models = table[table.kind == "model"]
    assert set(models["model"]) == {"cnn_small", "cnn_small_oneshot", "motif_jaspar"}, models


def test_auto_precision_meets_the_budget(test_run, record_property):
    """The trained cnn_small's saturation-mutagenesis scores at --precision auto, against fp64:
    Spearman >= 0.9999 and no score that is non-zero in fp64 collapsing to 0 (docs/performance.md).
    bf16's figures are recorded beside them (not asserted: it is outside the budget by name)."""
    _, outdir, _ = test_run
    adapter = load_model(outdir / "models" / "cnn_small__HepG2")
    variants = read_tsv(outdir / "variants" / "sim_satmut_HepG2.variants.tsv")
    with Genome(outdir / "simulation" / "genome.fa") as genome:
        windows = build_windows(variants, genome, int(adapter.spec["input_length"]))
    assert set_precision(adapter, "fp64") == "fp64"
    exact = score_windows(adapter, windows)["score"].to_numpy()
    assert np.std(exact) > 0 and np.count_nonzero(exact) > 0.9 * len(exact)
    scores = {}
    for precision in ("auto", "bf16"):
        concrete = set_precision(adapter, precision)
        figures = budget_figures(exact, score_windows(adapter, windows)["score"].to_numpy())
        scores[precision] = (concrete, figures)
        record_property(f"budget_{precision}", json.dumps({"precision": concrete, **figures}))
    concrete, figures = scores["auto"]
    assert concrete in MEETS_BUDGET and figures["meets_budget"], scores
    assert figures["spearman"] >= BUDGET_SPEARMAN and figures["collapsed_to_zero"] == 0, scores
