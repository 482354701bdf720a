"""Published Sei (family ``sei``): chromatin profiles and sequence classes as the sei-framework computes them.

Sei (Chen et al. 2022, Nat Genet; FunctionLab/sei-framework) maps 4,096 bp to 21,907 chromatin
profile probabilities (``models/sei_data/profiles.tsv.gz``); a published projection
(``projvec_targets.npy``, 61 x 21,907) turns them into sequence-class scores, of which the first
40 are named (``models/sei_data/sequence_classes.tsv``): score_c = profiles . P_c / ||P_c||.

What one allele's output is (the spec decides; nothing is trained):

- default: the mean of the cell line's chosen profiles (spec ``tracks``, from the catalogue's
  ``tracks`` cell, ``CELL:i,j;CELL:k``: indices into target.names; the catalogue row lists the
  DNase and H3K27ac profiles of each cell line, :func:`select_profiles`). A probability, so the
  variant score is log2(alt / ref) as for the other track models (``score_kind`` of
  :mod:`.tracks`);
- spec ``sequence_class`` (an id such as ``E9``, a full name, or an index 0-39): that class's
  projection score; the variant score is alt - ref (``score_kind: diff``), Sei's own variant
  effect, without its histone-mark normalisation (which needs ref and alt together).

As the framework (Selene ``AnalyzeSequences`` with ``non_strand_specific: mean``): each input is
predicted on both strands and the two probability vectors averaged (``strand_average: false``
turns it off); bases other than ACGT are encoded 0.25 in every channel; a window shorter than
4,096 bp is N-padded around its centre (the default), or with ``score --genome`` embedded in its
genome flanks (``uses_genome_context``, :func:`.tracks.input_maker`), as Sei's variant-effect
prediction reads the reference around a variant.

Receptive-field reuse (``score``'s default; ``--no-cone`` gives full passes): Sei's tower is
local (kernel-9 convolutions, two max-pools of 4, five dilated kernel-5 convolutions), so an alt
input that differs from its reference input inside a short span changes the tower output only
inside that span's cone; ``variant_profiles`` runs each reference's tower once, keeps its
activations and recomputes only the cone of each alt (``Sei.tower_patch``, models/cone.py), then
B-spline pooling and the classifier (fixed linear map, then dense layers: computed in full). An
SNV's cone covers 0.8 % of block 1's positions, 4 % of block 2's, 17 % of block 3's and, by the
fifth dilated convolution, all 256 pooled positions. Equal to full passes up to float summation
order (fp64 ~1e-16, fp32 ~2e-7 on profiles; tests/unit/test_sei_cone.py); N-padded windows and
windows in genome flanks alike; alts differing over more than 16 bp (indels: shifted flanks) get
full passes. Speed: docs/performance.md.

Files (spec keys; a local path, ``file://`` URL or ``https://`` URL, looked up by
:mod:`.weights`, md5 checked when the spec gives ``*_md5``): ``sei_weights`` (default ``model/sei.pth``
of Zenodo record 4906997's ``sei_model.tar.gz``), ``projection`` (``model/projvec_targets.npy``
of the same archive; read only for sequence classes). The weights' widths and output count are
read off the file (the published one is 480/640/960, 21,907); every other shape and key name
must be Sei's (``load_sei``, ``strict=True``).
"""

from __future__ import annotations

import gzip
import os
import re
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import torch

from ..dna import one_hot
from ..genome import Genome
from ..io import InputError
from ..score_kinds import DIFF
from .base import PrecisionAdapter
from .cone import Patch, paste
from .precision import autocast, compute_dtype
from .sei import SEI_INPUT_LENGTH, Sei, load_sei
from .tracks import SCORE_KIND as TRACKS_SCORE_KIND
from .tracks import fixed_shape_batches, input_maker, parse_tracks
from .weights import resolve_weights

FAMILY = "sei"
CLASS_SCORE_KIND = DIFF  # sequence classes: alt - ref, as Sei's variant effect
DEFAULT_BATCH_SIZE = 8
N_CLASSES = 40  # named sequence classes: the first 40 rows of the projection
ARCHIVE = "https://zenodo.org/record/4906997/files/sei_model.tar.gz"  # record 4906996 (all versions)
PUBLISHED = {"sei_weights": f"{ARCHIVE}#model/sei.pth", "projection": f"{ARCHIVE}#model/projvec_targets.npy"}
# Receptive-field reuse (score's default, --no-cone turns it off): an alt whose input differs from
# its reference input only inside a span of at most CONE_WIDTHS[-1] bp is computed from the
# reference tower as a patch of the smallest of these widths holding the span (fixed widths, so
# shapes and arithmetic depend only on the variant); wider differences (indels) get full passes.
CONE_WIDTHS = (1, 16)
UNKNOWN_BASE = 0.25  # Selene's encoding of N (and any non-ACGT base): 1/4 in every channel
PROFILE_ASSAYS = ("DNase", "H3K27ac")  # the enhancer marks of the study's training sets
# cell type field of target.names per cell line of this project (full match); see docs/models.md
PROFILE_CELLS = {
    "HepG2": r"HepG2(_.+)?",
    "K562": r"K562(_.+)?",
    "HeLa": r"HeLa(-S3)?(_.+)?",  # not "HeLa-S3 (IFNa4h)" (interferon-treated) nor KB cells
    "NPC": r"Neural_Progenitor_Cell|H[19]_Derived_Neuronal_Progenitor_Cultured_Cells",
}


@lru_cache(maxsize=1)
def target_names() -> tuple[str, ...]:
    """The 21,907 chromatin-profile names of Sei's outputs, in output order, as the framework writes
    them (``cell | assay | source``, e.g. ``HepG2_Epithelium_Liver | DNase | ID:33596``).

    Read from ``sei_data/profiles.tsv.gz`` (index, cell_type, assay, source: the fields of
    sei-framework's ``model/target.names``, commit 1e16bff, one row per output).
    """
    with gzip.open(files(__package__).joinpath("sei_data").joinpath("profiles.tsv.gz").open("rb"), "rt") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh][1:]
    if [int(r[0]) for r in rows] != list(range(len(rows))):
        raise InputError("sei_data/profiles.tsv.gz: rows out of order (package damaged?)")
    return tuple(" | ".join(r[1:]) for r in rows)


@lru_cache(maxsize=1)
def sequence_class_names() -> tuple[str, ...]:
    """The 40 named sequence classes, ``"<id> <name>"`` in projection order (``sei_data/sequence_classes.tsv``:
    index, class, name, the fields of sei-framework's ``model/seqclass.names``)."""
    text = files(__package__).joinpath("sei_data").joinpath("sequence_classes.tsv").read_text()
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    return tuple(f"{cls} {name}" for _, cls, name in rows)


def select_profiles(cell_line: str, names: tuple[str, ...] | list[str] | None = None,
                    assays: tuple[str, ...] = PROFILE_ASSAYS) -> list[int]:
    """Indices of a cell line's DNase and H3K27ac profiles in target.names (the catalogue's rule).

    Parameters
    ----------
    cell_line : str
        A key of ``PROFILE_CELLS`` (HepG2, K562, HeLa, NPC).
    names : sequence of str, optional
        Profile names ``cell | assay | source``; default :func:`target_names`.
    assays : tuple of str
        Assay fields kept (exact match; ``DNase.all.peaks`` and the like are not kept).

    Returns
    -------
    list[int]
        Ascending indices.
    """
    if cell_line not in PROFILE_CELLS:
        raise InputError(f"sei: no profile rule for cell line {cell_line!r} (have {', '.join(PROFILE_CELLS)}); "
                         "give the spec's tracks")
    pattern = re.compile(PROFILE_CELLS[cell_line])
    out = []
    for i, name in enumerate(target_names() if names is None else names):
        fields = [f.strip() for f in name.split("|")]
        if len(fields) >= 2 and pattern.fullmatch(fields[0]) and fields[1] in assays:
            out.append(i)
    return out


def class_index(value: str | int) -> int:
    """Row of the projection for a sequence class given by index (0-39), id (``E9``) or full name.

    Parameters
    ----------
    value : str or int
        An index 0-39 (int or digit string), a class id such as ``E9``, or a full ``"<id> <name>"``.

    Returns
    -------
    int
        In [0, 40).

    Raises
    ------
    InputError
        The value names no sequence class.
    """
    names = sequence_class_names()
    if isinstance(value, int) or str(value).strip().isdigit():
        index = int(value)
    else:
        text = str(value).strip()
        index = next((i for i, n in enumerate(names) if text in (n, n.split(" ", 1)[0])), -1)
    if not 0 <= index < len(names):
        raise InputError(f"sei: unknown sequence class {value!r}; one of {', '.join(n.split(' ', 1)[0] for n in names)} "
                         f"or an index 0-{len(names) - 1}")
    return index


def read_projection(path: str | os.PathLike, n_profiles: int) -> np.ndarray:
    """The (40, n_profiles) sequence-class projection of ``projvec_targets.npy``, each row divided by its norm.

    Parameters
    ----------
    path : path
        The ``.npy`` file, shape (k, n_profiles) with k >= 40 (published: 61 x 21,907).
    n_profiles : int
        The model's output count.

    Returns
    -------
    numpy.ndarray, float64, shape (40, n_profiles)
        ``profiles @ out.T`` are the raw sequence-class scores of the sei-framework.
    """
    try:
        proj = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from exc
    if proj.ndim != 2 or proj.shape[0] < N_CLASSES or proj.shape[1] != n_profiles or proj.dtype.kind not in "fiu":
        raise InputError(f"{path}: projection has shape {proj.shape} ({proj.dtype}); expected (>= {N_CLASSES}, "
                         f"{n_profiles}) numbers, one row per sequence class")
    proj = proj[:N_CLASSES].astype(np.float64)
    norms = np.linalg.norm(proj, axis=1)
    if not np.isfinite(proj).all() or (norms == 0).any():
        raise InputError(f"{path}: projection holds non-finite values or an all-zero class row")
    return proj / norms[:, None]


def encode(seqs: list[str], dtype=np.float32) -> np.ndarray:
    """(n, 4, L) one-hot of equal-length sequences, non-ACGT bases 0.25 in every channel (Selene's).

    Parameters
    ----------
    seqs : list of str
        DNA sequences, all of one length L.
    dtype : numpy dtype
        dtype of the result; default float32.

    Returns
    -------
    numpy.ndarray, dtype ``dtype``, shape (n, 4, L)
        A, C, G, T rows; a non-ACGT base is ``UNKNOWN_BASE`` in all four.
    """
    x = one_hot(seqs, dtype=dtype)
    x[np.broadcast_to(x.sum(axis=1, keepdims=True) == 0, x.shape)] = UNKNOWN_BASE
    return x


class SeiAdapter(PrecisionAdapter):
    """One score per sequence from published Sei: the mean of chosen profiles, or one sequence class."""

    uses_genome_context = True  # score --genome: predict_in_context embeds windows in their flanks
    supports_cone = True  # score: predict_variants / predict_variants_in_context reuse the reference tower

    def __init__(self, model: Sei, spec: dict[str, Any], projection: np.ndarray | None = None,
                 device: str = "cpu", precision: str = "fp32") -> None:
        self.model = model.to(device).eval()
        self.spec = spec
        self.name = str(spec.get("model_name", FAMILY))
        self.device = device
        self.input_length = int(spec.get("input_length") or SEI_INPUT_LENGTH)
        self.batch_size = int(spec.get("batch_size") or DEFAULT_BATCH_SIZE)
        self.strand_average = bool(spec.get("strand_average", True))
        self.projection = projection
        self.sequence_class = class_index(spec["sequence_class"]) if spec.get("sequence_class") is not None else None
        if self.sequence_class is not None and projection is None:
            raise InputError(f"model {self.name}: a sequence_class score needs the projection (spec 'projection')")
        self.tracks = None
        if self.sequence_class is None:
            self.tracks = np.asarray(parse_tracks(spec.get("tracks"), spec.get("cell_line")), dtype=np.int64)
            if int(self.tracks.max()) >= model.n_outputs:
                raise InputError(f"model {self.name}: profile index {int(self.tracks.max())} out of range "
                                 f"(the model predicts {model.n_outputs} profiles)")
        self.last_variant_counts: dict[str, int] = {}
        self.set_precision(precision)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, n_profiles) probabilities of a (n, 4, L) encoded batch, strand-averaged as the framework's.

        Parameters
        ----------
        x : torch.Tensor, shape (n, 4, L)
            Encoded inputs (:func:`encode`), in the model's dtype and on its device.

        Returns
        -------
        torch.Tensor, shape (n, n_profiles)
            The mean of the input's and its reverse complement's probabilities (or the input's alone
            with ``strand_average`` off).
        """
        if not self.strand_average:
            return self.model(x)
        n = x.shape[0]
        both = self.model(torch.cat([x, x.flip(1, 2)]))  # reverse complement: flip bases and positions
        return (both[:n] + both[n:]) / 2

    def predict_profiles(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Chromatin-profile probabilities, float64, shape (n, n_profiles), of N-padded sequences.

        Parameters
        ----------
        seqs : list of str
            DNA windows, N-padded around their centre (or centre-cropped) to ``input_length``.
        batch_size : int, optional
            Rows per forward pass (at most the spec's ``batch_size``).

        Returns
        -------
        numpy.ndarray, float64, shape (n, n_profiles)
        """
        return self._profiles(input_maker(seqs, self.input_length), len(seqs), batch_size)

    def predict_classes(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Raw sequence-class scores (the framework's ``sc_projection``), float64, shape (n, 40).

        Parameters
        ----------
        seqs : list of str
            DNA windows, N-padded around their centre (or centre-cropped) to ``input_length``.
        batch_size : int, optional
            Rows per forward pass (at most the spec's ``batch_size``).

        Returns
        -------
        numpy.ndarray, float64, shape (n, 40)

        Raises
        ------
        InputError
            The adapter has no projection.
        """
        if self.projection is None:
            raise InputError(f"model {self.name}: sequence classes need the projection (spec 'projection')")
        return self.predict_profiles(seqs, batch_size) @ self.projection.T

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """The spec's score per sequence, float64, shape (n,): profile mean in [0, 1] or a class score.

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
        return self._reduce(self.predict_profiles(seqs, batch_size))

    def predict_in_context(self, seqs: list[str], loci: list[tuple[str, int, str]], genome: Genome,
                           batch_size: int | None = None) -> np.ndarray:
        """As ``predict``, each window embedded in its genome flanks; ``loci`` holds each window's
        (chrom, window_start, strand).

        Parameters
        ----------
        seqs : list of str
            The windows as make-windows wrote them.
        loci : list of tuple
            (chrom, window_start, strand), or with a fourth item window_end, per window
            (:func:`.tracks.input_maker`).
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
        return self._reduce(self._profiles(input_maker(seqs, self.input_length, loci, genome), len(seqs), batch_size))

    def predict_variants(self, ref_seqs: list[str], ref_index: np.ndarray, alt_seqs: list[str],
                         batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(reference, alternative) scores of N-padded windows, alts by receptive-field reuse.

        Parameters
        ----------
        ref_seqs : list of str
            Distinct reference windows.
        ref_index : numpy.ndarray, shape (n_alt,), int
            ``ref_index[i]``: the row of ``ref_seqs`` that ``alt_seqs[i]`` changes.
        alt_seqs : list of str
            Alternative windows, each as long as its reference.
        batch_size : int, optional
            Rows per batch (at most the spec's ``batch_size``).

        Returns
        -------
        tuple of numpy.ndarray
            Scores as :meth:`predict`, float64, shapes (n_ref,) and (n_alt,); equal to ``predict``
            up to float summation order (:meth:`variant_profiles`).
        """
        ref, alt = self.variant_profiles(input_maker(ref_seqs, self.input_length), len(ref_seqs), ref_index,
                                         input_maker(alt_seqs, self.input_length), len(alt_seqs), batch_size)
        return self._reduce(ref), self._reduce(alt)

    def predict_variants_in_context(self, ref_seqs: list[str], ref_loci: list[tuple], ref_index: np.ndarray,
                                    alt_seqs: list[str], alt_loci: list[tuple], genome: Genome,
                                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`predict_variants`, each window embedded in its genome flanks (as ``predict_in_context``).

        Parameters
        ----------
        ref_seqs, alt_seqs : list of str
            Reference windows and alternative windows.
        ref_loci, alt_loci : list of tuple
            (chrom, window_start, strand, window_end) of each (:func:`.tracks.input_maker`).
        ref_index : numpy.ndarray, shape (n_alt,), int
            Reference row of each alternative.
        genome : Genome
            Where the flanks come from.
        batch_size : int, optional

        Returns
        -------
        tuple of numpy.ndarray
            float64 scores, shapes (n_ref,) and (n_alt,).
        """
        ref, alt = self.variant_profiles(input_maker(ref_seqs, self.input_length, ref_loci, genome), len(ref_seqs),
                                         ref_index, input_maker(alt_seqs, self.input_length, alt_loci, genome),
                                         len(alt_seqs), batch_size)
        return self._reduce(ref), self._reduce(alt)

    def variant_profiles(self, make_ref, n_ref: int, ref_index: np.ndarray, make_alt, n_alt: int,
                         batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Profiles of reference inputs and of alternative inputs, alts by receptive-field reuse.

        References are taken ``size`` (the batch size) at a time; the tower runs one reference at
        a time (both strands, its activations cached: :meth:`.sei.Sei.tower_reference`). An alt
        whose encoded input differs from its reference's inside a span of at most
        ``CONE_WIDTHS[-1]`` bp is computed as a patch of the tower output
        (:meth:`.sei.Sei.tower_patch`, ``size`` alts per pass, on both strands: the reverse
        strand's patch mirrored and complemented) and pasted into the reference tower output. The
        tower outputs of references and alts go through the B-spline pooling and classifier
        ``size`` inputs per pass. An alt equal to its reference takes the reference's profiles;
        others get full passes. Every pass has a fixed shape (padded), so an input's profiles
        depend only on it and its reference, never on the other inputs. Equal to full passes up
        to float summation order. Counts per kind go to ``last_variant_counts``.

        Parameters
        ----------
        make_ref, make_alt : callable
            i -> the i-th input string (``input_length`` bp).
        n_ref, n_alt : int
            Number of references and alternatives.
        ref_index : numpy.ndarray, shape (n_alt,), int
            Reference of each alternative.
        batch_size : int, optional
            At most the spec's ``batch_size``.

        Returns
        -------
        tuple of numpy.ndarray
            float64 profiles, shapes (n_ref, n_outputs) and (n_alt, n_outputs).
        """
        ref_index = np.asarray(ref_index, dtype=np.int64).reshape(-1)
        if len(ref_index) != n_alt or (n_alt and not 0 <= ref_index.min() <= ref_index.max() < n_ref):
            raise ValueError(f"ref_index: {len(ref_index)} entries in [0, {n_ref}) needed for {n_alt} alternatives")
        size = min(batch_size or self.batch_size, self.batch_size)
        length = self.input_length
        ref_out = np.empty((n_ref, self.model.n_outputs), dtype=np.float64)
        alt_out = np.empty((n_alt, self.model.n_outputs), dtype=np.float64)
        order = np.argsort(ref_index, kind="stable")
        bounds = np.searchsorted(ref_index[order], np.arange(n_ref + 1))
        full, same = [], []
        n_cone = 0
        dtype = compute_dtype(self.precision)
        head = _HeadBatches(self, size)
        with torch.inference_mode(), autocast(self.precision, self.device):
            for b0 in range(0, n_ref, size):
                block = range(b0, min(b0 + size, n_ref))
                caches, refs = [], []
                for r in block:
                    x = encode([make_ref(r)])
                    refs.append(x[0])
                    tower, cache = self.model.tower_reference(self._strands(torch.from_numpy(x).to(self.device, dtype)))
                    caches.append(cache)
                    head.add(tower, ref_out, r)
                cache = {k: torch.cat([c[k] for c in caches]) for k in caches[0]} if len(caches) > 1 else caches[0]
                del caches
                buckets: dict[int, list] = {w: [] for w in CONE_WIDTHS}
                for j, r in enumerate(block):
                    for i in order[bounds[r]:bounds[r + 1]]:
                        x = encode([make_alt(i)])[0]
                        changed = np.flatnonzero((x != refs[j]).any(axis=0))
                        w = next((w for w in CONE_WIDTHS if len(changed) and w >= changed[-1] - changed[0] + 1), None)
                        if not len(changed):
                            same.append(i)
                        elif w is None or w > length:
                            full.append(i)
                        else:
                            lo = min(int(changed[0]), length - w)
                            buckets[w].append((i, j, lo, x[:, lo:lo + w]))
                for todo in buckets.values():
                    for c0 in range(0, len(todo), size):
                        chunk = todo[c0:c0 + size]
                        m = len(chunk)
                        towers = self._cone_towers(cache, chunk + chunk[:1] * (size - m), length)
                        for k, t in enumerate(chunk):
                            head.add(towers[k], alt_out, t[0])
                        n_cone += m
            head.flush()
        if same:
            alt_out[same] = ref_out[ref_index[same]]
        if full:
            alt_out[full] = self._profiles(lambda k: make_alt(full[k]), len(full), size)
        self.last_variant_counts = {"cone": n_cone, "full": len(full), "unchanged": len(same)}
        return ref_out, alt_out

    def _strands(self, x: torch.Tensor) -> torch.Tensor:
        """(1, 4, L) -> (strands, 4, L): the input, then its reverse complement when strand-averaging."""
        return torch.cat([x, x.flip(1, 2)]) if self.strand_average else x

    def _cone_towers(self, cache: dict, chunk: list, length: int) -> torch.Tensor:
        """Tower outputs (len(chunk), strands, C, L') of alternatives given as (alt index, reference
        row in the block, lo, (4, w) input values over [lo, lo + w)), from the block's reference
        ``cache`` (its rows: each reference's strands adjacent, as :meth:`_strands`)."""
        ref = torch.tensor([t[1] for t in chunk], device=self.device)
        lo = torch.tensor([t[2] for t in chunk], device=self.device)
        vals = torch.from_numpy(np.stack([t[3] for t in chunk])).to(self.device, cache["out"].dtype)  # (n, 4, w)
        if self.strand_average:  # the reverse strand: positions mirrored, bases complemented (flip both axes)
            w = vals.shape[2]
            rows = torch.stack([2 * ref, 2 * ref + 1], 1).reshape(-1)
            lo = torch.stack([lo, length - lo - w], 1).reshape(-1)
            vals = torch.stack([vals, vals.flip(1, 2)], 1).reshape(-1, *vals.shape[1:])
        else:
            rows = ref
        out = paste(cache["out"], rows, self.model.tower_patch(cache, rows, Patch(lo, vals)))
        return out.reshape(len(chunk), -1, *out.shape[1:])

    def _reduce(self, profiles: np.ndarray) -> np.ndarray:
        """(n, n_profiles) -> (n,): the mean of the chosen profiles, or the chosen class's score."""
        if self.sequence_class is not None:
            return profiles @ self.projection[self.sequence_class]
        return profiles[:, self.tracks].mean(axis=1)

    def _profiles(self, make_input, n_seqs: int, batch_size: int | None) -> np.ndarray:
        """Forward passes over ``make_input(i)`` (an input_length string), one fixed-shape batch at a time."""
        out = np.empty((n_seqs, self.model.n_outputs), dtype=np.float64)
        size = min(batch_size or self.batch_size, self.batch_size)
        dtype = compute_dtype(self.precision)
        with torch.inference_mode(), autocast(self.precision, self.device):
            for start, n, chunk in fixed_shape_batches(make_input, n_seqs, size):
                x = torch.from_numpy(encode(chunk)).to(self.device, dtype)
                out[start:start + n] = self.forward(x)[:n].to("cpu", torch.float64).numpy()
        return out


class _HeadBatches:
    """Tower outputs queued for Sei's head (B-spline pooling, classifier), ``size`` inputs per pass.

    Each input is (strands, C, L') tower rows and where its strand-averaged profiles go; a pass
    runs when ``size`` are queued, or on ``flush`` padded with copies of the first, so every pass
    has the same shape.
    """

    def __init__(self, adapter: SeiAdapter, size: int) -> None:
        self.adapter, self.size = adapter, size
        self.towers: list[torch.Tensor] = []
        self.dest: list[tuple[np.ndarray, int]] = []

    def add(self, tower: torch.Tensor, out: np.ndarray, index: int) -> None:
        """Queue one input's (strands, C, L') tower output, its profiles to go to ``out[index]``.

        Parameters
        ----------
        tower : torch.Tensor, shape (strands, C, L')
            The input's tower output (both strands' rows adjacent when strand-averaging).
        out : numpy.ndarray, float64, shape (m, n_profiles)
            Where the profiles go.
        index : int
            Row of ``out``.

        Returns
        -------
        None
        """
        self.towers.append(tower)
        self.dest.append((out, int(index)))
        if len(self.towers) == self.size:
            self.flush()

    def flush(self) -> None:
        """Run the head on the queued inputs (padded to ``size``) and write their profiles."""
        if not self.towers:
            return
        n = len(self.towers)
        x = torch.cat(self.towers + self.towers[:1] * (self.size - n))  # (size * strands, C, L')
        profiles = self.adapter.model.head(x)
        if self.adapter.strand_average:  # each input's two strands are adjacent rows
            profiles = (profiles[0::2] + profiles[1::2]) / 2
        profiles = profiles[:n].to("cpu", torch.float64).numpy()
        for (out, index), row in zip(self.dest, profiles):
            out[index] = row
        self.towers, self.dest = [], []


def build_spec(model_name: str, cell_line: str, tracks: str | list[int] | None = None,
               sequence_class: str | int | None = None, **sources: str) -> dict[str, Any]:
    """The spec.json of a one-shot Sei model for one cell line (``sources``: sei_weights, projection,
    weights_dir, their md5s; empty ones left out).

    Parameters
    ----------
    model_name : str
        The model's name.
    cell_line : str
        Cell line the profiles are chosen for.
    tracks : str or list of int, optional
        Profile indices (``CELL:i,j;CELL:k``, ``i,j`` or a list; :func:`.tracks.parse_tracks`); used
        when ``sequence_class`` is None.
    sequence_class : str or int, optional
        A sequence class (:func:`class_index`) to score instead of profiles.
    **sources : str
        ``sei_weights``, ``projection``, ``weights_dir``, ``sei_weights_md5``, ``projection_md5``.

    Returns
    -------
    dict
        The spec, with ``score_kind`` ``diff`` for a sequence class, else the track models'.

    Raises
    ------
    InputError
        Without ``sequence_class``: the tracks are missing, malformed or name none for the cell line.
    """
    spec: dict[str, Any] = {"model_name": model_name, "family": FAMILY, "cell_line": cell_line,
                            "input_length": SEI_INPUT_LENGTH, "trainable": False}
    if sequence_class is not None:
        spec.update(sequence_class=sequence_class, score_kind=CLASS_SCORE_KIND)
    else:
        spec.update(tracks=parse_tracks(tracks, cell_line), score_kind=TRACKS_SCORE_KIND)
    return spec | {k: v for k, v in sources.items() if v}


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None = None, device: str = "cpu") -> SeiAdapter:
    """Adapter for published Sei from a spec (see the module docstring); ``weights`` is unused.

    Parameters
    ----------
    spec : dict
        ``cell_line`` and ``tracks`` (or ``sequence_class``); optionally ``sei_weights``,
        ``projection``, their ``*_md5``, ``weights_dir``, ``strand_average``, ``input_length``,
        ``model_name``, ``batch_size``.
    weights : path, optional
        Ignored (the spec names the files).
    device : str
        Torch device.

    Returns
    -------
    SeiAdapter
        ``predict(seqs)`` -> (n,) float64; fp32 arithmetic, as the published model.
    """
    spec = {**spec, "family": FAMILY}
    name = str(spec.get("model_name", FAMILY))
    folder = spec.get("weights_dir")
    classes = spec.get("sequence_class") is not None
    spec.setdefault("score_kind", CLASS_SCORE_KIND if classes else TRACKS_SCORE_KIND)
    spec.setdefault("input_length", SEI_INPUT_LENGTH)
    source = str(spec.get("sei_weights") or PUBLISHED["sei_weights"])
    model = load_sei(resolve_weights(name, source, spec.get("sei_weights_md5"), folder), device="cpu")
    names = target_names()
    if model.n_outputs != len(names):
        raise InputError(f"model {name}: {source} predicts {model.n_outputs} profiles; Sei's target.names "
                         f"lists {len(names)}")
    projection = None
    if classes:
        proj_source = str(spec.get("projection") or PUBLISHED["projection"])
        projection = read_projection(resolve_weights(name, proj_source, spec.get("projection_md5"), folder),
                                     model.n_outputs)
    spec["sei_sizes"] = {"widths": list(model.widths), "hidden": model.hidden, "n_outputs": model.n_outputs}
    return SeiAdapter(model, spec, projection, device=device)
