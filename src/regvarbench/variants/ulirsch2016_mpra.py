"""MPRA of red-cell-trait variants, Ulirsch et al. 2016 (GEO GSE87711, ``GSE87711.csv``; K562, hg19).

Layout (comma-separated, BOM, blank line between rows): ``dbSNP, chr, pos, ref, alt, type, bot,
top, clean, controls, CTRL.median, CTRL.p, CTRL.padj, CTRL.mut.p, CTRL.mut.padj, CTRL.fc(log2)``.
Each tested oligo is one row: ``type`` = ``Ref`` or ``Mut`` (the oligo carrying ref or alt), and
``bot``/``top`` say where in the oligo the variant sits. A variant is measured by a Ref/Mut pair
of rows sharing dbSNP, chr, pos, ref, alt, bot and top; the pair's rows repeat the pair-level
statistics ``CTRL.mut.p`` (Mut vs Ref) and ``CTRL.fc(log2)``. One SNP can have several pairs
(oligos with the variant at different offsets): separate measurements, kept separately.

Decisions:
- One variant per pair, taken from the ``Mut`` row (its ``row`` is the variant's row); the
  ``Ref`` row is skipped as ``paired_reference_row`` with the Mut row named in the detail. Rows
  whose key has not exactly one Ref and one Mut are skipped as ``unpaired_row``. So every source
  row is accounted for, and 84 rows give 42 variants.
- effect_log2 = Mut ``CTRL.median`` - Ref ``CTRL.median`` (the medians are log2 activities).
  ``CTRL.fc(log2)`` is NOT used as is: it is the **absolute** value of that difference (on all 42
  pairs |Mut - Ref| equals it to 1e-6, and it is never negative, while Mut < Ref in 17 pairs), so
  it would lose the direction. A pair whose |difference| departs from ``CTRL.fc(log2)`` by more
  than 1e-3 is kept with the median difference and flagged ``fc_mismatch`` (logged).
- p = ``CTRL.mut.p``; chromosome is written without ``chr``; ``pos`` is 1-based (as the study used).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from ..io import require_columns
from . import NONFINITE_EFFECT, assemble, parse_float, read_delimited

log = logging.getLogger(__name__)

PAIR_KEY = ["dbSNP", "chr", "pos", "ref", "alt", "bot", "top"]
MEDIAN, FC, P = "CTRL.median", "CTRL.fc(log2)", "CTRL.mut.p"
FC_TOLERANCE = 1e-3


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse the Ulirsch 2016 oligo table into one variant per Ref/Mut pair (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The oligo table (comma-separated, plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row (Ref rows of a pair kept as skipped): the columns of ``PARSED_COLUMNS`` plus ``snp_id``;
        rows that cannot be read are kept, with ``skip_reason`` / ``skip_detail`` filled.
    """
    raw = read_delimited(path, sep=",")
    require_columns(raw, PAIR_KEY + ["type", MEDIAN, FC, P], path)
    median, bad_median = parse_float(raw[MEDIAN])
    fc, bad_fc = parse_float(raw[FC])
    kind = raw["type"].astype(str).str.strip().str.lower()
    bad_type = ~kind.isin(["ref", "mut"]).to_numpy()
    effect, reason, detail, flag = pair_rows(raw, kind, median, fc)
    out = assemble(raw, path, chrom=raw["chr"], pos_text=raw["pos"], ref=raw["ref"], alt=raw["alt"],
                   effect=effect, pvalue_text=raw[P],
                   extra_bad={"type": bad_type, MEDIAN: bad_median, FC: bad_fc})
    pairing = (out["skip_reason"] == "") & (reason != "")
    out["skip_reason"] = np.where(pairing, reason, out["skip_reason"])
    out["skip_detail"] = np.where(pairing, detail, out["skip_detail"])
    kept = (out["skip_reason"] == "").to_numpy()
    nonfinite = kept & ~np.isfinite(effect)
    out["flag"] = np.where(nonfinite, NONFINITE_EFFECT, np.where(kept, flag, ""))
    out["snp_id"] = raw["dbSNP"].to_numpy()
    return out


def pair_rows(raw: pd.DataFrame, kind: pd.Series, median: np.ndarray, fc: np.ndarray):
    """Per row: effect (Mut rows of a pair), skip reason and detail (Ref and unpaired rows), flag.

    Parameters
    ----------
    raw : pandas.DataFrame
        The oligo rows as read, with the ``PAIR_KEY`` columns.
    kind : pandas.Series of str
        ``ref`` or ``mut`` (lower case) per row.
    median, fc : numpy.ndarray of float, shape (n,)
        The ``CTRL.median`` and ``CTRL.fc(log2)`` values per row.

    Returns
    -------
    effect : numpy.ndarray of float, shape (n,)
        Mut median minus Ref median on Mut rows of a pair, NaN elsewhere.
    reason, detail : numpy.ndarray of object, shape (n,)
        Skip reason and detail (``""`` for Mut rows of a pair).
    flag : numpy.ndarray of object, shape (n,)
        ``fc_mismatch`` where the effect disagrees with ``CTRL.fc(log2)``, ``""`` otherwise.
    """
    n = len(raw)
    effect = np.full(n, np.nan)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    flag = np.full(n, "", dtype=object)
    keys = ["|".join(cells) for cells in zip(*(raw[c].astype(str) for c in PAIR_KEY))]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for key, members in groups.items():
        kinds = sorted(kind.iat[i] for i in members)
        if kinds != ["mut", "ref"]:
            for i in members:
                reason[i] = "unpaired_row"
                detail[i] = f"{len(members)} row(s) share {'/'.join(PAIR_KEY)} = {key}: types {', '.join(kinds)}"
            continue
        mut, ref = (members if kind.iat[members[0]] == "mut" else members[::-1])
        reason[ref] = "paired_reference_row"
        detail[ref] = f"Ref oligo of the pair whose Mut row {mut} holds the variant"
        effect[mut] = median[mut] - median[ref]
        if np.isfinite(effect[mut]) and np.isfinite(fc[mut]) and abs(abs(effect[mut]) - fc[mut]) > FC_TOLERANCE:
            flag[mut] = "fc_mismatch"
            log.warning("row %d: |Mut - Ref median| = %.4g but %s = %.4g", mut, abs(effect[mut]), FC, fc[mut])
    return effect, reason, detail, flag
