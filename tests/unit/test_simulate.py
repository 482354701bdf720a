"""Tests for the synthetic benchmark writer (regvarbench simulate)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from regvarbench import simulate as sim
from regvarbench.cli import main
from regvarbench.dna import reverse_complement
from regvarbench.genome import Genome
from regvarbench.io import read_tsv
from regvarbench.variants import ensembl_ld, vcf
from regvarbench.variants.ld_exports import LD_R2, RegionVCF
from regvarbench.variants.prepare import DatasetSpec, prepare_dataset

PUBLISHED = Path(__file__).resolve().parents[3] / "shared" / "data" / "published" / "experimental"
RAQTL_COLUMNS = ["chr", "SNP_ID", "SNPabspos", "ref.element.count", "alt.element.count", "{p}.ref.mean",
                 "{p}.alt.mean", "{p}.wilcox.p.value", "{p}.wilcox.p.value.random", "ref", "alt"]
SATMUT_COLUMNS = ["Chromosome", "Position", "Ref", "Alt", "Tags", "DNA", "RNA",
                  "VariantExpressionEffect (log2)", "P-value", "Element"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "bench"
    sim.simulate_benchmark(out, seed=7)
    return out


@pytest.fixture(scope="module")
def genome(bench):
    with Genome(bench / "genome.fa") as g:
        yield g


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read_bed(path: Path, n: int = 3) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t", header=None)
    return df.iloc[:, :n].set_axis(["chrom", "start", "end"] + list(range(3, n)), axis=1)


def _overlaps(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """For each interval of a, whether it overlaps any interval of b (same chrom, half-open)."""
    hit = np.zeros(len(a), dtype=bool)
    for chrom, idx in a.groupby("chrom").groups.items():
        sub, other = a.loc[idx], b[b["chrom"] == chrom]
        if len(other):
            m = (sub["start"].to_numpy()[:, None] < other["end"].to_numpy()[None, :]) & \
                (sub["end"].to_numpy()[:, None] > other["start"].to_numpy()[None, :])
            hit[a.index.get_indexer(idx)] = m.any(axis=1)
    return hit


def _exclusion_kinds(bench: Path) -> dict[str, pd.DataFrame]:
    tss = _read_bed(bench / "annotation" / "tss.bed", 6)
    promoters = tss.assign(start=(tss["start"] - 2000).clip(lower=0), end=tss["end"] + 2000)
    return {"promoter": promoters[["chrom", "start", "end"]], "exon": _read_bed(bench / "annotation" / "exons.bed"),
            "blacklist": _read_bed(bench / "annotation" / "blacklist.bed")}


def _exclusions(bench: Path) -> pd.DataFrame:
    return pd.concat(_exclusion_kinds(bench).values(), ignore_index=True)


def test_same_seed_gives_identical_bytes_and_other_seed_differs(bench, tmp_path):
    again = tmp_path / "again"
    summary = sim.simulate_benchmark(again, seed=7)
    assert _digest(again) == _digest(bench)
    assert summary == json.loads((bench / "simulation.json").read_text())
    assert main(["simulate", "--outdir", str(tmp_path / "other"), "--seed", "8"]) == 0
    assert (tmp_path / "other" / "genome.fa").read_bytes() != (bench / "genome.fa").read_bytes()


def test_cli_rejects_negative_seed(tmp_path):
    assert main(["simulate", "--outdir", str(tmp_path / "x"), "--seed", "-1"]) == 2


def test_layout_and_columns(bench):
    for rel in ["genome.fa", "genome.fa.fai", "genome.sizes", "regions.csv", "datasets.csv", "simulation.json",
                "annotation/exons.bed", "annotation/tss.bed", "annotation/blacklist.bed",
                "truth/motifs.tsv", "truth/variants.tsv", "truth/enhancers.tsv", "truth/loci.tsv",
                "truth/sim_vcf_HepG2.tsv", f"variants/{sim.LD_VCF_NAME}"]:
        assert (bench / rel).is_file(), rel
    regions = pd.read_csv(bench / "regions.csv")
    assert list(regions.columns) == ["cell_line", "dnase", "h3k27ac", "exons", "tss", "blacklist", "genome"]
    assert sorted(regions["cell_line"]) == ["HepG2", "K562"]
    datasets = pd.read_csv(bench / "datasets.csv")
    assert list(datasets.columns) == ["dataset", "cell_line", "format", "path", "genome_build"]
    assert set(datasets["format"]) == {"sure_raqtl", "kircher2019_satmut", "ld_blocks", "ensembl_ld", "vcf"}
    assert (datasets["format"] == "ensembl_ld").sum() == sim.N_LOCI
    assert set(datasets["genome_build"]) == {"sim1"}
    for frame in (regions.drop(columns="cell_line"), datasets[["path"]]):
        for rel in frame.to_numpy().ravel():
            assert (bench / rel).is_file(), rel
    for cell in sim.CELL_LINES:
        peaks = pd.read_csv(bench / "peaks" / f"{cell}.dnase.narrowPeak", sep="\t", header=None)
        assert peaks.shape[1] == 10
        assert ((peaks[9] >= 0) & (peaks[9] < peaks[2] - peaks[1])).all()  # summit inside the peak
        k27 = pd.read_csv(bench / "peaks" / f"{cell}.h3k27ac.bed", sep="\t", header=None)
        assert k27.shape[1] >= 3 and (k27[2] > k27[1]).all()
    assert list(read_tsv(bench / "truth" / "motifs.tsv").columns[:7]) == \
        ["cell_line", "motif", "chrom", "start", "end", "strand", "enhancer_id"]
    assert list(read_tsv(bench / "truth" / "variants.tsv").columns[:7]) == \
        ["dataset", "chrom", "pos", "ref", "alt", "effect_true", "effect_measured"]
    tss = _read_bed(bench / "annotation" / "tss.bed", 6)
    assert set(tss[5]) == {"+", "-"} and len(tss) == sim.N_GENES


def test_source_formats_match_the_real_files(bench):
    for cell in sim.CELL_LINES:
        prefix = cell.lower()
        with gzip.open(bench / "variants" / f"sim_raqtl_{cell}.txt.gz", "rt") as fh:
            header = fh.readline().rstrip("\n").split("\t")
            first = fh.readline().split("\t")
        assert header == [c.format(p=prefix) for c in RAQTL_COLUMNS]
        assert first[0].startswith("chr")
        real = PUBLISHED / f"{prefix}.sign.id.LP190708.txt.gz"
        if real.exists():
            with gzip.open(real, "rt") as fh:
                assert fh.readline().rstrip("\n").split("\t") == header
    raw = (bench / "variants" / "sim_satmut_HepG2.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    sat = pd.read_csv(bench / "variants" / "sim_satmut_HepG2.csv")
    assert list(sat.columns) == SATMUT_COLUMNS
    assert not sat["Chromosome"].astype(str).str.startswith("chr").any()
    assert sat["Position"].nunique() == sim.SATMUT_LENGTH and len(sat) == 3 * sim.SATMUT_LENGTH
    real = PUBLISHED / "SORT1.csv"
    if real.exists():
        assert list(pd.read_csv(real, nrows=1).columns) == SATMUT_COLUMNS


def test_genome_sizes_gc_and_n_runs(bench, genome):
    sizes = pd.read_csv(bench / "genome.sizes", sep="\t", header=None, names=["chrom", "size"])
    assert dict(zip(sizes["chrom"], sizes["size"])) == genome.sizes == sim.CONTIG_SIZES
    assert list(genome.sizes) == ["chr1", "chr2", "chr3", "chr4"]
    assert 3_500_000 <= sum(genome.sizes.values()) <= 4_500_000
    lines = (bench / "genome.fa").read_text().splitlines()
    assert max(len(line) for line in lines if not line.startswith(">")) == 60
    seq = "".join(genome.fetch(c, 0, n) for c, n in genome.sizes.items())
    acgt = len(seq) - seq.count("N")
    assert abs((seq.count("G") + seq.count("C")) / acgt - 0.41) < 0.01
    assert set(genome.fetch("chr4", 0, 500)) == {"N"} and set(genome.fetch("chr2", 300_000, 302_000)) == {"N"}
    assert seq.count("N") == 2500


def test_every_enhancer_holds_scoring_motifs(bench, genome):
    enh = read_tsv(bench / "truth" / "enhancers.tsv")
    motifs = read_tsv(bench / "truth" / "motifs.tsv")
    counts = motifs.groupby(["enhancer_id", "cell_line"]).size()
    keys = list(zip(enh["enhancer_id"], enh["cell_line"]))
    assert all(counts.get(k, 0) >= 1 for k in keys)
    assert (enh.groupby("cell_line").size() == sim.N_ENHANCERS).all()
    assert enh.loc[enh["shared"] == 1, "enhancer_id"].nunique() == sim.N_SHARED
    merged = motifs.merge(enh[["enhancer_id", "cell_line", "centre"]], on=["enhancer_id", "cell_line"])
    assert len(merged) == len(motifs)
    assert (merged["start"] >= merged["centre"] - sim.MOTIF_SPAN).all()
    assert (merged["end"] <= merged["centre"] + sim.MOTIF_SPAN).all()
    for row in motifs.sample(200, random_state=0).itertuples():
        site = genome.fetch(row.chrom, row.start, row.end)
        pwm = sim.MOTIFS[row.cell_line][row.motif]
        assert sim.best_log_odds(site, pwm) >= sim.THRESHOLDS[row.motif]
        strand_seq = site if row.strand == "+" else reverse_complement(site)
        assert np.isclose(sim.best_log_odds(strand_seq, pwm), sim.best_log_odds(site, pwm))


def test_enhancers_avoid_exclusions_gaps_and_ends(bench):
    enh = read_tsv(bench / "truth" / "enhancers.tsv")
    assert not _overlaps(enh, _exclusions(bench)).any()
    assert not _overlaps(enh, pd.DataFrame([g for g in sim.N_GAPS], columns=["chrom", "start", "end"])).any()
    size = enh["chrom"].map(sim.CONTIG_SIZES)
    assert ((enh["start"] > sim.END_MARGIN) & (enh["end"] < size - sim.END_MARGIN)).all()
    assert ((enh["end"] - enh["start"]) == sim.ENHANCER_LENGTH).all()


def test_dnase_and_h3k27ac_minus_exclusions_recovers_enhancers(bench):
    excl = _exclusions(bench)
    enh = read_tsv(bench / "truth" / "enhancers.tsv")
    for cell in sim.CELL_LINES:
        dnase = _read_bed(bench / "peaks" / f"{cell}.dnase.narrowPeak")
        k27 = _read_bed(bench / "peaks" / f"{cell}.h3k27ac.bed")
        both = dnase[_overlaps(dnase, k27)].reset_index(drop=True)
        kept = both[~_overlaps(both, excl)].reset_index(drop=True)
        hits = {kind: _overlaps(both, frame) for kind, frame in _exclusion_kinds(bench).items()}
        for kind, hit in hits.items():  # each filter alone has work to do
            others = np.any([h for k, h in hits.items() if k != kind], axis=0)
            assert (hit & ~others).sum() >= 3, kind
        marked = enh[(enh["cell_line"] == cell) & (enh["h3k27ac"] == 1)].reset_index(drop=True)
        assert len(kept) == len(marked)
        assert _overlaps(kept, marked).all() and _overlaps(marked, kept).all()
        assert 0.85 * sim.N_ENHANCERS <= len(marked) < sim.N_ENHANCERS


def test_variant_ref_alleles_match_the_genome(bench, genome):
    truth = read_tsv(bench / "truth" / "variants.tsv")
    sources = [pd.read_csv(bench / "variants" / f"sim_raqtl_{c}.txt.gz", sep="\t")
               .rename(columns={"chr": "chrom", "SNPabspos": "pos"}) for c in sim.CELL_LINES]
    sources.append(pd.read_csv(bench / "variants" / "sim_satmut_HepG2.csv")
                   .rename(columns={"Chromosome": "chrom", "Position": "pos", "Ref": "ref", "Alt": "alt"}))
    sources += [read_tsv(bench / "variants" / f"sim_ld_blocks_{c}.tsv") for c in sim.CELL_LINES]
    for df in [truth] + sources:
        refs = [genome.base(str(c), int(p)) for c, p in zip(df["chrom"], df["pos"])]
        assert list(df["ref"]) == refs
        assert (df["ref"] != df["alt"]).all() and set(df["alt"]) <= set("ACGT")
    counts = truth.groupby("dataset").size()
    assert counts["sim_raqtl_HepG2"] == counts["sim_raqtl_K562"] == sim.N_RAQTL
    raqtl = truth[truth["dataset"].str.startswith("sim_raqtl")]
    assert 0.6 < raqtl["in_enhancer"].mean() < 0.8
    assert (raqtl.loc[raqtl["in_motif"] == 1, "effect_true"] != 0).mean() > 0.5


def test_true_effects_follow_the_motif_model(bench, genome):
    truth = read_tsv(bench / "truth" / "variants.tsv").sample(150, random_state=1)
    for row in truth.itertuples():
        context = genome.fetch(row.chrom, row.pos - 31, row.pos + 30)
        assert sim.true_effect(context, 30, row.alt, row.cell_line) == pytest.approx(row.effect_true, abs=1e-5)


def test_measured_effects_and_correlation(bench):
    truth = read_tsv(bench / "truth" / "variants.tsv")
    summary = json.loads((bench / "simulation.json").read_text())
    assert summary["noise_sigma"] == sim.NOISE_SIGMA and summary["seed"] == 7
    for ds, g in truth.groupby("dataset"):
        r = np.corrcoef(g["effect_true"], g["effect_measured"])[0, 1]
        assert abs(r - summary["expected_correlation"][ds]) < 0.1, ds
        assert 0.5 < summary["expected_correlation"][ds] < 0.95
    resid = truth["effect_measured"] - truth["effect_true"]
    assert abs(resid.std() - sim.NOISE_SIGMA) < 0.03
    for cell in sim.CELL_LINES:  # the file's log2(alt.mean/ref.mean) is the measured effect in truth
        p = cell.lower()
        src = pd.read_csv(bench / "variants" / f"sim_raqtl_{cell}.txt.gz", sep="\t")
        t = truth[truth["dataset"] == f"sim_raqtl_{cell}"]
        assert np.allclose(np.log2(src[f"{p}.alt.mean"] / src[f"{p}.ref.mean"]), t["effect_measured"], atol=1e-9)
        assert src[f"{p}.wilcox.p.value"].is_monotonic_increasing
        z = np.abs(t["effect_measured"].to_numpy()) / sim.NOISE_SIGMA
        assert np.allclose(src[f"{p}.wilcox.p.value"], 2 * norm.sf(z), rtol=1e-6)
    sat = pd.read_csv(bench / "variants" / "sim_satmut_HepG2.csv")
    t = truth[truth["dataset"] == "sim_satmut_HepG2"]
    assert np.array_equal(sat["VariantExpressionEffect (log2)"].to_numpy(), t["effect_measured"].to_numpy())


def test_each_ld_block_has_one_causal_motif_breaker(bench):
    truth = read_tsv(bench / "truth" / "variants.tsv")
    for cell in sim.CELL_LINES:
        ld = read_tsv(bench / "variants" / f"sim_ld_blocks_{cell}.tsv")
        assert list(ld.columns) == ["block_id", "chrom", "pos", "ref", "alt", "is_causal", "cell_line"]
        assert ld["block_id"].nunique() == sim.N_LD_BLOCKS and set(ld["cell_line"]) == {cell}
        t = truth[truth["dataset"] == f"sim_ld_blocks_{cell}"].reset_index(drop=True)
        assert (t[["chrom", "pos", "alt"]].to_numpy() == ld[["chrom", "pos", "alt"]].to_numpy()).all()
        ld = ld.assign(effect_true=t["effect_true"], in_motif=t["in_motif"])
        for _, block in ld.groupby("block_id"):
            assert block["is_causal"].sum() == 1 and 4 <= len(block) <= 8
            assert block["chrom"].nunique() == 1
            causal = block[block["is_causal"] == 1].iloc[0]
            partners = block[block["is_causal"] == 0]
            assert causal["in_motif"] == 1 and causal["effect_true"] <= -0.3
            assert (partners["in_motif"] == 0).all() and (partners["effect_true"].abs() < 0.05).all()
            assert (partners["pos"] - causal["pos"]).abs().max() <= 50_000


def test_control_room_for_as_many_controls_as_enhancers(bench):
    summary = json.loads((bench / "simulation.json").read_text())
    assert all(n >= 1.5 * sim.N_ENHANCERS for n in summary["control_capacity"].values())


def test_best_log_odds_scores_consensus_strands_and_n():
    pwm = sim.MOTIFS["HepG2"]["CEBPB"]
    consensus = "".join("ACGT"[i] for i in pwm.argmax(axis=1))
    top = float(np.log2(pwm / sim.BASE_PROBS).max(axis=1).sum())
    flank = "TTTTTTTTTT"
    assert sim.best_log_odds(flank + consensus + flank, pwm) == pytest.approx(top)
    assert sim.best_log_odds(reverse_complement(flank + consensus + flank), pwm) == pytest.approx(top)
    broken = consensus[:4] + ("A" if consensus[4] != "A" else "C") + consensus[5:]
    assert sim.best_log_odds(broken, pwm) < top - 3
    assert sim.best_log_odds("N" + consensus[1:], pwm) == -np.inf
    assert sim.best_log_odds(consensus[:5], pwm) == -np.inf
    assert set(sim.MOTIFS) == set(sim.CELL_LINES)
    for motifs in sim.MOTIFS.values():
        for m in motifs.values():
            assert m.shape[1] == 4 and np.allclose(m.sum(axis=1), 1)


def test_gwas_loci_are_ensembl_exports_with_one_planted_causal_snp(bench, genome):
    """One Ensembl LD export per lead SNP (the published column layout, lead first, no alleles, no
    causal label); the truth names one motif-strengthening causal SNP per locus, the lead only in
    some; the benchmark's VCF of the loci gives every SNP's alleles, and prepare-variants keeps the
    partners with r2 >= 0.8 and accounts for the others."""
    truth = read_tsv(bench / "truth" / "loci.tsv")
    assert list(truth.columns) == sim.LOCI_TRUTH_COLUMNS
    datasets = pd.read_csv(bench / "datasets.csv")
    loci = datasets[datasets["format"] == "ensembl_ld"]
    assert sorted(loci["dataset"]) == sorted(truth["dataset"].unique()) and set(loci["cell_line"]) == {sim.LOCUS_CELL}
    region = RegionVCF(bench / "variants" / sim.LD_VCF_NAME)
    summary = json.loads((bench / "simulation.json").read_text())["counts"]
    lead_is_causal = 0
    for row in loci.itertuples():
        t = truth[truth["dataset"] == row.dataset].reset_index(drop=True)
        raw = pd.read_csv(bench / row.path, sep="\t", dtype=str, keep_default_na=False)
        lead = t["snp_id"].iloc[0]
        assert list(raw.columns) == [c.format(lead=lead) for c in ensembl_ld.EXPORT_COLUMNS]
        assert raw.iloc[0][["Variation ID", "r2", "D'"]].tolist() == [lead, "undefined", "undefined"]
        assert raw["Variation ID"].tolist() == t["snp_id"].tolist() and (t["locus_id"] == lead).all()
        assert not raw["Location"].str.startswith("chr").any()  # as Ensembl prints contigs
        parsed = ensembl_ld.parse(bench / row.path)
        assert parsed["is_lead"].tolist() == t["is_lead"].tolist() == [1] + [0] * (len(t) - 1)
        assert parsed["pos"].astype(int).tolist() == t["pos"].tolist()
        assert (parsed["distance"].astype(int) == raw[f"Distance from {lead}"].astype(int)).all()
        # truth: one causal SNP, in a planted motif, raising its activity; neutral background partners
        causal = t[t["is_causal"] == 1]
        assert len(causal) == 1 and causal["in_motif"].iloc[0] == 1 and causal["effect_true"].iloc[0] >= 0.3
        partners = t[t["is_causal"] == 0]
        assert (partners["in_motif"] == 0).all() and (partners["effect_true"].abs() < 0.05).all()
        assert (t["pos"] - causal["pos"].iloc[0]).abs().max() <= sim.LOCUS_SPAN and t["chrom"].nunique() == 1
        assert (t["r2"] < LD_R2).sum() == sim.LOCUS_WEAK and (t.loc[t["is_causal"] == 1, "r2"] >= LD_R2).all()
        lead_is_causal += int(causal["is_lead"].iloc[0])
        for rec in t.itertuples():
            assert genome.base(rec.chrom, rec.pos) == rec.ref != rec.alt
            assert region.lookup(rec.chrom, rec.pos, rec.snp_id) == (rec.pos, rec.ref, [rec.alt])
        with Genome(bench / "genome.fa") as g:
            prepared = prepare_dataset(DatasetSpec(row.dataset, row.cell_line, "ensembl_ld", bench / row.path, "sim1"),
                                       g, ld_vcf=region)
        kept = t[t["r2"] >= LD_R2]
        assert prepared.variants["snp_id"].tolist() == kept["snp_id"].tolist()
        assert set(prepared.skipped["reason"]) == {"ld_r2_below"} and len(prepared.skipped) == sim.LOCUS_WEAK
        assert summary["gwas_locus_rows"][row.dataset] == len(t)
        assert summary["gwas_locus_variants"][row.dataset] == len(kept)
        assert sim.LOCUS_PARTNERS[0] + 1 <= len(kept) <= sim.LOCUS_PARTNERS[1]
    assert lead_is_causal == summary["gwas_lead_is_causal"] == sim.N_LEAD_IS_CAUSAL < sim.N_LOCI
    assert summary["gwas_loci"] == {sim.LOCUS_CELL: sim.N_LOCI}


def test_vcf_dataset_has_snvs_indels_and_an_mnv(bench, genome):
    """A VCF of a region without measured effects: SNVs, insertions, deletions (one a whole planted
    motif) and an MNV, REF as the genome has it (VCF anchor bases included), all kept."""
    path = bench / "variants" / "sim_vcf_HepG2.vcf.gz"
    with gzip.open(path, "rt") as fh:
        text = fh.read()
    assert text.startswith("##fileformat=VCFv4.2\n") and "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" in text
    truth = read_tsv(bench / "truth" / "sim_vcf_HepG2.tsv")
    records = vcf.read_records(path)
    assert records[["chrom", "ref", "alt"]].values.tolist() == truth[["chrom", "ref", "alt"]].values.tolist()
    assert records["pos"].astype(int).tolist() == truth["pos"].tolist() == sorted(truth["pos"])
    for rec in truth.itertuples():
        assert genome.fetch(rec.chrom, rec.pos - 1, rec.pos - 1 + len(rec.ref)) == rec.ref
    counts = truth["variant_class"].value_counts().to_dict()
    assert counts == {"snv": 8, "insertion": 2, "deletion": 3, "mnv": 1}
    summary = json.loads((bench / "simulation.json").read_text())["counts"]
    assert summary["vcf_records"] == {"sim_vcf_HepG2": dict(sorted(counts.items()))}
    motifs = read_tsv(bench / "truth" / "motifs.tsv")
    deleted = truth[truth["ref"].str.len() > 11].iloc[0]  # the whole-motif deletion (anchor + instance)
    assert ((motifs["chrom"] == deleted["chrom"]) & (motifs["start"] == deleted["pos"])
            & (motifs["end"] == deleted["pos"] + len(deleted["ref"]) - 1)).sum() == 1
    with Genome(bench / "genome.fa") as g:
        prepared = prepare_dataset(DatasetSpec("sim_vcf_HepG2", "HepG2", "vcf", path, "sim1"), g)
    assert len(prepared.variants) == len(truth) and len(prepared.skipped) == 0
    assert prepared.variants["variant_class"].tolist() == truth["variant_class"].tolist()
    assert prepared.variants["effect_log2"].isna().all()
