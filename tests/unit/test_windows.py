"""make-windows: centring convention, padding at contig ends, chunking, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench.cli import main
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.windows import build_windows

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
    assert list(tables[0].columns) == ["variant_id", "dataset", "cell_line", "ref_seq", "alt_seq", "n_padded"]
    summary = read_tsv(tmp_path / "w0" / "setA.windows_summary.tsv")
    assert summary.iloc[0][["dataset", "n_variants", "n_chunks", "n_padded_windows"]].tolist() == ["setA", 14, 3, 2]  # pos 1 and pos 300
    # a rerun with bigger chunks leaves no stale chunk behind
    assert run_cli(vpath, genome_path, tmp_path / "w0", "--length", "21", "--chunk-size", "100") == 0
    assert sorted(p.name for p in (tmp_path / "w0").glob("setA.windows.0*.tsv")) == ["setA.windows.00000.tsv"]


def test_end_to_end_from_prepare(tmp_path: Path, genome_path: Path) -> None:
    with Genome(genome_path) as g:
        lines = [f"1\t{p}\t{g.base('chr1', p)}\t{other(g.base('chr1', p))}\t0.3\t0.04" for p in (5, 100, 299)]
    src = tmp_path / "src.tsv"
    src.write_text("chrom\tpos\tref\talt\teffect_log2\tpvalue\n" + "\n".join(lines) + "\n1\t7\tAC\tA\t0\t1\n")
    assert main(["prepare-variants", "--dataset", "std", "--cell-line", "K562", "--format", "standard",
                 "--input", str(src), "--genome", str(genome_path), "--outdir", str(tmp_path / "v")]) == 0
    assert run_cli(tmp_path / "v" / "std.variants.tsv", genome_path, tmp_path / "w", "--length", "15") == 0
    w = read_tsv(tmp_path / "w" / "std.windows.00000.tsv")
    assert w["variant_id"].tolist() == ["std:0", "std:1", "std:2"] and (w["cell_line"] == "K562").all()
    assert w["n_padded"].tolist() == [3, 0, 6]


def test_bad_arguments(tmp_path: Path, genome_path: Path) -> None:
    vpath = write_tsv(variants_table(genome_path, [("chr1", 9)]), tmp_path / "ds.variants.tsv")
    assert run_cli(vpath, genome_path, tmp_path / "o", "--length", "0") == 2
    assert run_cli(vpath, genome_path, tmp_path / "o", "--chunk-size", "0") == 2
    assert run_cli(tmp_path / "nope.tsv", genome_path, tmp_path / "o") == 2
    write_tsv(variants_table(genome_path, [("chr1", 9)]).drop(columns="ref"), tmp_path / "noref.variants.tsv")
    assert run_cli(tmp_path / "noref.variants.tsv", genome_path, tmp_path / "o") == 2
