"""Allele geometry: the edit a REF/ALT pair makes, its class, and where its windows lie.

One convention for every model family (docs/contracts.md, "Windows"):

- The edit: shared leading bases of REF and ALT (the VCF anchor base) are removed first, then
  shared trailing bases; what remains replaces ``len(ref)`` genome bases from 0-based ``start``
  by ``alt`` (an empty ``ref``: an insertion before ``start``; an empty ``alt``: a deletion).
  No left-alignment: an indel in a repeat stays where the source puts it.
- The class, from the edit's lengths r (ref) and a (alt): snv (1, 1), mnv (equal, > 1),
  insertion (0, > 0), deletion (> 0, 0), delins (both > 0, different).
- Each allele sits at the centre of its own window of ``length`` bases, flanked by the genome
  on both sides: the allele's base ``m // 2`` (m its length; for an even m the right one of its
  two central bases) at window index ``length // 2``, i.e. ``length // 2 - m // 2`` genome bases
  before it and the rest after it. An empty allele (the ref of an insertion, the alt of a
  deletion) leaves ``length // 2`` bases before the junction. For an SNV this is the window
  [pos - 1 - length // 2, pos - 1 - length // 2 + length) of the genome. A deletion's alt window
  so takes ``r // 2`` more genome bases on the left and ``r - r // 2`` on the right than its
  ref window; an insertion's alt window gives up ``a // 2`` on the left and ``a - a // 2`` on the
  right. Both windows are always ``length`` long, neither is N-padded for a length change, and
  the flanks the model sees are the same genome on both sides of the allele.
"""

from __future__ import annotations

from typing import NamedTuple

DEFAULT_WINDOW_LENGTH = 1000  # make-windows --length and prepare-variants --window-length
VARIANT_CLASSES = ("snv", "mnv", "insertion", "deletion", "delins")
LENGTH_CHANGING = frozenset({"insertion", "deletion", "delins"})
_ACGT = frozenset("ACGT")


class Edit(NamedTuple):
    """What a variant does to the genome: ``ref`` bases from 0-based ``start`` become ``alt``."""

    start: int
    ref: str
    alt: str


class Spans(NamedTuple):
    """Genome spans (0-based, half-open, on one contig) of a variant's two windows.

    The reference window is ``genome[ref_start, ref_end)`` (``ref_end - ref_start`` = length);
    the alternative window is ``genome[alt_start, edit.start) + edit.alt + genome[edit.start +
    len(edit.ref), alt_end)``.
    """

    ref_start: int
    ref_end: int
    alt_start: int
    alt_end: int


def is_acgt(allele: str) -> bool:
    """True for a non-empty allele of A, C, G and T only.

    Parameters
    ----------
    allele : str
        An allele (upper case).

    Returns
    -------
    bool
    """
    if len(allele) == 1:  # most alleles: one base
        return allele in _ACGT
    return bool(allele) and set(allele) <= _ACGT


def trim_alleles(pos: int, ref: str, alt: str) -> Edit:
    """The edit of a REF/ALT pair at 1-based ``pos``: shared leading, then trailing bases removed.

    Parameters
    ----------
    pos : int
        1-based position of REF's first base.
    ref, alt : str
        The alleles as given (VCF style with an anchor base, or bare).

    Returns
    -------
    Edit
        0-based start of the changed reference bases and the changed bases of each allele.
    """
    lead = 0
    while lead < min(len(ref), len(alt)) and ref[lead] == alt[lead]:
        lead += 1
    r, a = ref[lead:], alt[lead:]
    tail = 0
    while tail < min(len(r), len(a)) and r[-1 - tail] == a[-1 - tail]:
        tail += 1
    return Edit(int(pos) - 1 + lead, r[:len(r) - tail], a[:len(a) - tail])


def classify(ref: str, alt: str) -> str:
    """The variant class of a REF/ALT pair (one of ``VARIANT_CLASSES``; '' when they are equal).

    Parameters
    ----------
    ref, alt : str
        The alleles (A/C/G/T).

    Returns
    -------
    str
        ``snv``, ``mnv``, ``insertion``, ``deletion``, ``delins`` or ``""``, after trimming shared
        bases (``trim_alleles``).
    """
    edit = trim_alleles(1, ref, alt)
    r, a = len(edit.ref), len(edit.alt)
    if r == a:
        return "" if r == 0 else "snv" if r == 1 else "mnv"
    return "insertion" if r == 0 else "deletion" if a == 0 else "delins"


def edit_length(ref: str, alt: str) -> int:
    """The longer of the two edited alleles (bases), which must fit in a window.

    Parameters
    ----------
    ref, alt : str
        The alleles.

    Returns
    -------
    int
        ``max(len(edit.ref), len(edit.alt))`` of the trimmed edit (``trim_alleles``).
    """
    edit = trim_alleles(1, ref, alt)
    return max(len(edit.ref), len(edit.alt))


def window_spans(edit: Edit, length: int) -> Spans:
    """Where the reference and alternative windows of ``edit`` lie in the genome.

    Parameters
    ----------
    edit : Edit
        From :func:`trim_alleles`; each allele at most ``length`` bases.
    length : int
        Window length.

    Returns
    -------
    Spans
        Spans may reach beyond a contig (negative start, end past its length): the caller pads
        or skips.
    """
    r, a = len(edit.ref), len(edit.alt)
    if max(r, a) > length:
        raise ValueError(f"an allele of {max(r, a)} bases does not fit a window of {length}")
    half = length // 2
    ref_start = edit.start - (half - r // 2)
    alt_left = half - a // 2
    return Spans(ref_start, ref_start + length, edit.start - alt_left, edit.start + r + (length - alt_left - a))


def spans_fit(spans: Spans, size: int) -> bool:
    """True when both windows lie within a contig of ``size`` bases.

    Parameters
    ----------
    spans : Spans
        The windows' genome spans (``window_spans``).
    size : int
        Contig length (bases).

    Returns
    -------
    bool
    """
    return min(spans.ref_start, spans.alt_start) >= 0 and max(spans.ref_end, spans.alt_end) <= size
