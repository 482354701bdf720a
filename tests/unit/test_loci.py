"""GWAS loci (issue 19, items 1 and 2): LD exports in (Ensembl, LDlink), ranked loci and an annotated VCF out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from ..conftest import PUBLISHED
from regvarbench import cli, metrics, rank
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.rank import RANKED_COLUMNS, TOP_COLUMNS, rank_variants, top_candidates, write_scores_vcf
from regvarbench.variants import ensembl_ld, get_parser, ldlink_proxy
from regvarbench.variants.ld_exports import LD_REASONS, LOCUS_COLUMNS, RegionVCF
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset

REAL_LD = PUBLISHED / "ld_exports"  # never copied here; $REGVARBENCH_PUBLISHED or ../shared/data/published
ENSEMBL_HEADER = "Variation ID\tLocation\tDistance from {lead}\tConsequence Type\tr2\tD'\tPhenotypes\tGWAS_Trait_Category\tSource\n"
LDLINK_HEADER = ("RS_Number\tCoord\tAlleles\tMAF\tDistance\tDprime\tR2\tCorrelated_Alleles\tFORGEdb\tRegulomeDB\t"
                 "Function\n")
OTHER = {"A": "G", "C": "T", "G": "A", "T": "C"}


@pytest.fixture
def genome(tmp_path) -> tuple[Path, dict[str, str]]:
    """A synthetic genome: chr9 of 1.2 Mb (loci with a 500 kb window fit) and a short chr2."""
    rng = np.random.default_rng(19)
    contigs = {"chr9": "".join(rng.choice(list("ACGT"), 1_200_000)), "chr2": "".join(rng.choice(list("ACGT"), 5000))}
    fasta = tmp_path / "genome.fa"
    with open(fasta, "w") as fh:
        for name, seq in contigs.items():
            fh.write(f">{name}\n" + "\n".join(seq[i:i + 80] for i in range(0, len(seq), 80)) + "\n")
    return fasta, contigs


def base(contigs, chrom, pos):
    return contigs["chr" + chrom.removeprefix("chr")][pos - 1]


def ensembl_rows(contigs):
    """(id, chrom, pos, r2) of a synthetic locus around lead rs1 at 9:600000, and what each row should become."""
    return [("rs1", "9", 600_000, "undefined", "kept"),
            ("rs2", "9", 600_120, "0.95", "kept"),
            ("rs3", "9", 599_000, "0.80", "kept"),          # r2 == threshold: kept (r2 >= --ld-r2)
            ("rs4", "9", 601_500, "0.79", "ld_r2_below"),
            ("rs5", "9", 1_150_000, "0.99", "ld_outside_window"),  # 550 kb from the lead
            ("rs6", "2", 1000, "0.99", "ld_outside_window"),       # another contig
            ("rs7", "9", 600_300, "0.90", "not_in_vcf"),
            ("rs8", "9", 600_400, "0.90", "kept2"),         # multi-allelic in the VCF: two entries
            ("rs9", "9", 600_500, "0.90", "not_in_vcf"),     # a VCF record at its position names another rsID
            ("rs10", "9", 600_600, "0.90", "ref_mismatch")]  # the VCF's REF is not the genome's


def write_ensembl(path: Path, contigs, rows=None) -> Path:
    rows = rows or ensembl_rows(contigs)
    lines = [ENSEMBL_HEADER.format(lead=rows[0][0])]
    for vid, chrom, pos, r2, _ in rows:
        lines.append(f"{vid}\t{chrom}:{pos}-{pos}\t{pos - rows[0][2]}\tintron_variant\t{r2}\t{r2}\t\tNo trait reported\t"
                     "Ensembl\n")
    path.write_text("".join(lines))
    return path


def write_region_vcf(path: Path, contigs) -> Path:
    """VCF of the region: every kept SNP by ID, rs8 with two ALTs, rs9's position under another ID."""
    def rec(chrom, pos, vid, ref, alt):
        return f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\tPASS\t.\n"
    g = lambda pos: base(contigs, "9", pos)  # noqa: E731
    body = [rec("chr9", 599_000, "rs3", g(599_000), OTHER[g(599_000)]),
            rec("chr9", 600_000, "rs1", g(600_000), OTHER[g(600_000)]),
            rec("chr9", 600_120, ".", g(600_120), OTHER[g(600_120)]),  # no ID: found by position
            rec("chr9", 600_400, "rs8", g(600_400), ",".join(b for b in "ACGT" if b != g(600_400))[:3]),
            rec("chr9", 600_500, "rs999", g(600_500), OTHER[g(600_500)]),
            rec("chr9", 600_600, "rs10", *_two_others(g(600_600))),
            rec("chr9", 601_500, "rs4", g(601_500), OTHER[g(601_500)])]
    path.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(body))
    return path


def _two_others(b: str) -> tuple[str, str]:
    """Two bases other than ``b``: alleles of which neither matches the genome."""
    others = [x for x in "ACGT" if x != b]
    return others[0], others[1]


# ---------------------------------------------------------------- parsing


def test_real_ensembl_exports_parse():
    files = sorted(REAL_LD.glob("*.ensembl_ld.tsv")) if REAL_LD.is_dir() else []
    if not files:
        pytest.skip(f"real Ensembl LD exports absent ({REAL_LD})")
    for path in files:
        parsed = ensembl_ld.parse(path)
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        lead = re.search(r"rs\d+", path.name).group()
        assert len(parsed) == len(raw) and (parsed["skip_reason"] == "").all(), path
        assert parsed.loc[parsed["is_lead"] == 1, "snp_id"].tolist() == [lead]
        assert (parsed["locus_id"] == lead).all()
        assert parsed.loc[parsed["is_lead"] == 1, "r2"].tolist() == [1.0]  # printed 'undefined'
        assert parsed["chrom"].eq("9").all()
        starts = raw["Location"].str.split(":").str[1].str.split("-").str[0].astype(int)
        assert parsed["pos"].astype(int).tolist() == starts.tolist()
        # the computed distance agrees with Ensembl's own column
        assert parsed["distance"].astype(int).tolist() == raw[f"Distance from {lead}"].astype(int).tolist()
        # no alleles, no VCF: every row accounted for as no_allele_source
        result = prepare_dataset(DatasetSpec("c9", "HepG2", "ensembl_ld", path, "GRCh38"), None)
        assert len(result.variants) == 0 and len(result.skipped) == len(raw)
        r2 = pd.to_numeric(raw["r2"], errors="coerce").fillna(1.0)
        assert (result.skipped["reason"] == "no_allele_source").sum() == int((r2 >= 0.8).sum())
        assert (result.skipped["reason"] == "ld_r2_below").sum() == int((r2 < 0.8).sum())


def test_synthetic_ensembl_export_with_genome_and_vcf(tmp_path, genome):
    fasta, contigs = genome
    export = write_ensembl(tmp_path / "rs1.ensembl_ld.tsv", contigs)
    vcf = RegionVCF(write_region_vcf(tmp_path / "region.vcf", contigs))
    with Genome(fasta) as g:
        result = prepare_dataset(DatasetSpec("loc", "HepG2", "ensembl_ld", export, "GRCh38"), g, ld_vcf=vcf,
                                 max_mismatch_rate=1.0)
    v, s = result.variants, result.skipped
    expected = {vid: what for vid, *_, what in ensembl_rows(contigs)}
    assert sorted(set(v["snp_id"])) == sorted(k for k, w in expected.items() if w.startswith("kept"))
    assert dict(zip(s["row"].map(lambda r: ensembl_rows(contigs)[r][0]), s["reason"])) == \
        {k: w for k, w in expected.items() if not w.startswith("kept")}
    # every input row is a variant (two for the split rs8) or a skipped row with a reason and a detail
    rows_in = len(ensembl_rows(contigs))
    assert len(set(v["row"])) + len(s) == rows_in and s["detail"].str.len().gt(0).all()
    assert (v["snp_id"] == "rs8").sum() == 2 and v.loc[v["snp_id"] == "rs8", "variant_id"].tolist() == ["loc:7:1", "loc:7:2"]
    # REF is the genome's, ALT the VCF's
    for rec in v.itertuples():
        assert rec.ref == base(contigs, rec.chrom, rec.pos) and rec.alt != rec.ref
    assert list(v.columns[-len(LOCUS_COLUMNS):]) == LOCUS_COLUMNS
    assert v.loc[v["is_lead"] == 1, "snp_id"].tolist() == ["rs1"] and (v["locus_id"] == "rs1").all()
    summary = dict(zip(result.summary["reason"], result.summary["count"]))
    assert all(r in summary for r in LD_REASONS) and summary["split_alleles"] == 1
    assert "REF" in s.loc[s["reason"] == "not_in_vcf", "detail"].iloc[0]


def test_r2_and_window_options(tmp_path, genome):
    fasta, contigs = genome
    export = write_ensembl(tmp_path / "rs1.ensembl_ld.tsv", contigs)
    vcf = RegionVCF(write_region_vcf(tmp_path / "region.vcf", contigs))
    spec = DatasetSpec("loc", "HepG2", "ensembl_ld", export, "GRCh38")
    strict = prepare_dataset(spec, None, ld_vcf=vcf, ld_r2=0.9, ld_window=1000)
    reasons = dict(zip(strict.skipped["row"], strict.skipped["reason"]))
    assert 1 not in reasons and reasons[2] == "ld_r2_below"  # 0.95 kept, 0.80 < 0.9
    assert reasons[3] == "ld_outside_window"  # 1500 bp > 1000 (checked before r2)
    loose = prepare_dataset(spec, None, ld_vcf=vcf, ld_r2=0.0, ld_window=600_000)
    assert "rs4" in set(loose.variants["snp_id"]) and "rs5" not in set(loose.variants["snp_id"])
    with pytest.raises(InputError, match="--ld-r2"):
        prepare_dataset(spec, None, ld_r2=1.5)


def test_alleles_without_a_vcf_are_skipped_with_the_genome_ref(tmp_path, genome):
    fasta, contigs = genome
    export = write_ensembl(tmp_path / "rs1.ensembl_ld.tsv", contigs)
    with Genome(fasta) as g:
        result = prepare_dataset(DatasetSpec("loc", "HepG2", "ensembl_ld", export, "GRCh38"), g)
    lead = result.skipped[result.skipped["row"] == 0].iloc[0]
    assert lead["reason"] == "no_allele_source"
    assert f"REF {base(contigs, '9', 600_000)} from the genome" in lead["detail"] and "--ld-vcf" in lead["detail"]


def test_ldlink_layout_oriented_by_the_genome(tmp_path, genome):
    fasta, contigs = genome
    b = lambda pos: base(contigs, "9", pos)  # noqa: E731
    rows = [f"rs1\tchr9:600000\t({b(600_000)}/{OTHER[b(600_000)]})\t0.3\t0\t1.0\t1.0\tA=A,G=G\t7\t2b\tintergenic\n",
            f"rs2\tchr9:600050\t({OTHER[b(600_050)]}/{b(600_050)})\t0.3\t50\t1.0\t0.93\tA=A,G=G\t5\t3a\t.\n",  # ALT first
            "rs3\tchr9:600090\t({}/{})\t0.3\t90\t1.0\t0.9\tA=A,G=G\t\t\t.\n".format(*_two_others(b(600_090))),
            "rs4\tchr9:600100\t(-/AT)\t0.3\t100\t1.0\t0.88\tA=A,G=G\t\t\t.\n",
            f"rs5\tchr9:602000\t({b(602_000)}/{OTHER[b(602_000)]})\t0.3\t2000\t0.7\t0.4\tA=A,G=G\t\t\t.\n"]
    path = tmp_path / "rs1.ldlink.txt"
    path.write_text(LDLINK_HEADER + "".join(rows))
    parsed = ldlink_proxy.parse(path)
    assert parsed["snp_id"].tolist() == ["rs1", "rs2", "rs3", "rs4", "rs5"] and parsed["is_lead"].tolist()[0] == 1
    assert parsed["distance"].astype(int).tolist() == [0, 50, 90, 100, 2000]
    with Genome(fasta) as g:
        result = prepare_dataset(DatasetSpec("px", "HepG2", "ldlink_proxy", path, "GRCh38"), g, max_mismatch_rate=1.0)
    v = result.variants.set_index("snp_id")
    assert v.loc["rs2", "ref"] == b(600_050) and v.loc["rs2", "alt"] == OTHER[b(600_050)]  # oriented, not swapped
    assert int(v.loc["rs2", "swapped"]) == 0
    reasons = dict(zip(result.skipped["row"], result.skipped["reason"]))
    assert reasons == {2: "ref_mismatch", 3: "allele_not_acgt", 4: "ld_r2_below"}


def test_ld_export_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty.ensembl_ld.tsv"
    empty.write_text(ENSEMBL_HEADER.format(lead="rs1"))
    with pytest.raises(InputError, match=str(empty)):
        ensembl_ld.parse(empty)
    bad_lead = tmp_path / "bad.tsv"
    bad_lead.write_text(LDLINK_HEADER + "rs1\tchr9\t(A/G)\t0.1\t0\t1\t1\t.\t\t\t.\n")
    with pytest.raises(InputError, match=f"{bad_lead}.*lead"):
        ldlink_proxy.parse(bad_lead)
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text("chrom\tpos\n9\t1\n")
    with pytest.raises(InputError, match=f"{wrong}.*Variation ID"):
        get_parser("ensembl_ld").parse(wrong)


# ---------------------------------------------------------------- ranking


def locus_tables(n=12, planted=5, seed=0):
    """A synthetic locus of n SNPs, variant ``planted`` scored highest by model_a, and two models' scores."""
    rng = np.random.default_rng(seed)
    variants = pd.DataFrame({"variant_id": [f"loc:{i}" for i in range(n)], "dataset": "loc", "cell_line": "HepG2",
                             "chrom": "chr9", "pos": 600_000 + 100 * np.arange(n), "ref": "A", "alt": "G",
                             "effect_log2": np.nan, "pvalue": np.nan, "variant_class": "snv", "locus_id": "rs1",
                             "snp_id": [f"rs{i + 1}" for i in range(n)], "is_lead": [1] + [0] * (n - 1),
                             "r2": [1.0] + [0.9] * (n - 1), "distance": 100 * np.arange(n)})
    a = rng.normal(0, 0.1, n)
    a[planted] = 2.0
    b = rng.normal(0, 0.1, n)
    b[planted] = 1.5
    b[0] = -3.0  # the lead: most negative by model_b (first by |score|)
    scores = pd.concat([pd.DataFrame({"variant_id": variants["variant_id"], "dataset": "loc", "variant_class": "snv",
                                      "model": m, "ref_output": np.nan, "alt_output": np.nan, "score": s})
                        for m, s in (("model_a", a), ("model-b", b))], ignore_index=True)
    return variants, scores


def test_planted_snp_ranks_first():
    variants, scores = locus_tables()
    ranked = rank_variants(variants, scores)
    planted = ranked[ranked["variant_id"] == "loc:5"]
    assert planted["rank"].tolist() == [1.0, 1.0] and planted["consensus_rank"].iloc[0] == 1
    top = top_candidates(ranked, 3)
    assert top["variant_id"].iloc[0] == "loc:5" and len(top) == 3
    # abs_score puts model-b's strongly negative lead first for that model
    by_abs = rank_variants(variants, scores, "abs_score")
    assert by_abs.loc[(by_abs["model"] == "model-b") & (by_abs["variant_id"] == "loc:0"), "rank"].item() == 1
    assert by_abs.loc[by_abs["model"] == "model-b", "lead_rank"].eq(1).all()


def test_ranked_table_contract():
    variants, scores = locus_tables()
    scores.loc[(scores["model"] == "model_a") & (scores["variant_id"] == "loc:3"), "score"] = np.nan
    ranked = rank_variants(variants, scores)
    top = top_candidates(ranked, 4)
    assert list(ranked.columns) == RANKED_COLUMNS and list(top.columns) == TOP_COLUMNS
    assert len(ranked) == len(scores)
    for model, g in ranked.groupby("model"):
        finite = g["rank"].dropna()
        assert sorted(finite.astype(int)) == list(range(1, len(finite) + 1))  # no ties here: 1..n
        assert (g["n_ranked"] == len(finite)).all()
        lead_rank = g.loc[g["is_lead"] == 1, "rank"].item()
        assert (g["lead_rank"] == lead_rank).all()
    one = ranked[ranked["variant_id"] == "loc:3"]
    assert one["n_models"].eq(1).all() and one["rank_spread"].eq(0).all()
    two = ranked[ranked["variant_id"] == "loc:7"]
    assert two["mean_rank"].iloc[0] == pytest.approx(two["rank"].mean())
    assert two["rank_spread"].iloc[0] == two["rank"].max() - two["rank"].min()
    per_variant = ranked.drop_duplicates("variant_id")
    order = per_variant.sort_values("mean_rank")["variant_id"].tolist()
    assert per_variant.sort_values("consensus_rank")["variant_id"].tolist() == order
    assert top["lead_consensus_rank"].eq(per_variant.loc[per_variant["is_lead"] == 1, "consensus_rank"].item()).all()


def test_ties_take_the_last_rank_as_in_evaluation():
    variants, scores = locus_tables(n=4, planted=1)
    scores["score"] = [0.5, 0.5, 0.1, 0.0] * 2
    ranked = rank_variants(variants, scores)
    got = ranked[ranked["model"] == "model_a"].set_index("variant_id")["rank"]
    assert got["loc:0"] == got["loc:1"] == 2
    assert got["loc:0"] == metrics.rank_in_block(metrics.ranking_key(np.array([0.5, 0.5, 0.1, 0.0]), "pos_score"), 0)


def test_annotated_vcf_parses_with_one_info_value_per_model(tmp_path):
    variants, scores = locus_tables()
    ranked = rank_variants(variants, scores)
    path = write_scores_vcf(ranked, tmp_path / "loc.scores.vcf.gz")
    assert Path(str(path) + ".tbi").is_file()
    with pysam.VariantFile(str(path)) as vcf:
        described = {k: vcf.header.info[k].description for k in vcf.header.info}
        assert "model_a" in described["RVB_model_a"] and "model-b" in described["RVB_model_b"]
        records = list(vcf)
        assert len(list(vcf.fetch("chr9", 600_000, 600_500))) == 5  # the tabix index works
    assert len(records) == len(variants)
    truth = scores.pivot(index="variant_id", columns="model", values="score")
    for rec in records:
        vid = rec.info["RVB_VARIANT"]
        assert rec.info["RVB_model_a"] == pytest.approx(truth.at[vid, "model_a"], rel=1e-5)  # VCF floats: 6 significant digits
        assert rec.info["RVB_model_b"] == pytest.approx(truth.at[vid, "model-b"], rel=1e-5)  # VCF floats: 6 significant digits
        assert rec.id == variants.set_index("variant_id").at[vid, "snp_id"]
    assert [r.info.get("RVB_LEAD", False) for r in records].count(True) == 1


def test_prepare_then_rank_through_the_cli(tmp_path, genome):
    fasta, contigs = genome
    export = write_ensembl(tmp_path / "rs1.ensembl_ld.tsv", contigs)
    vcf = write_region_vcf(tmp_path / "region.vcf", contigs)
    out = tmp_path / "variants"
    assert cli.main(["prepare-variants", "--dataset", "loc", "--cell-line", "HepG2", "--format", "ensembl_ld",
                     "--input", str(export), "--genome", str(fasta), "--ld-vcf", str(vcf), "--max-mismatch-rate", "1",
                     "--outdir", str(out)]) == 0
    variants = read_tsv(out / "loc.variants.tsv")
    planted = variants.loc[variants["snp_id"] == "rs3", "variant_id"].item()
    scores = pd.DataFrame({"variant_id": variants["variant_id"], "dataset": "loc", "variant_class": "snv",
                           "model": "motif_jaspar", "ref_output": 0.0, "alt_output": 0.0,
                           "score": np.where(variants["variant_id"] == planted, 3.0, np.linspace(-1, 1, len(variants)))})
    write_tsv(scores, tmp_path / "motif_jaspar.loc.0.scores.tsv")
    assert cli.main(["rank", "--variants", str(out / "loc.variants.tsv"), "--scores",
                     str(tmp_path / "motif_jaspar.loc.0.scores.tsv"), "--outdir", str(tmp_path / "ranked")]) == 0
    ranked = read_tsv(tmp_path / "ranked" / "loc.ranked.tsv")
    assert list(ranked.columns) == RANKED_COLUMNS
    assert ranked.loc[ranked["rank"] == 1, "snp_id"].tolist() == ["rs3"]
    top = read_tsv(tmp_path / "ranked" / "loc.top_candidates.tsv")
    assert top["snp_id"].iloc[0] == "rs3"
    with pysam.VariantFile(str(tmp_path / "ranked" / "loc.scores.vcf.gz")) as fh:
        assert sum(1 for r in fh if "RVB_motif_jaspar" in r.info) == len(variants)
    # a damaged input is an error naming the file, not a traceback
    broken = tmp_path / "broken.variants.tsv"
    broken.write_text("variant_id\tdataset\n")
    assert cli.main(["rank", "--variants", str(broken), "--scores", str(tmp_path / "motif_jaspar.loc.0.scores.tsv"),
                     "--outdir", str(tmp_path / "x")]) == 2


def test_pipeline_rank_option_mirrors_the_package():
    """--rank_by (nextflow.config, schema) offers rank's choices, with the same default."""
    root = Path(__file__).resolve().parents[2]
    props = {k: v for g in json.loads((root / "nextflow_schema.json").read_text())["$defs"].values()
             for k, v in g["properties"].items()}
    assert props["rank_by"]["enum"] == list(rank.RANKING_CHOICES) and props["rank_by"]["default"] == rank.DEFAULT_RANKING
    assert f"rank_by                 = '{rank.DEFAULT_RANKING}'" in (root / "nextflow.config").read_text()


def test_datasets_with_effects_and_no_loci_are_not_ranked(tmp_path):
    """rank leaves a dataset with measured effects and no loci to the evaluation (unless --all-datasets)."""
    v = pd.DataFrame({"variant_id": ["d:0", "d:1", "d:2"], "dataset": "d", "cell_line": "HepG2", "chrom": "chr1",
                      "pos": [10, 20, 30], "ref": "A", "alt": "G", "effect_log2": [0.5, -0.2, 1.0],
                      "pvalue": 0.01, "signed_log10p": 2.0, "row": [0, 1, 2]})
    s = pd.DataFrame({"variant_id": v["variant_id"], "dataset": "d", "model": "m", "score": [0.1, 0.3, 0.2]})
    v.to_csv(tmp_path / "d.variants.tsv", sep="\t", index=False)
    s.to_csv(tmp_path / "m.d.scores.tsv", sep="\t", index=False)
    args = ["rank", "--variants", str(tmp_path / "d.variants.tsv"), "--scores", str(tmp_path / "m.d.scores.tsv")]
    # read together with an LD-block dataset (whose block_id column it then has, empty), as in the pipeline
    blocks = v.assign(variant_id=["b:0", "b:1", "b:2"], dataset="b", block_id=["x", "x", "y"], is_causal=[1, 0, 1],
                      effect_log2=float("nan"))
    blocks.to_csv(tmp_path / "b.variants.tsv", sep="\t", index=False)
    s.assign(variant_id=blocks["variant_id"], dataset="b").to_csv(tmp_path / "m.b.scores.tsv", sep="\t", index=False)
    assert cli.main(["rank", "--variants", str(tmp_path / "d.variants.tsv"), str(tmp_path / "b.variants.tsv"),
                     "--scores", str(tmp_path / "m.d.scores.tsv"), str(tmp_path / "m.b.scores.tsv"),
                     "--outdir", str(tmp_path / "a")]) == 0
    assert [p.name for p in (tmp_path / "a").glob("*.ranked.tsv")] == ["b.ranked.tsv"]
    assert cli.main([*args, "--all-datasets", "--outdir", str(tmp_path / "b")]) == 0
    ranked = pd.read_csv(tmp_path / "b" / "d.ranked.tsv", sep="\t").set_index("variant_id")
    assert ranked.loc["d:1", "rank"] == 1
