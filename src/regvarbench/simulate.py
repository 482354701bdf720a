"""Synthetic benchmark with known ground truth (`regvarbench simulate`).

Writes a small reference genome with planted enhancers, the peak and annotation files the
region builder reads, variant datasets in the real source formats (SuRE raQTL, Kircher 2019
saturation mutagenesis, LD blocks) and the truth behind them, so every step of the pipeline can
be run and checked end to end where the right answer is known. File layout: docs/contracts.md,
section "simulate".

The truth model: each cell line has its own motif vocabulary (``MOTIFS``). A motif's activity in
a sequence is its best PWM log-odds score (``best_log_odds``) minus a threshold, clipped at 0, so
sub-threshold matches count for nothing. A variant's true log2 effect (``true_effect``) is the
weighted sum, over the cell line's motifs, of the change in activity within reach of the variant
(every motif-long window that covers it). A measured effect is the true effect plus Gaussian
noise of sd ``NOISE_SIGMA``. Everything draws from one ``numpy.random.Generator(seed)``, so a seed
gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
from scipy.stats import norm

from . import __version__
from .alleles import classify
from .io import InputError, write_tsv
from .variants.ensembl_ld import EXPORT_COLUMNS
from .variants.ld_exports import LD_R2

log = logging.getLogger(__name__)

CELL_LINES = ("HepG2", "K562")
# 4 Mb, not 1: a CNN trained from scratch needs ~900 training sequences per cell line to learn
# the planted motifs well enough to score variants (measured: ~440 gave test auROC ~0.5-0.9 and no
# variant correlation), and promoters (TSS +/- 2 kb), exons and blacklist must still leave as much
# peak-free sequence for controls as positives (simulation.json reports the room left as
# "control_capacity": disjoint 1 kb windows free of peaks and exclusions).
CONTIG_SIZES = {"chr1": 1_280_000, "chr2": 1_120_000, "chr3": 880_000, "chr4": 720_000}
N_GAPS = (("chr2", 300_000, 302_000), ("chr4", 0, 500))  # 0-based half-open runs of N
BASE_PROBS = np.array([0.295, 0.205, 0.205, 0.295])  # A, C, G, T background (GC 0.41)
ALPHABET = "ACGT"

N_ENHANCERS = 800          # per cell line
N_SHARED = 80              # enhancers active in both cell lines
ENHANCER_LENGTH = 1000
ENHANCER_SPACING = 1200    # minimum distance between enhancer centres
MOTIF_SPAN = 200           # motifs planted within +/- this many bp of the enhancer centre
END_MARGIN = 3000          # no enhancer within this distance of a contig end
N_GENES = 120
N_BLACKLIST = 20
NOISE_SIGMA = 0.25         # sd of measurement noise on the log2 effect
N_RAQTL = 300              # SNVs per cell line
N_LD_BLOCKS = 20           # per cell line
SATMUT_LENGTH = 200
# Unresolved GWAS loci (Ensembl LD exports, one file and dataset per lead SNP): few and small, as
# each dataset adds a SCORE task per model to every -profile test run.
LOCUS_CELL = "HepG2"
N_LOCI = 6
N_LEAD_IS_CAUSAL = 2       # loci whose lead SNP is the planted causal SNP; the others lead with a neutral partner
LOCUS_PARTNERS = (9, 14)   # partners with r2 >= LD_R2 per locus: integers in [low, high)
LOCUS_WEAK = 2             # partners below LD_R2 per locus (prepare-variants skips them as ld_r2_below)
LOCUS_SPAN = 50_000        # partners within this many bp of the causal SNP
RSID_BASE = 9_100_000      # synthetic rsIDs rs9100001, ... (no clash with the other datasets, which have none)
LD_VCF_NAME = "sim_loci.region.vcf.gz"  # in variants/: alleles of the LD exports (prepare-variants --ld-vcf)
LOCI_TRUTH_COLUMNS = ["dataset", "locus_id", "snp_id", "chrom", "pos", "ref", "alt", "r2", "is_lead", "is_causal",
                      "effect_true", "cell_line", "in_enhancer", "in_motif"]
THRESHOLD_FRACTION = 0.7   # motif threshold = this fraction of the motif's best possible score

# IUPAC consensus strings approximating the JASPAR/literature consensus of each factor (not the
# real matrices): HNF4A DR1 repeat, FOXA forkhead site, C/EBP palindrome, HNF1 palindrome,
# GATA site, TAL1 E-box, KLF CACCC box.
_CONSENSUS = {
    "HepG2": {"HNF4A": "RGGTCAAAGGTCA", "FOXA2": "TGTTTACWYWG", "CEBPB": "ATTGCGCAAT",
              "HNF1A": "GTTAATNATTAAC"},
    "K562": {"GATA1": "CWGATAAGR", "TAL1": "AACAGCTGG", "KLF1": "NCCACACCCW"},
}
# log2 effect per bit of motif activity gained or lost.
MOTIF_WEIGHTS = {"HNF4A": 0.20, "FOXA2": 0.15, "CEBPB": 0.15, "HNF1A": 0.12,
                 "GATA1": 0.20, "TAL1": 0.12, "KLF1": 0.15}
_IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "W": "AT", "S": "CG", "R": "AG", "Y": "CT",
          "M": "AC", "K": "GT", "N": "ACGT"}
_CODES = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    _CODES[ord(_b)] = _i
    _CODES[ord(_b.lower())] = _i


def _pwm_from_iupac(consensus: str, off: float = 0.05) -> np.ndarray:
    """(L, 4) probability matrix: each non-consensus base gets `off`, the rest is shared."""
    pwm = np.full((len(consensus), 4), off)
    for i, code in enumerate(consensus):
        bases = _IUPAC[code]
        pwm[i, [ALPHABET.index(b) for b in bases]] = (1 - off * (4 - len(bases))) / len(bases)
    return pwm


MOTIFS: dict[str, dict[str, np.ndarray]] = {
    cell: {name: _pwm_from_iupac(c) for name, c in motifs.items()} for cell, motifs in _CONSENSUS.items()
}


def _log_odds(pwm: np.ndarray) -> np.ndarray:
    """(L, 5) log2-odds against BASE_PROBS; column 4 (N) is -inf so windows with N never score."""
    lo = np.log2(pwm / BASE_PROBS)
    return np.hstack([lo, np.full((len(pwm), 1), -np.inf)])


_LOG_ODDS = {cell: {m: _log_odds(p) for m, p in motifs.items()} for cell, motifs in MOTIFS.items()}
_LOG_ODDS_RC = {cell: {m: _log_odds(p[::-1, ::-1]) for m, p in motifs.items()} for cell, motifs in MOTIFS.items()}
THRESHOLDS = {m: round(THRESHOLD_FRACTION * float(np.log2(p / BASE_PROBS).max(axis=1).sum()), 4)
              for motifs in MOTIFS.values() for m, p in motifs.items()}


def encode(seq: str) -> np.ndarray:
    """Integer codes of a DNA string: A, C, G, T = 0..3, anything else 4.

    Parameters
    ----------
    seq : str
        ASCII DNA string, any case.

    Returns
    -------
    numpy.ndarray of uint8, shape (len(seq),)
    """
    return _CODES[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]


def _best_codes(codes: np.ndarray, lo: np.ndarray, lo_rc: np.ndarray) -> float:
    """Best window score over both strands of integer-coded sequence (-inf if none)."""
    length = len(lo)
    if len(codes) < length:
        return -np.inf
    windows = np.lib.stride_tricks.sliding_window_view(codes, length)
    cols = np.arange(length)
    return float(max(lo[cols, windows].sum(axis=1).max(), lo_rc[cols, windows].sum(axis=1).max()))


def best_log_odds(seq: str, pwm: np.ndarray) -> float:
    """Best log2-odds score of a PWM over every window of `seq`, both strands.

    Parameters: seq, a DNA string (any case; windows containing non-ACGT are skipped); pwm, an
    (L, 4) A/C/G/T probability matrix. The background is the genome's base composition
    (BASE_PROBS). Returns -inf when no window is scorable (sequence shorter than L, or N).
    """
    pwm = np.asarray(pwm, dtype=float)
    return _best_codes(encode(seq), _log_odds(pwm), _log_odds(pwm[::-1, ::-1]))


def _activity(codes: np.ndarray, cell: str, motif: str) -> float:
    """Motif activity: best score above the motif's threshold, 0 when below."""
    return max(0.0, _best_codes(codes, _LOG_ODDS[cell][motif], _LOG_ODDS_RC[cell][motif]) - THRESHOLDS[motif])


def _effect_codes(codes: np.ndarray, index: int, alt: int, cell: str) -> float:
    """True effect of setting codes[index] to alt (see true_effect)."""
    total = 0.0
    for motif, pwm in MOTIFS[cell].items():
        lo, hi = max(0, index - len(pwm) + 1), min(len(codes), index + len(pwm))
        window = codes[lo:hi].copy()
        before = _activity(window, cell, motif)
        window[index - lo] = alt
        total += MOTIF_WEIGHTS[motif] * (_activity(window, cell, motif) - before)
    return total


def true_effect(seq: str, index: int, alt: str, cell_line: str) -> float:
    """Ground-truth log2 effect of replacing ``seq[index]`` (0-based) by ``alt`` in a cell line.

    Sum over the cell line's motifs of weight x change in clipped best log-odds, scanning every
    motif-long window that covers the variant. Only the bases within a motif length of the
    variant matter, so a short context suffices.

    Parameters
    ----------
    seq : str
        DNA context around the variant.
    index : int
        0-based position of the variant in ``seq``.
    alt : str
        The alternative base (A, C, G or T, any case).
    cell_line : str
        A simulated cell line (a key of ``MOTIFS``).

    Returns
    -------
    float
        The true log2 effect.

    Raises
    ------
    InputError
        If ``cell_line`` is not simulated.
    """
    if cell_line not in MOTIFS:
        raise InputError(f"unknown cell line {cell_line!r}; simulated ones: {', '.join(MOTIFS)}")
    return _effect_codes(encode(seq), index, ALPHABET.index(alt.upper()), cell_line)


# ----------------------------------------------------------------------------- genome layout

class _Layout:
    """Mutable simulation state: genome codes and the masks used to place features."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.codes = {c: rng.choice(4, size=n, p=BASE_PROBS).astype(np.uint8) for c, n in CONTIG_SIZES.items()}
        self.excluded = {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()}  # exons, TSS+/-2kb, blacklist
        self.busy = {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()}      # anything placed
        self.gap = {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()}
        for chrom, start, end in N_GAPS:
            self.codes[chrom][start:end] = 4
            self.gap[chrom][start:end] = True
        self._weights = np.array(list(CONTIG_SIZES.values()), dtype=float) / sum(CONTIG_SIZES.values())

    def sample_free(self, checks: list[tuple[dict, int]], margin: int = 0) -> tuple[str, int]:
        """A random (chrom, centre) where each (mask, half) pair is clear over centre +/- half.

        margin keeps the centre that far from the contig ends.

        Parameters
        ----------
        checks : list of (dict, int)
            Pairs of a mask (contig -> numpy.ndarray of bool, shape (contig length,)) and a half-width in bp.
        margin : int, optional
            Least distance of the centre from either contig end.

        Returns
        -------
        chrom : str
        centre : int
            0-based position.
        """
        names = list(CONTIG_SIZES)
        for _ in range(200_000):
            chrom = names[self.rng.choice(len(names), p=self._weights)]
            centre = int(self.rng.integers(margin, CONTIG_SIZES[chrom] - margin))
            if not any(mask[chrom][max(0, centre - half):centre + half].any() for mask, half in checks):
                return chrom, centre
        raise RuntimeError("simulate: genome too crowded to place another feature")

    def sequence(self, chrom: str) -> str:
        """The contig's sequence as a string (A, C, G, T and N for code 4).

        Parameters
        ----------
        chrom : str
            A contig of ``CONTIG_SIZES``.

        Returns
        -------
        str
        """
        return np.frombuffer(b"ACGTN", dtype=np.uint8)[self.codes[chrom]].tobytes().decode("ascii")


def _make_annotation(lay: _Layout) -> dict[str, pd.DataFrame]:
    """Genes (TSS, 2-3 exons each downstream) and blacklist regions; marks them excluded."""
    rng = lay.rng
    tss_rows, exon_rows = [], []
    for g in range(N_GENES):
        chrom, tss = lay.sample_free([(lay.gap, 5000), (lay.busy, 5000)], margin=5000)
        lay.busy[chrom][tss - 5000:tss + 5000] = True  # genes at least 5 kb apart
        strand = "+" if rng.random() < 0.5 else "-"
        tss_rows.append((chrom, tss, tss + 1, f"SIMG{g + 1:03d}", 0, strand))
        lay.excluded[chrom][max(0, tss - 2000):tss + 2000] = True
        offset = 0
        for k in range(int(rng.integers(2, 4))):
            length = int(rng.integers(100, 301))
            offset += 0 if k == 0 else int(rng.integers(1500, 6000))
            start = tss + offset if strand == "+" else tss - offset - length + 1
            end = min(CONTIG_SIZES[chrom], start + length)
            start = max(0, start)
            offset += length
            if end - start < 50:  # gene runs off the contig
                continue
            exon_rows.append((chrom, start, end))
            lay.excluded[chrom][start:end] = True
    black_rows = []
    for _ in range(N_BLACKLIST):
        length = int(rng.integers(1000, 5001))
        chrom, centre = lay.sample_free([(lay.gap, length), (lay.excluded, length)], margin=END_MARGIN + length)
        start = centre - length // 2
        black_rows.append((chrom, start, start + length))
        lay.excluded[chrom][start:start + length] = True
    lay.busy = {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()}  # only a gene-spacing aid
    return {
        "tss": _sort_bed(pd.DataFrame(tss_rows, columns=["chrom", "start", "end", "name", "score", "strand"])),
        "exons": _sort_bed(pd.DataFrame(exon_rows, columns=["chrom", "start", "end"])),
        "blacklist": _sort_bed(pd.DataFrame(black_rows, columns=["chrom", "start", "end"])),
    }


def _sort_bed(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in contig order then start (stable, for byte-identical output)."""
    order = {c: i for i, c in enumerate(CONTIG_SIZES)}
    key = df["chrom"].map(order) * 10_000_000 + df["start"]
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def _sample_instance(rng: np.random.Generator, cell: str, motif: str) -> np.ndarray:
    """A motif instance drawn from its PWM, redrawn until it scores 1 bit above threshold."""
    pwm = MOTIFS[cell][motif]
    lo = _LOG_ODDS[cell][motif]
    cum = np.cumsum(pwm, axis=1)
    for _ in range(200):
        inst = (rng.random(len(pwm))[:, None] > cum).sum(axis=1).astype(np.uint8)
        if lo[np.arange(len(pwm)), inst].sum() >= THRESHOLDS[motif] + 1.0:
            return inst
    return pwm.argmax(axis=1).astype(np.uint8)


def _plant_enhancers(lay: _Layout) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Place enhancer sites and plant their cell lines' motifs near each centre.

    Returns (enhancers: one row per site and active cell line, motifs: one row per instance).
    """
    rng = lay.rng
    n_only = N_ENHANCERS - N_SHARED
    activity = [("HepG2",)] * n_only + [("K562",)] * n_only + [CELL_LINES] * N_SHARED
    activity = [activity[i] for i in rng.permutation(len(activity))]
    half = ENHANCER_LENGTH // 2
    sites = []
    for cells in activity:
        # 1 kb window plus 500 bp clear of exclusions; centres ENHANCER_SPACING apart
        chrom, centre = lay.sample_free([(lay.gap, half + 500), (lay.excluded, half + 500),
                                         (lay.busy, ENHANCER_SPACING // 2)], margin=END_MARGIN + half)
        lay.busy[chrom][centre - ENHANCER_SPACING // 2:centre + ENHANCER_SPACING // 2] = True
        sites.append((chrom, centre, cells))
    order = np.argsort([list(CONTIG_SIZES).index(c) * 10_000_000 + p for c, p, _ in sites], kind="stable")
    enh_rows, motif_rows = [], []
    for k, i in enumerate(order):
        chrom, centre, cells = sites[i]
        eid = f"enh{k + 1:04d}"
        taken = np.zeros(2 * MOTIF_SPAN, dtype=bool)  # motif occupancy around the centre
        for cell in cells:
            n_motifs = int(rng.integers(3, 7)) if len(cells) == 1 else int(rng.integers(2, 4))
            names = list(MOTIFS[cell])
            planted = 0
            for m in rng.choice(names, size=n_motifs):
                inst = _sample_instance(rng, cell, str(m))
                length = len(inst)
                for _ in range(50):
                    off = int(rng.integers(0, 2 * MOTIF_SPAN - length))
                    if not taken[max(0, off - 2):off + length + 2].any():
                        break
                else:
                    continue
                taken[off:off + length] = True
                strand = "+" if rng.random() < 0.5 else "-"
                start = centre - MOTIF_SPAN + off
                lay.codes[chrom][start:start + length] = inst if strand == "+" else (3 - inst)[::-1]
                score = float(_LOG_ODDS[cell][str(m)][np.arange(length), inst].sum())
                motif_rows.append((cell, str(m), chrom, start, start + length, strand, eid, round(score, 4)))
                planted += 1
            enh_rows.append((eid, cell, chrom, centre - half, centre + half, centre, int(len(cells) > 1), planted))
    enhancers = pd.DataFrame(enh_rows, columns=["enhancer_id", "cell_line", "chrom", "start", "end", "centre",
                                                "shared", "n_motifs"])
    motifs = pd.DataFrame(motif_rows, columns=["cell_line", "motif", "chrom", "start", "end", "strand",
                                               "enhancer_id", "score"])
    return enhancers, motifs


# ----------------------------------------------------------------------------- peaks

def _make_peaks(lay: _Layout, enhancers: pd.DataFrame, annot: dict[str, pd.DataFrame]) -> dict:
    """DNase narrowPeak and H3K27ac BED frames per cell line, and which enhancers got H3K27ac."""
    rng = lay.rng
    out = {}
    for cell in CELL_LINES:
        enh = enhancers[enhancers["cell_line"] == cell]
        dnase, k27 = [], []
        for chrom, centre in zip(enh["chrom"], enh["centre"]):
            width, jitter = int(rng.integers(300, 601)), int(rng.integers(-50, 51))
            start = centre + jitter - width // 2
            dnase.append(_narrowpeak(rng, chrom, start, start + width, centre - start + int(rng.integers(-20, 21))))
            if rng.random() < 0.9:
                k27.append(_broad_peak(rng, chrom, centre + int(rng.integers(-200, 201))))
        # noise: promoters, exons, blacklist (filters must remove these) and background
        n_noise = round(0.2 * len(enh))
        n_prom, n_exon, n_black = round(0.4 * n_noise), round(0.15 * n_noise), round(0.15 * n_noise)
        targets = []
        for frame, n in (("tss", n_prom), ("exons", n_exon), ("blacklist", n_black)):
            rows = annot[frame].iloc[rng.choice(len(annot[frame]), size=n, replace=n > len(annot[frame]))]
            for chrom, s, e in zip(rows["chrom"], rows["start"], rows["end"]):
                targets.append((chrom, int((s + e) // 2) + int(rng.integers(-150, 151))))
            if frame == "tss":  # upstream of the TSS, clear of the first exon: only the promoter filter sees them
                shift = rng.integers(600, 1501, size=n) * np.where(rows["strand"] == "+", -1, 1)
                targets[-n:] = [(c, p + int(d)) for (c, p), d in zip(targets[-n:], shift)]
        for chrom, centre in targets:
            width = int(rng.integers(300, 601))
            start = max(0, centre - width // 2)
            end = min(CONTIG_SIZES[chrom], start + width)
            dnase.append(_narrowpeak(rng, chrom, start, end, (end - start) // 2))
            k27.append(_broad_peak(rng, chrom, centre))  # promoters/exons are acetylated too
        # background: DNase without H3K27ac and H3K27ac without DNase, so neither intersects
        cover = {name: {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()} for name in ("dnase", "k27")}
        for name, rows in (("dnase", dnase), ("k27", k27)):
            for chrom, start, end, *_ in rows:
                cover[name][chrom][start:end] = True
        # an unmarked enhancer may still sit in a neighbour's H3K27ac peak: truth is the overlap
        has_k27 = [int(cover["k27"][chrom][start:end].any()) for chrom, start, end, *_ in dnase[:len(enh)]]
        for _ in range(n_noise - len(targets)):
            width = int(rng.integers(200, 501))
            chrom, centre = lay.sample_free([(m, width) for m in (lay.gap, lay.excluded, lay.busy, cover["k27"])],
                                            margin=END_MARGIN)
            start = centre - width // 2
            dnase.append(_narrowpeak(rng, chrom, start, start + width, width // 2))
            cover["dnase"][chrom][start:start + width] = True
        for _ in range(round(0.15 * len(enh))):
            chrom, centre = lay.sample_free([(m, 1600) for m in (lay.gap, lay.excluded, cover["dnase"])],
                                            margin=END_MARGIN)
            k27.append(_broad_peak(rng, chrom, centre))
        cols = ["chrom", "start", "end", "name", "score", "strand", "signalValue", "pValue", "qValue", "peak"]
        out[cell] = {
            "dnase": _sort_bed(pd.DataFrame(dnase, columns=cols)),
            "h3k27ac": _sort_bed(pd.DataFrame(k27, columns=["chrom", "start", "end", "name", "score", "strand"])),
            "has_h3k27ac": pd.Series(has_k27, index=enh.index),
            "n_noise_dnase": n_noise,
        }
    return out


def _narrowpeak(rng: np.random.Generator, chrom: str, start: int, end: int, summit: int) -> tuple:
    """One narrowPeak row (ENCODE style: name and strand '.', summit offset in column 10)."""
    signal = round(float(rng.gamma(4.0, 8.0)), 3)
    pval = round(float(rng.uniform(5, 300)), 3)
    return (chrom, int(start), int(end), ".", int(rng.integers(100, 1001)), ".", signal, pval,
            round(pval * 0.9, 3), int(min(max(summit, 0), end - start - 1)))


def _broad_peak(rng: np.random.Generator, chrom: str, centre: int) -> tuple:
    """One 1-3 kb H3K27ac BED6 row around centre, clipped to the contig."""
    width = int(rng.integers(1000, 3001))
    start = max(0, centre - width // 2)
    return (chrom, start, min(CONTIG_SIZES[chrom], start + width), ".", int(rng.integers(100, 1001)), ".")


def _control_capacity(lay: _Layout, peaks: dict, cell: str) -> int:
    """Disjoint 1 kb windows free of the cell line's peaks, exclusions and N (room for controls)."""
    total = 0
    for chrom, size in CONTIG_SIZES.items():
        blocked = lay.excluded[chrom] | lay.gap[chrom]
        for frame in (peaks[cell]["dnase"], peaks[cell]["h3k27ac"]):
            sub = frame[frame["chrom"] == chrom]
            for s, e in zip(sub["start"], sub["end"]):
                blocked[s:e] = True
        edges = np.flatnonzero(np.diff(np.concatenate([[1], blocked.view(np.int8), [1]])))
        runs = edges[1::2] - edges[::2]
        total += int((runs // ENHANCER_LENGTH).sum())
    return total


# ----------------------------------------------------------------------------- variants

class _Variants:
    """Draws SNVs and their true and measured effects from the finished genome."""

    def __init__(self, lay: _Layout, enhancers: pd.DataFrame, motifs: pd.DataFrame):
        self.lay, self.rng = lay, lay.rng
        self.enhancers, self.motifs = enhancers, motifs
        self.in_enhancer = {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()}
        for chrom, s, e in zip(enhancers["chrom"], enhancers["start"], enhancers["end"]):
            self.in_enhancer[chrom][s:e] = True
        self.in_motif = {c: np.zeros(n, dtype=bool) for c, n in CONTIG_SIZES.items()}
        for chrom, s, e in zip(motifs["chrom"], motifs["start"], motifs["end"]):
            self.in_motif[chrom][s:e] = True

    def ref(self, chrom: str, pos0: int) -> int:
        """The reference base code at a position.

        Parameters
        ----------
        chrom : str
            Contig.
        pos0 : int
            0-based position.

        Returns
        -------
        int
            Base code (A, C, G, T = 0..3, N = 4).
        """
        return int(self.lay.codes[chrom][pos0])

    def effect(self, chrom: str, pos0: int, alt: int, cell: str) -> float:
        """True log2 effect of ``alt`` at a genome position (see ``true_effect``), rounded to 6 decimals.

        Parameters
        ----------
        chrom : str
            Contig.
        pos0 : int
            0-based position.
        alt : int
            Base code of the alternative allele (0..3).
        cell : str
            Simulated cell line.

        Returns
        -------
        float
        """
        codes = self.lay.codes[chrom]
        lo = max(0, pos0 - 20)
        return round(_effect_codes(codes[lo:pos0 + 20], pos0 - lo, alt, cell), 6)

    def random_alt(self, ref: int) -> int:
        """A random base code other than ``ref``.

        Parameters
        ----------
        ref : int
            Base code of the reference allele (0..3).

        Returns
        -------
        int
            One of the other three codes.
        """
        return int((ref + self.rng.integers(1, 4)) % 4)

    def row(self, dataset: str, cell: str, chrom: str, pos0: int, alt: int | None = None) -> dict:
        """One SNV as a row: its alleles, true effect and whether it lies in an enhancer and a motif.

        Parameters
        ----------
        dataset : str
            Dataset name.
        cell : str
            Simulated cell line.
        chrom : str
            Contig.
        pos0 : int
            0-based position.
        alt : int or None, optional
            Base code of the alternative allele; drawn with ``random_alt`` when None.

        Returns
        -------
        dict
            Keys dataset, cell_line, chrom, pos (1-based), ref, alt, effect_true, in_enhancer and
            in_motif (0/1).
        """
        ref = self.ref(chrom, pos0)
        alt = self.random_alt(ref) if alt is None else alt
        return {"dataset": dataset, "cell_line": cell, "chrom": chrom, "pos": pos0 + 1,
                "ref": ALPHABET[ref], "alt": ALPHABET[alt], "effect_true": self.effect(chrom, pos0, alt, cell),
                "in_enhancer": int(self.in_enhancer[chrom][pos0]), "in_motif": int(self.in_motif[chrom][pos0])}

    def background_position(self, lo: int = 0, hi: int | None = None, chrom: str | None = None) -> tuple[str, int]:
        """A non-N position outside every enhancer window (optionally within [lo, hi) of chrom).

        Parameters
        ----------
        lo, hi : int, optional
            Bounds of the 0-based position on ``chrom`` (kept 50 bp from the contig ends); used only with
            ``chrom``.
        chrom : str or None, optional
            Contig; anywhere in the genome when None.

        Returns
        -------
        chrom : str
        pos0 : int
            0-based position.
        """
        for _ in range(10_000):
            if chrom is None:
                c, p = self.lay.sample_free([(self.lay.gap, 1)], margin=1000)
            else:
                c, p = chrom, int(self.rng.integers(max(lo, 50), min(hi, CONTIG_SIZES[chrom] - 50)))
            if self.lay.codes[c][p] < 4 and not self.in_enhancer[c][p]:
                return c, p
        raise RuntimeError("simulate: no background position found")

    def raqtl(self, cell: str) -> pd.DataFrame:
        """~70% in the cell line's enhancers (half of those on motif bases), the rest background.

        Parameters
        ----------
        cell : str
            Simulated cell line.

        Returns
        -------
        pandas.DataFrame
            ``N_RAQTL`` distinct SNVs of dataset ``sim_raqtl_<cell>``, columns dataset, cell_line, chrom,
            pos (1-based), ref, alt, effect_true, in_enhancer, in_motif.
        """
        enh = self.enhancers[self.enhancers["cell_line"] == cell].reset_index(drop=True)
        mot = self.motifs[self.motifs["cell_line"] == cell].reset_index(drop=True)
        n_enh = round(0.7 * N_RAQTL)
        n_motif = round(0.5 * n_enh)
        seen, rows = set(), []
        dataset = f"sim_raqtl_{cell}"
        while len(rows) < N_RAQTL:
            k = len(rows)
            if k < n_motif:
                m = mot.iloc[int(self.rng.integers(len(mot)))]
                chrom, p = m["chrom"], int(self.rng.integers(m["start"], m["end"]))
            elif k < n_enh:
                e = enh.iloc[int(self.rng.integers(len(enh)))]
                chrom, p = e["chrom"], int(self.rng.integers(e["start"], e["end"]))
            else:
                chrom, p = self.background_position()
            if (chrom, p) not in seen:
                seen.add((chrom, p))
                rows.append(self.row(dataset, cell, chrom, p))
        return pd.DataFrame(rows)

    def satmut(self, cell: str = "HepG2") -> tuple[pd.DataFrame, str]:
        """Every alternative at every base of a 200 bp window over the motif-richest enhancer.

        Parameters
        ----------
        cell : str, optional
            Simulated cell line.

        Returns
        -------
        variants : pandas.DataFrame
            3 x ``SATMUT_LENGTH`` SNVs of dataset ``sim_satmut_<cell>``, columns dataset, cell_line, chrom,
            pos (1-based), ref, alt, effect_true, in_enhancer, in_motif.
        enhancer_id : str
            The enhancer mutated.
        """
        enh = self.enhancers[(self.enhancers["cell_line"] == cell) & (self.enhancers["shared"] == 0)]
        best = enh.sort_values(["n_motifs", "enhancer_id"], ascending=[False, True]).iloc[0]
        mot = self.motifs[self.motifs["enhancer_id"] == best["enhancer_id"]]
        mid = int(((mot["start"] + mot["end"]) // 2).median())
        start = mid - SATMUT_LENGTH // 2
        rows = []
        for p in range(start, start + SATMUT_LENGTH):
            ref = self.ref(best["chrom"], p)
            for alt in range(4):
                if alt != ref:
                    rows.append(self.row(f"sim_satmut_{cell}", cell, best["chrom"], p, alt))
        return pd.DataFrame(rows), str(best["enhancer_id"])

    def ld_blocks(self, cell: str) -> pd.DataFrame:
        """Blocks of one motif-destroying causal SNV and 3-7 near-neutral partners within 50 kb.

        Parameters
        ----------
        cell : str
            Simulated cell line.

        Returns
        -------
        pandas.DataFrame
            Up to ``N_LD_BLOCKS`` blocks of dataset ``sim_ld_blocks_<cell>``, columns dataset, cell_line,
            chrom, pos (1-based), ref, alt, effect_true, in_enhancer, in_motif, is_causal (0/1) and
            block_id; members of a block in random order.
        """
        mot = self.motifs[self.motifs["cell_line"] == cell]
        strongest = mot.sort_values(["score", "enhancer_id"], ascending=[False, True]).drop_duplicates("enhancer_id")
        picks = strongest.iloc[self.rng.permutation(len(strongest))]
        dataset = f"sim_ld_blocks_{cell}"
        blocks, n_blocks = [], 0
        for _, m in picks.iterrows():
            if n_blocks == N_LD_BLOCKS:
                break
            chrom = m["chrom"]
            cands = [self.row(dataset, cell, chrom, p, a) for p in range(m["start"], m["end"])
                     for a in range(4) if a != self.ref(chrom, p)]
            causal = min(cands, key=lambda r: (r["effect_true"], r["pos"], r["alt"]))
            if causal["effect_true"] > -0.3:
                continue
            n_blocks += 1
            block_id = f"ld_{cell}_{n_blocks:02d}"
            members, seen = [dict(causal, is_causal=1)], {causal["pos"]}
            n_partners = int(self.rng.integers(3, 8))
            while len(members) < n_partners + 1:
                c, p = self.background_position(causal["pos"] - 50_000, causal["pos"] + 50_000, chrom)
                if p + 1 in seen or self.in_motif[c][p]:
                    continue
                r = self.row(dataset, cell, c, p)
                if abs(r["effect_true"]) < 0.05:
                    seen.add(p + 1)
                    members.append(dict(r, is_causal=0))
            members = [members[i] for i in self.rng.permutation(len(members))]
            blocks.extend(dict(r, block_id=block_id) for r in members)
        if len(blocks) == 0:
            raise RuntimeError("simulate: no motif strong enough for an LD block")
        return pd.DataFrame(blocks)

    def gwas_loci(self, cell: str = LOCUS_CELL) -> pd.DataFrame:
        """Unresolved loci: a motif-strengthening causal SNV, neutral partners, r2 and a lead SNP each.

        The causal SNV is the largest gain of a planted motif instance (a base of the instance
        turned towards its consensus, true effect >= 0.3), so that the study's ranking (highest
        score first) looks for it at the top. Partners are background SNVs within ``LOCUS_SPAN``
        of it with |true effect| < 0.05: ``LOCUS_PARTNERS`` with r2 >= ``LD_R2`` and
        ``LOCUS_WEAK`` below. The lead is the causal SNV in ``N_LEAD_IS_CAUSAL`` loci (drawn),
        else a partner with r2 >= ``LD_R2``. Rows: the lead first, then by r2 (highest first).

        Parameters
        ----------
        cell : str, optional
            Simulated cell line.

        Returns
        -------
        pandas.DataFrame
            ``N_LOCI`` loci (dataset ``sim_locus_<cell>_<k>``), the columns of ``row`` plus is_causal, r2,
            is_lead, snp_id (synthetic rsID) and locus_id (the lead's snp_id).
        """
        mot = self.motifs[self.motifs["cell_line"] == cell]
        # the only instance of its motif in its enhancer: a gain there raises the motif's best match
        alone = mot[mot.groupby(["enhancer_id", "motif"])["motif"].transform("size") == 1]
        picks = alone.sort_values(["enhancer_id", "start"]).drop_duplicates("enhancer_id").reset_index(drop=True)
        picks = picks.iloc[self.rng.permutation(len(picks))]
        lead_is_causal = self.rng.permutation([1] * N_LEAD_IS_CAUSAL + [0] * (N_LOCI - N_LEAD_IS_CAUSAL))
        loci, n_rsid, k = [], 0, 0
        for _, m in picks.iterrows():
            if k == N_LOCI:
                break
            chrom = m["chrom"]
            cands = [self.row("", cell, chrom, p, a) for p in range(m["start"], m["end"])
                     for a in range(4) if a != self.ref(chrom, p)]
            causal = max(cands, key=lambda r: (r["effect_true"], -r["pos"], r["alt"]))
            if causal["effect_true"] < 0.3:
                continue
            dataset = f"sim_locus_{cell}_{k + 1:02d}"
            members, seen = [dict(causal, is_causal=1)], {causal["pos"]}
            n_strong = int(self.rng.integers(*LOCUS_PARTNERS))
            while len(members) < 1 + n_strong + LOCUS_WEAK:
                c, p = self.background_position(causal["pos"] - LOCUS_SPAN, causal["pos"] + LOCUS_SPAN, chrom)
                if p + 1 in seen or self.in_motif[c][p]:
                    continue
                r = self.row("", cell, c, p)
                if abs(r["effect_true"]) < 0.05:
                    seen.add(p + 1)
                    members.append(dict(r, is_causal=0))
            strong = 1 + n_strong
            r2 = np.concatenate([self.rng.uniform(LD_R2 + 0.02, 1.0, strong),
                                 self.rng.uniform(0.2, LD_R2 - 0.05, LOCUS_WEAK)]).round(6)
            lead = 0 if lead_is_causal[k] else int(self.rng.integers(1, strong))
            r2[lead] = 1.0
            order = [lead] + sorted((i for i in range(len(members)) if i != lead), key=lambda i: (-r2[i], i))
            for rank, i in enumerate(order):
                n_rsid += 1
                members[i] = dict(members[i], dataset=dataset, r2=float(r2[i]), is_lead=int(i == lead),
                                  snp_id=f"rs{RSID_BASE + n_rsid}", order=rank)
            lead_id = members[lead]["snp_id"]
            loci.extend(dict(members[i], locus_id=lead_id) for i in order)
            k += 1
        if k < N_LOCI:
            raise RuntimeError(f"simulate: fewer than {N_LOCI} motifs strong enough for a GWAS locus")
        return pd.DataFrame(loci).drop(columns="order")

    def region_vcf(self, cell: str = LOCUS_CELL) -> pd.DataFrame:
        """A VCF's records around one enhancer of the cell line: SNVs, insertions, deletions and an MNV.

        Alleles as VCF writes them (indels with their left anchor base): 8 SNVs (4 on motif
        bases), insertions of 1 and 6 bp, deletions of 1 and 10 bp and of a whole planted motif
        instance (anchor base kept), and a 2-bp MNV; sorted by position, no measured effects.

        Parameters
        ----------
        cell : str, optional
            Simulated cell line.

        Returns
        -------
        pandas.DataFrame
            Columns dataset (``sim_vcf_<cell>``), cell_line, chrom, pos (1-based), ref, alt,
            variant_class, in_motif and enhancer_id; 14 rows.
        """
        enh = self.enhancers[(self.enhancers["cell_line"] == cell) & (self.enhancers["shared"] == 0)
                             & (self.enhancers["n_motifs"] >= 3)]
        e = enh.iloc[int(self.rng.integers(len(enh)))]
        chrom = e["chrom"]
        mot = self.motifs[self.motifs["enhancer_id"] == e["enhancer_id"]].sort_values("start")
        codes = self.lay.codes[chrom]
        seq = lambda a, b: "".join(ALPHABET[c] for c in codes[a:b])  # noqa: E731  0-based half-open
        # the last motif instance deleted whole (its left neighbour the anchor), reserved first
        m = mot.iloc[-1]
        p = int(m["start"]) - 1
        used: set[int] = set(range(p, int(m["end"])))
        records = [(p, seq(p, int(m["end"])), seq(p, p + 1))]

        def free(lo: int, hi: int, span: int = 1) -> int:
            for _ in range(10_000):
                p = int(self.rng.integers(lo, hi))
                if not used & set(range(p - 1, p + span + 1)) and (codes[p:p + span] < 4).all():
                    used.update(range(p, p + span))
                    return p
            raise RuntimeError("simulate: no room for a VCF record")

        for i in range(8):  # SNVs: the first 4 on the bases of the other motif instances
            if i < 4:
                m = mot.iloc[i % (len(mot) - 1)]
                p = free(int(m["start"]), int(m["end"]))
            else:
                p = free(int(e["start"]), int(e["end"]))
            records.append((p, ALPHABET[codes[p]], ALPHABET[self.random_alt(int(codes[p]))]))
        for n in (1, 6):  # insertions after the anchor base
            p = free(int(e["start"]), int(e["end"]))
            records.append((p, seq(p, p + 1), seq(p, p + 1) + "".join(self.rng.choice(list(ALPHABET), n))))
        for n in (1, 10):  # deletions of the n bases after the anchor
            p = free(int(e["start"]), int(e["end"]), n + 1)
            records.append((p, seq(p, p + n + 1), seq(p, p + 1)))
        p = free(int(e["start"]), int(e["end"]), 2)  # MNV: both bases changed
        records.append((p, seq(p, p + 2), "".join(ALPHABET[self.random_alt(int(c))] for c in codes[p:p + 2])))
        df = pd.DataFrame(sorted(records), columns=["pos0", "ref", "alt"])
        return pd.DataFrame({"dataset": f"sim_vcf_{cell}", "cell_line": cell, "chrom": chrom,
                             "pos": df["pos0"] + 1, "ref": df["ref"], "alt": df["alt"],
                             "variant_class": [classify(r, a) for r, a in zip(df["ref"], df["alt"])],
                             "in_motif": [int(self.in_motif[chrom][p]) for p in df["pos0"]],
                             "enhancer_id": e["enhancer_id"]})

    def measure(self, df: pd.DataFrame) -> pd.DataFrame:
        """Add effect_measured = effect_true + N(0, NOISE_SIGMA).

        Parameters
        ----------
        df : pandas.DataFrame
            Variants with an ``effect_true`` column.

        Returns
        -------
        pandas.DataFrame
            A copy of ``df`` with ``effect_measured`` (float) added.
        """
        return df.assign(effect_measured=df["effect_true"] + self.rng.normal(0, NOISE_SIGMA, len(df)))


# ----------------------------------------------------------------------------- writers

def _write_gzip(path: Path, text: str) -> None:
    """Gzip without file name or time in the header, so reruns are byte-identical."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def _write_bed(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", header=False, index=False, lineterminator="\n")


def _write_genome(lay: _Layout, outdir: Path) -> None:
    """genome.fa (60-column lines), its pyfaidx index and genome.sizes."""
    fasta = outdir / "genome.fa"
    with open(fasta, "w", encoding="ascii", newline="\n") as fh:
        for chrom in CONTIG_SIZES:
            seq = lay.sequence(chrom)
            fh.write(f">{chrom}\n")
            fh.write("\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    fai = Path(str(fasta) + ".fai")
    if fai.exists():
        fai.unlink()
    pyfaidx.Faidx(str(fasta)).close()
    (outdir / "genome.sizes").write_text("".join(f"{c}\t{n}\n" for c, n in CONTIG_SIZES.items()))


def _fmt(x: float) -> str:
    """Numbers as R writes them in the SuRE tables (15 significant digits)."""
    return f"{x:.15g}"


def _write_raqtl(df: pd.DataFrame, cell: str, path: Path, rng: np.random.Generator) -> pd.DataFrame:
    """SuRE raQTL table (van Arensbergen 2019 column layout), sorted by p-value like the source.

    Returns df with effect_measured recomputed from the written means, exactly what a parser sees.
    """
    prefix = cell.lower()
    ref_mean = np.exp(rng.normal(1.0, 1.0, len(df)))
    alt_mean = ref_mean * np.exp2(df["effect_measured"].to_numpy())
    ref_s, alt_s = [_fmt(v) for v in ref_mean], [_fmt(v) for v in alt_mean]
    pval = np.maximum(2 * norm.sf(np.abs(df["effect_measured"].to_numpy()) / NOISE_SIGMA), 1e-300)
    table = pd.DataFrame({
        "chr": df["chrom"].to_numpy(),
        "SNP_ID": [f"sim{prefix}_{i + 1:04d}" for i in range(len(df))],
        "SNPabspos": df["pos"].to_numpy(),
        "ref.element.count": rng.integers(20, 300, len(df)),
        "alt.element.count": rng.integers(20, 300, len(df)),
        f"{prefix}.ref.mean": ref_s,
        f"{prefix}.alt.mean": alt_s,
        f"{prefix}.wilcox.p.value": [_fmt(v) for v in pval],
        f"{prefix}.wilcox.p.value.random": [_fmt(v) for v in rng.uniform(0, 1, len(df))],
        "ref": df["ref"].to_numpy(),
        "alt": df["alt"].to_numpy(),
    })
    order = np.argsort(pval, kind="stable")
    _write_gzip(path, table.iloc[order].to_csv(sep="\t", index=False, lineterminator="\n"))
    measured = np.log2(np.array([float(a) for a in alt_s]) / np.array([float(r) for r in ref_s]))
    return df.assign(effect_measured=measured).iloc[order].reset_index(drop=True)


def _round_str(x: float, digits: int) -> str:
    """Fixed-point number without trailing zeros and without '-0', as in SORT1.csv."""
    s = f"{round(x, digits) + 0.0:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _write_satmut(df: pd.DataFrame, element: str, path: Path, rng: np.random.Generator) -> pd.DataFrame:
    """Kircher 2019 saturation-mutagenesis CSV (SORT1.csv layout: no 'chr', CRLF, no BOM).

    Returns df with effect_measured rounded to the 2 decimals written.
    """
    effect = [_round_str(v, 2) for v in df["effect_measured"]]
    pval = 2 * norm.sf(np.abs(df["effect_measured"].to_numpy()) / NOISE_SIGMA)
    dna = rng.integers(1000, 120_000, len(df))
    rna = np.round(dna * np.exp2(df["effect_measured"].to_numpy() + rng.normal(0.2, 0.2, len(df)))).astype(int)
    table = pd.DataFrame({
        "Chromosome": [c.removeprefix("chr") for c in df["chrom"]],
        "Position": df["pos"].to_numpy(),
        "Ref": df["ref"].to_numpy(),
        "Alt": df["alt"].to_numpy(),
        "Tags": rng.integers(5, 300, len(df)),
        "DNA": dna,
        "RNA": rna,
        "VariantExpressionEffect (log2)": effect,
        "P-value": [_round_str(v, 5) for v in pval],
        "Element": element,
    })
    path.write_bytes(table.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    return df.assign(effect_measured=[float(v) for v in effect])


_CONSEQUENCES = ("intergenic_variant", "intron_variant", "regulatory_region_variant", "upstream_gene_variant")


def _write_ensembl_ld(locus: pd.DataFrame, path: Path, rng: np.random.Generator) -> None:
    """One locus as Ensembl's LD export of its lead SNP (ensembl_ld.EXPORT_COLUMNS, lead first).

    Contigs without 'chr' and ``Location`` ``chrom:start-end``, as Ensembl prints them; the lead's
    r2 and D' are ``undefined``; no alleles and no causal label.
    """
    lead = locus.iloc[0]
    dprime = np.minimum(1.0, locus["r2"].to_numpy() + rng.uniform(0, 0.1, len(locus))).round(6)
    chrom = locus["chrom"].str.removeprefix("chr")
    table = pd.DataFrame(dict(zip([c.format(lead=lead["snp_id"]) for c in EXPORT_COLUMNS], [
        locus["snp_id"].to_numpy(),
        [f"{c}:{p}-{p}" for c, p in zip(chrom, locus["pos"])],
        (locus["pos"] - lead["pos"]).to_numpy(),
        [_CONSEQUENCES[i] for i in rng.integers(len(_CONSEQUENCES), size=len(locus))],
        ["undefined" if is_lead else f"{r:.6f}" for is_lead, r in zip(locus["is_lead"], locus["r2"])],
        ["undefined" if is_lead else f"{d:.6f}" for is_lead, d in zip(locus["is_lead"], dprime)],
        "", "No trait reported", "dbSNP"])))
    path.write_bytes(table.to_csv(sep="\t", index=False, lineterminator="\n").encode("utf-8"))


def _vcf_text(records: pd.DataFrame, source: str) -> str:
    """A sites-only VCF 4.2 (contig lines of the synthetic genome, no INFO, records by contig and position)."""
    order = {c: i for i, c in enumerate(CONTIG_SIZES)}
    records = records.assign(_k=records["chrom"].map(order)).sort_values(["_k", "pos"], kind="stable")
    lines = ["##fileformat=VCFv4.2", f"##source={source}"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in CONTIG_SIZES.items()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    ids = records["snp_id"] if "snp_id" in records.columns else pd.Series(".", index=records.index)
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t." for c, p, i, r, a in
              zip(records["chrom"], records["pos"], ids, records["ref"], records["alt"])]
    return "\n".join(lines) + "\n"


def _expected_r(effect_true: pd.Series) -> float:
    """Population correlation of truth and truth + N(0, sigma) given the realised truths."""
    sd = float(np.std(effect_true))
    return round(sd / float(np.sqrt(sd ** 2 + NOISE_SIGMA ** 2)), 4)


# ----------------------------------------------------------------------------- entry points

def simulate_benchmark(outdir: str | os.PathLike, seed: int = 7) -> dict:
    """Write the synthetic benchmark into outdir; returns the simulation.json content.

    Parameters: outdir, created if missing (files in it are overwritten); seed, for the one
    numpy Generator every draw comes from.
    """
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"--outdir {outdir} exists and is not a directory")
    for sub in ("peaks", "annotation", "variants", "truth"):
        (outdir / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lay = _Layout(rng)
    annot = _make_annotation(lay)
    enhancers, motifs = _plant_enhancers(lay)
    peaks = _make_peaks(lay, enhancers, annot)
    enhancers = enhancers.assign(
        dnase=1, h3k27ac=pd.concat([peaks[c]["has_h3k27ac"] for c in CELL_LINES]).sort_index().to_numpy())
    log.info("genome %d bp, %d enhancer sites, %d motifs", sum(CONTIG_SIZES.values()),
             enhancers["enhancer_id"].nunique(), len(motifs))

    _write_genome(lay, outdir)
    for name, frame in annot.items():
        _write_bed(frame, outdir / "annotation" / f"{name}.bed")
    for cell in CELL_LINES:
        _write_bed(peaks[cell]["dnase"], outdir / "peaks" / f"{cell}.dnase.narrowPeak")
        _write_bed(peaks[cell]["h3k27ac"], outdir / "peaks" / f"{cell}.h3k27ac.bed")

    var = _Variants(lay, enhancers, motifs)
    truth, datasets = [], []
    for cell in CELL_LINES:
        name = f"sim_raqtl_{cell}"
        df = var.measure(var.raqtl(cell))
        truth.append(_write_raqtl(df, cell, outdir / "variants" / f"{name}.txt.gz", rng))
        datasets.append((name, cell, "sure_raqtl", f"variants/{name}.txt.gz"))
    sat, element = var.satmut("HepG2")
    truth.append(_write_satmut(var.measure(sat), element, outdir / "variants" / "sim_satmut_HepG2.csv", rng))
    datasets.append(("sim_satmut_HepG2", "HepG2", "kircher2019_satmut", "variants/sim_satmut_HepG2.csv"))
    for cell in CELL_LINES:
        name = f"sim_ld_blocks_{cell}"
        ld = var.measure(var.ld_blocks(cell))
        write_tsv(ld[["block_id", "chrom", "pos", "ref", "alt", "is_causal", "cell_line"]],
                  outdir / "variants" / f"{name}.tsv")
        truth.append(ld)
        datasets.append((name, cell, "ld_blocks", f"variants/{name}.tsv"))

    # drawn last, so that the datasets above stay what they were before these were added
    loci = var.gwas_loci(LOCUS_CELL)
    for name, locus in loci.groupby("dataset", sort=True):
        _write_ensembl_ld(locus, outdir / "variants" / f"{name}.ensembl_ld.tsv", rng)
        datasets.append((name, LOCUS_CELL, "ensembl_ld", f"variants/{name}.ensembl_ld.tsv"))
    # the alleles of the LD exports (Ensembl gives none): the pipeline's --ld_vcf when simulating
    _write_gzip(outdir / "variants" / LD_VCF_NAME, _vcf_text(loci, f"regvarbench simulate (seed {seed}): the "
                                                               "SNPs of the sim_locus_* LD exports"))
    region = var.region_vcf(LOCUS_CELL)
    vcf_name = f"sim_vcf_{LOCUS_CELL}"
    _write_gzip(outdir / "variants" / f"{vcf_name}.vcf.gz", _vcf_text(region, f"regvarbench simulate (seed {seed})"))
    datasets.append((vcf_name, LOCUS_CELL, "vcf", f"variants/{vcf_name}.vcf.gz"))

    pd.DataFrame(datasets, columns=["dataset", "cell_line", "format", "path"]).assign(genome_build="sim1").to_csv(
        outdir / "datasets.csv", index=False, lineterminator="\n")
    pd.DataFrame([(c, f"peaks/{c}.dnase.narrowPeak", f"peaks/{c}.h3k27ac.bed", "annotation/exons.bed",
                   "annotation/tss.bed", "annotation/blacklist.bed", "genome.fa") for c in CELL_LINES],
                 columns=["cell_line", "dnase", "h3k27ac", "exons", "tss", "blacklist", "genome"]).to_csv(
        outdir / "regions.csv", index=False, lineterminator="\n")

    truth_df = pd.concat(truth, ignore_index=True)
    write_tsv(truth_df[["dataset", "chrom", "pos", "ref", "alt", "effect_true", "effect_measured", "cell_line",
                        "in_enhancer", "in_motif"]], outdir / "truth" / "variants.tsv")
    write_tsv(motifs, outdir / "truth" / "motifs.tsv")
    write_tsv(enhancers, outdir / "truth" / "enhancers.tsv")
    write_tsv(loci[LOCI_TRUTH_COLUMNS], outdir / "truth" / "loci.tsv")
    write_tsv(region, outdir / "truth" / f"{vcf_name}.tsv")

    by_ds = {ds: g for ds, g in truth_df.groupby("dataset", sort=True)}
    summary = {
        "seed": seed,
        "regvarbench_version": __version__,
        "genome_build": "sim1",
        "contig_sizes": dict(CONTIG_SIZES),
        "genome_size": sum(CONTIG_SIZES.values()),
        "n_gaps": [list(g) for g in N_GAPS],
        "background_base_probs": dict(zip(ALPHABET, BASE_PROBS.tolist())),
        "noise_sigma": NOISE_SIGMA,
        "noise_model": "effect_measured = effect_true + Normal(0, noise_sigma); SuRE p = 2*Phi(-|measured|/sigma)",
        "motif_consensus": _CONSENSUS,
        "motif_weights": MOTIF_WEIGHTS,
        "motif_thresholds": THRESHOLDS,
        "counts": {
            "enhancers": {c: int((enhancers["cell_line"] == c).sum()) for c in CELL_LINES},
            "enhancers_with_h3k27ac": {c: int(enhancers.loc[enhancers["cell_line"] == c, "h3k27ac"].sum())
                                       for c in CELL_LINES},
            "shared_enhancers": N_SHARED,
            "motif_instances": {c: int((motifs["cell_line"] == c).sum()) for c in CELL_LINES},
            "dnase_peaks": {c: len(peaks[c]["dnase"]) for c in CELL_LINES},
            "h3k27ac_peaks": {c: len(peaks[c]["h3k27ac"]) for c in CELL_LINES},
            "genes": N_GENES, "exons": len(annot["exons"]), "blacklist": len(annot["blacklist"]),
            "variants": {ds: len(g) for ds, g in by_ds.items()},
            "ld_blocks": {c: int(by_ds[f"sim_ld_blocks_{c}"]["block_id"].nunique()) for c in CELL_LINES},
            "gwas_loci": {LOCUS_CELL: int(loci["dataset"].nunique())},
            "gwas_locus_rows": {ds: len(g) for ds, g in loci.groupby("dataset", sort=True)},
            "gwas_locus_variants": {ds: int((g["r2"] >= LD_R2).sum()) for ds, g in loci.groupby("dataset", sort=True)},
            "gwas_lead_is_causal": int(loci.loc[loci["is_lead"] == 1, "is_causal"].sum()),
            "vcf_records": {vcf_name: {k: int(v) for k, v in region["variant_class"].value_counts().sort_index().items()}},
        },
        "control_capacity": {c: _control_capacity(lay, peaks, c) for c in CELL_LINES},
        "expected_correlation": {ds: _expected_r(g["effect_true"]) for ds, g in by_ds.items()},
        "observed_correlation": {ds: round(float(np.corrcoef(g["effect_true"], g["effect_measured"])[0, 1]), 4)
                                 for ds, g in by_ds.items()},
        "satmut_element": element,
    }
    (outdir / "simulation.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outdir", required=True, type=Path, help="directory to write the benchmark into")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7); same seed, same bytes")


def run(args: argparse.Namespace) -> None:
    summary = simulate_benchmark(args.outdir, seed=args.seed)
    log.info("wrote synthetic benchmark (seed %d) to %s: %s", summary["seed"], args.outdir,
             json.dumps(summary["counts"]["variants"]))
