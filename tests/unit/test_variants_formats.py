"""Source formats beyond the first slice: Vockley 2015, Ulirsch 2016, Birnbaum 2014, Weiss 2021, VCF.

Each format is tested on a small fixture in the real layout and, where the file is published, on
the real file: every row accounted for, and a few rows checked against values computed here from
the raw line (read with the csv module, independently of the parsers).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench.cli import main
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv
from regvarbench.variants import (FORMATS, birnbaum2014_eexon, get_parser, ulirsch2016_mpra, vcf, vockley2015_mpra,
                                  weiss2021_lentimpra)
from regvarbench.variants.prepare import DatasetSpec, Prepared, prepare_dataset
from .test_variants import check_accounting

VOCKLEY_HEADER = "id,chr3,Pos,Allele0,dna0,rna0,Allele1,dna1,rna1,P,effect,MAF (Capture),MAF (POP-STARR),,,,"
ULIRSCH_HEADER = ("dbSNP,chr,pos,ref,alt,type,bot,top,clean,controls,CTRL.median,CTRL.p,CTRL.padj,CTRL.mut.p,"
                  "CTRL.mut.padj,CTRL.fc(log2)")
BIRNBAUM_HEADER = ("Position,Gene,chromosome (hg19),coordinate (hg19),Reference,Substitution,Liver effect size,"
                   "Liver P-Value,HeLa effect size,HeLa P-Value,Context,GERP,RefSeq,Exon,Nucleotide change,"
                   "Amino acid change,Amino acid context,ENCODE TF-ChIP seq peaks,TF-ChIP seq in HEPG2,Dnase I Cluster,"
                   "SNP135 database,SIFT score,PolyPhen2 score,TF Mark,WT mark score ,Mut mark score ,"
                   "AbsoluteScore Change,Relative Entropy")
WEISS_COLUMNS = ["Chromosome", "Central variant position (hg19)", "Archaic sequence sequence",
                 "Modern sequence sequence", "Differential activity log2(fold-change) - modern vs archaic - NPC",
                 "Differential activity P-value - NPC", "Differential activity FDR - NPC"]
NEW_FORMATS = ["vockley2015_mpra", "ulirsch2016_mpra", "birnbaum2014_eexon", "weiss2021_lentimpra", "vcf"]


# ---------------------------------------------------------------- helpers


def prepare(path: Path, fmt: str, genome: Genome | None = None, dataset: str = "ds", cell: str = "X",
            **kw) -> Prepared:
    return prepare_dataset(DatasetSpec(dataset, cell, fmt, path, "test"), genome, **kw)




def count(result: Prepared, reason: str) -> int:
    s = result.summary
    return int(s.loc[s["reason"] == reason, "count"].iloc[0])


def raw_records(path: Path) -> list[dict]:
    """Data rows of a comma-separated source as dicts (BOM, CR/CRLF, blank lines, quotes handled)."""
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line for line in text.split("\n") if line.strip()]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in next(reader)]
    return [dict(zip(header, (f.strip() for f in fields))) for fields in reader]


def study_alleles(published: Path, name: str) -> pd.DataFrame:
    """row -> chrom, pos, ref, alt as used by the study's own predictions for that source row."""
    path = published / "predictions" / f"{name}.predictions.tsv.gz"
    if not path.exists():
        pytest.skip(f"study predictions not available: {path}")
    df = read_tsv(path, usecols=["row", "chrom", "pos", "ref", "alt"], dtype={"chrom": str})
    return df.drop_duplicates("row").set_index("row").add_suffix("_study")


def real(published: Path, name: str) -> Path:
    path = published / "experimental" / name
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def test_new_formats_are_registered() -> None:
    for fmt in NEW_FORMATS:
        assert fmt in FORMATS and hasattr(get_parser(fmt), "parse")


# ---------------------------------------------------------------- Vockley 2015


def test_vockley_layout(tmp_path: Path) -> None:
    lines = [VOCKLEY_HEADER,
             ".,chr3,156781891,T,151,158,C,10,2.20E+01,0.256182118,2.102531646,0.00526316,0.062111801,,,,",
             "rs1,chr3,156782952,A,1,6,G,1161,2.59E+03,0.01,0.25,0.00526316,0.000860585,,,,",
             "rs2,chr3,156782953,A,1,6,G,1161,2.59E+03,0.5,0,0.005,0.0008,,,,",
             "rs3,chr3,156782954,A,1,6,G,1161,2.59E+03,0.5,abc,0.005,0.0008,,,,"]
    path = tmp_path / "GSE68331_SNP.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    parsed = vockley2015_mpra.parse(path)
    assert parsed["chrom"].tolist() == ["chr3"] * 4 and parsed["ref"].tolist()[:2] == ["T", "A"]
    assert parsed["effect_log2"].iloc[1] == pytest.approx(-2.0)
    result = prepare(path, "vockley2015_mpra")
    v = result.variants.set_index("row")
    assert v.loc[0, "effect_log2"] == pytest.approx(math.log2(2.102531646))
    assert v.loc[1, "signed_log10p"] == pytest.approx(-2.0)
    assert math.isnan(v.loc[2, "effect_log2"])  # ratio 0: log2 undefined, kept and noted
    assert count(result, "nonfinite_effect") == 1
    assert result.skipped["row"].tolist() == [3] and result.skipped["reason"].tolist() == ["malformed_row"]
    check_accounting(result, 4)


def test_vockley_real_file(published: Path) -> None:
    path = real(published, "GSE68331_SNP.csv")
    result = prepare(path, "vockley2015_mpra", dataset="GSE68331_SNP", cell="HepG2")
    check_accounting(result, 283)
    assert len(result.variants) == 283
    v = result.variants.set_index("row")
    raw = raw_records(path)
    for row in (0, 1, 6):  # up, down, and a small p
        r, line = v.loc[row], raw[row]
        assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == (line["chr3"], int(line["Pos"]), line["Allele0"], line["Allele1"])
        effect = math.log2(float(line["effect"]))
        assert r["effect_log2"] == pytest.approx(effect, rel=1e-12)
        assert r["pvalue"] == pytest.approx(float(line["P"]), rel=1e-12)
        assert r["signed_log10p"] == pytest.approx(math.copysign(-math.log10(float(line["P"])), effect))
    assert v.loc[0, "effect_log2"] > 0 and v.loc[1, "effect_log2"] < 0  # effect 2.10 and 0.37
    study = study_alleles(published, "GSE68331_SNP")
    joined = result.variants.set_index("row")[["chrom", "pos", "ref", "alt"]].join(study)
    for col in ("chrom", "pos", "ref", "alt"):
        assert (joined[col] == joined[f"{col}_study"]).all(), col


# ---------------------------------------------------------------- Ulirsch 2016


def test_ulirsch_pairs(tmp_path: Path) -> None:
    lines = [ULIRSCH_HEADER,
             "rs1,1,100,G,A,Ref,1/2,1/2,var,0,0.3,0.08,0.5,0.7,0.9,0.25",
             "rs1,1,100,G,A,Mut,1/2,1/2,var,0,0.55,0.03,0.3,0.7,0.9,0.25",
             "rs2,2,200,T,C,Mut,1/3,2/3,var,0,0.1,0.2,0.9,0.001,0.7,0.5",
             "rs2,2,200,T,C,Ref,1/3,2/3,var,0,0.6,0.01,0.02,0.001,0.7,0.5",
             "rs2,2,200,T,C,Mut,2/3,1/3,var,0,0.2,0.08,0.5,0.0001,0.1,2.0",  # Ref missing
             "rs3,3,300,A,G,Mut,1/2,1/2,var,0,1.0,0.08,0.5,0.04,0.9,0.1",    # fc disagrees
             "rs3,3,300,A,G,Ref,1/2,1/2,var,0,0.5,0.08,0.5,0.04,0.9,0.1"]
    path = tmp_path / "GSE87711.csv"
    path.write_bytes(("\ufeff" + "\r\r\n".join(lines) + "\r\r\n").encode())  # the real file's blank lines
    parsed = ulirsch2016_mpra.parse(path)
    assert parsed["row"].tolist() == list(range(7))
    result = prepare(path, "ulirsch2016_mpra")
    v = result.variants.set_index("row")
    assert sorted(v.index) == [1, 2, 5]
    assert v.loc[1, "effect_log2"] == pytest.approx(0.25)  # Mut - Ref median = +fc
    assert v.loc[2, "effect_log2"] == pytest.approx(-0.5)  # Mut below Ref: fc is |diff|, sign restored
    assert v.loc[2, "signed_log10p"] == pytest.approx(-3.0)
    assert parsed.loc[5, "flag"] == "fc_mismatch" and v.loc[5, "effect_log2"] == pytest.approx(0.5)
    skipped = result.skipped.set_index("row")
    assert skipped.loc[0, "reason"] == "paired_reference_row" and "Mut row 1" in skipped.loc[0, "detail"]
    assert skipped.loc[3, "reason"] == "paired_reference_row" and "Mut row 2" in skipped.loc[3, "detail"]
    assert skipped.loc[4, "reason"] == "unpaired_row" and skipped.loc[6, "reason"] == "paired_reference_row"
    assert count(result, "paired_reference_row") == 3 and count(result, "unpaired_row") == 1
    check_accounting(result, 7)


def test_ulirsch_real_file(published: Path) -> None:
    path = real(published, "GSE87711.csv")
    result = prepare(path, "ulirsch2016_mpra", dataset="GSE87711", cell="K562")
    check_accounting(result, 84)
    assert len(result.variants) == 42 and count(result, "paired_reference_row") == 42
    v = result.variants.set_index("row")
    raw = raw_records(path)
    assert all(raw[row]["type"] == "Mut" for row in v.index)
    # rows 0 (Ref) / 1 (Mut) rs2251964: Mut above Ref; rows 2 (Mut) / 3 (Ref) rs2814778: Mut below Ref
    for mut, ref in ((1, 0), (2, 3), (12, 13)):
        r, m, f = v.loc[mut], raw[mut], raw[ref]
        assert (m["type"], f["type"]) == ("Mut", "Ref") and m["dbSNP"] == f["dbSNP"]
        assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == (m["chr"], int(m["pos"]), m["ref"], m["alt"])
        diff = float(m["CTRL.median"]) - float(f["CTRL.median"])
        assert abs(diff) == pytest.approx(float(m["CTRL.fc(log2)"]), abs=1e-6)
        assert r["effect_log2"] == pytest.approx(diff, rel=1e-12)
        assert r["pvalue"] == pytest.approx(float(m["CTRL.mut.p"]))
        assert r["signed_log10p"] == pytest.approx(math.copysign(-math.log10(float(m["CTRL.mut.p"])), diff))
    assert v.loc[1, "effect_log2"] > 0 and v.loc[2, "effect_log2"] < 0
    assert (result.variants["effect_log2"] < 0).sum() == 17  # directions the fc column alone would lose
    study = study_alleles(published, "GSE87711")
    joined = v[["pos", "ref", "alt"]].join(study)
    assert (joined["pos"] == joined["pos_study"]).all() and (joined["ref"] == joined["ref_study"]).all()
    assert (joined["alt"] == joined["alt_study"]).all()


# ---------------------------------------------------------------- Birnbaum 2014


def test_birnbaum_layout_cr_line_ends(tmp_path: Path) -> None:
    tail = "intronic,2.12,NA,NA,NA,NA,NA,BAF170,FALSE,TRUE,FALSE,FALSE,FALSE,None,0.0000,0.0000,0.0000,NA"
    quoted = 'exonic,-8.76,NM_1,exon2,c.A1T,p.Q1H,nonsynonymous,"p300,CEBPB","p300,CEBPB",TRUE,FALSE,0.05,0.2,None,0,0,0,NA'
    lines = [BIRNBAUM_HEADER,
             f"1,PPARG,chr3,12447119,G,A,-0.6261,0.0342,-0.6709,0.0123,{tail}",
             f"1,PPARG,chr3,12447119,G,C,-0.7299,0.0604,0.5713,0.0000,{quoted}",
             f"2,PPARG,chr3,12447120,C,A,-0.1368,0.6281,NA,NA,{tail}"]
    path = tmp_path / "Hela_PPARG.csv"
    path.write_bytes(("\ufeff" + "\r".join(lines)).encode())  # old-Mac CR, no final line end
    parsed = birnbaum2014_eexon.parse(path)
    assert parsed["element"].tolist() == ["PPARG"] * 3 and (parsed["skip_reason"] == "").all()
    result = prepare(path, "birnbaum2014_eexon")
    v = result.variants.set_index("row")
    assert v.loc[0, "effect_log2"] == -0.6709 and v.loc[0, "pvalue"] == 0.0123  # HeLa, not Liver
    assert v.loc[1, "signed_log10p"] == pytest.approx(-math.log10(0.0123))  # p 0 floored at the smallest p
    assert math.isnan(v.loc[2, "effect_log2"])
    check_accounting(result, 3)


# TRAF3IP2 data row 1672 reads "558,TRAF3IP2,chr6,111912978,T,T,...": a substitution by the same base
@pytest.mark.parametrize("gene, n, skipped", [("PPARG", 1614, []), ("SORL1", 1665, []),
                                              ("TRAF3IP2", 1962, [(1672, "ref_equals_alt")])])
def test_birnbaum_real_files(published: Path, gene: str, n: int, skipped: list) -> None:
    path = real(published, f"Hela_{gene}.csv")
    result = prepare(path, "birnbaum2014_eexon", dataset=f"Hela_{gene}", cell="HeLa")
    check_accounting(result, n)
    assert list(zip(result.skipped["row"], result.skipped["reason"])) == skipped
    v = result.variants.set_index("row")
    raw = raw_records(path)
    pvalues = np.array([float(rec["HeLa P-Value"]) for rec in raw])
    rows = [0, int(np.argmin(pvalues)), n - 1]
    for row in rows:
        r, line = v.loc[row], raw[row]
        assert (r["chrom"], r["pos"], r["ref"], r["alt"]) == (
            line["chromosome (hg19)"], int(line["coordinate (hg19)"]), line["Reference"], line["Substitution"])
        effect, p = float(line["HeLa effect size"]), float(line["HeLa P-Value"])
        assert r["effect_log2"] == effect and r["pvalue"] == p
        p_used = p if p > 0 else pvalues[pvalues > 0].min()
        assert r["signed_log10p"] == pytest.approx(math.copysign(-math.log10(p_used), effect) if effect else 0.0)
    study = study_alleles(published, f"Hela_{gene}")
    joined = v[["chrom", "pos", "ref", "alt"]].join(study)
    for col in ("chrom", "pos", "ref", "alt"):
        assert (joined[col] == joined[f"{col}_study"]).all(), col


# ---------------------------------------------------------------- Weiss 2021


def _oligo(rng: np.random.Generator) -> str:
    return "".join(rng.choice(list("ACGT"), 200))


def _mutate(seq: str, index: int) -> str:
    return seq[:index] + "ACGT"[("ACGT".index(seq[index]) + 1) % 4] + seq[index + 1:]


def test_weiss_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a = [_oligo(rng) for _ in range(6)]
    rows = [("chr1", 1000, a[0], _mutate(a[0], 99), "0.8", "0.001", "0.01"),     # good: up
            ("chr2", 2000, a[1], _mutate(a[1], 99), "-0.5", "0.1", "0.3"),      # good: down
            ("chr3", 3000, a[2], _mutate(a[2], 98), "0.1", "0.5", "0.9"),       # differs off centre
            ("chr4", 4000, a[3], _mutate(_mutate(a[3], 99), 150), "0.2", "0.5", "0.9"),  # two bases
            ("chr5", 5000, a[4], a[4], "0.2", "0.5", "0.9"),                    # identical oligos
            ("chr6", 6000, a[5], a[5][:150], "0.2", "0.5", "0.9")]              # lengths differ
    path = tmp_path / "weiss2021.tsv"
    path.write_text("\t".join(WEISS_COLUMNS) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    parsed = weiss2021_lentimpra.parse(path)
    assert parsed["ref"].iloc[0] == a[0][99] and parsed["alt"].iloc[0] == _mutate(a[0], 99)[99]
    result = prepare(path, "weiss2021_lentimpra", cell="NPC")
    v = result.variants.set_index("row")
    assert sorted(v.index) == [0, 1]
    assert (v.loc[0, "chrom"], v.loc[0, "pos"], v.loc[0, "effect_log2"]) == ("chr1", 1000, 0.8)
    assert v.loc[0, "signed_log10p"] == pytest.approx(3.0) and v.loc[1, "signed_log10p"] == pytest.approx(-1.0)
    skipped = result.skipped.set_index("row")
    assert (skipped["reason"] == "oligo_not_central_snv").all() and sorted(skipped.index) == [2, 3, 4, 5]
    assert "[98]" in skipped.loc[2, "detail"] and "2 index(es) [99, 150]" in skipped.loc[3, "detail"]
    assert "0 index(es)" in skipped.loc[4, "detail"] and "lengths differ" in skipped.loc[5, "detail"]
    check_accounting(result, 6)


def test_weiss_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(",".join(WEISS_COLUMNS[:3]) + "\nchr1,5,ACGT\n")
    with pytest.raises(InputError, match="Modern sequence sequence"):
        weiss2021_lentimpra.parse(path)


# ---------------------------------------------------------------- VCF


VCF_TEXT = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=200>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
chr1\t{p1}\trs1\t{r1}\t{a1}\t.\tPASS\t.
chr1\t{p2}\t.\t{r2}\t{a2},{a2b}\t50\tPASS\tAC=1,1

chr1\t{p3}\trs3\t{r3}\t<DEL>\t.\t.\tSVTYPE=DEL
chr1\t{p4}\trs4\t{r4}\t{a4},*\t.\t.\t.
chr1\t{p5}\trs5\t{r5}{r5n}\t{r5}\t.\t.\t.
chr1\t{p6}\trs6\t{r6}\t.\t.\t.\t.
chr1\tnotanumber\trs7\tA\tC\t.\t.\t.
chr1\t10
"""


def _vcf_values(genome: Genome) -> dict:
    values = {}
    for k, pos in enumerate([30, 40, 50, 60, 70, 80], start=1):
        b = genome.base("chr1", pos)
        values.update({f"p{k}": pos, f"r{k}": b, f"a{k}": "ACGT"[("ACGT".index(b) + 1) % 4]})
    values["a2b"] = "ACGT"[("ACGT".index(values["r2"]) + 2) % 4]
    values["r5n"] = genome.base("chr1", 71)  # record 4: a 1-bp deletion with its VCF anchor base
    return values


@pytest.fixture
def genome(tmp_path: Path):
    rng = np.random.default_rng(11)
    seq = "".join(rng.choice(list("ACGT"), 200))
    path = tmp_path / "genome.fa"
    path.write_text(">chr1\n" + "\n".join(seq[i:i + 60] for i in range(0, 200, 60)) + "\n")
    with Genome(path) as g:
        yield g


@pytest.mark.parametrize("compress", [False, True])
def test_vcf_split_symbolic_and_accounting(tmp_path: Path, genome: Genome, compress: bool) -> None:
    values = _vcf_values(genome)
    text = VCF_TEXT.format(**values)
    path = tmp_path / ("in.vcf.gz" if compress else "in.vcf")
    if compress:
        half = len(text) // 2  # two gzip members, as bgzip writes
        path.write_bytes(gzip.compress(text[:half].encode()) + gzip.compress(text[half:].encode()))
    else:
        path.write_text(text)
    parsed = vcf.parse(path)
    # records 0..7 (blank line not counted); record 1 and 3 each split into two entries
    assert parsed["row"].tolist() == [0, 1, 1, 2, 3, 3, 4, 5, 6, 7]
    assert parsed["allele_index"].tolist() == [1, 1, 2, 1, 1, 2, 1, 1, 1, 1]
    assert parsed["effect_log2"].isna().all() and parsed["pvalue"].isna().all()
    result = prepare(path, "vcf", genome, dataset="v", window_length=21)
    v = result.variants
    assert v["variant_id"].tolist() == ["v:0", "v:1:1", "v:1:2", "v:3:1", "v:4"]
    assert v["alt"].tolist() == [values["a1"], values["a2"], values["a2b"], values["a4"], values["r5"]]
    assert v["pos"].tolist() == [30, 40, 40, 60, 70] and (v["chrom"] == "chr1").all()
    assert v["variant_class"].tolist() == ["snv"] * 4 + ["deletion"]
    assert v["effect_log2"].isna().all() and v["signed_log10p"].isna().all()
    skipped = result.skipped
    reasons = list(zip(skipped["row"], skipped["reason"]))
    assert reasons == [(2, "symbolic_allele"), (3, "symbolic_allele"), (5, "symbolic_allele"),
                       (6, "malformed_row"), (7, "malformed_row")]
    s = result.summary
    assert (s["rows_in"] == 10).all() and len(v) + len(skipped) == 10
    assert count(result, "split_alleles") == 2 and count(result, "symbolic_allele") == 3
    assert result.variants["variant_id"].is_unique


def test_vcf_without_header_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.vcf"
    path.write_text("chr1\t10\t.\tA\tC\n")
    with pytest.raises(InputError, match="#CHROM"):
        vcf.parse(path)


def test_vcf_cli_deterministic(tmp_path: Path, genome: Genome) -> None:
    path = tmp_path / "in.vcf"
    path.write_text(VCF_TEXT.format(**_vcf_values(genome)))
    outputs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert main(["prepare-variants", "--dataset", "v", "--cell-line", "HepG2", "--format", "vcf",
                     "--input", str(path), "--genome", str(genome.path), "--outdir", str(out)]) == 0
        outputs.append([(out / f"v.{t}.tsv").read_bytes() for t in ("variants", "skipped", "summary")])
    assert outputs[0] == outputs[1]
