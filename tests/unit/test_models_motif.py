"""JASPAR motif baseline: matrices load, scores follow motifs, variant scores are alt − ref, and
the baseline correlates with measured effects on the synthetic benchmark (and on SORT1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench import cli, metrics
from regvarbench import simulate as sim
from regvarbench.dna import reverse_complement
from regvarbench.elements import rebuild_elements
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv
from regvarbench.models import load_model
from regvarbench.models.motif import CELL_LINE_MOTIFS, build_spec
from regvarbench.score import score_windows, variant_score
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset
from regvarbench.windows import build_windows

ALPHABET = "ACGT"


@pytest.fixture(scope="module")
def hepg2():
    return load_model(build_spec("HepG2"))


def random_dna(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list(ALPHABET), length))


def consensus(adapter, i: int) -> str:
    return "".join(ALPHABET[j] for j in adapter.motifs[i].counts.argmax(axis=1))


def windows_of(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"variant_id": f"t:{i}", "dataset": "t", "cell_line": "HepG2", "ref_seq": r, "alt_seq": a,
                          "n_padded": 0} for i, (r, a) in enumerate(pairs)])


def test_loads_named_human_core_motifs(hepg2):
    spec = hepg2.spec
    assert spec["family"] == "motif" and spec["score_kind"] == "diff" and spec["jaspar_release"].startswith("JASPAR")
    assert [m["name"] for m in spec["motifs"]] == CELL_LINE_MOTIFS["HepG2"]
    ids = {m["name"]: m["matrix_id"] for m in spec["motifs"]}
    assert ids["HNF4A"].startswith("MA0114.") and ids["HNF1A"].startswith("MA0046.")  # human, canonical
    assert all(m.counts.shape == (len(m.counts), 4) and m.counts.sum() > 0 for m in hepg2.motifs)
    k562 = build_spec("K562")
    assert [m["name"] for m in k562["motifs"]] == ["GATA1", "TAL1", "KLF1"]
    with pytest.raises(InputError, match="no CORE human matrix"):
        build_spec(None, ["NOT_A_FACTOR"])


def test_matches_reference_scan_of_simulate():
    """Vectorised scan = simulate.best_log_odds (loop reference), both strands, N windows skipped."""
    spec = {"family": "motif", "background": sim.BASE_PROBS.tolist(), "pseudocount": 0,
            "motifs": [{"name": k, "counts": v.tolist()} for k, v in sim.MOTIFS["HepG2"].items()]}
    adapter = load_model(spec)
    rng = np.random.default_rng(1)
    seqs = [random_dna(rng, 120) for _ in range(30)]
    seqs[0] = seqs[0][:40] + "N" * 5 + seqs[0][45:]
    site = "".join(ALPHABET[j] for j in sim.MOTIFS["HepG2"]["FOXA2"].argmax(axis=1))
    seqs[1] = seqs[1][:60] + reverse_complement(site) + seqs[1][60 + len(site):]  # a minus-strand hit
    got = adapter.predict_per_motif(seqs)
    want = np.array([[sim.best_log_odds(s, p) for p in sim.MOTIFS["HepG2"].values()] for s in seqs])
    np.testing.assert_allclose(got, want, atol=2e-3)  # weights on a 2^-12-bit grid


def test_consensus_scores_higher_and_losing_it_gives_negative_diff(hepg2):
    rng = np.random.default_rng(0)
    base = random_dna(rng, 301)
    for i in range(len(hepg2.motifs)):
        site = consensus(hepg2, i)
        start = 150 - len(site) // 2
        with_site = base[:start] + site + base[start + len(site):]
        assert hepg2.predict([with_site])[0] > hepg2.predict([base])[0] + 3
        # destroy it: the most informative position goes to its least likely base
        counts = hepg2.motifs[i].counts
        freqs = counts / counts.sum(axis=1, keepdims=True)
        k = int(freqs.max(axis=1).argmax())
        broken = with_site[:start + k] + ALPHABET[int(counts[k].argmin())] + with_site[start + k + 1:]
        scores = score_windows(hepg2, windows_of([(with_site, broken), (broken, with_site)]))
        assert scores["score"].iloc[0] < -1 and scores["score"].iloc[1] == -scores["score"].iloc[0]
        assert np.array_equal(scores["score"], scores["alt_output"] - scores["ref_output"])  # diff, not ratio


def test_reverse_complement_and_batching_invariance(hepg2):
    rng = np.random.default_rng(2)
    seqs = [random_dna(rng, 1000) for _ in range(70)] + ["ACG", "N" * 50]
    rc = [reverse_complement(s) for s in seqs]
    out = hepg2.predict(seqs)
    assert np.array_equal(out, hepg2.predict(rc))
    assert np.array_equal(out[:40], hepg2.predict(seqs[:40], batch_size=7))
    assert np.isfinite(out).all()  # too short / all-N sequences get each motif's floor, not -inf


def test_score_kind_in_variant_score():
    assert variant_score(1.5, -2.0, "diff") == -3.5
    assert variant_score(0.5, 0.25) == -1.0  # default: the study's log2(alt / ref)
    assert variant_score(0.5, 0.25, "log2ratio_eps") == pytest.approx(np.log2((0.25 + 1e-6) / (0.5 + 1e-6)))
    with pytest.raises(InputError, match="score_kind"):
        variant_score(0.5, 0.25, "ratio")


def test_cli_train_writes_motif_model_dir(tmp_path):
    rng = np.random.default_rng(3)
    sites = [consensus(load_model(build_spec("HepG2")), i) for i in range(4)]
    rows = []
    for i in range(120):
        label = i % 2
        seq = random_dna(rng, 200)
        if label:
            site = sites[i % 4]
            seq = seq[:90] + site + seq[90 + len(site):]
        rows.append({"region_id": f"r{i}", "chrom": "chr1", "start": i * 300, "end": i * 300 + 200, "label": label,
                     "cell_line": "HepG2", "sequence": seq, "split": ("train", "valid", "test")[(i // 2) % 3]})
    data = tmp_path / "HepG2.split.tsv"
    pd.DataFrame(rows).to_csv(data, sep="\t", index=False)
    assert cli.main(["train", "--family", "motif", "--cell-line", "HepG2", "--data", str(data),
                     "--outdir", str(tmp_path / "models")]) == 0
    target = tmp_path / "models" / "motif_jaspar__HepG2"
    spec = json.loads((target / "spec.json").read_text())
    assert spec["family"] == "motif" and spec["score_kind"] == "diff" and len(spec["motifs"]) == 4
    assert all(m["matrix_id"].startswith("MA") for m in spec["motifs"])
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert list(detection["split"]) == ["valid", "test"] and (detection["auroc"] > 0.75).all()
    assert load_model(target).spec["motifs"] == spec["motifs"]
    assert cli.main(["train", "--family", "motif", "--cell-line", "HepG2", "--motifs", "MA0114.5,FOXA2",
                     "--model-name", "two", "--outdir", str(tmp_path / "models")]) == 0
    assert [m["matrix_id"] for m in json.loads((tmp_path / "models" / "two__HepG2" / "spec.json").read_text())
            ["motifs"]][0] == "MA0114.5"
    assert cli.main(["train", "--family", "motif", "--outdir", str(tmp_path)]) == 2  # no --cell-line


def correlation_bound(n: int) -> float:
    """Under no association r ~ N(0, 1/(n-1)); 3 sd above zero is p ~ 0.001 one-sided."""
    return 3 / np.sqrt(n - 1)


@pytest.mark.slow
def test_correlates_with_synthetic_effects(tmp_path, hepg2):
    sim.simulate_benchmark(tmp_path / "sim", seed=7)
    sheet = pd.read_csv(tmp_path / "sim" / "datasets.csv")
    with Genome(tmp_path / "sim" / "genome.fa") as genome:
        for name in ("sim_satmut_HepG2", "sim_raqtl_HepG2"):
            row = sheet[sheet["dataset"] == name].iloc[0]
            variants = prepare_dataset(DatasetSpec(name, row["cell_line"], row["format"],
                                                   tmp_path / "sim" / row["path"]), genome).variants
            windows = build_windows(variants, genome, 200)
            scores = score_windows(hepg2, windows)
            r = metrics.correlate(scores["score"], variants["effect_log2"], n_boot=0)
            assert r["pearson_r"] > correlation_bound(r["n"]), (name, r)


ELEMENT_SETS = {  # the study's saturation-mutagenesis elements: dataset -> (cell line, format, file)
    "SORT1": ("HepG2", "kircher2019_satmut", "SORT1.csv"),
    "Hela_PPARG": ("HeLa", "birnbaum2014_eexon", "Hela_PPARG.csv"),
    "Hela_SORL1": ("HeLa", "birnbaum2014_eexon", "Hela_SORL1.csv"),
    "Hela_TRAF3IP2": ("HeLa", "birnbaum2014_eexon", "Hela_TRAF3IP2.csv"),
}
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"


def test_element_correlations_recorded(published, record_property):
    """The motif baseline on the real SORT1 and HeLa elements: each element rebuilt from its
    variant table (rebuild-elements' code), every variant scored in the element's own sequence,
    Pearson/Spearman r with 1,000-bootstrap 95% CIs written to
    build/test-artefacts/motif_element_correlations.tsv (and the junit properties)."""
    rows = []
    for dataset, (cell_line, fmt, name) in ELEMENT_SETS.items():
        path = published / "experimental" / name
        if not path.exists():
            pytest.skip(f"{path} not found")
        variants = prepare_dataset(DatasetSpec(dataset, cell_line, fmt, path), None).variants
        (element,) = rebuild_elements(variants[["dataset", "chrom", "pos", "ref"]], None)
        first = element.row["start"] + 1
        offset = (variants["pos"] - first).to_numpy()
        seq = element.sequence
        windows = pd.DataFrame({"variant_id": variants["variant_id"], "dataset": dataset, "cell_line": cell_line,
                                "ref_seq": seq, "alt_seq": [seq[:o] + a + seq[o + 1:] for o, a in
                                                            zip(offset, variants["alt"])], "n_padded": 0})
        model = load_model(build_spec(cell_line))
        scores = score_windows(model, windows)
        r = metrics.correlate(scores["score"], variants["effect_log2"], n_boot=1000, seed=0)
        assert r["n"] == len(variants) - r["n_dropped"] and np.isfinite(r["pearson_r"]), dataset
        assert r["pearson_ci_low"] <= r["pearson_r"] <= r["pearson_ci_high"], dataset
        rows.append({"dataset": dataset, "cell_line": cell_line, "model": model.name,
                     "element": element.row["element_id"], "element_length": len(seq),
                     "n_gaps": element.row["n_gaps"], **r})
    table = pd.DataFrame(rows)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTEFACTS / "motif_element_correlations.tsv"
    table.to_csv(out, sep="\t", index=False)
    record_property("motif_element_correlations", out.read_text())
    print(out.read_text())
    assert table["dataset"].tolist() == list(ELEMENT_SETS)
