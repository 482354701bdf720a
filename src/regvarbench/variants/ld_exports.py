"""LD exports as users download them: what Ensembl's and LDlink's tables share, and how a locus is built.

A locus is one lead SNP plus its LD partners with r2 >= ``--ld-r2`` (default ``LD_R2``, the
study's 0.8) within ``--ld-window`` bp of the lead (default ``LD_WINDOW``, 500 kb; a partner on
another contig is outside it). The two parsers (``ensembl_ld``, ``ldlink_proxy``) read one file
per lead into the parsed frame plus ``LOCUS_COLUMNS`` and say so with ``LD_EXPORT = True``, on
which prepare-variants applies
:func:`filter_locus` and :func:`fill_alleles`, so that every source row ends up a variant or a
skipped row with one of ``LD_REASONS``:

- ``ld_r2_below``: r2 below ``--ld-r2``; ``ld_outside_window``: farther than ``--ld-window`` bp
  from the lead, or on another contig (the distance is computed from the positions).
- Alleles. An export that gives them (LDlink's ``Alleles`` ``(A/G)``) does not say which one is
  the reference: with a genome the allele equal to the genome bases becomes REF and the others
  ALTs (none equal: as given, and prepare-variants' audit skips the row as ``ref_mismatch``);
  without one the first is REF. An export without them (Ensembl) takes REF and ALT from a VCF of
  the region (``--ld-vcf``): the record whose ``ID`` names the SNP on the same contig, else one
  at the same contig and position without an rsID of its own; its REF is then checked against
  the genome by prepare-variants' allele audit like any other source. No VCF given: skipped as
  ``no_allele_source`` (the detail names the genome's REF when a genome is given); the VCF has
  no such record: ``not_in_vcf``.
- A VCF record or export with several ALTs gives one entry per ALT (``allele_index`` k, named
  ``<dataset>:<row>:<k>``, summary note ``split_alleles``), as for ``format: vcf``.

Locus columns carried into the variants table: ``locus_id`` (the lead's ID), ``snp_id`` (the
row's ID), ``is_lead`` (1 for the lead), ``r2`` (1 for the lead, whose r2 Ensembl prints as
``undefined``), ``distance`` (pos - lead pos, bp, as the export's coordinates give it).
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from ..contracts import LOCUS_COLUMNS
from ..genome import Genome
from ..io import InputError
from . import assemble, parse_float
from .vcf import is_symbolic, read_records

LD_R2 = 0.8  # --ld-r2 default: the study's LD threshold
LD_WINDOW = 500_000  # --ld-window default (bp): the study's
R2_BELOW, OUTSIDE_WINDOW, NO_ALLELE_SOURCE, NOT_IN_VCF = "ld_r2_below", "ld_outside_window", "no_allele_source", \
    "not_in_vcf"
LD_REASONS = [R2_BELOW, OUTSIDE_WINDOW, NO_ALLELE_SOURCE, NOT_IN_VCF]
ALLELES_COLUMN = "export_alleles"  # parsed-frame column: the alleles an export gives ('' when none)
_MISSING_ID = {"", "."}


def assemble_locus(raw: pd.DataFrame, path: str | os.PathLike, *, snp_id: pd.Series, chrom: pd.Series,
                   pos_text: pd.Series, r2_text: pd.Series, lead: int, alleles: list[list[str]] | None) -> pd.DataFrame:
    """The parsed frame of one LD export: standard columns plus ``LOCUS_COLUMNS``.

    Parameters
    ----------
    raw : pandas.DataFrame
        The source rows as read by ``read_delimited`` (n rows).
    path : path-like
        The source file, named in errors.
    snp_id, chrom, pos_text, r2_text : pandas.Series, shape (n,)
        The row's ID, contig, 1-based position and r2 with the lead, as text.
    lead : int
        Index of the lead SNP's row; its r2 is set to 1 whatever the file prints.
    alleles : list of list of str, or None
        The alleles each row gives (unordered), or None when the export gives none.

    Returns
    -------
    pandas.DataFrame
        ``PARSED_COLUMNS`` with empty ``ref``/``alt`` (filled by :func:`fill_alleles`), plus
        ``LOCUS_COLUMNS`` and ``ALLELES_COLUMN``; rows with an unreadable ID, position or r2 are
        ``malformed_row``.
    """
    n = len(raw)
    if n == 0:
        raise InputError(f"{path}: no data rows (an LD export starts with its lead SNP)")
    r2, bad_r2 = parse_float(r2_text)
    r2[lead], bad_r2[lead] = 1.0, False
    bad_r2 = bad_r2 | np.isnan(r2) | (r2 < 0) | (r2 > 1.0 + 1e-9)
    ids = [str(s).strip() for s in snp_id]
    bad_allele = np.zeros(n, dtype=bool) if alleles is None else np.array([not a for a in alleles], dtype=bool)
    out = assemble(raw, path, chrom=chrom, pos_text=pos_text, ref=pd.Series([""] * n), alt=pd.Series([""] * n),
                   effect=None, pvalue_text=None, alleles_optional=True,
                   extra_bad={"r2": bad_r2, "id": np.array([i == "" for i in ids], dtype=bool),
                              "alleles": bad_allele})
    if out["skip_reason"].iloc[lead]:
        raise InputError(f"{path}: the lead SNP (data row {lead + 1}, {ids[lead]!r}) is unreadable: "
                         f"{out['skip_detail'].iloc[lead]}")
    lead_pos = int(out["pos"].iloc[lead])
    pos = out["pos"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    out["locus_id"] = ids[lead]
    out["snp_id"] = ids
    out["is_lead"] = (np.arange(n) == lead).astype(np.int64)
    out["r2"] = np.round(np.where(bad_r2, np.nan, r2), 6)
    out["distance"] = pd.array(np.where(np.isnan(pos), 0, pos - lead_pos).astype(np.int64), dtype="Int64")
    out.loc[np.isnan(pos), "distance"] = pd.NA
    out[ALLELES_COLUMN] = ["/".join(a) for a in alleles] if alleles is not None else ""
    return out


def filter_locus(parsed: pd.DataFrame, min_r2: float = LD_R2, window: int = LD_WINDOW) -> pd.DataFrame:
    """Mark partners below the r2 threshold or outside the window around the lead as skipped.

    Parameters
    ----------
    parsed : pandas.DataFrame
        A parsed LD export (``assemble_locus``), n rows.
    min_r2 : float
        Partners need r2 >= ``min_r2`` (``--ld-r2``).
    window : int
        Partners need |pos - lead pos| <= ``window`` bp on the lead's contig (``--ld-window``).

    Returns
    -------
    pandas.DataFrame, n rows
        A copy with ``skip_reason``/``skip_detail`` set to ``ld_r2_below`` or ``ld_outside_window``
        on the rows that fail (rows already skipped keep their reason).
    """
    if not 0 <= min_r2 <= 1:
        raise InputError(f"--ld-r2 must be within [0, 1], got {min_r2}")
    if window < 0:
        raise InputError(f"--ld-window must be >= 0 bp, got {window}")
    out = parsed.copy()
    lead = int(np.flatnonzero(out["is_lead"].to_numpy() == 1)[0])
    lead_chrom, lead_id = _contig_key(out["chrom"].iloc[lead]), out["snp_id"].iloc[lead]
    reason, detail = out["skip_reason"].tolist(), out["skip_detail"].tolist()
    for i, (chrom, dist, r2) in enumerate(zip(out["chrom"], out["distance"], out["r2"])):
        if reason[i]:
            continue
        if _contig_key(chrom) != lead_chrom:
            reason[i], detail[i] = OUTSIDE_WINDOW, f"on contig {chrom}, lead {lead_id} on {out['chrom'].iloc[lead]}"
        elif abs(int(dist)) > window:
            reason[i], detail[i] = OUTSIDE_WINDOW, f"{abs(int(dist))} bp from lead {lead_id} > --ld-window {window}"
        elif r2 < min_r2:
            reason[i], detail[i] = R2_BELOW, f"r2 {r2:g} with lead {lead_id} < --ld-r2 {min_r2:g}"
    out["skip_reason"], out["skip_detail"] = reason, detail
    return out


class RegionVCF:
    """The records of a VCF of the region, looked up by ID and by (contig, position).

    Parameters
    ----------
    path : path-like
        Plain, gzipped or bgzipped VCF (read like ``format: vcf``; malformed records are ignored
        here and symbolic ALTs dropped).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = path
        records = read_records(path)
        self._by_id: dict[tuple[str, str], list[tuple[int, str, list[str]]]] = {}
        self._by_pos: dict[tuple[str, int], list[tuple[str, str, list[str]]]] = {}
        records = records[records["_malformed"] == ""]
        for (chrom, pos, vid, ref), group in records.groupby(["chrom", "pos", "id", "ref"], sort=False):
            alts = [a.upper() for a in group["alt"] if not is_symbolic(a)]
            if not alts or not re.fullmatch(r"\d+", str(pos)):
                continue
            key = _contig_key(chrom)
            entry_ref = str(ref).upper()
            for one in str(vid).split(";"):
                if one not in _MISSING_ID:
                    self._by_id.setdefault((key, one), []).append((int(pos), entry_ref, alts))
            self._by_pos.setdefault((key, int(pos)), []).append((str(vid), entry_ref, alts))

    def lookup(self, chrom: str, pos: int, snp_id: str) -> tuple[int, str, list[str]] | None:
        """The VCF's (pos, REF, ALTs) for a SNP: by ID on its contig, else at its position.

        Parameters
        ----------
        chrom : str
            Contig (``chr9`` and ``9`` are the same).
        pos : int
            1-based position in the export.
        snp_id : str
            The export's ID (e.g. an rsID).

        Returns
        -------
        tuple (int, str, list of str) or None
            The record's position, REF and ALTs; None when no record fits (a record at the
            position that carries another ID is another variant, never taken).
        """
        key = _contig_key(chrom)
        if snp_id not in _MISSING_ID and (key, snp_id) in self._by_id:
            return self._by_id[(key, snp_id)][0]
        for vid, ref, alts in self._by_pos.get((key, int(pos)), []):
            if vid in _MISSING_ID or snp_id in vid.split(";"):
                return int(pos), ref, alts
        return None


def fill_alleles(parsed: pd.DataFrame, genome: Genome | None, vcf: RegionVCF | None) -> pd.DataFrame:
    """REF and ALT for every row of an LD export still kept: from the export, else the VCF.

    Parameters
    ----------
    parsed : pandas.DataFrame
        A parsed (and filtered) LD export, n rows.
    genome : Genome or None
        Orients an export's unordered alleles (the one equal to the genome becomes REF) and
        names the genome's REF in the detail of rows without an allele source.
    vcf : RegionVCF or None
        Alleles for exports without them (``--ld-vcf``).

    Returns
    -------
    pandas.DataFrame, n or more rows
        One entry per ALT (columns ``allele_index``, ``n_alts`` added; entries of one row share
        its ``row``), ``ref``/``alt`` filled, rows without alleles skipped as
        ``no_allele_source`` or ``not_in_vcf`` (see the module docstring).
    """
    entries = []
    for rec in parsed.to_dict("records"):
        if rec["skip_reason"]:
            entries.append(rec | {"allele_index": 1, "n_alts": 1})
            continue
        given = [a.upper() for a in str(rec[ALLELES_COLUMN]).split("/") if a]
        if given:
            ref, alts = _orient(given, rec["chrom"], int(rec["pos"]), genome)
            pos = int(rec["pos"])
        else:
            found = vcf.lookup(rec["chrom"], int(rec["pos"]), rec["snp_id"]) if vcf is not None else None
            if found is None:
                entries.append(rec | {"allele_index": 1, "n_alts": 1, **_no_alleles(rec, genome, vcf)})
                continue
            pos, ref, alts = found
        for k, alt in enumerate(alts, start=1):
            entries.append(rec | {"pos": pos, "ref": ref, "alt": alt, "allele_index": k, "n_alts": len(alts)})
    out = pd.DataFrame(entries, columns=[*parsed.columns, "allele_index", "n_alts"])
    out["pos"] = pd.array(out["pos"], dtype="Int64")
    out["distance"] = pd.array(out["distance"], dtype="Int64")
    for col in ("allele_index", "n_alts", "row", "is_lead"):
        out[col] = out[col].astype(np.int64)
    return out


def _orient(alleles: list[str], chrom: str, pos: int, genome: Genome | None) -> tuple[str, list[str]]:
    """(REF, ALTs) of an export's unordered alleles: the one equal to the genome first."""
    if genome is not None and genome.resolve(chrom) is not None:
        for i, allele in enumerate(alleles):
            if genome.fetch(chrom, pos - 1, pos - 1 + len(allele)) == allele:
                return allele, alleles[:i] + alleles[i + 1:]
    return alleles[0], alleles[1:] or [""]


def _no_alleles(rec: dict, genome: Genome | None, vcf: RegionVCF | None) -> dict:
    """skip_reason and skip_detail of a row neither the export nor the VCF gives alleles for."""
    where = f"{rec['snp_id']} at {rec['chrom']}:{rec['pos']}"
    ref = ""
    if genome is not None and genome.resolve(rec["chrom"]) is not None:
        ref = f"REF {genome.fetch(rec['chrom'], int(rec['pos']) - 1, int(rec['pos']))} from the genome, "
    if vcf is None:
        return {"skip_reason": NO_ALLELE_SOURCE,
                "skip_detail": f"{where}: {ref}no ALT: the export gives no alleles and no VCF of the region "
                               f"was given (--ld-vcf)"}
    return {"skip_reason": NOT_IN_VCF, "skip_detail": f"{where}: {ref}no record with this ID or position in {vcf.path}"}


def _contig_key(chrom) -> str:
    """A contig name with any ``chr`` prefix removed (``chr9`` and ``9`` meet)."""
    text = str(chrom).strip()
    return text[3:] if text.lower().startswith("chr") else text


def split_location(location: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Contig and start of Ensembl-style ``chrom:start-end`` (or ``chrom:pos``) texts.

    Parameters
    ----------
    location : pandas.Series of str, shape (n,)

    Returns
    -------
    (pandas.Series, pandas.Series), shape (n,) each
        Contig and start as text; '' where the text has no ``:`` (marked unreadable downstream).
    """
    chroms, starts = [], []
    for text in location:
        chrom, sep, span = str(text).strip().rpartition(":")
        if not sep or not chrom:
            chroms.append(""), starts.append("")
            continue
        chroms.append(chrom)
        starts.append(span.split("-")[0].strip())
    return pd.Series(chroms, index=location.index, dtype=object), pd.Series(starts, index=location.index, dtype=object)


__all__ = ["LD_R2", "LD_WINDOW", "LOCUS_COLUMNS", "LD_REASONS", "assemble_locus", "filter_locus",
           "RegionVCF", "fill_alleles", "split_location"]
