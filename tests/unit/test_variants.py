"""prepare-variants and its parsers: real layouts, real files (when present), bad inputs."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ..conftest import PUBLISHED
from regvarbench.cli import main
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv
from regvarbench.variants import get_parser, kircher2019_satmut, ld_blocks, standard, sure_raqtl
from regvarbench.alleles import DEFAULT_WINDOW_LENGTH
from regvarbench.variants.ld_exports import LD_R2, LD_WINDOW
from regvarbench.variants.prepare import (MAX_MISMATCH_RATE, MAX_SWAP_RATE, VARIANT_COLUMNS, DatasetSpec, accounting_table,
                                          prepare_dataset, read_samplesheet, signed_log10p)

EXPERIMENTAL = PUBLISHED / "experimental"  # $REGVARBENCH_PUBLISHED or ../shared/data/published (tests/conftest.py)
SURE_HEADER = ("chr\tSNP_ID\tSNPabspos\tref.element.count\talt.element.count\t{c}.ref.mean\t{c}.alt.mean\t"
               "{c}.wilcox.p.value\t{c}.wilcox.p.value.random\tref\talt")
SORT1_HEADER = "Chromosome,Position,Ref,Alt,Tags,DNA,RNA,VariantExpressionEffect (log2),P-value,Element"


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    """chr1: 200 random bases (first 20 soft-masked); chr2: 60 bases with N at 1-based 11..20."""
    rng = np.random.default_rng(7)
    chr1 = "".join(rng.choice(list("ACGT"), 200))
    chr1 = chr1[:20].lower() + chr1[20:]
    chr2 = "".join(rng.choice(list("ACGT"), 60))
    chr2 = chr2[:10] + "N" * 10 + chr2[20:]
    path = tmp_path / "genome.fa"
    path.write_text(">chr1\n" + "\n".join(chr1[i:i + 60] for i in range(0, 200, 60)) + "\n>chr2\n" + chr2 + "\n")
    return path


@pytest.fixture
def genome(genome_path: Path):
    with Genome(genome_path) as g:
        yield g


def base(genome: Genome, chrom: str, pos: int) -> str:
    return genome.base(chrom, pos)


def other(b: str, k: int = 1) -> str:
    """A base different from b (k = 1..3 gives the three others)."""
    return "ACGT"[("ACGT".index(b) + k) % 4]


def write_standard(path: Path, rows: list[tuple], header: str = "chrom\tpos\tref\talt\teffect_log2\tpvalue") -> Path:
    path.write_text(header + "\n" + "".join("\t".join(str(x) for x in r) + "\n" for r in rows))
    return path


def prepare(path: Path, fmt: str, genome: Genome | None, dataset: str = "ds", cell: str = "HepG2", **kw):
    return prepare_dataset(DatasetSpec(dataset, cell, fmt, path, kw.pop("build", "test")), genome, **kw)


def summary_count(summary: pd.DataFrame, reason: str) -> int:
    return int(summary.loc[summary["reason"] == reason, "count"].iloc[0])


def check_accounting(result, rows_in: int) -> None:
    s = result.summary
    assert (s["rows_in"] == rows_in).all()
    assert (s["rows_kept"] == len(result.variants)).all() and (s["rows_skipped"] == len(result.skipped)).all()
    assert rows_in == len(result.variants) + len(result.skipped)
    assert s.loc[s["kind"] == "skip", "count"].sum() == len(result.skipped)
    assert sorted(result.variants["row"].tolist() + result.skipped["row"].tolist()) == list(range(rows_in))
    assert result.variants["variant_id"].is_unique


# ---------------------------------------------------------------- per-format fixtures in the real layouts


def test_sure_raqtl_layout_gz(tmp_path: Path) -> None:
    lines = [SURE_HEADER.format(c="hepg2"),
             "chr3\trs1\t24362252\t224\t177\t1.5\t6.0\t1e-10\t0.7\tA\tG",
             "chr5\trs2\t54253581\t208\t208\t8.0\t2.0\t0.01\t0.6\ta\tg",
             "chr5\trs3\t106904130\t346\t42\t15.4\t0\t1e-12\t0.7\tC\tG"]
    path = tmp_path / "hepg2.sign.id.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    parsed = sure_raqtl.parse(path)
    assert parsed["pos"].tolist() == [24362252, 54253581, 106904130]  # SNPabspos kept 1-based
    assert parsed["effect_log2"].iloc[0] == pytest.approx(2.0)
    assert parsed["effect_log2"].iloc[1] == pytest.approx(-2.0)
    assert math.isnan(parsed["effect_log2"].iloc[2]) and parsed["flag"].iloc[2] == "nonfinite_effect"
    result = prepare(path, "sure_raqtl", None, dataset="hepg2")
    v = result.variants
    assert v["ref"].tolist() == ["A", "A", "C"] and v["alt"].tolist() == ["G", "G", "G"]  # uppercased
    assert v["signed_log10p"].iloc[0] == pytest.approx(10.0) and v["signed_log10p"].iloc[1] == pytest.approx(-2.0)
    assert math.isnan(v["signed_log10p"].iloc[2])
    assert v["variant_id"].tolist() == ["hepg2:0", "hepg2:1", "hepg2:2"]
    assert summary_count(result.summary, "nonfinite_effect") == 1
    check_accounting(result, 3)


def test_sure_raqtl_detects_k562_and_multi_cell_table(tmp_path: Path) -> None:
    path = tmp_path / "k562.txt"
    path.write_text(SURE_HEADER.format(c="k562") + "\nchr1\trs1\t10\t1\t1\t2\t1\t0.5\t0.5\tA\tC\n")
    assert sure_raqtl.parse(path)["effect_log2"].iloc[0] == pytest.approx(-1.0)
    both = tmp_path / "both.txt"
    both.write_text("chr\tSNPabspos\tk562.ref.mean\tk562.alt.mean\tk562.wilcox.p.value\thepg2.ref.mean\t"
                    "hepg2.alt.mean\thepg2.wilcox.p.value\tref\talt\nchr1\t10\t1\t2\t0.5\t1\t8\t0.1\tA\tC\n")
    assert sure_raqtl.parse(both, cell_line="HepG2")["effect_log2"].iloc[0] == pytest.approx(3.0)
    assert sure_raqtl.parse(both, cell_line="K562")["effect_log2"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(InputError, match="several cell lines"):
        sure_raqtl.parse(both, cell_line="HeLa")


def test_kircher_layout_crlf(tmp_path: Path) -> None:
    path = tmp_path / "SORT1.csv"
    path.write_bytes((SORT1_HEADER + "\r\n1,109274652,G,A,139,52088,51621,-0.06,0.09654,SORT1\r\n"
                      "1,109274968,G,T,9,4623,704,-2.92,0,SORT1\r\n1,109274969,G,T,9,4623,704,0.5,0.001,SORT1\r\n").encode())
    parsed = kircher2019_satmut.parse(path)
    assert parsed["chrom"].tolist() == ["1", "1", "1"] and parsed["element"].tolist() == ["SORT1"] * 3
    result = prepare(path, "kircher2019_satmut", None, dataset="SORT1")
    v = result.variants
    assert v["effect_log2"].tolist() == [-0.06, -2.92, 0.5] and v["pvalue"].tolist() == [0.09654, 0.0, 0.001]
    # p = 0 is floored at the smallest positive p of the dataset (0.001): -log10 = 3, sign of -2.92
    assert v["signed_log10p"].iloc[1] == pytest.approx(-3.0)
    assert summary_count(result.summary, "pvalue_zero_floored") == 1


def test_standard_csv_and_optional_pvalue(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("chrom,pos,ref,alt,effect_log2\nchr1,5,A,C,0.5\nchr1,6,A,C,NA\n")
    parsed = standard.parse(path)
    assert parsed["pvalue"].isna().all() and parsed["effect_log2"].iloc[0] == 0.5
    assert math.isnan(parsed["effect_log2"].iloc[1]) and (parsed["skip_reason"] == "").all()


def test_ld_blocks_layout(tmp_path: Path, genome: Genome) -> None:
    b = [base(genome, "chr1", p) for p in (50, 60, 70, 80)]
    path = tmp_path / "ld.tsv"
    path.write_text("block_id\tchrom\tpos\tref\talt\tis_causal\tcell_line\n"
                    f"B1\tchr1\t50\t{b[0]}\t{other(b[0])}\t1\tK562\n"
                    f"B1\tchr1\t60\t{b[1]}\t{other(b[1])}\t0\t\n"
                    f"B2\t1\t70\t{b[2]}\t{other(b[2])}\tfalse\tK562\n"
                    f"B2\tchr1\t80\t{b[3]}\t{other(b[3])}\tTRUE\tK562\n")
    result = prepare(path, "ld_blocks", genome, cell="HepG2")
    v = result.variants
    assert list(v.columns[-2:]) == ["block_id", "is_causal"]
    assert v["block_id"].tolist() == ["B1", "B1", "B2", "B2"] and v["is_causal"].tolist() == [1, 0, 0, 1]
    assert v["cell_line"].tolist() == ["K562", "HepG2", "K562", "K562"]  # empty cell filled from dataset
    assert v["effect_log2"].isna().all() and v["chrom"].tolist() == ["chr1"] * 4
    assert summary_count(result.summary, "blocks_without_causal") == 0


def test_ld_block_with_two_causal_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "ld.tsv"
    path.write_text("block_id\tchrom\tpos\tref\talt\tis_causal\nB1\tchr1\t5\tA\tC\t1\n"
                    "B7\tchr1\t6\tA\tC\t1\nB7\tchr1\t7\tA\tC\t1\nB9\tchr1\t8\tA\tC\t0\n")
    with pytest.raises(InputError, match=r"'B7' \(2 causal\).*'B9' \(0 causal\)") as err:
        ld_blocks.parse(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------- real files


def _real(name: str) -> Path:
    path = EXPERIMENTAL / name
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.mark.parametrize("name, fmt, cell, n", [
    ("hepg2.sign.id.LP190708.txt.gz", "sure_raqtl", "HepG2", 14183),
    ("k562.sign.id.LP190708.txt.gz", "sure_raqtl", "K562", 19237),
    ("SORT1.csv", "kircher2019_satmut", "HepG2", 1789),
])
def test_real_files_account_for_every_row(name: str, fmt: str, cell: str, n: int) -> None:
    result = prepare(_real(name), fmt, None, dataset=name.split(".")[0], cell=cell)
    check_accounting(result, n)


def test_real_hepg2_rows_by_hand() -> None:
    v = prepare(_real("hepg2.sign.id.LP190708.txt.gz"), "sure_raqtl", None, dataset="hepg2").variants.set_index("row")
    # row 0: chr3 rs9814223 24362252 ... hepg2.ref.mean 1.57973050272082, alt.mean 36.281741215881, p 5.02904067248974e-40, A>G
    r = v.loc[0]
    assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == ("chr3", 24362252, "A", "G")
    assert r["effect_log2"] == pytest.approx(math.log2(36.281741215881 / 1.57973050272082), rel=1e-9)
    assert r["effect_log2"] > 0 and r["pvalue"] == pytest.approx(5.02904067248974e-40)
    assert r["signed_log10p"] == pytest.approx(-math.log10(5.02904067248974e-40))
    # row 2: chr5 rs3815923 54253581, ref.mean 13.427057982407 > alt.mean 0.966040315825366: down
    r = v.loc[2]
    assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == ("chr5", 54253581, "A", "G")
    assert r["effect_log2"] == pytest.approx(math.log2(0.966040315825366 / 13.427057982407), rel=1e-9)
    assert r["signed_log10p"] == pytest.approx(math.log10(5.92212992226083e-36))
    # row 677: chr5 rs12332263, alt.mean 0 -> effect NaN, kept
    r = v.loc[677]
    assert r["pos"] == 106904130 and math.isnan(r["effect_log2"]) and math.isnan(r["signed_log10p"])


def test_real_k562_rows_by_hand() -> None:
    v = prepare(_real("k562.sign.id.LP190708.txt.gz"), "sure_raqtl", None, dataset="k562", cell="K562").variants
    v = v.set_index("row")
    # row 1: chr18 rs991512 68919785 ... k562.ref.mean 59.1239287383429 alt.mean 3.08941858040999 p 7.22079682077405e-33 C>G
    r = v.loc[1]
    assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == ("chr18", 68919785, "C", "G")
    assert r["effect_log2"] == pytest.approx(math.log2(3.08941858040999 / 59.1239287383429), rel=1e-9)
    assert r["effect_log2"] < 0 and r["pvalue"] == pytest.approx(7.22079682077405e-33)
    # last row (19236): chr4 rs1371857 68132467, 1.57778779371179 -> 5.8372964625089, p 0.00619271544151207, G>T
    r = v.loc[19236]
    assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == ("chr4", 68132467, "G", "T")
    assert r["effect_log2"] == pytest.approx(math.log2(5.8372964625089 / 1.57778779371179), rel=1e-9)
    assert r["signed_log10p"] == pytest.approx(-math.log10(0.00619271544151207))
    # row 7310: chr16 rs7203808, ref.mean 0 -> NaN effect
    assert math.isnan(v.loc[7310, "effect_log2"])


def test_real_sort1_rows_by_hand() -> None:
    result = prepare(_real("SORT1.csv"), "kircher2019_satmut", None, dataset="SORT1")
    v = result.variants.set_index("row")
    # row 0: 1,109274652,G,A,139,52088,51621,-0.06,0.09654,SORT1
    r = v.loc[0]
    assert (r["chrom"], r["pos"], r["ref"], r["alt"], r["effect_log2"], r["pvalue"]) == ("1", 109274652, "G", "A", -0.06, 0.09654)
    assert r["signed_log10p"] == pytest.approx(math.log10(0.09654))
    # row 945 (file line 947): 1,109274968,G,T,...,-2.92,0 -- rs12740374, the SORT1 causal SNP
    r = v.loc[945]
    assert (r["pos"], r["ref"], r["alt"], r["effect_log2"], r["pvalue"]) == (109274968, "G", "T", -2.92, 0.0)
    assert r["signed_log10p"] < 0 and np.isfinite(r["signed_log10p"])


# ---------------------------------------------------------------- bad inputs and genome checks


def test_missing_source_column_names_column_and_file(tmp_path: Path) -> None:
    path = tmp_path / "bad_sure.txt"
    path.write_text(SURE_HEADER.format(c="hepg2").replace("\thepg2.wilcox.p.value\t", "\t") + "\n")
    with pytest.raises(InputError, match=r"hepg2\.wilcox\.p\.value") as err:
        sure_raqtl.parse(path)
    assert str(path) in str(err.value)
    sort1 = tmp_path / "SORT1.csv"
    sort1.write_text(SORT1_HEADER.replace(",P-value", "") + "\n")
    with pytest.raises(InputError, match="P-value") as err:
        kircher2019_satmut.parse(sort1)
    assert str(sort1) in str(err.value)


def test_unknown_format_lists_known_ones() -> None:
    with pytest.raises(InputError, match="kircher2019_satmut.*ld_blocks|ld_blocks.*kircher2019_satmut"):
        get_parser("bed")


def test_samplesheet_missing_column_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_standard(tmp_path / "data" / "a.tsv", [("chr1", 5, "A", "C", 1.0, 0.1)])
    sheet = tmp_path / "datasets.csv"
    sheet.write_text("dataset,cell_line,format,path\na,HepG2,standard,data/a.tsv\n")
    with pytest.raises(InputError, match="genome_build") as err:
        read_samplesheet(sheet)
    assert str(sheet) in str(err.value)
    sheet.write_text("dataset,cell_line,format,path,genome_build\na,HepG2,standard,data/a.tsv,hg19\n")
    assert read_samplesheet(sheet)[0].path == tmp_path / "data" / "a.tsv"
    sheet.write_text("dataset,cell_line,format,path,genome_build\na,HepG2,bed,data/a.tsv,hg19\n")
    with pytest.raises(InputError, match="known formats"):
        read_samplesheet(sheet)


def test_skip_reasons(tmp_path: Path, genome: Genome) -> None:
    b10, b200 = base(genome, "chr1", 10), base(genome, "chr1", 200)
    g = genome.fetch("chr1", 0, 200)
    rows = [
        ("chr1", 10, b10, other(b10), 1.0, 0.01),          # 0 kept (soft-masked base, lower case in FASTA)
        ("chr1", 100, g[99:101], g[99], 1.0, 0.01),        # 1 kept: a 1-bp deletion, VCF anchor base
        ("chr1", 12, base(genome, "chr1", 12), "<DEL>", 1.0, 0.01),  # 2 symbolic
        ("chr1", 13, "R", "A", 1.0, 0.01),                 # 3 non-ACGT
        ("chr2", 15, "A", "C", 1.0, 0.01),                 # 4 genome N
        ("chr1", 0, "A", "C", 1.0, 0.01),                  # 5 position 0
        ("chr1", 201, "A", "C", 1.0, 0.01),                # 6 beyond chr1 (200 bp)
        ("chrUn", 5, "A", "C", 1.0, 0.01),                 # 7 unknown contig
        ("chr1", "12x", "A", "C", 1.0, 0.01),              # 8 malformed pos
        ("chr1", 200, b200, other(b200), 1.0, 0.01),       # 9 kept: contig end (an SNV is N-padded)
        ("chr1", 14, "A", "C", 1.0, 2.5),                  # 10 p outside [0, 1]
        ("chr1", 20, g[19], g[19], 1.0, 0.01),             # 11 no change
        ("chr1", 196, g[195:197], g[195], 1.0, 0.01),      # 12 deletion whose windows pass the contig end
        ("chr1", 50, g[49], g[49] + "A" * 30, 1.0, 0.01),  # 13 insertion longer than a 21-bp window
        ("chr1", 199, other(g[198]) + other(g[199]), other(g[198], 2) + other(g[199], 2), 1.0, 0.01),  # 14 neither
        ("chr1", 60, g[59:62], "".join(other(b) for b in g[59:62]), 1.0, 0.01),  # 15 kept: MNV
    ]
    result = prepare(write_standard(tmp_path / "v.tsv", rows), "standard", genome, window_length=21,
                     max_mismatch_rate=1.0)
    reasons = dict(zip(result.skipped["row"], result.skipped["reason"]))
    assert reasons == {2: "allele_not_acgt", 3: "allele_not_acgt", 4: "ref_is_n", 5: "position_out_of_range",
                       6: "position_out_of_range", 7: "contig_not_in_genome", 8: "malformed_row", 10: "malformed_row",
                       11: "ref_equals_alt", 12: "window_beyond_contig", 13: "allele_longer_than_window",
                       14: "ref_mismatch"}
    assert result.variants["row"].tolist() == [0, 1, 9, 15]
    assert result.variants["variant_class"].tolist() == ["snv", "deletion", "snv", "mnv"]
    assert result.variants["ref"].iloc[0] == b10.upper()
    check_accounting(result, len(rows))
    assert summary_count(result.summary, "allele_not_acgt") == 2
    assert summary_count(result.summary, "class_deletion") == 1 and summary_count(result.summary, "class_mnv") == 1
    # the contig-end check follows the window length: 2 bp of flank fit the 3-bp window
    short = prepare(tmp_path / "v.tsv", "standard", genome, window_length=3, max_mismatch_rate=1.0)
    assert 12 in short.variants["row"].tolist()


def test_mixed_contig_names_harmonised_to_genome(tmp_path: Path, genome: Genome) -> None:
    rows = [(c, p, base(genome, "chr1", p), other(base(genome, "chr1", p)), 0.1, 0.5)
            for c, p in (("1", 30), ("chr1", 31), ("CHR1", 32))]
    result = prepare(write_standard(tmp_path / "v.tsv", rows), "standard", genome)
    assert result.variants["chrom"].tolist() == ["chr1", "chr1", "chr1"]
    assert result.skipped.empty
    without = prepare(tmp_path / "v.tsv", "standard", None)  # no genome: the source's naming stays
    assert without.variants["chrom"].tolist() == ["1", "chr1", "CHR1"]


def test_duplicated_rows_are_kept_and_noted(tmp_path: Path, genome: Genome) -> None:
    b = base(genome, "chr1", 40)
    rows = [("chr1", 40, b, other(b), 0.2, 0.1), ("chr1", 40, b, other(b), 0.3, 0.2), ("1", 40, b, other(b), 0.3, 0.2)]
    result = prepare(write_standard(tmp_path / "v.tsv", rows), "standard", genome)
    assert result.variants["variant_id"].tolist() == ["ds:0", "ds:1", "ds:2"]
    assert summary_count(result.summary, "duplicated_key") == 2
    assert result.summary.set_index("reason").loc["duplicated_key", "kind"] == "note"
    check_accounting(result, 3)


def test_ref_mismatch_and_swapped(tmp_path: Path, genome: Genome) -> None:
    rows = []
    for p in range(30, 70):
        b = base(genome, "chr1", p)
        rows.append(("chr1", p, b, other(b), 0.1, 0.5))
    b = base(genome, "chr1", 100)
    rows.append(("chr1", 100, other(b), b, 0.7, 0.001))           # 40 swapped SNV
    rows.append(("chr1", 101, other(base(genome, "chr1", 101)), other(base(genome, "chr1", 101), 2), 0.1, 0.5))
    g = genome.fetch("chr1", 0, 200)
    absent = "".join(other(x) for x in g[120:124])  # 4 bases the genome does not have after g[119]
    rows.append(("chr1", 120, g[119] + absent, g[119], -0.4, 0.01))  # 42 swapped: an insertion given as deletion
    result = prepare(write_standard(tmp_path / "v.tsv", rows), "standard", genome, window_length=21)  # 2 / 43 < 5 %
    s = result.skipped.set_index("row")
    assert list(s.index) == [41] and s.loc[41, "reason"] == "ref_mismatch"
    v = result.variants.set_index("row")
    assert (v.loc[40, "ref"], v.loc[40, "alt"], v.loc[40, "swapped"]) == (b, other(b), 1)
    assert v.loc[40, "effect_log2"] == -0.7 and v.loc[40, "signed_log10p"] == pytest.approx(-3.0)
    assert (v.loc[42, "ref"], v.loc[42, "alt"], v.loc[42, "variant_class"]) == (g[119], g[119] + absent, "insertion")
    assert v.loc[42, "effect_log2"] == 0.4 and v.loc[42, "signed_log10p"] > 0
    assert v.loc[30, "swapped"] == 0 and v.loc[30, "effect_log2"] == 0.1
    assert summary_count(result.summary, "swapped_alleles") == 2
    assert summary_count(result.summary, "ref_matches_genome") == 40
    assert summary_count(result.summary, "ref_mismatch") == 1
    check_accounting(result, 43)


def test_wrong_allele_convention_stops_the_run(tmp_path: Path, genome: Genome) -> None:
    # every allele pair the other way round, as in an effect/other-allele table
    rows = [("chr1", p, other(base(genome, "chr1", p)), base(genome, "chr1", p), 0.1, 0.5) for p in range(30, 60)]
    path = write_standard(tmp_path / "v.tsv", rows)
    with pytest.raises(InputError, match="another convention") as err:
        prepare(path, "standard", genome, dataset="flipped")
    msg = str(err.value)
    assert "'flipped'" in msg and "30 of 30" in msg and "--max-swap-rate" in msg and str(path) in msg
    result = prepare(path, "standard", genome, max_swap_rate=1.0)  # let through: every row kept, swapped
    assert result.variants["swapped"].tolist() == [1] * 30 and (result.variants["effect_log2"] == -0.1).all()


def test_rate_defaults_have_one_value(tmp_path: Path) -> None:
    """The pipeline's defaults (nextflow.config, schema) mirror the package's."""
    root = Path(__file__).resolve().parents[2]
    props = {k: v for g in json.loads((root / "nextflow_schema.json").read_text())["$defs"].values()
             for k, v in g["properties"].items()}
    config = (root / "nextflow.config").read_text()
    for name, value in [("max_mismatch_rate", MAX_MISMATCH_RATE), ("max_swap_rate", MAX_SWAP_RATE),
                        ("window_length", DEFAULT_WINDOW_LENGTH), ("ld_r2", LD_R2), ("ld_window", LD_WINDOW)]:
        assert props[name]["default"] == value, name
        assert float(re.search(rf"^\s*{name}\s*=\s*([0-9.]+)", config, flags=re.M).group(1)) == value, name


def test_gz_bom_crlf_and_empty_trailing_columns(tmp_path: Path, genome: Genome) -> None:
    b = base(genome, "chr1", 25)
    text = ("\ufeffchrom,pos,ref,alt,effect_log2,pvalue,,\r\n"
            f"chr1,25,{b},{other(b)},-1.5,0.01,,\r\n"
            f"chr1,26,{base(genome, 'chr1', 26)},{other(base(genome, 'chr1', 26))},0.5,0.2,,\r\n"
            "chr1,27,A,C,0.5,0.2,,oops\r\n\r\n")
    path = tmp_path / "v.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(text.encode("utf-8"))
    result = prepare(path, "standard", genome)
    assert result.variants["row"].tolist() == [0, 1]
    assert result.variants["effect_log2"].tolist() == [-1.5, 0.5]
    assert result.variants["signed_log10p"].iloc[0] == pytest.approx(-2.0)
    assert result.skipped["reason"].tolist() == ["malformed_row"]  # non-empty field beyond the header
    check_accounting(result, 3)


def test_signed_log10p_edge_cases() -> None:
    out, n_zero = signed_log10p(np.array([1.0, -1.0, 0.0, np.nan, 2.0]), np.array([0.01, 0.0, 0.5, 0.1, np.nan]))
    assert out[0] == pytest.approx(2.0) and out[1] == pytest.approx(-2.0)  # 0 floored at min positive (0.01)
    assert out[2] == 0.0 and not np.signbit(out[2]) and np.isnan(out[3]) and np.isnan(out[4]) and n_zero == 1


def test_cli_samplesheet_deterministic(tmp_path: Path, genome_path: Path) -> None:
    with Genome(genome_path) as g:
        rows = [("chr1", p, g.base("chr1", p), other(g.base("chr1", p)), 0.1 * p, 0.5) for p in range(50, 60)]
    with Genome(genome_path) as g:
        deletion = ("chr1", 61, g.fetch("chr1", 60, 63), g.base("chr1", 61), 0.1, 0.5)
    write_standard(tmp_path / "a.tsv", rows + [deletion])
    (tmp_path / "datasets.csv").write_text("dataset,cell_line,format,path,genome_build\nsetA,HepG2,standard,a.tsv,test\n")
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert main(["prepare-variants", "--samplesheet", str(tmp_path / "datasets.csv"),
                     "--genome", str(genome_path), "--window-length", "21", "--outdir", str(out)]) == 0
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert set(outs[0]) == {"setA.variants.tsv", "setA.skipped.tsv", "setA.summary.tsv"}
    v = read_tsv(tmp_path / "out0" / "setA.variants.tsv")
    assert list(v.columns) == ["variant_id", "dataset", "cell_line", "chrom", "pos", "ref", "alt", "effect_log2",
                               "pvalue", "signed_log10p", "row", "variant_class", "swapped"]
    assert len(v) == 11 and v["variant_class"].tolist() == ["snv"] * 10 + ["deletion"]
    # bad input -> exit code 2
    assert main(["prepare-variants", "--dataset", "x", "--cell-line", "HepG2", "--format", "standard",
                 "--input", str(tmp_path / "missing.tsv"), "--outdir", str(tmp_path / "o")]) == 2


def test_allele_audit_reaches_the_report(tmp_path: Path, genome: Genome) -> None:
    """Two datasets, one with a swapped row: the gathered summary and the report's accounting show it."""
    ok = [("chr1", p, base(genome, "chr1", p), other(base(genome, "chr1", p)), 0.2, 0.1) for p in range(30, 60)]
    b = base(genome, "chr1", 100)
    swapped = ok + [("chr1", 100, other(b), b, 0.5, 0.01)]
    summaries = []
    for name, rows in (("plain", ok), ("flip", swapped)):
        summaries.append(prepare(write_standard(tmp_path / f"{name}.tsv", rows), "standard", genome, dataset=name).summary)
    gathered = pd.concat(summaries, ignore_index=True)
    gathered.to_csv(tmp_path / "summary.tsv", sep="\t", index=False)
    acc = accounting_table(read_tsv(tmp_path / "summary.tsv")).set_index("dataset")
    assert acc.loc["flip", ["rows_in", "ref_matches_genome", "swapped_alleles", "ref_mismatch", "class_snv"]].tolist() \
        == [31, 30, 1, 0, 31]
    assert acc.loc["plain", "swapped_alleles"] == 0
    evaluation = Path(__file__).resolve().parents[1] / "fixtures" / "modules" / "evaluation"
    assert main(["report", "--evaluation", str(evaluation), "--variant-summary", str(tmp_path / "summary.tsv"),
                 "--outdir", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    section = page[page.index("Variant accounting per dataset"):page.index("Variants without a score")]
    assert "swapped_alleles" in section and "flip" in section and "plain" in section


def test_unavailable_source_is_reported_not_dropped(tmp_path: Path, genome: Genome) -> None:
    """prepare-variants --unavailable: empty variant and skip tables with the usual columns, one summary
    row saying why; gathered with a read dataset, the accounting and the report name it."""
    out = tmp_path / "out"
    assert main(["prepare-variants", "--dataset", "npc", "--cell-line", "NPC", "--format", "weiss2021_lentimpra",
                 "--unavailable", "file not found: experimental/npc.tsv", "--outdir", str(out)]) == 0
    variants = pd.read_csv(out / "npc.variants.tsv", sep="\t")
    assert len(variants) == 0 and list(variants.columns) == VARIANT_COLUMNS
    assert len(pd.read_csv(out / "npc.skipped.tsv", sep="\t")) == 0
    summary = pd.read_csv(out / "npc.summary.tsv", sep="\t")
    assert summary[["reason", "kind", "rows_in", "detail"]].values.tolist() == [
        ["source_unavailable", "unavailable", 0, "file not found: experimental/npc.tsv"]]
    ok = [("chr1", p, base(genome, "chr1", p), other(base(genome, "chr1", p)), 0.2, 0.1) for p in range(30, 40)]
    read = prepare(write_standard(tmp_path / "ok.tsv", ok), "standard", genome, dataset="ok").summary
    assert list(read.columns) == list(summary.columns)  # the pipeline gathers them under one header
    gathered = pd.concat([read, summary], ignore_index=True)
    gathered.to_csv(tmp_path / "summary.tsv", sep="\t", index=False)
    acc = accounting_table(read_tsv(tmp_path / "summary.tsv")).set_index("dataset")
    assert acc.loc["npc", "source"] == "unavailable (file not found: experimental/npc.tsv)"
    assert acc.loc["ok", ["source", "rows_in"]].tolist() == ["read", 10]
    # --unavailable is for one dataset without its file
    assert main(["prepare-variants", "--dataset", "npc", "--cell-line", "NPC", "--format", "standard",
                 "--input", str(tmp_path / "ok.tsv"), "--unavailable", "x", "--outdir", str(out)]) != 0
