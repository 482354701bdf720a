"""build-regions on a synthetic genome whose peaks, exclusions and GC content the test plants."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from regvarbench import cli
from regvarbench.dna import gc_content
from regvarbench.genome import Genome
from regvarbench.io import InputError, read_tsv
from regvarbench.regions import GC_BIN_WIDTH, build_regions, free_intervals, match_gc, read_bed

CONTIG = 60_000
CONTIGS = ("chr1", "chr2", "chr3")
GC_RICH = [(5_000, 15_000), (30_000, 40_000)]  # GC 0.72 here, 0.40 elsewhere
N_BLOCK = ("chr3", 50_000, 55_000)
L = 200
FLANK = 500

# name: (chrom, start, end, signal, summit offset or -1)
DNASE = {
    "summit": ("chr1", 6000, 6400, 20, 100),  # summit 6100 -> 6000-6200 (midpoint would give 6100-6300)
    "no_mark": ("chr1", 8000, 8300, 20, -1),  # no H3K27ac
    "exon": ("chr1", 10000, 10300, 20, -1),
    "promoter": ("chr2", 12000, 12300, 20, -1),
    "blacklist": ("chr3", 32000, 32300, 20, -1),
    "off_end": ("chr1", 50, 150, 20, 10),  # summit 60 -> -40..160
    "dup_low": ("chr2", 35000, 35300, 5, -1),  # -> 35050-35250, overlaps dup_high, lower signal
    "dup_high": ("chr2", 35100, 35400, 50, -1),  # -> 35150-35350
    "minus_tss_ok": ("chr1", 19350, 19650, 20, -1),  # -> 19400-19600, clear of the minus-strand TSS
    "p1": ("chr1", 12000, 12300, 20, -1),
    "p2": ("chr1", 33000, 33300, 20, -1),
    "p3": ("chr1", 37000, 37300, 20, -1),
    "p4": ("chr2", 6000, 6300, 20, -1),
    "p5": ("chr2", 38000, 38300, 20, -1),
    "p6": ("chr3", 8000, 8300, 20, -1),
    "p7": ("chr3", 13000, 13300, 20, -1),
    "p8": ("chr3", 36000, 36300, 20, -1),  # H3K27ac overlaps it by only 10 bp
    "missing1": ("chrUn_KI270438v1", 100, 400, 20, -1),
    "missing2": ("chr9", 1000, 1300, 20, -1),
}
EXPECTED_POSITIVES = {
    ("chr1", 6000, 6200), ("chr1", 12050, 12250), ("chr1", 19400, 19600), ("chr1", 33050, 33250),
    ("chr1", 37050, 37250), ("chr2", 6050, 6250), ("chr2", 35150, 35350), ("chr2", 38050, 38250),
    ("chr3", 8050, 8250), ("chr3", 13050, 13250), ("chr3", 36050, 36250),
}
EXONS = [("chr1", 10150, 10160), ("chr2", 45000, 46000)]
TSS = [("chr2", 12600, 12601, "g1", 0, "+"), ("chr1", 20000, 21000, "g2", 0, "-")]  # BED6
BLACKLIST = [("chr3", 31900, 32100), ("chr1", 25000, 27000)]


def h3k27ac_peaks() -> list[tuple[str, int, int]]:
    peaks = [(c, max(s - 100, 0), s + 50) for n, (c, s, e, _, _) in DNASE.items()
             if n not in ("no_mark", "p8", "dup_low", "dup_high")]
    c, s, _, _, _ = DNASE["p8"]
    return peaks + [(c, s - 100, s + 10), ("chr2", 34900, 35500), ("chr1", 58000, 59000)]


def write_genome(path: Path, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for name in CONTIGS:
            gc = np.full(CONTIG, 0.40)
            for s, e in GC_RICH:
                gc[s:e] = 0.72
            strong, pick = rng.random(CONTIG) < gc, rng.random(CONTIG) < 0.5
            bases = np.where(strong, np.where(pick, "G", "C"), np.where(pick, "A", "T"))
            if name == N_BLOCK[0]:
                bases[N_BLOCK[1]:N_BLOCK[2]] = "N"
            seq = "".join(bases.tolist())
            fh.write(f">{name}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, CONTIG, 60)))
    return path


def write_bed(path: Path, rows, header: str = "") -> Path:
    text = header + "".join("\t".join(str(v) for v in row) + "\n" for row in rows)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def narrowpeak_rows(peaks=None):
    peaks = DNASE if peaks is None else peaks
    return [(c, s, e, n, 0, ".", sig, -1, -1, summit) for n, (c, s, e, sig, summit) in peaks.items()]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("regions")
    return {
        "genome": write_genome(d / "genome.fa"),
        "dnase": write_bed(d / "dnase.narrowPeak", narrowpeak_rows()),
        "h3k27ac": write_bed(d / "h3k27ac.bed", h3k27ac_peaks()),
        "exons": write_bed(d / "exons.bed", EXONS),
        "tss": write_bed(d / "tss.bed", TSS),
        "blacklist": write_bed(d / "blacklist.bed", BLACKLIST),
    }


@pytest.fixture(scope="module")
def genome(files):
    with Genome(files["genome"]) as g:
        yield g


def build(files, genome, **overrides):
    kwargs = dict(exons=files["exons"], tss=files["tss"], blacklist=files["blacklist"], region_length=L,
                  promoter_flank=FLANK, min_overlap=1, control_matching="gc", seed=0)
    kwargs.update(overrides)
    dnase = kwargs.pop("dnase", files["dnase"])
    h3k27ac = kwargs.pop("h3k27ac", files["h3k27ac"])
    return build_regions("HepG2", dnase, h3k27ac, genome, **kwargs)


@pytest.fixture(scope="module")
def default_run(files, genome):
    return build(files, genome)


def intervals(regions: pd.DataFrame, label: int) -> set[tuple[str, int, int]]:
    sub = regions[regions["label"] == label]
    return set(zip(sub["chrom"], sub["start"].astype(int), sub["end"].astype(int)))


def overlaps(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def steps(summary: pd.DataFrame) -> dict[str, float]:
    return dict(zip(summary["step"], summary["count"]))


def test_positives_are_exactly_the_planted_ones(default_run):
    regions, _ = default_run
    assert intervals(regions, 1) == EXPECTED_POSITIVES
    assert list(regions.columns) == ["region_id", "chrom", "start", "end", "label", "cell_line"]
    assert (regions["end"] - regions["start"] == L).all()
    assert regions["region_id"].iloc[0] == "HepG2:chr1:6000-6200"
    assert regions["region_id"].is_unique and (regions["cell_line"] == "HepG2").all()


def test_output_sorted_label_desc_then_chrom_start(default_run):
    regions, _ = default_run
    ordered = regions.sort_values(["label", "chrom", "start"], ascending=[False, True, True])
    assert regions.index.equals(ordered.index)
    assert regions["label"].iloc[0] == 1 and regions["label"].iloc[-1] == 0


def test_controls_avoid_peaks_exclusions_positives_n_and_each_other(default_run, genome):
    regions, _ = default_run
    controls = sorted(intervals(regions, 0))
    assert len(controls) == len(EXPECTED_POSITIVES)
    promoters = [("chr2", 12600 - FLANK, 12601 + FLANK), ("chr1", 20999 - FLANK, 21000 + FLANK)]
    forbidden = ([(c, s, e) for c, s, e, _, _ in DNASE.values()] + h3k27ac_peaks() + EXONS + promoters
                 + BLACKLIST + [N_BLOCK] + sorted(EXPECTED_POSITIVES))
    for ctrl in controls:
        assert not any(overlaps(ctrl, f) for f in forbidden), ctrl
        assert 0 <= ctrl[1] and ctrl[2] <= CONTIG and ctrl[2] - ctrl[1] == L
        assert set(genome.fetch(*ctrl)) <= set("ACGT")
    assert not any(overlaps(a, b) for i, a in enumerate(controls) for b in controls[i + 1:])


def test_summary_counts_add_up(default_run):
    regions, summary = default_run
    assert list(summary.columns) == ["cell_line", "step", "count"]
    s = steps(summary)
    assert s["dnase_peaks_in"] == len(DNASE)
    assert s["dnase_on_missing_contigs"] == 2
    assert s["overlapping_h3k27ac"] == len(DNASE) - 2 - 1  # missing contigs, no_mark
    assert (s["after_exon_filter"], s["after_promoter_filter"], s["after_blacklist_filter"]) == (15, 14, 13)
    assert s["off_contig_end"] == 1 and s["overlapping_duplicates"] == 1
    assert s["after_blacklist_filter"] - s["off_contig_end"] - s["overlapping_duplicates"] == s["after_dedup"]
    assert s["after_dedup"] == (regions["label"] == 1).sum() == s["controls"] == (regions["label"] == 0).sum()
    assert s["h3k27ac_peaks_in"] == len(h3k27ac_peaks())
    chain = [s[k] for k in ("overlapping_h3k27ac", "after_exon_filter", "after_promoter_filter",
                            "after_blacklist_filter", "after_dedup")]
    assert chain == sorted(chain, reverse=True)


def test_exclusion_steps_each_remove_their_planted_peak(default_run, files, genome):
    regions, _ = default_run
    kept = intervals(regions, 1)
    assert ("chr1", 10050, 10250) not in kept  # exon
    assert ("chr2", 12050, 12250) not in kept  # promoter of the + strand TSS
    assert ("chr3", 32050, 32250) not in kept  # blacklist
    unfiltered, summary = build(files, genome, exons=None, tss=None, blacklist=None)
    assert {("chr1", 10050, 10250), ("chr2", 12050, 12250), ("chr3", 32050, 32250)} <= intervals(unfiltered, 1)
    s = steps(summary)
    assert s["overlapping_h3k27ac"] == s["after_exon_filter"] == s["after_blacklist_filter"]


def test_minus_strand_tss_uses_its_end(files, genome, tmp_path):
    # Treating the minus-strand TSS at its start (20000) would remove the region 19400-19600.
    regions, _ = build(files, genome)
    assert ("chr1", 19400, 19600) in intervals(regions, 1)
    bed3 = write_bed(tmp_path / "tss3.bed", [t[:3] for t in TSS])  # no strand: whole interval padded
    regions3, _ = build(files, genome, tss=bed3)
    assert ("chr1", 19400, 19600) not in intervals(regions3, 1)


def test_min_overlap_in_bp(files, genome):
    regions, summary = build(files, genome, min_overlap=20)
    assert ("chr3", 36050, 36250) not in intervals(regions, 1)
    assert steps(summary)["overlapping_h3k27ac"] == len(DNASE) - 2 - 1 - 1


def test_dedup_keeps_highest_signal(default_run, files, genome, tmp_path):
    kept = intervals(default_run[0], 1)
    assert ("chr2", 35150, 35350) in kept and ("chr2", 35050, 35250) not in kept
    flipped = dict(DNASE, dup_low=("chr2", 35000, 35300, 500, -1))
    regions, _ = build(files, genome, dnase=write_bed(tmp_path / "flip.narrowPeak", narrowpeak_rows(flipped)))
    assert ("chr2", 35050, 35250) in intervals(regions, 1)


def test_bed3_uses_midpoint_and_first_of_duplicates(files, genome, tmp_path):
    bed3 = write_bed(tmp_path / "dnase.bed", [(c, s, e) for c, s, e, _, _ in DNASE.values()])
    regions, summary = build(files, genome, dnase=bed3)
    kept = intervals(regions, 1)
    assert ("chr1", 6100, 6300) in kept and ("chr1", 6000, 6200) not in kept  # midpoint, no summit
    assert ("chr2", 35050, 35250) in kept  # no signal column: the leftmost of the pair
    assert ("chr1", 0, 200) in kept and steps(summary)["off_contig_end"] == 0  # midpoint 100 stays on chr1


def test_gzipped_unsorted_with_headers_and_other_naming_give_same_result(default_run, files, genome, tmp_path):
    rows = narrowpeak_rows()
    shuffled = [rows[i] for i in np.random.default_rng(5).permutation(len(rows))]
    dnase = write_bed(tmp_path / "dnase.narrowPeak.gz", shuffled,
                      header='track type=narrowPeak name="x"\nbrowser position chr1:1-100\n# comment\n\n')
    h3 = write_bed(tmp_path / "h3.bed.gz", [(c.removeprefix("chr"), s, e) for c, s, e in h3k27ac_peaks()[::-1]])
    regions, summary = build(files, genome, dnase=dnase, h3k27ac=h3)
    pd.testing.assert_frame_equal(regions, default_run[0])
    pd.testing.assert_frame_equal(summary, default_run[1])


def test_gc_matching_brings_control_gc_to_positives(default_run, files, genome):
    regions, summary = default_run
    gc = {label: np.mean([gc_content(genome.fetch(c, s, e)) for c, s, e in intervals(regions, label)])
          for label in (0, 1)}
    s = steps(summary)
    assert s["gc_mean_positive"] == pytest.approx(gc[1]) and s["gc_mean_control"] == pytest.approx(gc[0])
    assert gc[1] > 0.6
    assert abs(gc[0] - gc[1]) < 0.02
    uniform, _ = build(files, genome, control_matching="none")
    gc_uniform = np.mean([gc_content(genome.fetch(c, s, e)) for c, s, e in intervals(uniform, 0)])
    assert abs(gc_uniform - gc[1]) > 0.05
    assert intervals(uniform, 1) == intervals(regions, 1)


def test_gc_matching_reproduces_the_gc_distribution():
    """Tolerance: with a pool covering every GC bin, each sorted control GC lies within one
    GC_BIN_WIDTH (0.02) of the sorted positive GC (same count per bin), so every quantile differs by
    < 0.02, and the two-sample KS statistic is < 0.03 (5% critical value for 2000 vs 2000: ~0.043).
    2000 targets ~ Beta(30, 20) (GC ~0.6) drawn from a pool 10x larger ~ Beta(4, 5) (GC ~0.44);
    an unmatched draw from the same pool gives KS > 0.3."""
    rng = np.random.default_rng(3)
    target, pool = rng.beta(30, 20, size=2000), rng.beta(4, 5, size=20_000)
    picked = match_gc(target, pool, len(target))
    assert len(picked) == len(target) == len(set(picked.tolist()))
    assert np.max(np.abs(np.sort(target) - np.sort(pool[picked]))) < GC_BIN_WIDTH
    assert ks_2samp(target, pool[picked]).statistic < 0.03
    assert ks_2samp(target, pool[: len(target)]).statistic > 0.3


def test_gc_matching_fills_a_short_bin_with_the_nearest_gc():
    target = np.array([0.51, 0.51, 0.51, 0.31])
    pool = np.array([0.10, 0.505, 0.90, 0.545, 0.47, 0.30, 0.515])  # bin 0.50-0.52 holds two
    picked = match_gc(target, pool, len(target))
    assert sorted(pool[picked].tolist()) == [0.30, 0.505, 0.515, 0.545]  # 0.545 is nearest to 0.51


def test_seed_changes_controls_only(default_run, files, genome):
    other, _ = build(files, genome, seed=7)
    assert intervals(other, 1) == intervals(default_run[0], 1)
    assert intervals(other, 0) != intervals(default_run[0], 0)


def test_empty_intersection_is_an_input_error(files, genome, tmp_path):
    h3 = write_bed(tmp_path / "far.bed", [("chr1", 58000, 59000)])
    with pytest.raises(InputError, match="no DNase peak .* overlaps an H3K27ac peak"):
        build(files, genome, h3k27ac=h3)


def test_peaks_only_on_missing_contigs_is_an_input_error(files, genome, tmp_path):
    dnase = write_bed(tmp_path / "hg19.bed", [("chrUn_x", 1, 100), ("chr9", 5, 50)])
    with pytest.raises(InputError, match="none of the 2 peaks lie on a contig"):
        build(files, genome, dnase=dnase)


@pytest.mark.parametrize("bad_line, message", [
    ("chr1\tabc\t100", "line 3: start and end must be integers"),
    ("chr1\t500\t400", "line 3: need 0 <= start < end"),
    ("chr1\t500", "line 3: expected at least 3"),
])
def test_malformed_bed_names_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "bad.bed"
    path.write_text(f"track name=x\nchr1\t1\t10\n{bad_line}\n")
    with pytest.raises(InputError, match=message) as err:
        read_bed(path)
    assert str(path) in str(err.value)


def test_read_bed_columns(tmp_path):
    bed = read_bed(write_bed(tmp_path / "x.bed", [("chr1", 5, 10, "a", 0, "-", "7.5", -1, -1, 3), ("2", 1, 4)]))
    assert bed.drop(columns="signal").to_dict("list") == {
        "chrom": ["chr1", "2"], "start": [5, 1], "end": [10, 4], "strand": ["-", "."], "summit": [3, -1]}
    assert bed["signal"].iloc[0] == 7.5 and np.isnan(bed["signal"].iloc[1])


def test_control_pool_too_small_says_found_and_needed(files, genome, tmp_path):
    whole = write_bed(tmp_path / "whole.bed", [(c, 0, CONTIG) for c in CONTIGS])
    with pytest.raises(InputError, match=r"only 0 control window\(s\) of 200 bp found, 15 needed"):
        build(files, genome, h3k27ac=whole, exons=None, tss=None, blacklist=None)


def blacklist_all_but(gaps) -> list[tuple[str, int, int]]:
    rows = []
    for chrom in CONTIGS:
        edge = 0
        for _, s, e in sorted(g for g in gaps if g[0] == chrom):
            rows.append((chrom, edge, s))
            edge = e
        rows.append((chrom, edge, CONTIG))
    return [r for r in rows if r[2] > r[1]]


@pytest.mark.parametrize("gaps, room", [
    ([("chr1", 9800, 10400)], True),  # 295 bp right of the positive: room for one control
    ([("chr1", 9800, 10300)], False),  # 195 bp: a control would have to overlap the positive
    ([("chr1", 9800, 10300), ("chr3", 49_950, 55_050)], False),  # + the N run with 50 bp either side
])
def test_controls_never_overlap_positives_or_n(genome, tmp_path, gaps, room):
    peak = write_bed(tmp_path / "peak.bed", [("chr1", 10000, 10010)])  # positive 9905-10105
    blacklist = write_bed(tmp_path / "black.bed", blacklist_all_but(gaps))
    args = ("HepG2", peak, peak, genome)
    if not room:
        with pytest.raises(InputError, match="only 0 control window"):
            build_regions(*args, blacklist=blacklist, region_length=L, control_matching="none")
        return
    regions, _ = build_regions(*args, blacklist=blacklist, region_length=L, control_matching="none")
    assert intervals(regions, 1) == {("chr1", 9905, 10105)}
    (control,) = intervals(regions, 0)
    assert control[0] == "chr1" and 10105 <= control[1] and control[2] <= 10400


def test_free_intervals_in_genome_order_with_untouched_contigs_whole():
    # bioframe lists contigs by name (chr10 before chr2); the tiling must follow the genome's order
    sizes = {"chr2": 100, "chr10": 50, "chrM": 20}
    occupied = pd.DataFrame({"chrom": ["chr10", "chr2", "chr2", "chr2", "chr10"],
                             "start": [-5, 10, 15, 30, 40], "end": [5, 20, 30, 35, 60]})
    free = free_intervals(occupied, sizes)
    assert list(free.itertuples(index=False, name=None)) == [
        ("chr2", 0, 10), ("chr2", 35, 100), ("chr10", 5, 40), ("chrM", 0, 20)]
    assert free_intervals(occupied.iloc[:0], sizes).values.tolist() == [["chr2", 0, 100], ["chr10", 0, 50], ["chrM", 0, 20]]


def test_parameter_errors(files, genome):
    with pytest.raises(InputError, match="--region-length"):
        build(files, genome, region_length=0)
    with pytest.raises(InputError, match="--control-matching"):
        build(files, genome, control_matching="bogus")


def cli_args(files, outdir: Path, seed: int = 0) -> list[str]:
    return ["build-regions", "--cell-line", "HepG2", "--dnase", str(files["dnase"]), "--h3k27ac",
            str(files["h3k27ac"]), "--genome", str(files["genome"]), "--exons", str(files["exons"]),
            "--tss", str(files["tss"]), "--blacklist", str(files["blacklist"]), "--region-length", str(L),
            "--promoter-flank", str(FLANK), "--seed", str(seed), "--outdir", str(outdir)]


def test_cli_is_byte_identical_across_runs_and_chains_to_split(files, tmp_path):
    for run in ("a", "b"):
        assert cli.main(cli_args(files, tmp_path / run)) == 0
    for name in ("HepG2.regions.tsv", "HepG2.regions_summary.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert cli.main(["extract-sequences", "--regions", str(tmp_path / "a" / "HepG2.regions.tsv"),
                     "--genome", str(files["genome"]), "--outdir", str(tmp_path / "seq")]) == 0
    assert cli.main(["split", "--sequences", str(tmp_path / "seq" / "HepG2.sequences.tsv"),
                     "--valid-chroms", "chr2", "--test-chroms", "3", "--outdir", str(tmp_path / "split")]) == 0
    split = read_tsv(tmp_path / "split" / "HepG2.split.tsv")
    assert list(split.columns) == ["region_id", "chrom", "start", "end", "label", "cell_line", "sequence", "split"]
    assert len(split) == 2 * len(EXPECTED_POSITIVES)
    assert dict(zip(split["chrom"], split["split"])) == {"chr1": "train", "chr2": "valid", "chr3": "test"}


def test_cli_reports_input_error_with_exit_code_2(files, tmp_path, capsys):
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t1\tx\n")
    args = cli_args(files, tmp_path / "out")
    args[args.index("--dnase") + 1] = str(bad)
    assert cli.main(args) == 2
    assert "line 1" in capsys.readouterr().err


# --------------------------------------------------------------------------- real peaks (slow)

PEAKS = Path("/work/shared/data/published/peaks")
HG38_SIZES = {"chr21": 46_709_983, "chr22": 50_818_468}


@pytest.mark.slow
def test_real_hepg2_peaks_on_chr21_chr22(tmp_path):
    dnase, h3 = PEAKS / "HepG2_DNase_ENCFF375MTY_hg38.bed.gz", PEAKS / "HepG2_H3K27ac_ENCFF886SZT_hg38.bed.gz"
    if not (dnase.exists() and h3.exists()):
        pytest.skip(f"real HepG2 peak files not found under {PEAKS}")
    rng = np.random.default_rng(0)
    lut = np.frombuffer(b"ACGT", dtype=np.uint8)
    fasta = tmp_path / "hg38_chr21_chr22.fa"
    with open(fasta, "wb") as fh:
        for name, size in HG38_SIZES.items():
            fh.write(f">{name}\n".encode() + lut[rng.integers(0, 4, size, dtype=np.uint8)].tobytes() + b"\n")
    with gzip.open(dnase, "rt") as fh:
        chroms = [line.split("\t", 1)[0] for line in fh if line.strip()]
    with Genome(fasta) as genome:
        regions, summary = build_regions("HepG2", dnase, h3, genome, seed=0)
    s = steps(summary)
    assert s["dnase_peaks_in"] == len(chroms)
    assert s["dnase_on_missing_contigs"] == sum(c not in HG38_SIZES for c in chroms)
    assert s["after_blacklist_filter"] - s["off_contig_end"] - s["overlapping_duplicates"] == s["after_dedup"]
    positives = regions[regions["label"] == 1]
    assert 200 < len(positives) <= sum(c in HG38_SIZES for c in chroms)
    assert s["controls"] == len(positives) == (regions["label"] == 0).sum()
    assert set(regions["chrom"]) <= set(HG38_SIZES) and (regions["end"] - regions["start"] == 1000).all()
    assert abs(s["gc_mean_positive"] - s["gc_mean_control"]) < 0.01
