"""make-windows: centring convention, padding at contig ends, chunking, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from regvarbench.cli import main
from regvarbench.dna import reverse_complement
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import cnn, load_model
from regvarbench.score import average_strands, read_windows, score_windows, variant_score
from regvarbench.windows import build_windows, compact_windows, expand_windows

CHR1_LEN, CHR2_LEN = 300, 80


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    chr1 = "".join(rng.choice(list("ACGT"), CHR1_LEN))
    chr2 = "".join(rng.choice(list("ACGT"), CHR2_LEN))
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{chr1[:100]}\n{chr1[100:200]}\n{chr1[200:]}\n>chr2\n{chr2}\n")
    return path


def other(b: str) -> str:
    return "ACGT"[("ACGT".index(b) + 2) % 4]


def variants_table(genome_path: Path, spots: list[tuple[str, int]], dataset: str = "ds") -> pd.DataFrame:
    """A variants table (contract columns) with the genome's base as ref at each (chrom, pos)."""
    with Genome(genome_path) as g:
        refs = [g.base(c, p) for c, p in spots]
    return pd.DataFrame({
        "variant_id": [f"{dataset}:{i}" for i in range(len(spots))], "dataset": dataset, "cell_line": "HepG2",
        "chrom": [c for c, _ in spots], "pos": [p for _, p in spots], "ref": refs, "alt": [other(r) for r in refs],
        "effect_log2": 0.5, "pvalue": 0.01, "signed_log10p": 2.0, "row": range(len(spots))})


SPOTS = [("chr1", 1), ("chr1", 2), ("chr1", 150), ("chr1", CHR1_LEN), ("chr2", 40), ("1", 77), ("chr2", CHR2_LEN)]


@pytest.mark.parametrize("length", [11, 10, 1000])
def test_centre_base_and_single_difference(genome_path: Path, length: int) -> None:
    variants = variants_table(genome_path, SPOTS)
    with Genome(genome_path) as g:
        w = build_windows(variants, g, length)
        for (_, v), (_, win) in zip(variants.iterrows(), w.iterrows()):
            ref_seq, alt_seq = win["ref_seq"], win["alt_seq"]
            assert len(ref_seq) == len(alt_seq) == length
            assert ref_seq[length // 2] == v["ref"] and alt_seq[length // 2] == v["alt"]
            diff = [i for i in range(length) if ref_seq[i] != alt_seq[i]]
            assert diff == [length // 2]
            # the window is the genome around pos, variant at index length // 2
            start = v["pos"] - 1 - length // 2
            assert ref_seq == g.fetch(v["chrom"], start, start + length)
    assert w["variant_id"].tolist() == variants["variant_id"].tolist()


def test_padding_at_contig_ends(genome_path: Path) -> None:
    variants = variants_table(genome_path, [("chr1", 1), ("chr1", CHR1_LEN), ("chr1", 150), ("chr1", 3)])
    with Genome(genome_path) as g:
        odd = build_windows(variants, g, 11)  # half = 5
        even = build_windows(variants, g, 10)  # half = 5, one base fewer on the right
        big = build_windows(variants, g, 1000)
    assert odd["n_padded"].tolist() == [5, 5, 0, 3]
    assert odd["ref_seq"].iloc[0].startswith("N" * 5) and odd["ref_seq"].iloc[0][5] != "N"
    assert odd["ref_seq"].iloc[1].endswith("N" * 5) and odd["ref_seq"].iloc[1][5] != "N"
    assert even["n_padded"].tolist() == [5, 4, 0, 3]
    assert even["ref_seq"].iloc[1] == even["ref_seq"].iloc[1][:6] + "NNNN"
    # 1 kb on a 300 bp contig: padding on both sides, count = 1000 - 300
    assert big["n_padded"].tolist() == [1000 - CHR1_LEN] * 4
    assert all(s.count("N") == n for s, n in zip(big["ref_seq"], big["n_padded"]))


def test_ref_inconsistent_with_genome_is_an_error(genome_path: Path) -> None:
    variants = variants_table(genome_path, [("chr1", 20), ("chr1", 21)])
    variants.loc[1, "ref"] = other(variants.loc[1, "ref"])
    with Genome(genome_path) as g, pytest.raises(InputError, match="ds:1"):
        build_windows(variants, g, 11)
    missing = variants_table(genome_path, [("chr1", 20)]).assign(chrom="chr9")
    with Genome(genome_path) as g, pytest.raises(InputError, match="chr9"):
        build_windows(missing, g, 11)


def run_cli(variants_path: Path, genome_path: Path, outdir: Path, *extra: str) -> int:
    return main(["make-windows", "--variants", str(variants_path), "--genome", str(genome_path),
                 "--outdir", str(outdir), *extra])


def test_chunks_cover_every_variant_once_and_are_deterministic(tmp_path: Path, genome_path: Path) -> None:
    spots = [("chr1", p) for p in range(1, CHR1_LEN + 1, 23)]  # 14 variants: 1, 24, ..., 300
    variants = variants_table(genome_path, spots, dataset="setA")
    vpath = write_tsv(variants, tmp_path / "setA.variants.tsv")
    files = []
    for k in range(2):
        out = tmp_path / f"w{k}"
        assert run_cli(vpath, genome_path, out, "--length", "21", "--chunk-size", "5") == 0
        files.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert files[0] == files[1]
    chunks = sorted(n for n in files[0] if ".windows.0" in n)
    assert chunks == ["setA.windows.00000.tsv", "setA.windows.00001.tsv", "setA.windows.00002.tsv"]
    tables = [read_tsv(tmp_path / "w0" / n) for n in chunks]
    assert [len(t) for t in tables] == [5, 5, 4]
    ids = pd.concat(tables)["variant_id"].tolist()
    assert ids == variants["variant_id"].tolist()  # every variant once, in order
    assert list(tables[0].columns) == ["variant_id", "dataset", "cell_line", "ref_seq", "alt_seq", "n_padded", "ref_row",
                                      "chrom", "window_start", "alt_start", "alt_end", "variant_class"]
    summary = read_tsv(tmp_path / "w0" / "setA.windows_summary.tsv")
    assert summary.iloc[0][["dataset", "n_variants", "n_chunks", "n_padded_windows"]].tolist() == ["setA", 14, 3, 2]  # pos 1 and pos 300
    # a rerun with bigger chunks leaves no stale chunk behind
    assert run_cli(vpath, genome_path, tmp_path / "w0", "--length", "21", "--chunk-size", "100") == 0
    assert sorted(p.name for p in (tmp_path / "w0").glob("setA.windows.0*.tsv")) == ["setA.windows.00000.tsv"]
    # --prefix (the pipeline's task.ext.prefix) names the chunks and the summary; contents unchanged
    assert run_cli(vpath, genome_path, tmp_path / "p", "--length", "21", "--chunk-size", "100", "--prefix", "mine") == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["mine.windows.00000.tsv", "mine.windows_summary.tsv"]
    assert (tmp_path / "p" / "mine.windows.00000.tsv").read_bytes() == (tmp_path / "w0" / "setA.windows.00000.tsv").read_bytes()


def test_end_to_end_from_prepare(tmp_path: Path, genome_path: Path) -> None:
    with Genome(genome_path) as g:
        lines = [f"1\t{p}\t{g.base('chr1', p)}\t{other(g.base('chr1', p))}\t0.3\t0.04" for p in (5, 100, 299)]
        deletion = f"1\t7\t{g.fetch('chr1', 6, 8)}\t{g.base('chr1', 7)}\t0\t1"  # anchor base + 1 deleted
        near_end = f"1\t295\t{g.fetch('chr1', 294, 296)}\t{g.base('chr1', 295)}\t0\t1"  # windows pass the end
    src = tmp_path / "src.tsv"
    src.write_text("chrom\tpos\tref\talt\teffect_log2\tpvalue\n" + "\n".join([*lines, deletion, near_end]) + "\n")
    assert main(["prepare-variants", "--dataset", "std", "--cell-line", "K562", "--format", "standard",
                 "--input", str(src), "--genome", str(genome_path), "--window-length", "15",
                 "--outdir", str(tmp_path / "v")]) == 0
    assert read_tsv(tmp_path / "v" / "std.skipped.tsv")["reason"].tolist() == ["window_beyond_contig"]
    assert run_cli(tmp_path / "v" / "std.variants.tsv", genome_path, tmp_path / "w", "--length", "15") == 0
    w = read_tsv(tmp_path / "w" / "std.windows.00000.tsv")
    assert w["variant_id"].tolist() == ["std:0", "std:1", "std:2", "std:3"] and (w["cell_line"] == "K562").all()
    assert w["n_padded"].tolist() == [3, 0, 6, 0]
    assert w["variant_class"].tolist() == ["snv", "snv", "snv", "deletion"]


def test_bad_arguments(tmp_path: Path, genome_path: Path) -> None:
    vpath = write_tsv(variants_table(genome_path, [("chr1", 9)]), tmp_path / "ds.variants.tsv")
    assert run_cli(vpath, genome_path, tmp_path / "o", "--length", "0") == 2
    assert run_cli(vpath, genome_path, tmp_path / "o", "--chunk-size", "0") == 2
    assert run_cli(tmp_path / "nope.tsv", genome_path, tmp_path / "o") == 2
    write_tsv(variants_table(genome_path, [("chr1", 9)]).drop(columns="ref"), tmp_path / "noref.variants.tsv")
    assert run_cli(tmp_path / "noref.variants.tsv", genome_path, tmp_path / "o") == 2


# ---------------------------------------------------------------- reverse complement and compact chunks


def test_reverse_complement_rows(genome_path: Path) -> None:
    variants = variants_table(genome_path, SPOTS)
    with Genome(genome_path) as g:
        fwd = build_windows(variants, g, 10)
        both = build_windows(variants, g, 10, reverse_complement=True)
    assert list(both.columns) == ["variant_id", "dataset", "cell_line", "ref_seq", "alt_seq", "n_padded", "chrom",
                                  "window_start", "alt_start", "alt_end", "variant_class", "strand"]
    assert both["strand"].tolist() == ["+", "-"] * len(variants)
    assert both["variant_id"].tolist() == [v for v in variants["variant_id"] for _ in range(2)]
    plus, minus = both.iloc[0::2].reset_index(drop=True), both.iloc[1::2].reset_index(drop=True)
    assert plus.drop(columns="strand").equals(fwd)
    assert minus["ref_seq"].tolist() == [reverse_complement(s) for s in fwd["ref_seq"]]
    assert minus["alt_seq"].tolist() == [reverse_complement(s) for s in fwd["alt_seq"]]
    assert (minus["n_padded"] == fwd["n_padded"]).all()
    assert minus[["chrom", "window_start"]].equals(fwd[["chrom", "window_start"]])  # the '+' row's locus
    for ref_seq, alt_seq in zip(minus["ref_seq"], minus["alt_seq"]):  # even length: index 10 - 1 - 5 = 4
        assert [i for i in range(10) if ref_seq[i] != alt_seq[i]] == [4]


def satmut_variants(genome_path: Path, positions: range) -> pd.DataFrame:
    """Saturation mutagenesis: the three alternatives at every position."""
    with Genome(genome_path) as g:
        rows = [("chr1", p, g.base("chr1", p), alt) for p in positions for alt in "ACGT" if alt != g.base("chr1", p)]
    return pd.DataFrame({"variant_id": [f"sat:{i}" for i in range(len(rows))], "dataset": "sat", "cell_line": "HepG2",
                         "chrom": [r[0] for r in rows], "pos": [r[1] for r in rows], "ref": [r[2] for r in rows],
                         "alt": [r[3] for r in rows], "effect_log2": 0.1, "pvalue": 0.5, "signed_log10p": 0.3,
                         "row": range(len(rows))})


@pytest.mark.parametrize("rc", [False, True])
def test_chunks_store_each_reference_once_and_read_back_whole(tmp_path: Path, genome_path: Path, rc: bool) -> None:
    variants = satmut_variants(genome_path, range(100, 110))  # 30 variants, 10 distinct references
    vpath = write_tsv(variants, tmp_path / "sat.variants.tsv")
    extra = ["--reverse-complement"] if rc else []
    assert run_cli(vpath, genome_path, tmp_path / "w", "--length", "51", "--chunk-size", "7", *extra) == 0
    with Genome(genome_path) as g:
        full = build_windows(variants, g, 51, reverse_complement=rc)
    chunks = sorted((tmp_path / "w").glob("sat.windows.0*.tsv"))
    assert len(chunks) == 5  # 30 variants / 7 per chunk, both strands of a variant in one chunk
    raw = [read_tsv(p, dtype=str, keep_default_na=False) for p in chunks]
    assert raw[0].columns.tolist() == (["variant_id", "dataset", "cell_line", "ref_seq", "alt_seq", "n_padded",
                                        "ref_row", "chrom", "window_start", "alt_start", "alt_end", "variant_class"]
                                       + (["strand"] if rc else []))
    # stored once per chunk: as many non-empty ref_seq cells as distinct references in the chunk
    per_chunk = 7 * (2 if rc else 1)
    for k, t in enumerate(raw):
        part = full.iloc[k * per_chunk:(k + 1) * per_chunk]
        assert t["ref_seq"].notna().sum() == part["ref_seq"].nunique() < len(part)
        assert t["variant_id"].tolist() == part["variant_id"].tolist()
    back = pd.concat([read_windows(p) for p in chunks], ignore_index=True)
    assert back[full.columns].equals(full.astype({"n_padded": "int64"}))
    summary = read_tsv(tmp_path / "w" / "sat.windows_summary.tsv")
    assert summary.loc[0, "n_variants"] == 30


def test_expand_windows_rejects_bad_ref_row(tmp_path: Path, genome_path: Path) -> None:
    with Genome(genome_path) as g:
        table = compact_windows(build_windows(satmut_variants(genome_path, range(50, 52)), g, 11))
    assert expand_windows(table)["ref_seq"].str.len().eq(11).all()
    with pytest.raises(InputError, match="ref_row"):
        expand_windows(table.assign(ref_row=99), "x.tsv")
    with pytest.raises(InputError, match="ref_row"):
        expand_windows(table.assign(ref_row=1), "x.tsv")  # row 1 repeats row 0: no ref_seq there


def test_score_averages_the_two_strands(tmp_path: Path, genome_path: Path) -> None:
    spec = {"model_name": "toy", "architecture": "motif_scan", "input_length": 51,
            "hyperparameters": {"filters": 2, "kernel_size": 5}}
    torch.manual_seed(0)
    model_dir = cnn.save_model(tmp_path / "toy", cnn.build_model(spec), spec)
    variants = satmut_variants(genome_path, range(140, 144))
    with Genome(genome_path) as g:
        both = build_windows(variants, g, 51, reverse_complement=True)
    adapter = load_model(model_dir)
    scores = score_windows(adapter, both, cone=False)
    fwd = score_windows(adapter, both[both["strand"] == "+"].drop(columns="strand"), cone=False)
    rev = score_windows(adapter, both[both["strand"] == "-"].drop(columns="strand"), cone=False)
    assert scores["variant_id"].tolist() == variants["variant_id"].tolist()
    assert np.allclose(scores["ref_output"], (fwd["ref_output"] + rev["ref_output"]) / 2, rtol=0, atol=1e-12)
    assert np.allclose(scores["alt_output"], (fwd["alt_output"] + rev["alt_output"]) / 2, rtol=0, atol=1e-12)
    assert np.allclose(scores["score"], variant_score(scores["ref_output"], scores["alt_output"]))
    assert not np.allclose(fwd["ref_output"], rev["ref_output"])  # the strands do differ for this model
    # a strand-less table passes through untouched
    assert average_strands(fwd, both[both["strand"] == "+"].drop(columns="strand")).equals(fwd)


def test_score_cli_reads_compact_reverse_complement_chunks(tmp_path: Path, genome_path: Path) -> None:
    variants = satmut_variants(genome_path, range(60, 66))
    vpath = write_tsv(variants, tmp_path / "sat.variants.tsv")
    assert run_cli(vpath, genome_path, tmp_path / "w", "--length", "90", "--chunk-size", "4",
                   "--reverse-complement") == 0
    spec = {"model_name": "rand", "architecture": "cnn_small", "input_length": 90, "cell_line": "HepG2"}
    model_dir = cnn.save_model(tmp_path / "rand__HepG2", load_model({**spec, "seed": 4}).model, spec)
    chunks = [str(p) for p in sorted((tmp_path / "w").glob("sat.windows.0*.tsv"))]
    assert len(chunks) == 5
    assert main(["score", "--model", str(model_dir), "--windows", *chunks, "--precision", "fp32",
                 "--outdir", str(tmp_path / "s")]) == 0
    scored = pd.concat([read_tsv(p) for p in sorted((tmp_path / "s").glob("*.scores.tsv"))], ignore_index=True)
    assert scored["variant_id"].tolist() == variants["variant_id"].tolist()  # one row per variant
    with Genome(genome_path) as g:  # the same as scoring the full two-strand table in one go
        expected = score_windows(load_model(model_dir), build_windows(variants, g, 90, reverse_complement=True))
    # the CLI computes in fp32 (pinned): agreement to fp32 rounding with fp64, not bit for bit
    np.testing.assert_allclose(scored["score"], expected["score"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(scored["ref_output"], expected["ref_output"], rtol=0, atol=1e-6)
    assert scored["score"].abs().max() > 1e-5  # the comparison above is not between zeros
