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
from .precision import autocast, compute_dtype, resolve_precision
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
    """Row of the projection for a sequence class given by index (0-39), id (``E9``) or full name."""
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
    """(n, 4, L) one-hot of equal-length sequences, non-ACGT bases 0.25 in every channel (Selene's)."""
    x = one_hot(seqs, dtype=dtype)
    x[np.broadcast_to(x.sum(axis=1, keepdims=True) == 0, x.shape)] = UNKNOWN_BASE
    return x


class SeiAdapter:
    """One score per sequence from published Sei: the mean of chosen profiles, or one sequence class."""

    uses_genome_context = True  # score --genome: predict_in_context embeds windows in their flanks

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
        self.set_precision(precision)

    def set_precision(self, precision: str) -> str:
        """Use ``precision`` (``auto`` resolved for this device) from now on; returns the concrete one."""
        self.precision = resolve_precision(precision, self.device)
        self.model.to(dtype=compute_dtype(self.precision))
        return self.precision

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, n_profiles) probabilities of a (n, 4, L) encoded batch, strand-averaged as the framework's."""
        if not self.strand_average:
            return self.model(x)
        n = x.shape[0]
        both = self.model(torch.cat([x, x.flip(1, 2)]))  # reverse complement: flip bases and positions
        return (both[:n] + both[n:]) / 2

    def predict_profiles(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Chromatin-profile probabilities, float64, shape (n, n_profiles), of N-padded sequences."""
        return self._profiles(input_maker(seqs, self.input_length), len(seqs), batch_size)

    def predict_classes(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Raw sequence-class scores (the framework's ``sc_projection``), float64, shape (n, 40)."""
        if self.projection is None:
            raise InputError(f"model {self.name}: sequence classes need the projection (spec 'projection')")
        return self.predict_profiles(seqs, batch_size) @ self.projection.T

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """The spec's score per sequence, float64, shape (n,): profile mean in [0, 1] or a class score."""
        return self._reduce(self.predict_profiles(seqs, batch_size))

    def predict_in_context(self, seqs: list[str], loci: list[tuple[str, int, str]], genome: Genome,
                           batch_size: int | None = None) -> np.ndarray:
        """As ``predict``, each window embedded in its genome flanks; ``loci`` holds each window's
        (chrom, window_start, strand)."""
        return self._reduce(self._profiles(input_maker(seqs, self.input_length, loci, genome), len(seqs), batch_size))

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


def build_spec(model_name: str, cell_line: str, tracks: str | list[int] | None = None,
               sequence_class: str | int | None = None, **sources: str) -> dict[str, Any]:
    """The spec.json of a one-shot Sei model for one cell line (``sources``: sei_weights, projection,
    weights_dir, their md5s; empty ones left out)."""
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
