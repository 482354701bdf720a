"""Liftover of parsed variant rows from a dataset's genome build to the run's genome build.

A dataset whose samplesheet ``genome_build`` differs from the run's build (``--target-build``)
is lifted with a user-supplied UCSC chain file (``--chain``, plain or gzipped) through pyliftover,
which reads only that local file (it never downloads anything when given a file name). Each SNV is
lifted at its own position:

- no chain block covers it, or its contig is absent from the chain: skipped, ``liftover_unmapped``;
- it maps to more than one place: skipped, ``liftover_multiple``;
- it maps onto the minus strand of the target: kept, ref and alt complemented;
- it maps onto another contig: kept (as UCSC liftOver does); the source contig stays recorded.

Indels and multi-base substitutions are not lifted (their span may break across chain blocks):
skipped, ``liftover_not_snv``.

Kept rows carry ``source_chrom``, ``source_pos`` and ``source_strand`` (``-`` = alleles were
complemented). Whether the lifted reference base still matches is checked by prepare-variants'
usual genome check; a lifted row that fails it is skipped as ``liftover_ref_changed``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..dna import reverse_complement
from ..io import InputError

LIFTOVER_REASONS = ["liftover_unmapped", "liftover_multiple", "liftover_ref_changed", "liftover_not_snv"]
SOURCE_COLUMNS = ["source_chrom", "source_pos", "source_strand"]
UNSPECIFIED = {"", "unspecified", "unknown", "na", "none", "null"}
# common synonyms, so that a GRCh38 genome and an hg38 dataset are not "different builds"
_ALIASES = {"grch37": "hg19", "b37": "hg19", "hs37d5": "hg19", "grch38": "hg38", "hg38analysisset": "hg38",
            "grcm38": "mm10", "grcm39": "mm39"}
_BASES = set("ACGT")


def _acgt(allele: str) -> bool:
    return bool(allele) and set(allele) <= _BASES


def canonical_build(name: str | None) -> str | None:
    """Lower-case build name with common synonyms merged (GRCh38 -> hg38); None when unspecified.

    Parameters
    ----------
    name : str or None
        A genome build name, e.g. ``GRCh38``, ``hg19`` or ``unspecified``.

    Returns
    -------
    str or None
        The canonical name (``hg19``, ``hg38``, or the lower-cased alphanumeric name), None for
        an unspecified build.
    """
    key = re.sub(r"[^a-z0-9]", "", str(name or "").lower())
    if key in UNSPECIFIED:
        return None
    return _ALIASES.get(key, key)


def needs_liftover(source_build: str | None, target_build: str | None) -> bool:
    """True when both builds are given and differ (after merging synonyms).

    Parameters
    ----------
    source_build, target_build : str or None
        The dataset's and the genome's build names.

    Returns
    -------
    bool
    """
    source, target = canonical_build(source_build), canonical_build(target_build)
    return source is not None and target is not None and source != target


class ChainLifter:
    """Single-position liftover with a local UCSC chain file."""

    def __init__(self, path: str | Path):
        from pyliftover import LiftOver  # imported here: only runs that lift need it

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"chain file not found: {self.path}")
        try:
            self._lo = LiftOver(str(self.path))
        except Exception as exc:  # pyliftover raises bare Exceptions for malformed chains
            raise InputError(f"cannot read chain file {self.path}: {exc}") from exc
        self.contigs = set(self._lo.chain_file.chain_index)
        if not self.contigs:
            raise InputError(f"chain file {self.path} holds no chains")

    def resolve(self, chrom: str) -> str | None:
        """The chain's source name for a contig written either way (chr1 / 1), or None.

        Parameters
        ----------
        chrom : str
            Contig name, with or without ``chr``.

        Returns
        -------
        str or None
            The name as the chain file spells it.
        """
        chrom = str(chrom)
        bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
        for cand in (chrom, bare, "chr" + bare):
            if cand in self.contigs:
                return cand
        return None

    def lift(self, chrom: str, pos: int) -> tuple[str, int, str] | tuple[None, str, str]:
        """(target chrom, 1-based target pos, target strand), or (None, reason, detail).

        Parameters
        ----------
        chrom : str
            Source contig, named either way (``resolve``).
        pos : int
            1-based source position.

        Returns
        -------
        tuple
            ``(chrom, pos, strand)`` on success; ``(None, reason, detail)`` with reason
            ``liftover_unmapped`` or ``liftover_multiple`` otherwise.
        """
        name = self.resolve(chrom)
        if name is None:
            return None, "liftover_unmapped", f"contig {chrom} not in chain file {self.path.name}"
        hits = self._lo.convert_coordinate(name, int(pos) - 1) or []
        if not hits:
            return None, "liftover_unmapped", f"{chrom}:{pos} in no chain block of {self.path.name}"
        if len(hits) > 1:
            places = ", ".join(f"{c}:{p + 1}({s})" for c, p, s, _ in hits[:3])
            return None, "liftover_multiple", f"{chrom}:{pos} maps to {len(hits)} places: {places}"
        target, tpos, strand, _ = hits[0]
        return target, int(tpos) + 1, strand


def lift_rows(parsed: pd.DataFrame, lifter: ChainLifter) -> pd.DataFrame:
    """A copy of the parsed rows in target coordinates, with SOURCE_COLUMNS and a ``lifted`` flag.

    Rows already skipped by the parser and rows with alleles other than A/C/G/T are left as they
    are (not lifted; the usual checks name their reason); indels and MNVs are skipped
    (``liftover_not_snv``); rows that fail to lift get skip_reason/detail.

    Parameters
    ----------
    parsed : pandas.DataFrame
        A parser's output (``PARSED_COLUMNS``).
    lifter : ChainLifter
        The chain from the dataset's build to the genome's.

    Returns
    -------
    pandas.DataFrame
        The rows of ``parsed``, with ``chrom``/``pos``/``ref``/``alt`` lifted (alleles reverse-complemented
        on the ``-`` strand), ``skip_reason``/``skip_detail`` updated, plus ``SOURCE_COLUMNS`` and ``lifted`` (bool).
    """
    out = parsed.copy()
    n = len(out)
    chrom = out["chrom"].astype(str).to_numpy(dtype=object).copy()
    pos = out["pos"].to_numpy().copy()
    ref = out["ref"].astype(str).to_numpy(dtype=object).copy()
    alt = out["alt"].astype(str).to_numpy(dtype=object).copy()
    reason = out["skip_reason"].to_numpy(dtype=object).copy()
    detail = out["skip_detail"].to_numpy(dtype=object).copy()
    strand = np.full(n, "", dtype=object)
    lifted = np.zeros(n, dtype=bool)
    for i in range(n):
        if reason[i] or not _acgt(ref[i]) or not _acgt(alt[i]) or not pos[i] >= 1:
            continue  # the usual checks name the reason
        if ref[i] not in _BASES or alt[i] not in _BASES:
            reason[i], detail[i] = "liftover_not_snv", f"ref={ref[i]} alt={alt[i]}: only SNVs are lifted over"
            continue
        hit = lifter.lift(chrom[i], pos[i])
        if hit[0] is None:
            reason[i], detail[i] = hit[1], hit[2]
            continue
        chrom[i], pos[i], strand[i] = hit
        if strand[i] == "-":
            ref[i], alt[i] = reverse_complement(ref[i]), reverse_complement(alt[i])
        lifted[i] = True
    out["source_chrom"] = out["chrom"].astype(str)
    out["source_pos"] = out["pos"]
    out["source_strand"] = strand
    out["chrom"], out["pos"], out["ref"], out["alt"] = chrom, pos, ref, alt
    out["skip_reason"], out["skip_detail"] = reason, detail
    out["lifted"] = lifted
    return out
