"""Liftover in prepare-variants: a hand-written UCSC chain between two tiny builds.

Build "bld1" has chr1 (100 bp); build "bld2" has chr1 (110 bp) and chr2 (30 bp). The chain file:
- chain 1: bld1 chr1 [0, 40) -> bld2 chr1 [10, 45) on +, two blocks with a 5-base source gap
  (bld1 [0, 20) -> [10, 30); bld1 [20, 25) unaligned; bld1 [25, 40) -> [30, 45));
- chain 2: bld1 chr1 [50, 70) -> bld2 chr2, minus strand (reverse-complement coordinates [5, 25));
- chains 3 and 4: bld1 chr1 [80, 85) -> two places (chr2 [0, 5) and chr1 [100, 105)).
bld1 chr1 [40, 50), [70, 80) and [85, 100) map nowhere.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from regvarbench.cli import main
from regvarbench.dna import reverse_complement
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv
from regvarbench.variants.liftover import ChainLifter, canonical_build, needs_liftover
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset

CHAIN = """\
chain 1000 chr1 100 + 0 40 chr1 110 + 10 45 1
20\t5\t0
15

chain 900 chr1 100 + 50 70 chr2 30 - 5 25 2
20

chain 500 chr1 100 + 80 85 chr2 30 + 0 5 3
5

chain 400 chr1 100 + 80 85 chr1 110 + 100 105 4
5
"""


def lifted_position(pos: int) -> tuple[str, int, str] | None:
    """Expected 1-based bld2 position of a 1-based bld1 chr1 position, worked out by hand."""
    p = pos - 1
    if 0 <= p < 20:
        return "chr1", 10 + p + 1, "+"
    if 25 <= p < 40:
        return "chr1", 30 + (p - 25) + 1, "+"
    if 50 <= p < 70:  # minus strand: rc offset 5 + (p - 50) -> forward 30 - 1 - that
        return "chr2", 30 - 1 - (5 + p - 50) + 1, "-"
    return None


def other(b: str) -> str:
    return "ACGT"[("ACGT".index(b) + 1) % 4]


@pytest.fixture
def builds(tmp_path: Path) -> dict[str, Path]:
    """bld1 and bld2 FASTAs consistent with CHAIN (bld2 base at lifted chr1:6 deliberately changed)."""
    rng = np.random.default_rng(3)
    src = "".join(rng.choice(list("ACGT"), 100))
    t1 = list(rng.choice(list("ACGT"), 110))
    t2 = list(rng.choice(list("ACGT"), 30))
    for pos in range(1, 101):
        hit = lifted_position(pos)
        if hit is None:
            continue
        chrom, tpos, strand = hit
        target = t1 if chrom == "chr1" else t2
        target[tpos - 1] = src[pos - 1] if strand == "+" else reverse_complement(src[pos - 1])
    t1[10 + 5] = other(other(src[5]))  # bld1 chr1:6 lifts to bld2 chr1:16, whose base differs
    paths = {"bld1": tmp_path / "bld1.fa", "bld2": tmp_path / "bld2.fa", "chain": tmp_path / "bld1ToBld2.over.chain"}
    paths["bld1"].write_text(f">chr1\n{src}\n")
    paths["bld2"].write_text(f">chr1\n{''.join(t1)}\n>chr2\n{''.join(t2)}\n")
    paths["chain"].write_text(CHAIN)
    return paths


def write_dataset(path: Path, source_fasta: Path, positions: list[int], chrom: str = "1") -> Path:
    """A standard table of SNVs at bld1 positions (ref from the bld1 FASTA)."""
    with Genome(source_fasta) as g:
        rows = [(chrom, p, g.base("chr1", p), other(g.base("chr1", p)), 0.1 * p, 0.01) for p in positions]
    path.write_text("chrom\tpos\tref\talt\teffect_log2\tpvalue\n"
                    + "".join("\t".join(str(x) for x in r) + "\n" for r in rows))
    return path


def test_lifted_positions_strand_flip_and_skips(tmp_path: Path, builds: dict[str, Path]) -> None:
    positions = [1, 6, 15, 20, 21, 23, 26, 40, 45, 51, 60, 70, 75, 82, 100]
    path = write_dataset(tmp_path / "v.tsv", builds["bld1"], positions)
    with Genome(builds["bld1"]) as g1, Genome(builds["bld2"]) as g2:
        src_ref = {p: g1.base("chr1", p) for p in positions}
        result = prepare_dataset(DatasetSpec("ds", "HepG2", "standard", path, "bld1"), g2, max_mismatch_rate=0.5,
                                 target_build="bld2", lifter=ChainLifter(builds["chain"]))
        v = result.variants.set_index("row")
        for row, p in enumerate(positions):
            hit = lifted_position(p)
            if hit is None or p == 6:
                assert row not in v.index
                continue
            chrom, tpos, strand = hit
            rec = v.loc[row]
            assert (rec["chrom"], rec["pos"], rec["source_chrom"], rec["source_pos"], rec["source_strand"]) == \
                (chrom, tpos, "1", p, strand)
            expect_ref = src_ref[p] if strand == "+" else reverse_complement(src_ref[p])
            expect_alt = other(src_ref[p]) if strand == "+" else reverse_complement(other(src_ref[p]))
            assert (rec["ref"], rec["alt"]) == (expect_ref, expect_alt)
            assert g2.base(chrom, tpos) == rec["ref"]  # the target genome agrees with the lifted allele
            assert rec["effect_log2"] == pytest.approx(0.1 * p)  # strand flips do not touch the effect
    # by hand: 1 -> chr1:11, 26 -> chr1:31 (after the gap), 51 -> chr2:25 (minus), 70 -> chr2:6 (minus)
    assert v.loc[0, "pos"] == 11 and v.loc[6, "pos"] == 31
    assert (v.loc[9, "chrom"], v.loc[9, "pos"]) == ("chr2", 25) and (v.loc[11, "chrom"], v.loc[11, "pos"]) == ("chr2", 6)
    s = result.skipped.set_index("row")
    reasons = {positions[r]: s.loc[r, "reason"] for r in s.index}
    assert reasons == {6: "liftover_ref_changed", 21: "liftover_unmapped", 23: "liftover_unmapped",
                       45: "liftover_unmapped", 75: "liftover_unmapped", 100: "liftover_unmapped",
                       82: "liftover_multiple"}
    assert "chr2:2" in s.loc[positions.index(82), "detail"] and "chr1:102" in s.loc[positions.index(82), "detail"]
    summary = result.summary.set_index("reason")["count"]
    assert summary["liftover_unmapped"] == 5 and summary["liftover_multiple"] == 1
    assert summary["liftover_ref_changed"] == 1 and summary["ref_mismatch"] == 0
    assert len(result.variants) + len(result.skipped) == len(positions)


def test_differing_build_without_chain_is_an_error(tmp_path: Path, builds: dict[str, Path]) -> None:
    path = write_dataset(tmp_path / "v.tsv", builds["bld1"], [1, 2])
    with pytest.raises(InputError) as err:
        prepare_dataset(DatasetSpec("mydata", "HepG2", "standard", path, "bld1"), None, target_build="bld2")
    msg = str(err.value)
    assert "'mydata'" in msg and "bld1" in msg and "bld2" in msg and "--chain" in msg
    # same build (or unspecified on either side): nothing to lift, no source columns
    for build, target in [("bld2", "bld2"), ("unspecified", "bld2"), ("bld1", None)]:
        result = prepare_dataset(DatasetSpec("d", "HepG2", "standard", path, build), None, target_build=target)
        assert "source_pos" not in result.variants.columns and result.variants["pos"].tolist() == [1, 2]


def test_build_synonyms() -> None:
    assert canonical_build("GRCh38") == canonical_build("hg38") == "hg38"
    assert canonical_build("GRCh37") == "hg19" and canonical_build("unknown") is None
    assert not needs_liftover("GRCh38", "hg38") and needs_liftover("hg19", "hg38")
    assert not needs_liftover("hg19", None) and not needs_liftover("", "hg38")


def test_bad_chain_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="chain file not found"):
        ChainLifter(tmp_path / "none.chain")
    bad = tmp_path / "bad.chain"
    bad.write_text("chain 1 chr1 100 - 0 10 chr1 100 + 0 10 1\n10\n")
    with pytest.raises(InputError, match="cannot read chain file"):
        ChainLifter(bad)


def test_cli_samplesheet_with_gzipped_chain(tmp_path: Path, builds: dict[str, Path]) -> None:
    write_dataset(tmp_path / "a.tsv", builds["bld1"], [1, 26, 51, 45], chrom="chr1")
    write_dataset(tmp_path / "b.tsv", builds["bld2"], [5], chrom="chr1")  # declared on bld2: not lifted
    chain_gz = tmp_path / "bld1ToBld2.over.chain.gz"
    chain_gz.write_bytes(gzip.compress(CHAIN.encode()))
    (tmp_path / "datasets.csv").write_text("dataset,cell_line,format,path,genome_build\n"
                                           "a,HepG2,standard,a.tsv,bld1\nb,HepG2,standard,b.tsv,bld2\n")
    base = ["prepare-variants", "--samplesheet", str(tmp_path / "datasets.csv"), "--genome", str(builds["bld2"]),
            "--target-build", "bld2"]
    assert main(base + ["--outdir", str(tmp_path / "nochain")]) == 2  # differing build, no chain
    assert main(base + ["--chain", str(chain_gz), "--outdir", str(tmp_path / "out")]) == 0
    a = read_tsv(tmp_path / "out" / "a.variants.tsv", dtype={"chrom": str, "source_chrom": str})
    assert list(a.columns[-3:]) == ["source_chrom", "source_pos", "source_strand"]
    assert a[["chrom", "pos", "source_pos", "source_strand"]].values.tolist() == [
        ["chr1", 11, 1, "+"], ["chr1", 31, 26, "+"], ["chr2", 25, 51, "-"]]
    assert read_tsv(tmp_path / "out" / "a.skipped.tsv")["reason"].tolist() == ["liftover_unmapped"]
    b = read_tsv(tmp_path / "out" / "b.variants.tsv")
    assert "source_pos" not in b.columns and b["pos"].tolist() == [5]
