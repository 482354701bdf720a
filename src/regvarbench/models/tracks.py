"""Genomic-track models (Enformer, Borzoi): one-shot enhancer scores from selected output tracks.

Both families use the PyTorch ports on PyPI (enformer-pytorch, borzoi-pytorch), whose models are
``transformers.PreTrainedModel`` subclasses: a hub id goes through ``from_pretrained`` (weights
cached by huggingface_hub), and so does a local directory holding ``config.json`` plus the weights
(Enformer: ``pytorch_model.bin``, since safetensors refuses its shared stem tensors; Borzoi:
``model.safetensors``).

The enhancer score of a sequence is the sum, over the cell line's selected tracks (the catalogue's
``tracks`` column, e.g. ``HepG2:27,91,234;K562:121``), of the predictions in the central output
bins overlapping the sequence. A variant window (1 kb) sits at the centre of the model's input
length (its base ``len // 2`` at index ``input_length // 2``, as ``dna.fit_length`` places it):

- with a genome (``score --genome``, and windows carrying ``chrom``/``window_start``), the input
  is the genome around the window, ``genome[centre - L/2, centre + L/2)`` with the window's own
  bases (ref or alt) pasted over its span and N beyond the contig ends (``flanked_input``), so the
  model sees the variant in its chromosomal context, as it was trained. A ``-`` row (make-windows
  --reverse-complement) gets the reverse complement of its ``+`` row's whole input, so score's
  strand averaging is Enformer's forward/reverse-complement averaging with flanks;
- otherwise the window is N-padded on both sides (all-zero one-hot columns): the model sees the
  element alone, as in an MPRA, and ``score`` warns that flanks are missing.

Inputs are built per batch, never all at once (one input is 196-524 kb). The outputs are
non-negative coverage predictions (softplus), so the variant score is log2(alt / ref)
(``score_kind: study``: log2(alt / ref), ``regvarbench.score_kinds``).

Every forward pass has the same batch shape (short batches are filled with copies of their first
row), so a sequence's output does not depend on which sequences share its batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..dna import fit_length, one_hot, reverse_complement
from ..genome import Genome
from ..io import InputError
from ..score_kinds import STUDY
from .base import Adapter
from .unavailable import ModelUnavailableError, first_line

SCORE_KIND = STUDY  # log2(alt / ref) of the track sums, no epsilon
DEFAULT_BATCH_SIZE = 2  # inputs are 196-524 kb: larger batches only cost memory


@dataclass(frozen=True)
class TrackFamily:
    """What differs between the ports: input length, bin width, output layout."""

    name: str
    input_length: int  # bp the published model reads
    source: str  # published weights on the Hugging Face hub


ENFORMER = TrackFamily("enformer", 196_608, "EleutherAI/enformer-official-rough")
BORZOI = TrackFamily("borzoi", 524_288, "johahi/borzoi-replicate-0")
TRACK_FAMILIES = {f.name: f for f in (ENFORMER, BORZOI)}


def parse_tracks(text: str | list[int] | None, cell_line: str | None) -> list[int]:
    """Track indices for a cell line from ``CELL:i,j;CELL:k`` (or a bare ``i,j`` for any cell line).

    Parameters
    ----------
    text : str, list of int or None
        ``CELL:i,j;CELL:k`` groups, a bare ``i,j``, or a list of indices (returned as ints unchecked).
    cell_line : str or None
        The cell line whose group is read.

    Returns
    -------
    list of int
        Track indices, in the order given.

    Raises
    ------
    InputError
        Empty text, a malformed group or index, no group for the cell line, or no non-negative index.
    """
    if isinstance(text, list):
        return [int(i) for i in text]
    if not text or not str(text).strip():
        raise InputError("a track model needs its tracks (catalogue column 'tracks', e.g. 'HepG2:27,91;K562:121')")
    text = str(text).strip()
    if ":" not in text:
        groups = {None: text}
    else:
        groups = {}
        for part in filter(None, (p.strip() for p in text.split(";"))):
            cell, sep, idx = part.partition(":")
            if not sep:
                raise InputError(f"tracks {text!r}: each group must look like CELL:i,j (got {part!r})")
            groups[cell.strip()] = idx
        if cell_line not in groups:
            raise InputError(f"tracks {text!r} name no tracks for cell line {cell_line!r} "
                             f"(has: {', '.join(map(str, groups))})")
    try:
        out = [int(i) for i in groups.get(cell_line, groups.get(None, "")).split(",") if i.strip()]
    except ValueError as exc:
        raise InputError(f"tracks {text!r}: indices must be integers ({exc})") from exc
    if not out or min(out) < 0:
        raise InputError(f"tracks {text!r}: need at least one non-negative track index for {cell_line!r}")
    return out


def build_spec(family: str, model_name: str, cell_line: str, tracks: str | list[int], source: str | None = None,
               input_length: int | None = None) -> dict[str, Any]:
    """The spec.json of a one-shot track model for one cell line.

    Parameters
    ----------
    family : str
        ``enformer`` or ``borzoi`` (a key of ``TRACK_FAMILIES``).
    model_name : str
        The model's name.
    cell_line : str
        Cell line whose tracks are summed.
    tracks : str or list of int
        Track indices (:func:`parse_tracks`).
    source : str, optional
        Hub id or local directory; default the family's published weights.
    input_length : int, optional
        Model input length in bp; default the family's.

    Returns
    -------
    dict
        The spec (``score_kind`` ``study``, ``trainable`` False).

    Raises
    ------
    InputError
        The tracks are missing, malformed or name none for the cell line.
    """
    fam = TRACK_FAMILIES[family]
    return {"model_name": model_name, "family": family, "source": source or fam.source, "cell_line": cell_line,
            "tracks": parse_tracks(tracks, cell_line), "input_length": int(input_length or fam.input_length),
            "score_kind": SCORE_KIND, "trainable": False}


def load_network(family: str, source: str, model_name: str) -> torch.nn.Module:
    """The port's model from a hub id or a local directory; ModelUnavailableError when it cannot be had.

    Parameters
    ----------
    family : str
        ``enformer`` (enformer-pytorch) or anything else for ``borzoi`` (borzoi-pytorch).
    source : str
        Hub id or local directory.
    model_name : str
        Name used in the error.

    Returns
    -------
    torch.nn.Module
        The port's model.

    Raises
    ------
    ModelUnavailableError
        The weights cannot be loaded (not found, offline, malformed hub id).
    """
    try:
        if family == "enformer":
            from enformer_pytorch import from_pretrained  # sets TF-gamma positions for the official weights
            return from_pretrained(source)
        from borzoi_pytorch import Borzoi
        return Borzoi.from_pretrained(source)
    except (OSError, ValueError) as exc:  # not found / offline (OSError), malformed hub id (ValueError)
        raise ModelUnavailableError(model_name, source, first_line(exc)) from exc


def input_maker(seqs: list[str], length: int, loci: list[tuple[str, int, str]] | None = None,
                genome: Genome | None = None) -> Callable[[int], str]:
    """The ``length``-bp model input of window ``i``, built on demand (one batch at a time).

    Parameters
    ----------
    seqs : list[str]
        The windows as make-windows wrote them.
    length : int
        The model's input length.
    loci : list of (chrom, window_start, strand) or (chrom, window_start, strand, window_end), optional
        Each window's locus; with ``genome`` the input is the window in its genome flanks
        (:func:`flanked_input`), without them the window N-padded or centre-cropped (``fit_length``).
        ``window_end`` (default ``window_start + len(seq)``) is where the right flank starts: an
        indel's alt window spans more or less genome than its length.
    genome : Genome, optional
        Where the flanks come from.

    Returns
    -------
    callable
        ``make(i) -> str``.
    """
    if genome is None:
        return lambda i: fit_length(seqs[i].upper(), length)
    if loci is None or len(loci) != len(seqs):
        raise ValueError(f"{len(seqs)} sequences but {0 if loci is None else len(loci)} loci")
    return lambda i: flanked_input(genome, seqs[i], *loci[i][:3], length, *loci[i][3:4])


def flanked_input(genome: Genome, seq: str, chrom: str, window_start: int, strand: str, length: int,
                  window_end: int | None = None) -> str:
    """The ``length``-bp model input of a window at ``window_start`` (0-based) on ``chrom``.

    ``seq`` is the window as make-windows wrote it (reverse-complemented on a ``-`` row). The
    forward window replaces the genome over its span [window_start, window_end) (default
    ``window_end = window_start + len(seq)``; an indel's alt window spans more or less), so an
    alt allele is seen in its flanks: the left flank ends at ``window_start``, the right one
    starts at ``window_end``. The input is reverse-complemented whole for a ``-`` row. A window at
    least ``length`` long is centre-cropped (no flanks needed).

    Parameters
    ----------
    genome : Genome
        Where the flanks come from.
    seq : str
        The window (any case).
    chrom : str
        Contig of the window.
    window_start : int
        0-based start of the window's forward span.
    strand : str
        ``+`` or ``-``.
    length : int
        The model's input length.
    window_end : int, optional
        End of the forward span on the genome.

    Returns
    -------
    str
        ``length`` upper-case bases (N beyond the contig ends).

    Raises
    ------
    InputError
        ``strand`` is neither ``+`` nor ``-``, or (when flanks are needed) ``chrom`` is not in the genome.
    """
    if strand not in ("+", "-"):
        raise InputError(f"strand must be '+' or '-', got {strand!r}")
    seq = seq.upper()
    forward = reverse_complement(seq) if strand == "-" else seq
    n = len(forward)
    if n >= length:
        x = fit_length(forward, length)
    else:
        name = genome.resolve(chrom)
        if name is None:
            raise InputError(f"contig {chrom!r} of the windows not in genome {genome.path}")
        left = length // 2 - n // 2  # the window's first base, as fit_length places it
        start = int(window_start)
        end = start + n if window_end is None else int(window_end)
        x = genome.fetch(name, start - left, start) + forward + genome.fetch(name, end, end + length - left - n)
    return reverse_complement(x) if strand == "-" else x


class TrackAdapter(Adapter):
    """Enhancer score = sum of the selected tracks over the central bins covering the sequence."""

    uses_genome_context = True  # score --genome: predict_in_context embeds windows in their flanks

    def __init__(self, model: torch.nn.Module, spec: dict[str, Any], device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.spec = spec
        self.family = spec["family"]
        self.name = str(spec.get("model_name", self.family))
        self.device = device
        self.input_length = int(spec["input_length"])
        self.tracks = torch.as_tensor([int(t) for t in spec["tracks"]], dtype=torch.long)
        self.batch_size = int(spec.get("batch_size") or DEFAULT_BATCH_SIZE)
        if self.family == "enformer":
            self.bin_size = 2 ** int(model.config.num_downsamples)
            n_tracks = int(model.config.output_heads[spec.get("head", "human")])
        else:
            self.bin_size = 32  # Borzoi's U-net returns 32-bp bins
            n_tracks = int(model.human_head.out_channels)
        if int(self.tracks.max()) >= n_tracks:
            raise InputError(f"model {self.name}: track index {int(self.tracks.max())} out of range "
                             f"(the model predicts {n_tracks} tracks)")

    def central_bins(self, n_bins: int, length: int) -> slice:
        """Output bins (centred on the input centre) overlapping the central ``length`` bp.

        Parameters
        ----------
        n_bins : int
            Number of output bins of the model.
        length : int
            Length of the sequence in bp (capped at the input length).

        Returns
        -------
        slice
            Bins ``[first, last)``, clipped to ``[0, n_bins)``.
        """
        half = min(length, self.input_length) / 2
        first = math.floor(n_bins / 2 - half / self.bin_size)
        last = math.ceil(n_bins / 2 + half / self.bin_size)
        return slice(max(first, 0), min(last, n_bins))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, tracks, bins) predictions for a (batch, 4, length) one-hot tensor.

        Parameters
        ----------
        x : torch.Tensor, float32, shape (batch, 4, length)
            One-hot inputs (A, C, G, T rows) of the model's input length.

        Returns
        -------
        torch.Tensor, shape (batch, tracks, bins)
        """
        if self.family == "enformer":
            return self.model(x.transpose(1, 2), head=self.spec.get("head", "human")).transpose(1, 2)
        return self.model(x)

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Summed selected-track predictions (>= 0), float64, shape (n,), of N-padded sequences.

        Parameters
        ----------
        seqs : list of str
            DNA windows, N-padded around their centre (or centre-cropped) to ``input_length``.
        batch_size : int, optional
            Rows per forward pass (at most the spec's ``batch_size``).

        Returns
        -------
        numpy.ndarray, float64, shape (n,)
        """
        return self._predict(input_maker(seqs, self.input_length), [len(s) for s in seqs], batch_size)

    def predict_in_context(self, seqs: list[str], loci: list[tuple[str, int, str]], genome: Genome,
                           batch_size: int | None = None) -> np.ndarray:
        """As ``predict``, each window embedded in its genome flanks; ``loci`` holds each window's
        (chrom, window_start, strand).

        Parameters
        ----------
        seqs : list of str
            The windows as make-windows wrote them.
        loci : list of tuple
            (chrom, window_start, strand), or with a fourth item window_end, per window (:func:`input_maker`).
        genome : Genome
            Where the flanks come from.
        batch_size : int, optional
            Rows per forward pass (at most the spec's ``batch_size``).

        Returns
        -------
        numpy.ndarray, float64, shape (n,)

        Raises
        ------
        ValueError
            ``loci`` and ``seqs`` differ in length.
        """
        return self._predict(input_maker(seqs, self.input_length, loci, genome), [len(s) for s in seqs], batch_size)

    def _predict(self, make_input, lengths: list[int], batch_size: int | None) -> np.ndarray:
        """Forward passes over ``make_input(i)`` (an input_length string), built one batch at a time."""
        if len(lengths) == 0:
            return np.zeros(0, dtype=np.float64)
        size = min(batch_size or self.batch_size, self.batch_size)
        out = np.empty(len(lengths), dtype=np.float64)
        with torch.inference_mode():
            for start, n, chunk in fixed_shape_batches(make_input, len(lengths), size):
                x = torch.from_numpy(one_hot(chunk)).to(self.device)
                y = self.forward(x)[:n, self.tracks.to(x.device)].to("cpu", torch.float64).sum(dim=1).numpy()
                for i in range(n):  # bins covering each sequence as given (before padding)
                    out[start + i] = y[i, self.central_bins(y.shape[-1], lengths[start + i])].sum()
        return out


def fixed_shape_batches(make_input: Callable[[int], str], n_seqs: int, size: int):
    """Batches of ``make_input(i)`` for i < n_seqs, each padded to ``size`` with its first sequence.

    Every forward pass then has the same shape (so its arithmetic does not depend on how the
    sequences fall into batches); the caller keeps the first ``n`` rows of each.

    Parameters
    ----------
    make_input : callable
        i -> the i-th model input (a string of the model's input length).
    n_seqs : int
        Number of inputs.
    size : int
        Rows per batch.

    Yields
    ------
    tuple
        (start, n, chunk): index of the batch's first input, how many real inputs it holds, and
        the ``size`` input strings.
    """
    for start in tqdm(range(0, n_seqs, size), desc="predict", unit="batch", disable=None, leave=False):
        chunk = [make_input(i) for i in range(start, min(start + size, n_seqs))]
        n = len(chunk)
        yield start, n, chunk + [chunk[0]] * (size - n)


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None = None, device: str = "cpu") -> TrackAdapter:
    """Adapter from a spec; the network comes from ``spec["source"]`` (nothing is trained).

    Parameters
    ----------
    spec : dict
        Track spec: ``family`` (``enformer`` or ``borzoi``), ``source``, ``tracks``, ``cell_line``;
        optionally ``input_length``, ``batch_size``, ``head``, ``model_name``.
    weights : str, PathLike or None
        Unused.
    device : str
        Torch device.

    Returns
    -------
    TrackAdapter

    Raises
    ------
    InputError
        Not a track family, ``source`` or ``tracks`` missing, bad tracks, or a track index past the
        model's outputs.
    ModelUnavailableError
        The network cannot be loaded.
    """
    spec = dict(spec)
    family = spec.get("family")
    if family not in TRACK_FAMILIES:
        raise InputError(f"not a track family: {family!r}")
    for key in ("source", "tracks"):
        if not spec.get(key):
            raise InputError(f"a {family} model spec needs {key!r}")
    spec.setdefault("input_length", TRACK_FAMILIES[family].input_length)
    spec.setdefault("score_kind", SCORE_KIND)
    spec["tracks"] = parse_tracks(spec["tracks"], spec.get("cell_line"))
    network = load_network(family, str(spec["source"]), str(spec.get("model_name", family)))
    return TrackAdapter(network, spec, device=device)
