"""Enhancer (positive) and control regions of one cell line from DNase and H3K27ac peak calls.

The study's recipe, made explicit (every choice below is counted in the summary table):

* **Positives.** DNase peaks covered by H3K27ac peaks over at least ``min_overlap`` bp (the
  H3K27ac peaks are merged first, so the overlap is the DNase peak's bp covered by any H3K27ac
  peak). Each peak is re-centred on its summit (narrowPeak column 10, an offset from the peak
  start, used when it is >= 0 and inside the peak) or else on its midpoint ``(start + end) // 2``,
  and resized to ``region_length``: ``start = centre - region_length // 2``, ``end = start +
  region_length``. For an even length the centre base is therefore at 0-based index
  ``region_length // 2`` of the region, the convention of the variant windows.
  The *resized* regions (not the raw peaks) must not overlap exons, promoters (TSS +/-
  ``promoter_flank``; the TSS is the 5' end by strand for BED6, the whole interval otherwise) or
  blacklist regions, so no training sequence contains them. Regions running off a contig end are
  dropped. Overlapping regions are de-duplicated greedily: the one with the highest DNase signal
  (column 7) is kept, ties and signal-less files in genomic order (the leftmost wins).
* **Controls.** As many windows as positives, of the same length, overlapping no DNase or
  H3K27ac peak of the cell line, no exclusion region and no positive, free of N (any non-ACGT
  base), and not overlapping each other. The free genome is tiled into non-overlapping windows
  with a random phase per free interval and the tiles are visited in random order. With
  ``control_matching="none"`` the first usable tiles are the controls (uniform random). With
  ``"gc"`` a pool of ``CONTROL_POOL_FACTOR`` x as many is collected and controls are drawn to
  reproduce the positives' GC histogram (bins of ``GC_BIN_WIDTH``): per bin at random from the
  pool's tiles in that bin; a bin the pool cannot fill takes the pool tiles nearest in GC to the
  bin centre. Too few usable tiles for even ``none`` raises InputError (found vs needed).
* **Names.** Peaks on contigs missing from the genome (``chr1`` and ``1`` are the same contig,
  see Genome.resolve) are skipped and counted; output uses the genome's contig names.

The summary is tidy (``cell_line, step, count``) in processing order; dropped-count steps
(``dnase_on_missing_contigs``, ``off_contig_end``, ``overlapping_duplicates``) make the chain add
up exactly. The two GC rows (``gc_mean_positive``, ``gc_mean_control``) carry a fraction in the
``count`` column, so that column is written as a float column (integers print without a point).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import logging
import math
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import bioframe as bf
import numpy as np
import pandas as pd
from tqdm import tqdm

from .contracts import REGION_COLUMNS, REGIONS_SUFFIX, REGIONS_SUMMARY_SUFFIX, STEP_SUMMARY_COLUMNS
from .dna import gc_content
from .genome import Genome
from .io import InputError, open_text, write_tsv

log = logging.getLogger(__name__)

GC_BIN_WIDTH = 0.02
CONTROL_POOL_FACTOR = 10
_HEADER_PREFIXES = ("track", "browser", "#")
_MAX_COORDINATE = 2 ** 62  # int64 with room for the arithmetic on coordinates
_NON_ACGT = re.compile(r"[^ACGT]")
_CELL_LINE_OK = re.compile(r"^[A-Za-z0-9_.+-]+$")


# --------------------------------------------------------------------------- reading BED

def read_bed(path: str | Path) -> pd.DataFrame:
    """Parse a BED3/BED6/narrowPeak file (plain or gzipped, any order) into a frame.

    Returns columns chrom, start, end, strand ("." if absent), signal (column 7, NaN if absent
    or not a number) and summit (column 10, -1 if absent or not an integer). track/browser/#
    lines and blank lines are skipped; bad coordinates raise InputError with the line number.
    """
    rows = []
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(_HEADER_PREFIXES):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                fields = line.split()
            if len(fields) < 3:
                raise InputError(f"{path} line {lineno}: expected at least 3 tab-separated columns "
                                 f"(chrom, start, end), found {len(fields)}: {line.strip()!r}")
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise InputError(f"{path} line {lineno}: start and end must be integers, found "
                                 f"{fields[1]!r} and {fields[2]!r}") from None
            if start < 0 or end <= start:
                raise InputError(f"{path} line {lineno}: need 0 <= start < end, found start={start} end={end}")
            if end > _MAX_COORDINATE:
                raise InputError(f"{path} line {lineno}: end {end} is too large for a genome coordinate")
            strand = fields[5].strip() if len(fields) > 5 else "."
            signal = _parse_float(fields[6]) if len(fields) > 6 else math.nan
            summit = _parse_int(fields[9]) if len(fields) > 9 else -1
            rows.append((fields[0].strip(), start, end, strand, signal, summit))
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end", "strand", "signal", "summit"])
    return frame.astype({"chrom": str, "start": "int64", "end": "int64", "strand": str,
                         "signal": "float64", "summit": "int64"})


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _parse_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        return -1
    return value if abs(value) <= _MAX_COORDINATE else -1


def map_to_genome(bed: pd.DataFrame, genome: Genome) -> tuple[pd.DataFrame, int]:
    """Rename contigs to the genome's spelling; drop (and count) intervals on absent contigs.

    Parameters
    ----------
    bed : pandas.DataFrame
        Intervals with a ``chrom`` column (e.g. from ``read_bed``).
    genome : Genome
        The reference whose contig names are used (``Genome.resolve``).

    Returns
    -------
    intervals : pandas.DataFrame
        The rows of ``bed`` on the genome's contigs, ``chrom`` renamed, fresh index.
    n_dropped : int
        How many rows lay on contigs absent from the genome.
    """
    names = {c: genome.resolve(c) for c in bed["chrom"].unique()}
    resolved = bed["chrom"].map(names)
    on_genome = resolved.notna()
    out = bed.loc[on_genome].assign(chrom=resolved[on_genome].astype(str)).reset_index(drop=True)
    missing = sorted(c for c, n in names.items() if n is None)
    if missing:
        log.info("skipping %d interval(s) on %d contig(s) absent from the genome (e.g. %s)",
                 int((~on_genome).sum()), len(missing), ", ".join(missing[:3]))
    return out, int((~on_genome).sum())


def promoters_from_tss(tss: pd.DataFrame, flank: int) -> pd.DataFrame:
    """TSS +/- flank: the 5' base by strand when strand is +/-, else the whole interval, padded.

    Parameters
    ----------
    tss : pandas.DataFrame
        Columns ``chrom``, ``start``, ``end``, ``strand`` (``.`` when unknown).
    flank : int
        bp added on each side.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom``, ``start`` (clipped at 0), ``end``; one row per TSS.
    """
    plus, minus = tss["strand"] == "+", tss["strand"] == "-"
    first = np.where(minus, tss["end"] - 1, tss["start"])
    last = np.where(plus, tss["start"] + 1, tss["end"])
    return pd.DataFrame({"chrom": tss["chrom"].to_numpy(),
                         "start": np.maximum(first - flank, 0),
                         "end": last + flank})


# --------------------------------------------------------------------------- interval operations (bioframe)

def overlap_bp(peaks: pd.DataFrame, marks: pd.DataFrame) -> np.ndarray:
    """bp of each peak covered by the union of the mark intervals (bioframe merge + overlap).

    bioframe replaced bedtools merge + intersect -wo here: same numbers, about 4x faster on the
    real HepG2 peaks (docs/performance.md).

    Parameters
    ----------
    peaks : pandas.DataFrame
        Intervals (``chrom``, ``start``, ``end``).
    marks : pandas.DataFrame
        Intervals (``chrom``, ``start``, ``end``), merged before the overlap.

    Returns
    -------
    numpy.ndarray of int64, shape (len(peaks),)
    """
    if peaks.empty or marks.empty:
        return np.zeros(len(peaks), dtype=np.int64)
    with _quiet_bioframe():
        merged = bf.merge(_intervals(marks), min_dist=0)[["chrom", "start", "end"]]
        hits = bf.overlap(_intervals(peaks).assign(row=np.arange(len(peaks))), merged, how="inner",
                          suffixes=("", "_m"))
    bp = (np.minimum(hits["end"].to_numpy(dtype=np.int64), hits["end_m"].to_numpy(dtype=np.int64))
          - np.maximum(hits["start"].to_numpy(dtype=np.int64), hits["start_m"].to_numpy(dtype=np.int64)))
    covered = np.zeros(len(peaks), dtype=np.int64)
    np.add.at(covered, hits["row"].to_numpy(dtype=np.int64), bp)
    return covered


def overlaps_any(windows: pd.DataFrame, exclusions: pd.DataFrame) -> np.ndarray:
    """Boolean per window: does it overlap any exclusion interval by >= 1 bp (bioframe overlap;
    was bedtools intersect -u, same result, about 9x slower on real-scale exon sets).

    Parameters
    ----------
    windows : pandas.DataFrame
        Intervals (``chrom``, ``start``, ``end``); negative starts are clipped at 0 for the test.
    exclusions : pandas.DataFrame
        Intervals (``chrom``, ``start``, ``end``).

    Returns
    -------
    numpy.ndarray of bool, shape (len(windows),)
    """
    hit = np.zeros(len(windows), dtype=bool)
    if windows.empty or exclusions.empty:
        return hit
    query = _intervals(windows).assign(start=windows["start"].clip(lower=0).to_numpy(), row=np.arange(len(windows)))
    with _quiet_bioframe():
        found = bf.overlap(query, _intervals(exclusions), how="inner", suffixes=("", "_x"))
    hit[found["row"].to_numpy(dtype=np.int64)] = True
    return hit


@contextlib.contextmanager
def _quiet_bioframe() -> Iterator[None]:
    """Silence the pandas deprecation warnings bioframe 0.8 raises inside itself (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="bioframe")
        yield


def _intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain chrom/start/end copy (fresh index, int64) for bioframe."""
    return pd.DataFrame({"chrom": frame["chrom"].astype(str).to_numpy(),
                         "start": frame["start"].to_numpy(dtype=np.int64),
                         "end": frame["end"].to_numpy(dtype=np.int64)})


def free_intervals(exclusions: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """Genome minus the exclusions (bioframe merge + complement; was bedtools merge + complement,
    same intervals, 2-4x slower), in genome contig order, then by start.

    Parameters
    ----------
    exclusions : pandas.DataFrame
        Intervals (``chrom``, ``start``, ``end``) on the genome's contigs; clipped to the contigs.
    sizes : dict of str -> int
        Contig lengths, in genome order (``Genome.sizes``).

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom``, ``start``, ``end``: the non-empty free intervals.
    """
    order = {name: i for i, name in enumerate(sizes)}
    size = exclusions["chrom"].map(sizes)
    clipped = exclusions.assign(start=exclusions["start"].clip(lower=0),
                                end=np.minimum(exclusions["end"], size))
    clipped = clipped[clipped["end"] > clipped["start"]]
    if clipped.empty:
        return pd.DataFrame({"chrom": list(sizes), "start": 0, "end": list(sizes.values())})
    view = pd.DataFrame({"chrom": list(sizes), "start": 0, "end": list(sizes.values()), "name": list(sizes)})
    with _quiet_bioframe():
        merged = bf.merge(_intervals(clipped), min_dist=0)[["chrom", "start", "end"]]
        free = bf.complement(merged, view_df=view)
    free = _intervals(free)
    free = free[free["end"] > free["start"]]
    # bioframe returns contigs in name order; the tiling (and so the seeded controls) follows the genome's
    free = free.assign(_order=free["chrom"].map(order)).sort_values(["_order", "start"], kind="mergesort")
    return free[["chrom", "start", "end"]].reset_index(drop=True)


# --------------------------------------------------------------------------- positives

def centre_windows(peaks: pd.DataFrame, length: int) -> pd.DataFrame:
    """Resize peaks to `length` around the summit (if valid) or the midpoint.

    Parameters
    ----------
    peaks : pandas.DataFrame
        Columns ``chrom``, ``start``, ``end``, ``summit`` (offset from start, -1 if absent) and ``signal``.
    length : int
        Window length in bp.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom``, ``start``, ``end`` (``start + length``) and ``signal``, one row per peak; windows
        may run off a contig end (``start`` may be negative).
    """
    width = peaks["end"] - peaks["start"]
    use_summit = (peaks["summit"] >= 0) & (peaks["summit"] < width)
    centre = np.where(use_summit, peaks["start"] + peaks["summit"], (peaks["start"] + peaks["end"]) // 2)
    start = centre - length // 2
    return pd.DataFrame({"chrom": peaks["chrom"].to_numpy(), "start": start, "end": start + length,
                         "signal": peaks["signal"].to_numpy()})


def select_non_overlapping(windows: pd.DataFrame) -> np.ndarray:
    """Greedy de-duplication: visit by signal (high first; ties and NaN in genomic order), keep a
    window when it overlaps no window kept before. Returns the kept row positions, sorted."""
    signal = windows["signal"].fillna(-np.inf).to_numpy()
    genomic = windows.reset_index(drop=True).sort_values(["chrom", "start"], kind="mergesort").index.to_numpy()
    rank = np.empty(len(windows), dtype=np.int64)
    rank[genomic] = np.arange(len(windows))
    order = np.lexsort((rank, -signal))
    kept_starts: dict[str, list[int]] = {}
    kept_ends: dict[str, list[int]] = {}
    kept = []
    chroms, starts, ends = windows["chrom"].to_numpy(), windows["start"].to_numpy(), windows["end"].to_numpy()
    for i in order:
        s_list = kept_starts.setdefault(chroms[i], [])
        e_list = kept_ends.setdefault(chroms[i], [])
        # All windows have the same length, so kept ones sorted by start are sorted by end too.
        j = bisect.bisect_left(s_list, starts[i])
        if (j < len(s_list) and s_list[j] < ends[i]) or (j > 0 and e_list[j - 1] > starts[i]):
            continue
        s_list.insert(j, int(starts[i]))
        e_list.insert(j, int(ends[i]))
        kept.append(i)
    return np.sort(np.asarray(kept, dtype=np.int64))


# --------------------------------------------------------------------------- controls

def tile_free(free: pd.DataFrame, length: int, rng: np.random.Generator) -> pd.DataFrame:
    """Non-overlapping windows filling each free interval, with a random phase per interval.

    Parameters
    ----------
    free : pandas.DataFrame
        Free intervals (``chrom``, ``start``, ``end``), as from ``free_intervals``.
    length : int
        Window length in bp.
    rng : numpy.random.Generator
        Draws the phase of each interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``chrom``, ``start``, ``end``, in the order of ``free``, then by start.
    """
    span = (free["end"] - free["start"]).to_numpy()
    n_tiles = span // length
    keep = n_tiles > 0
    free, span, n_tiles = free[keep], span[keep], n_tiles[keep]
    offset = rng.integers(0, span - n_tiles * length + 1) if len(free) else np.zeros(0, dtype=np.int64)
    first = free["start"].to_numpy() + offset
    which = np.repeat(np.arange(len(free)), n_tiles)
    step = np.arange(int(n_tiles.sum())) - np.repeat(np.cumsum(n_tiles) - n_tiles, n_tiles)
    start = first[which] + step * length
    return pd.DataFrame({"chrom": free["chrom"].to_numpy()[which], "start": start, "end": start + length})


def collect_pool(tiles: pd.DataFrame, genome: Genome, target: int,
                 rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Visit tiles in random order and keep the first `target` that are free of N; with GC.

    Parameters
    ----------
    tiles : pandas.DataFrame
        Candidate windows (``chrom``, ``start``, ``end``), as from ``tile_free``.
    genome : Genome
        The reference the sequences are fetched from.
    target : int
        How many windows to keep at most.
    rng : numpy.random.Generator
        Draws the visiting order.

    Returns
    -------
    pool : pandas.DataFrame
        The kept tiles (at most ``target``), in visiting order, fresh index.
    gc : numpy.ndarray of float, shape (len(pool),)
        Their GC fractions.
    """
    picked, gcs = [], []
    chroms, starts, ends = tiles["chrom"].to_numpy(), tiles["start"].to_numpy(), tiles["end"].to_numpy()
    with tqdm(total=target, desc="control candidates", unit="window", disable=None, leave=False) as bar:
        for i in rng.permutation(len(tiles)):
            seq = genome.fetch(chroms[i], int(starts[i]), int(ends[i])).upper()
            if _NON_ACGT.search(seq):
                continue
            picked.append(i)
            gcs.append(gc_content(seq))
            bar.update(1)
            if len(picked) >= target:
                break
    return tiles.iloc[picked].reset_index(drop=True), np.asarray(gcs, dtype=float)


def gc_bins(gc: np.ndarray) -> np.ndarray:
    """Bin index of each GC fraction (bins of GC_BIN_WIDTH, the last one closed at 1.0).

    Parameters
    ----------
    gc : numpy.ndarray of float
        GC fractions in [0, 1].

    Returns
    -------
    numpy.ndarray of int64, same shape as ``gc``
    """
    n_bins = int(round(1 / GC_BIN_WIDTH))
    return np.minimum(np.floor(gc / GC_BIN_WIDTH + 1e-9).astype(np.int64), n_bins - 1)


def match_gc(target_gc: np.ndarray, pool_gc: np.ndarray, n: int) -> np.ndarray:
    """Pick n pool positions whose GC histogram follows target_gc's (pool already in random order).

    Per bin the first pool entries in that bin are taken; a bin short of entries is filled with the
    remaining entries nearest to the bin centre; targets without GC (all N) take any remaining.

    Parameters
    ----------
    target_gc : numpy.ndarray of float, shape (m,)
        GC fractions of the positives (NaN for a sequence without GC).
    pool_gc : numpy.ndarray of float, shape (k,)
        GC fractions of the pool, in random order.
    n : int
        How many positions to pick.

    Returns
    -------
    numpy.ndarray of int64
        Sorted positions into the pool (``n`` of them when the pool is large enough).
    """
    n_bins = int(round(1 / GC_BIN_WIDTH))
    valid = target_gc[~np.isnan(target_gc)]
    wanted = np.bincount(gc_bins(valid), minlength=n_bins)
    pool_bin = gc_bins(pool_gc)
    free = np.ones(len(pool_gc), dtype=bool)
    chosen: list[int] = []
    deficit = np.zeros(n_bins, dtype=np.int64)
    for b in range(n_bins):
        if wanted[b] == 0:
            continue
        here = np.flatnonzero((pool_bin == b) & free)[: wanted[b]]
        free[here] = False
        chosen.extend(here.tolist())
        deficit[b] = wanted[b] - len(here)
    for b in np.flatnonzero(deficit):
        left = np.flatnonzero(free)
        centre = (b + 0.5) * GC_BIN_WIDTH
        near = left[np.argsort(np.abs(pool_gc[left] - centre), kind="stable")[: deficit[b]]]
        free[near] = False
        chosen.extend(near.tolist())
    rest = n - len(chosen)
    if rest > 0:
        extra = np.flatnonzero(free)[:rest]
        chosen.extend(extra.tolist())
    return np.sort(np.asarray(chosen, dtype=np.int64))


# --------------------------------------------------------------------------- the step

def build_regions(cell_line: str, dnase: str | Path, h3k27ac: str | Path, genome: Genome, *,
                  exons: str | Path | None = None, tss: str | Path | None = None,
                  blacklist: str | Path | None = None, region_length: int = 1000,
                  promoter_flank: int = 2000, min_overlap: int = 1, control_matching: str = "gc",
                  seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Positive and control regions of one cell line, and the tidy summary of every step.

    Parameters
    ----------
    cell_line : str
        Cell line name (letters, digits and ``_ . + -``), used in region ids.
    dnase, h3k27ac : str or pathlib.Path
        DNase and H3K27ac peaks (BED3/BED6/narrowPeak, may be gzipped).
    genome : Genome
        The reference genome.
    exons, tss, blacklist : str or pathlib.Path or None, optional
        BED files of exons, transcription start sites and blacklisted intervals to exclude.
    region_length : int, optional
        Region length in bp.
    promoter_flank : int, optional
        A promoter is TSS +/- this many bp.
    min_overlap : int, optional
        Least DNase/H3K27ac overlap in bp for a positive.
    control_matching : str, optional
        ``gc`` (match the positives' GC histogram) or ``none``.
    seed : int, optional
        Seed of the controls' random draws.

    Returns
    -------
    regions : pandas.DataFrame
        ``contracts.REGION_COLUMNS``; positives (label 1) first, then controls (label 0), each by chrom
        and start.
    summary : pandas.DataFrame
        ``contracts.STEP_SUMMARY_COLUMNS``, one row per step in processing order, ``count`` as float.

    Raises
    ------
    InputError
        For bad parameters or peak files, when no positive region is left, or when too few control
        windows are found.
    """
    _check_parameters(cell_line, region_length, promoter_flank, min_overlap, control_matching)
    rng = np.random.default_rng(seed)
    steps: list[tuple[str, float]] = []

    dnase_raw, h3_raw = read_bed(dnase), read_bed(h3k27ac)
    steps += [("dnase_peaks_in", len(dnase_raw)), ("h3k27ac_peaks_in", len(h3_raw))]
    dnase_peaks, dnase_missing = map_to_genome(dnase_raw, genome)
    h3_peaks, h3_missing = map_to_genome(h3_raw, genome)
    steps += [("dnase_on_missing_contigs", dnase_missing), ("h3k27ac_on_missing_contigs", h3_missing)]
    for name, path, raw, peaks in (("DNase", dnase, dnase_raw, dnase_peaks), ("H3K27ac", h3k27ac, h3_raw, h3_peaks)):
        if peaks.empty:
            seen = ", ".join(sorted(raw["chrom"].unique())[:3]) or "none"
            raise InputError(f"{name} peaks {path}: none of the {len(raw)} peaks lie on a contig of the "
                             f"genome {genome.path} (peak contigs e.g. {seen}; genome has e.g. "
                             f"{', '.join(list(genome.sizes)[:3])})")
    exclusions = {
        "exon": _optional_bed(exons, genome),
        "promoter": promoters_from_tss(_optional_bed(tss, genome), promoter_flank),
        "blacklist": _optional_bed(blacklist, genome),
    }

    covered = overlap_bp(dnase_peaks, h3_peaks)
    positives = dnase_peaks[covered >= min_overlap].reset_index(drop=True)
    steps.append(("overlapping_h3k27ac", len(positives)))
    if positives.empty:
        raise InputError(f"no DNase peak in {dnase} overlaps an H3K27ac peak in {h3k27ac} by >= "
                         f"{min_overlap} bp (of {len(dnase_peaks)} DNase and {len(h3_peaks)} H3K27ac "
                         "peaks on genome contigs); check that both files are of the same genome build")
    windows = centre_windows(positives, region_length)
    for kind in ("exon", "promoter", "blacklist"):
        windows = windows[~overlaps_any(windows, exclusions[kind])].reset_index(drop=True)
        steps.append((f"after_{kind}_filter", len(windows)))
    size = windows["chrom"].map(genome.sizes)
    inside = (windows["start"] >= 0) & (windows["end"] <= size)
    steps.append(("off_contig_end", int((~inside).sum())))
    windows = windows[inside].reset_index(drop=True)
    kept = select_non_overlapping(windows)
    steps.append(("overlapping_duplicates", len(windows) - len(kept)))
    windows = windows.iloc[kept].reset_index(drop=True)
    steps.append(("after_dedup", len(windows)))
    if windows.empty:
        raise InputError(f"every DNase/H3K27ac overlap of {dnase} was removed by the exon/promoter/"
                         "blacklist filters or the contig ends; no positive regions left")
    n = len(windows)

    occupied = pd.concat([dnase_peaks[["chrom", "start", "end"]], h3_peaks[["chrom", "start", "end"]],
                          *(e[["chrom", "start", "end"]] for e in exclusions.values()),
                          windows[["chrom", "start", "end"]]], ignore_index=True)
    tiles = tile_free(free_intervals(occupied, genome.sizes), region_length, rng)
    target = n * (CONTROL_POOL_FACTOR if control_matching == "gc" else 1)
    pool, pool_gc = collect_pool(tiles, genome, target, rng)
    steps.append(("control_candidates", len(pool)))
    if len(pool) < n:
        raise InputError(
            f"only {len(pool)} control window(s) of {region_length} bp found, {n} needed (one per positive): "
            f"the genome {genome.path} outside peaks, exclusions and N runs is too small; use a larger "
            "genome, fewer exclusions or a shorter --region-length")
    if len(pool) < target:
        log.warning("GC matching pool has %d candidates, fewer than the %d intended", len(pool), target)
    positive_gc = np.array([gc_content(genome.fetch(c, int(s), int(e)))
                            for c, s, e in windows[["chrom", "start", "end"]].itertuples(index=False)])
    if control_matching == "gc":
        picked = match_gc(positive_gc, pool_gc, n)
    else:
        picked = np.arange(n)
    controls, control_gc = pool.iloc[picked].reset_index(drop=True), pool_gc[picked]
    steps += [("controls", len(controls)),
              ("gc_mean_positive", float(np.nanmean(positive_gc)) if np.isfinite(positive_gc).any() else math.nan),
              ("gc_mean_control", float(np.mean(control_gc)))]

    regions = _assemble(cell_line, windows, controls)
    summary = pd.DataFrame({"cell_line": cell_line, "step": [s for s, _ in steps],
                            "count": np.array([v for _, v in steps], dtype=float)}, columns=STEP_SUMMARY_COLUMNS)
    log.info("%s: %d positive and %d control regions", cell_line, n, len(controls))
    return regions, summary


def _assemble(cell_line: str, positives: pd.DataFrame, controls: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat([positives[["chrom", "start", "end"]].assign(label=1),
                      controls[["chrom", "start", "end"]].assign(label=0)], ignore_index=True)
    both = both.astype({"chrom": str, "start": "int64", "end": "int64", "label": "int64"})
    both = both.sort_values(["label", "chrom", "start"], ascending=[False, True, True], kind="mergesort")
    both["region_id"] = (cell_line + ":" + both["chrom"] + ":" + both["start"].astype(str) + "-"
                         + both["end"].astype(str))
    both["cell_line"] = cell_line
    return both[REGION_COLUMNS].reset_index(drop=True)


def _optional_bed(path: str | Path | None, genome: Genome) -> pd.DataFrame:
    if path is None:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype="int64"),
                             "end": pd.Series(dtype="int64"), "strand": pd.Series(dtype=str)})
    bed, _ = map_to_genome(read_bed(path), genome)
    return bed


def _check_parameters(cell_line: str, region_length: int, promoter_flank: int, min_overlap: int,
                      control_matching: str) -> None:
    if not _CELL_LINE_OK.match(cell_line or ""):
        raise InputError(f"--cell-line {cell_line!r}: use letters, digits and _ . + - only (it names files and ids)")
    if region_length < 1:
        raise InputError(f"--region-length must be >= 1, got {region_length}")
    if promoter_flank < 0:
        raise InputError(f"--promoter-flank must be >= 0, got {promoter_flank}")
    if min_overlap < 1:
        raise InputError(f"--min-overlap must be >= 1 bp, got {min_overlap}")
    if control_matching not in ("gc", "none"):
        raise InputError(f"--control-matching must be 'gc' or 'none', got {control_matching!r}")


# --------------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cell-line", required=True, help="cell line name (used in ids and file names)")
    parser.add_argument("--dnase", required=True, help="DNase-seq peaks (narrowPeak or BED3, may be gzipped)")
    parser.add_argument("--h3k27ac", required=True, help="H3K27ac peaks (BED3+ or narrowPeak, may be gzipped)")
    parser.add_argument("--genome", required=True, help="reference FASTA (indexed with .fai if missing)")
    parser.add_argument("--exons", help="exon intervals to exclude (BED)")
    parser.add_argument("--tss", help="transcription start sites (BED6 with strand, or BED3)")
    parser.add_argument("--blacklist", help="blacklisted intervals to exclude (BED)")
    parser.add_argument("--region-length", type=int, default=1000, help="region length in bp (default 1000)")
    parser.add_argument("--promoter-flank", type=int, default=2000, help="promoter = TSS +/- this many bp (default 2000)")
    parser.add_argument("--min-overlap", type=int, default=1, help="min DNase/H3K27ac overlap in bp (default 1)")
    parser.add_argument("--control-matching", choices=["gc", "none"], default="gc",
                        help="match the controls' GC histogram to the positives' (default gc)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the controls (default 0)")
    parser.add_argument("--prefix", default=None,
                        help="stem of the output file names (default: the cell line; the pipeline's task.ext.prefix)")
    parser.add_argument("--outdir", required=True, help="output directory")


def run(args: argparse.Namespace) -> None:
    outdir = Path(args.outdir)
    with Genome(args.genome) as genome:
        regions, summary = build_regions(
            args.cell_line, args.dnase, args.h3k27ac, genome, exons=args.exons, tss=args.tss,
            blacklist=args.blacklist, region_length=args.region_length, promoter_flank=args.promoter_flank,
            min_overlap=args.min_overlap, control_matching=args.control_matching, seed=args.seed)
    prefix = args.prefix or args.cell_line
    write_tsv(regions, outdir / f"{prefix}{REGIONS_SUFFIX}")
    write_tsv(summary, outdir / f"{prefix}{REGIONS_SUMMARY_SUFFIX}")
