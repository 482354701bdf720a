"""lentiMPRA of modern-human-specific variants, Weiss et al. 2021 (supplementary table; NPC, hg19).

Layout (tab- or comma-separated, one row per variant; the columns used):
``Chromosome``, ``Central variant position (hg19)``, ``Archaic sequence sequence``,
``Modern sequence sequence`` (the two 200-bp oligos, variant at 0-based index 99),
``Differential activity log2(fold-change) - modern vs archaic - NPC``,
``Differential activity P-value - NPC``. Not available in this workspace: written from the
published column names and tested on a fixture in that layout.

Decisions:
- ref = archaic base at index 99, alt = modern base at index 99, so effect_log2 (modern vs
  archaic, already log2) is alt over ref as everywhere else. Beware: hg19 usually carries the
  modern (derived) allele, so a ``--genome`` reference check finds most rows swapped (ALT matches)
  and stops above ``--max-swap-rate``; the alleles follow the study's effect definition, not the
  genome. ``--max-swap-rate 1`` keeps them, oriented to the genome with the effect negated.
- The oligos must differ at exactly one base, index 99: rows whose oligos differ in length, at
  another index, at more than one base or nowhere are skipped as ``oligo_not_central_snv`` with
  the differing indices in the detail.
- Position is taken as 1-based, as the column name ("hg19" position of the central variant) and
  the other hg19 sources suggest.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..io import require_columns
from . import assemble, parse_float, read_delimited

CHROM, POS = "Chromosome", "Central variant position (hg19)"
ARCHAIC, MODERN = "Archaic sequence sequence", "Modern sequence sequence"
EFFECT = "Differential activity log2(fold-change) - modern vs archaic - NPC"
P = "Differential activity P-value - NPC"
CENTRE = 99
OLIGO_REASON = "oligo_not_central_snv"


def parse(path: str | os.PathLike, cell_line: str | None = None) -> pd.DataFrame:
    """Parse a Weiss 2021 lentiMPRA table (``cell_line`` unused).

    Parameters
    ----------
    path : path-like
        The lentiMPRA table (tab- or comma-separated, plain or gzipped).
    cell_line : str or None
        Unused.

    Returns
    -------
    pandas.DataFrame
        One row per data row: the columns of ``PARSED_COLUMNS``; rows that cannot be read are kept, with ``skip_reason``
        / ``skip_detail`` filled.
    """
    raw = read_delimited(path)
    require_columns(raw, [CHROM, POS, ARCHAIC, MODERN, EFFECT, P], path)
    archaic = raw[ARCHAIC].astype(str).str.strip().str.upper()
    modern = raw[MODERN].astype(str).str.strip().str.upper()
    why = [describe_difference(a, m) for a, m in zip(archaic, modern)]
    ref = pd.Series([a[CENTRE] if len(a) > CENTRE else "" for a in archaic], index=raw.index)
    alt = pd.Series([m[CENTRE] if len(m) > CENTRE else "" for m in modern], index=raw.index)
    effect, bad_effect = parse_float(raw[EFFECT])
    out = assemble(raw, path, chrom=raw[CHROM], pos_text=raw[POS], ref=ref, alt=alt, effect=effect,
                   pvalue_text=raw[P], extra_bad={EFFECT: bad_effect})
    oligo = np.array([w != "" for w in why], dtype=bool) & (out["skip_reason"] == "").to_numpy()
    out["skip_reason"] = np.where(oligo, OLIGO_REASON, out["skip_reason"])
    out["skip_detail"] = np.where(oligo, why, out["skip_detail"])
    out["flag"] = np.where(~np.isfinite(effect) & (out["skip_reason"] == ""), "missing_effect", "")
    return out


def describe_difference(archaic: str, modern: str) -> str:
    """'' when the oligos differ at exactly index 99 only; otherwise why not.

    Parameters
    ----------
    archaic, modern : str
        The two oligo sequences (upper case).

    Returns
    -------
    str
        ``""``, or the reason they are not a central SNV.
    """
    if len(archaic) != len(modern):
        return f"oligo lengths differ: archaic {len(archaic)}, modern {len(modern)}"
    if len(archaic) <= CENTRE:
        return f"oligos of {len(archaic)} bp have no index {CENTRE}"
    diff = [i for i, (a, m) in enumerate(zip(archaic, modern)) if a != m]
    if diff == [CENTRE]:
        return ""
    shown = ", ".join(map(str, diff[:10])) + (" ..." if len(diff) > 10 else "")
    return f"oligos differ at {len(diff)} index(es) [{shown}], expected only {CENTRE}"
