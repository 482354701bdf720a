"""report: a self-contained page from a real evaluate run on small synthetic tables."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench.cli import main
from regvarbench.io import InputError
from regvarbench.report import MAX_LOCUS_FIGURES, read_ranked
from regvarbench.io import write_tsv

SECTION_IDS = ["summary", "correlations", "direction", "significance", "ld", "loci", "enhancer-detection",
               "per-cell-line", "model-comparison", "finetuned-vs-oneshot", "run-metadata"]


class PageParser(HTMLParser):
    """Collects element ids, image sources, external references and sortable tables."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.refs, self.scripts_src, self.sortable = [], [], [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("href", "src"):
            if key in a:
                self.refs.append(a[key])
        if tag == "script" and "src" in a:
            self.scripts_src.append(a["src"])
        if tag == "table" and "sortable" in (a.get("class") or ""):
            self.sortable += 1


def write_inputs(root, with_ld: bool = True, with_training: bool = True, with_pairs: bool = True) -> list[str]:
    """Arguments for evaluate over two cell lines, three models and (optionally) LD blocks, training and
    a one-shot -> fine-tuned pair (lm_b -> hyb_c) in the catalogue."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    args = {"--variants": [], "--scores": [], "--training": []}
    datasets = {"mpraA": ("HepG2", 60), "mpraB": ("K562", 50)}
    if with_ld:
        datasets["ldC"] = ("K562", 15)
    for ds, (cell, n) in datasets.items():
        ids = [f"{ds}:{i}" for i in range(n)]
        ld = ds.startswith("ld")
        effect = np.full(n, np.nan) if ld else rng.normal(size=n)
        v = pd.DataFrame({"variant_id": ids, "dataset": ds, "cell_line": cell, "chrom": "chr1",
                          "pos": np.arange(n) + 1, "ref": "A", "alt": "C", "effect_log2": effect,
                          "pvalue": np.nan if ld else rng.uniform(0, 1, n) ** 8, "signed_log10p": 0.0,
                          "row": np.arange(n)})
        if ld:
            v = v.assign(block_id=np.repeat(["x", "y", "z"], 5), is_causal=[1, 0, 0, 0, 0] * 3)
        args["--variants"].append(str(write_tsv(v, root / f"{ds}.variants.tsv")))
        for k, model in enumerate(["cnn_a", "lm_b", "hyb_c"]):
            score = (0.3 * k) * np.nan_to_num(effect) + rng.normal(size=n)
            s = pd.DataFrame({"variant_id": ids, "dataset": ds, "model": model, "ref_output": 0.5,
                              "alt_output": 0.5, "score": score})
            args["--scores"].append(str(write_tsv(s, root / f"{model}.{ds}.0.scores.tsv")))
    if with_training:
        for model in ["cnn_a", "lm_b", "hyb_c"]:
            t = pd.DataFrame({"model": model, "cell_line": ["HepG2", "K562"], "split": "test", "n": 200,
                              "auroc": rng.uniform(0.6, 1, 2), "auprc": rng.uniform(0.6, 1, 2),
                              "f1": rng.uniform(0.5, 1, 2)})
            args["--training"].append(str(write_tsv(t, root / f"{model}.enhancer_detection.tsv")))
    catalogue = root / "models.csv"
    pair = "hyb_c" if with_pairs else ""
    catalogue.write_text("model,family,architecture_class,pair_of\ncnn_a,cnn,CNN,\n"
                         f"lm_b,hf,transformer,{pair}\nhyb_c,hf,hybrid,\n")
    argv = ["--catalogue", str(catalogue), "--bootstrap", "50", "--seed", "0"]
    for flag, files in args.items():
        if files:
            argv += [flag, *files]
    return argv


def write_ranked(root, evaluate_argv: list[str]) -> Path:
    """rank's tables of the LD blocks of write_inputs, an LD-export locus (lead rs3) and a region VCF."""
    rng = np.random.default_rng(2)
    variants = [v for v in evaluate_argv[evaluate_argv.index("--variants") + 1:] if v.endswith("ldC.variants.tsv")]
    scores = [s for s in evaluate_argv[evaluate_argv.index("--scores") + 1:] if ".ldC." in s]
    for ds, n in (("locusD", 12), ("vcfE", 7)):
        v = pd.DataFrame({"variant_id": [f"{ds}:{i}" for i in range(n)], "dataset": ds, "cell_line": "HepG2",
                          "chrom": "chr2", "pos": 5000 + 700 * np.arange(n), "ref": "A", "alt": "G",
                          "effect_log2": np.nan, "pvalue": np.nan, "row": np.arange(n)})
        if ds == "locusD":
            v = v.assign(locus_id="rs3", snp_id=[f"rs{i}" for i in range(n)], is_lead=(np.arange(n) == 3).astype(int),
                         r2=0.9)
        variants.append(str(write_tsv(v, root / f"{ds}.variants.tsv")))
        for model in ["cnn_a", "lm_b", "hyb_c"]:
            s = pd.DataFrame({"variant_id": v["variant_id"], "dataset": ds, "model": model,
                              "score": rng.normal(size=n)})
            scores.append(str(write_tsv(s, root / f"{model}.{ds}.0.scores.tsv")))
    assert main(["rank", "--variants", *variants, "--scores", *scores, "--outdir", str(root / "ranked")]) == 0
    return root / "ranked"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    argv = write_inputs(root / "in")
    assert main(["evaluate", *argv, "--outdir", str(root / "eval")]) == 0
    ranked = write_ranked(root / "in", argv)
    info = root / "results" / "pipeline_info"
    info.mkdir(parents=True)
    (info / "execution_report.html").write_text("<html></html>")
    (info / "execution_trace.txt").write_text("task_id\n")
    out = root / "results" / "report"
    assert main(["report", "--evaluation", str(root / "eval"), "--pipeline-info", str(info),
                 "--title", "Synthetic <benchmark>", "--ranked", str(ranked), "--outdir", str(out)]) == 0
    return out


def parse(path) -> tuple[str, PageParser]:
    html = path.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(html)
    return html, parser


def test_every_section_and_embedded_figures(report):
    html, page = parse(report / "index.html")
    for section in SECTION_IDS:
        assert section in page.ids, section
    assert len(page.images) == 12  # 10 figures and one per locus (the LD-export locus and the region)
    assert all(src.startswith("data:image/png;base64,") and len(src) > 1000 for src in page.images)
    assert "not available in this run" not in html.lower()
    assert page.sortable >= 5 and "addEventListener" in html
    assert "Synthetic &lt;benchmark&gt;" in html  # title escaped


def test_self_contained(report):
    html, page = parse(report / "index.html")
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert not page.scripts_src and "<link" not in html
    external = [r for r in page.refs if not (r.startswith("data:") or r.startswith("#")
                                             or r.startswith("../pipeline_info/"))]
    assert external == []
    assert "../pipeline_info/execution_report.html" in page.refs  # relative link


def test_figure_files_written(report):
    names = {p.name for p in (report / "figures").iterdir()}
    for stem in ("correlations", "direction_heatmap", "significance_lines", "significance_scatter",
                 "significant_density", "direction_by_threshold", "ld_topk", "enhancer_detection",
                 "model_comparison", "finetuned_vs_oneshot"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names, stem
    assert (report / "figures" / "correlations.png").read_bytes().startswith(b"\x89PNG")


def test_best_marked_in_per_cell_line_table(report):
    html, _ = parse(report / "index.html")
    section = html[html.index('id="per-cell-line"'):html.index('id="run-metadata"')]
    # 3 cell-line/overall groups x 2 statistics: one best and one second best per column
    assert section.count('class="best"') == 6 and section.count('class="second"') == 6


def test_comparison_sections_have_tables(report):
    html, _ = parse(report / "index.html")
    comparison = html[html.index('id="model-comparison"'):html.index('id="finetuned-vs-oneshot"')]
    # 3 models -> 3 pairs in each of 2 datasets, 2 cell lines and overall
    assert comparison.count("<tr><td") == 15 and "spearman_diff" in comparison
    finetuned = html[html.index('id="finetuned-vs-oneshot"'):html.index('id="run-metadata"')]
    assert finetuned.count("<tr><td") == 5 and "lm_b" in finetuned and "hyb_c" in finetuned


def test_missing_sections_say_so(tmp_path):
    argv = write_inputs(tmp_path / "in", with_ld=False, with_training=False, with_pairs=False)
    assert main(["evaluate", *argv, "--outdir", str(tmp_path / "eval")]) == 0
    assert main(["report", "--evaluation", str(tmp_path / "eval" / "tables"), "--outdir", str(tmp_path / "out")]) == 0
    html, page = parse(tmp_path / "out" / "index.html")
    for section in SECTION_IDS:
        assert section in page.ids
    for section, following in (("ld", "loci"), ("loci", "enhancer-detection"), ("enhancer-detection", "per-cell-line"),
                               ("finetuned-vs-oneshot", "run-metadata")):
        body = html[html.index(f'id="{section}"'):html.index(f'id="{following}"')]
        assert "Not available in this run" in body, section
    # correlations, direction, significance lines, scatter, density, direction by threshold, comparison
    assert len(page.images) == 7


def test_report_without_evaluation_is_input_error(tmp_path, capsys):
    assert main(["report", "--evaluation", str(tmp_path), "--outdir", str(tmp_path / "o")]) == 2
    assert "evaluation.json" in capsys.readouterr().err


RUN_INFO = {"pipeline": "regvarbench", "pipeline_version": "9.9.9", "nextflow_version": "24.10.8",
            "run_name": "tiny_turing", "session_id": "0000-1111", "start": "2026-12-01T10:00:00Z", "resumed": False,
            "command_line": "nextflow run . -profile test", "profile": "test", "revision": "", "user": "me",
            "run_records": ["pipeline_info/execution_report_x.html", "pipeline_info/params_x.json",
                            "pipeline_info/software_versions.yml"],
            "params": {"seed": 3, "simulate_seed": 7, "models": "cnn_a,lm_b", "oneshot": True, "chain": None}}
VERSIONS = ('"REGVARBENCH:SCORE_VARIANTS:SCORE":\n    regvarbench: 9.9.9\n    torch: 2.9.0\n'
            '"REGVARBENCH:EVALUATE":\n    regvarbench: 9.9.9\n    pandas: 2.3.3\n'
            '"REGVARBENCH:TRAIN_MODELS:TRAIN":\n    regvarbench: 9.9.9\n    torch: 2.9.0\n')


def run_metadata_section(html: str) -> str:
    return html[html.index('id="run-metadata"'):]


def test_run_metadata_from_run_info_and_versions(tmp_path):
    """--run-info and --software-versions: the run's identity, every parameter, every seed, the
    versions per tool with the processes using them, and links to the run records under --outdir."""
    argv = write_inputs(tmp_path / "in")
    assert main(["evaluate", *argv, "--outdir", str(tmp_path / "eval")]) == 0
    (tmp_path / "run_info.json").write_text(json.dumps(RUN_INFO))
    (tmp_path / "versions.yml").write_text(VERSIONS)
    assert main(["report", "--evaluation", str(tmp_path / "eval"), "--run-info", str(tmp_path / "run_info.json"),
                 "--software-versions", str(tmp_path / "versions.yml"), "--outdir", str(tmp_path / "out")]) == 0
    html, page = parse(tmp_path / "out" / "index.html")
    section = run_metadata_section(html)
    for text in ("Nextflow version", "24.10.8", "tiny_turing", "nextflow run . -profile test", "--models",
                 "cnn_a,lm_b", "--oneshot", "evaluate (bootstrap intervals)"):
        assert text in section, text
    seeds = section[section.index("<h3>Seeds"):section.index("<h3>Parameters")]
    assert seeds.count("<tr><td") == 3 and "--simulate_seed" in seeds  # --seed, --simulate_seed, the bootstrap's
    versions = section[section.index("<h3>Software versions"):section.index("<h3>Provenance")]
    # one row per (tool, version); the processes that used it, by short name
    assert versions.count("<tr><td") == 3 and "SCORE, TRAIN" in versions and "EVALUATE, SCORE, TRAIN" in versions
    assert [r for r in page.refs if r.startswith("../")] == ["../pipeline_info/execution_report_x.html",
                                                            "../pipeline_info/params_x.json",
                                                            "../pipeline_info/software_versions.yml"]
    assert "No run records were given" not in section


def test_run_metadata_absent_says_so(report):
    html, _ = parse(report / "index.html")
    section = run_metadata_section(html)
    assert "<h3>Seeds" in section and "evaluate (bootstrap intervals)" in section
    assert "<h3>Parameters" not in section and "<h3>Software versions" not in section


@pytest.fixture(scope="module")
def small_evaluation(tmp_path_factory):
    """evaluate's tables for two cell lines and three models (no LD, training or pairs)."""
    root = tmp_path_factory.mktemp("small_evaluation")
    argv = write_inputs(root / "in", with_ld=False, with_training=False, with_pairs=False)
    assert main(["evaluate", *argv, "--outdir", str(root / "eval")]) == 0
    return root / "eval"


@pytest.mark.parametrize("name, text, message", [
    ("run_info.json", "{not json", "not valid JSON"),
    ("run_info.json", "[1, 2]", "expected a JSON object"),
    ("versions.yml", '"P":\n  - a\n  - b\n', "versions.yml"),
    ("versions.yml", '"P": [unclosed\n', "not valid YAML"),
])
def test_damaged_run_metadata_is_one_message(small_evaluation, tmp_path, capsys, name, text, message):
    """A damaged run_info.json or versions.yml: one message naming it, before any figure is drawn."""
    (tmp_path / name).write_text(text)
    flag = "--run-info" if name.endswith(".json") else "--software-versions"
    assert main(["report", "--evaluation", str(small_evaluation), flag, str(tmp_path / name),
                 "--outdir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / name) in err and message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "figures").exists()


def test_ranked_loci_section(report):
    """--ranked: a figure and top-candidates table per locus with a lead or per region, the LD blocks'
    top candidates in one table without figures; the lead SNP and its consensus rank named."""
    html, page = parse(report / "index.html")
    section = html[html.index('id="loci"'):html.index('id="enhancer-detection"')]
    assert "<h3>locusD: rs3</h3>" in section and "<h3>vcfE</h3>" in section
    assert "<h3>ldC: 3 loci without a lead SNP</h3>" in section and "Fig. 3" in section
    assert section.count("<img") == 2 and "12 variants, 3 models; lead SNP rs3 at consensus rank" in section
    ranked = pd.read_csv(report.parent.parent / "in" / "ranked" / "locusD.ranked.tsv", sep="\t")
    lead_rank = ranked.loc[ranked["is_lead"] == 1, "consensus_rank"].iloc[0]
    assert f"lead SNP rs3 at consensus rank {lead_rank:.3g}" in section
    # 3 top candidates each for locusD and vcfE, and for the 3 LD blocks
    assert section.count("<tr><td") == 3 + 3 + 9
    names = {p.name for p in (report / "figures").iterdir()}
    assert {"locus_locusD_rs3.png", "locus_locusD_rs3.svg", "locus_vcfE_vcfE.png"} <= names
    assert not any(n.startswith("locus_ldC") for n in names) and MAX_LOCUS_FIGURES >= 2


def test_ranked_inputs_checked(report, tmp_path):
    ranked_dir = report.parent.parent / "in" / "ranked"
    with pytest.raises(InputError, match="no such file or folder"):
        read_ranked([tmp_path / "nope"])
    (tmp_path / "x.tsv").write_text("a\n")
    with pytest.raises(InputError, match="neither a <dataset>.ranked.tsv"):
        read_ranked([tmp_path / "x.tsv"])
    with pytest.raises(InputError, match="vcfE.top_candidates.tsv given without vcfE.ranked.tsv"):
        read_ranked([ranked_dir / "vcfE.top_candidates.tsv"])
    # a ranked table alone: its top candidates are recomputed, equal to rank's file
    ranked, top = read_ranked([ranked_dir / "vcfE.ranked.tsv"])["vcfE"]
    assert top.equals(read_ranked([ranked_dir])["vcfE"][1])
