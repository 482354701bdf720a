"""JASPAR motif baseline: a cell line's known TF motifs scanned with position weight matrices.

Needs no training, so it shows how much of a variant's effect known motifs alone explain. The
output for a sequence is the sum, over the cell line's motif set, of each motif's best log2-odds
score over every window on both strands. Log-odds are not probabilities, so the spec says
``score_kind: diff`` and a variant's score is alt − ref (``regvarbench.score.variant_score``).

Matrices come from pyjaspar's bundled JASPAR SQLite files (no download at run time). A name
resolves, among the release's CORE, human (taxon 9606) matrices, to the one whose name equals it
(case-insensitive); failing that, to a heterodimer naming it as a component (``TAL1`` ->
``TAL1::TCF3``); ties go to the lowest base ID (the factor's first, canonical profile: HNF4A ->
MA0114, not MA1494), at its latest version. A matrix ID (``MA0114.5``) is taken as given. The
spec records the resolved IDs, so a saved model rebuilds the same matrices.

Log-odds: p(b | pos) = (count + pseudo·bg_b) / (N + pseudo) with pseudo = sqrt(N) (Wasserman &
Sandelin 2004, JASPAR's TFBS convention) or a fixed number; log2(p / bg_b), bg uniform unless
given. Weights are rounded to multiples of 2^-12 bit, so every window score is an exact sum even in
float32: scores do not depend on batch size, summation order or BLAS. Windows containing a
non-ACGT base are skipped; a motif without any scorable window contributes its lowest possible
score (finite, so alt − ref stays finite).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from ..dna import one_hot
from ..io import InputError
from ..score_kinds import DIFF
from .base import Adapter

FAMILY = "motif"
SCORE_KIND = DIFF
COLLECTION = "CORE"
SPECIES = "9606"
DEFAULT_RELEASE = "JASPAR2026"
DEFAULT_PSEUDOCOUNT = "sqrt_n"
# Log-odds grid: a score is a sum of at most K grid values below 2^24 grid units in magnitude,
# so float32 adds them exactly, in any order.
QUANTUM = 2.0 ** -12
BATCH_SIZE = 64  # sequences per block of matrix products

# Motif sets per cell line (names resolved in the chosen JASPAR release; see docs/models.md).
CELL_LINE_MOTIFS: dict[str, list[str]] = {
    "HepG2": ["HNF4A", "FOXA2", "CEBPB", "HNF1A"],
    "K562": ["GATA1", "TAL1", "KLF1"],
    "HeLa": ["FOS::JUN", "TEAD1", "CEBPB"],
}


@dataclass(frozen=True)
class Motif:
    """One scanning matrix: its name, JASPAR ID and (L, 4) A/C/G/T counts."""

    name: str
    matrix_id: str
    counts: np.ndarray


def _jaspar(release: str):
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
        raise InputError("the motif family needs pyjaspar (pip install pyjaspar)") from exc
    db = jaspardb()
    if release not in db.get_releases():
        raise InputError(f"JASPAR release {release!r} not in pyjaspar; available: {', '.join(db.get_releases())}")
    return jaspardb(release=release)


def _counts(motif) -> np.ndarray:
    return np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64).T


def _human_core(db) -> list[tuple[str, int, str]]:
    """(base_id, latest version, name) of the release's CORE human matrices (one SQL query:
    pyjaspar's fetch_motifs builds every matrix object and takes ~10 s)."""
    rows = db.conn.execute(
        "SELECT m.BASE_ID, MAX(m.VERSION), m.NAME FROM MATRIX m JOIN MATRIX_SPECIES s ON s.ID = m.ID "
        "WHERE m.COLLECTION = ? AND s.TAX_ID = ? GROUP BY m.BASE_ID", (COLLECTION, SPECIES)).fetchall()
    return [(str(b), int(v), str(n)) for b, v, n in rows]


def _base_number(base_id: str) -> int:
    return int("".join(c for c in base_id if c.isdigit()) or 0)


def resolve_motifs(names: list[str], release: str = DEFAULT_RELEASE) -> list[Motif]:
    """JASPAR matrices for motif names or matrix IDs (rule in the module docstring).

    Parameters
    ----------
    names : list of str
        TF names (``HNF4A``, ``FOS::JUN``) or matrix IDs (``MA0114.5``).
    release : str
        pyjaspar release, e.g. ``JASPAR2026``.

    Returns
    -------
    list of Motif
        One per name, in order; a name keeps the name asked for, a matrix ID gets JASPAR's name.

    Raises
    ------
    InputError
        pyjaspar or the release is missing, a matrix ID is not in the release, or no CORE human
        matrix has the name.
    """
    db = _jaspar(release)
    pool = None
    out = []
    for name in names:
        if "." in name and name[:2].upper() in ("MA", "UN", "PB", "PF", "PH", "CN", "PL", "PO"):
            motif = db.fetch_motif_by_id(name.upper())
            if motif is None:
                raise InputError(f"motif {name!r}: matrix ID not found in {release}")
            out.append(Motif(motif.name, motif.matrix_id, _counts(motif)))
            continue
        if pool is None:
            pool = _human_core(db)
        key = name.upper()
        hits = [p for p in pool if p[2].upper() == key] or \
               [p for p in pool if "::" in p[2] and key in p[2].upper().split("::")]
        if not hits:
            raise InputError(f"motif {name!r}: no {COLLECTION} human matrix of that name in {release}")
        base, version, _ = min(hits, key=lambda p: (_base_number(p[0]), p[0]))
        motif = db.fetch_motif_by_id(f"{base}.{version}")
        out.append(Motif(name, motif.matrix_id, _counts(motif)))
    return out


def log_odds(counts: np.ndarray, background: np.ndarray, pseudocount: str | float = DEFAULT_PSEUDOCOUNT) -> np.ndarray:
    """(L, 4) log2-odds of a count (or probability) matrix, rounded to the QUANTUM grid.

    Parameters
    ----------
    counts : numpy.ndarray of float, shape (L, 4)
        A/C/G/T counts (or probabilities) per position.
    background : numpy.ndarray of float, shape (4,)
        A/C/G/T background probabilities.
    pseudocount : str or float
        ``sqrt_n`` (the square root of each row's total) or a fixed number.

    Returns
    -------
    numpy.ndarray, float64, shape (L, 4)
        log2(p / background), multiples of ``QUANTUM``.

    Raises
    ------
    InputError
        A probability is zero (a zero count with a zero pseudocount).
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=1, keepdims=True)
    pseudo = np.sqrt(n) if pseudocount == "sqrt_n" else float(pseudocount)
    probs = (counts + pseudo * background) / (n + pseudo)
    if (probs <= 0).any():
        raise InputError("motif matrix has a zero probability: use a positive pseudocount")
    return np.round(np.log2(probs / background) / QUANTUM) * QUANTUM


class MotifAdapter(Adapter):
    """Sum over a motif set of the best log-odds (both strands); ``predict`` is vectorised."""

    def __init__(self, motifs: list[Motif], spec: dict[str, Any]) -> None:
        if not motifs:
            raise InputError("motif model: empty motif set")
        self.spec = spec
        self.name = str(spec.get("model_name", "motif_jaspar"))
        self.motifs = motifs
        bg = np.asarray(spec.get("background", [0.25] * 4), dtype=np.float64)
        if bg.shape != (4,) or (bg <= 0).any():
            raise InputError(f"motif model: background must be 4 positive A,C,G,T probabilities, got {bg.tolist()}")
        bg = bg / bg.sum()
        pseudo = spec.get("pseudocount", DEFAULT_PSEUDOCOUNT)
        self.widths = np.array([len(m.counts) for m in motifs])
        self.width = int(self.widths.max())
        # filter bank (K, 4, 2M): motif i forward in column i, its reverse complement in column
        # M + i, zero-padded on the right to the widest motif
        m = len(motifs)
        bank = np.zeros((self.width, 4, 2 * m))
        self.floor = np.zeros(m)
        for i, motif in enumerate(motifs):
            lo = log_odds(motif.counts, bg, pseudo)
            bank[:len(lo), :, i] = lo
            bank[:len(lo), :, m + i] = lo[::-1, ::-1]  # reverse complement: flip positions and A<->T, C<->G
            self.floor[i] = lo.min(axis=1).sum()
        self.bank = bank.astype(np.float32)  # grid values: float32 holds them and their sums exactly

    def predict_per_motif(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """(n, M) best log2-odds of each motif per sequence, both strands.

        Parameters
        ----------
        seqs : list of str
            Upper-case DNA sequences (any lengths; grouped by length internally).
        batch_size : int, optional
            Sequences per block of matrix products; default ``BATCH_SIZE``.

        Returns
        -------
        numpy.ndarray, float64, shape (n, M)
            M = number of motifs; a motif without a scorable window gets its lowest possible score.
        """
        out = np.empty((len(seqs), len(self.motifs)), dtype=np.float64)
        by_length: dict[int, list[int]] = {}
        for i, s in enumerate(seqs):
            by_length.setdefault(len(s), []).append(i)
        step = batch_size or BATCH_SIZE
        for length, idx in by_length.items():
            for start in range(0, len(idx), step):
                rows = idx[start:start + step]
                out[rows] = self._best(one_hot([seqs[i] for i in rows], dtype=np.float32), length)
        return out

    def _best(self, x: np.ndarray, length: int) -> np.ndarray:
        n, k, m = len(x), self.width, len(self.motifs)
        if length == 0:
            return np.tile(self.floor, (n, 1))
        # convolution as K shifted (n, L, 4) @ (4, 2M) products; windows may run off the end
        xt = np.concatenate([x, np.zeros((n, 4, k - 1), dtype=x.dtype)], axis=2).transpose(0, 2, 1).copy()
        scores = np.zeros((n, length, 2 * m), dtype=np.float32)
        for j in range(k):
            scores += xt[:, j:j + length, :] @ self.bank[j]  # exact: see QUANTUM
        both = np.maximum(scores[:, :, :m], scores[:, :, m:]).transpose(0, 2, 1)  # (n, M, L), best strand
        # a window is scorable if it lies within the sequence and every base in it is A/C/G/T
        acgt = np.concatenate([np.zeros((n, 1)), np.cumsum(x.sum(axis=1, dtype=np.float64), axis=1)], axis=1)
        best = np.empty((n, m))
        for i, w in enumerate(self.widths):
            if w > length:
                best[:, i] = self.floor[i]
                continue
            full = (acgt[:, w:] - acgt[:, :-w]) == w  # (n, L - w + 1)
            s = np.where(full, both[:, i, :length - w + 1], -np.inf).max(axis=1)
            best[:, i] = np.where(np.isfinite(s), s, self.floor[i])
        return best

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Sum of the motifs' best log2-odds per sequence, float64, shape (n,) (not a probability).

        Parameters
        ----------
        seqs : list of str
            DNA sequences (any case).
        batch_size : int, optional
            Sequences per block of matrix products; default ``BATCH_SIZE``.

        Returns
        -------
        numpy.ndarray, float64, shape (n,)
        """
        if len(seqs) == 0:
            return np.zeros(0, dtype=np.float64)
        return self.predict_per_motif([s.upper() for s in seqs], batch_size).sum(axis=1)


def build_spec(cell_line: str | None, names: list[str] | None = None, release: str = DEFAULT_RELEASE,
               model_name: str = "motif_jaspar") -> dict[str, Any]:
    """Spec of a motif model: resolved matrix IDs, release, background and score kind.

    Parameters
    ----------
    cell_line : str or None
        Cell line; with ``names`` None it picks the default set of ``CELL_LINE_MOTIFS``.
    names : list of str, optional
        Motif names or matrix IDs.
    release : str
        pyjaspar release.
    model_name : str
        The model's name.

    Returns
    -------
    dict
        The spec (JSON-able), ``motifs`` listing name, matrix_id and length of each resolved matrix.

    Raises
    ------
    InputError
        No names and no default set for the cell line, or a name that does not resolve.
    """
    if names is None:
        if cell_line not in CELL_LINE_MOTIFS:
            raise InputError(f"no default motif set for cell line {cell_line!r} (known: "
                             f"{', '.join(CELL_LINE_MOTIFS)}); pass --motifs NAME,...")
        names = CELL_LINE_MOTIFS[cell_line]
    motifs = resolve_motifs(names, release)
    import pyjaspar
    return {"model_name": model_name, "family": FAMILY, "architecture": "pwm_scan", "cell_line": cell_line,
            "score_kind": SCORE_KIND, "jaspar_release": release, "collection": COLLECTION, "species": SPECIES,
            "motifs": [{"name": m.name, "matrix_id": m.matrix_id, "length": len(m.counts)} for m in motifs],
            "background": [0.25] * 4, "pseudocount": DEFAULT_PSEUDOCOUNT,
            "pyjaspar_version": getattr(pyjaspar, "__version__", "unknown"), "regvarbench_version": __version__}


def _motifs_of_spec(spec: dict[str, Any]) -> list[Motif]:
    """Motifs of a spec: explicit ``counts`` (L rows of A,C,G,T), else matrix IDs, else names."""
    entries = spec.get("motifs")
    if not entries:
        if spec.get("cell_line") in CELL_LINE_MOTIFS:
            entries = CELL_LINE_MOTIFS[spec["cell_line"]]
        else:
            raise InputError("motif model spec needs 'motifs' (names, matrix IDs or count matrices)")
    release = spec.get("jaspar_release", DEFAULT_RELEASE)
    motifs: list[Motif | None] = []
    lookups: list[tuple[int, str]] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"name": entry}
        if entry.get("counts") is not None:
            counts = np.asarray(entry["counts"], dtype=np.float64)
            if counts.ndim != 2 or counts.shape[1] != 4 or len(counts) == 0:
                raise InputError(f"motif {entry.get('name')!r}: counts must be L rows of A,C,G,T values")
            motifs.append(Motif(str(entry.get("name", f"motif{i}")), str(entry.get("matrix_id", "")), counts))
        else:
            motifs.append(None)
            lookups.append((i, entry.get("matrix_id") or entry["name"]))
    if lookups:
        for (i, _), found in zip(lookups, resolve_motifs([key for _, key in lookups], release)):
            name = entries[i] if isinstance(entries[i], str) else entries[i].get("name", found.name)
            motifs[i] = Motif(str(name), found.matrix_id, found.counts)
    return [m for m in motifs if m is not None]


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None = None, device: str = "cpu") -> MotifAdapter:
    """Adapter from a spec (weights and device are unused: PWMs are data, scanning runs on CPU).

    Parameters
    ----------
    spec : dict
        Motif spec: ``motifs`` (names, matrix IDs, or dicts with ``counts``; default the cell line's
        set), ``jaspar_release``, ``background``, ``pseudocount``.
    weights : str, PathLike or None
        Unused.
    device : str
        Unused.

    Returns
    -------
    MotifAdapter

    Raises
    ------
    InputError
        The spec has no motifs (nor a known cell line), bad counts or background, or a name that
        does not resolve.
    """
    spec = {**spec, "family": FAMILY}
    spec.setdefault("score_kind", SCORE_KIND)
    return MotifAdapter(_motifs_of_spec(spec), spec)
