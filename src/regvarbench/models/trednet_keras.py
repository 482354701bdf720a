"""Published TREDNet (family ``trednet``): its two Keras HDF5 phases, read without TensorFlow.

TREDNet (Hudaiberdiev et al. 2023, PNAS; okurman/TREDNet) scores a 2 kb sequence in two steps:
phase one maps the (2000, 4) one-hot sequence to 1,924 chromatin-feature probabilities, phase
two maps that vector, as a (1924, 1) input, to the probability that the sequence is an enhancer
of one cell line. That probability is each allele's output here (the study's score), and the
variant score is ``log2(alt / ref)`` as for every probability model (``regvarbench.score``).
Both phases are rebuilt layer by layer from the published files by :mod:`.keras_h5`.

Spec keys (all optional but ``cell_line``, which picks the published phase two):

- ``phase_one``, ``phase_two``: a local path, a ``file://`` URL, or an ``https://`` URL. Default:
  the published files in ``PUBLISHED``. Nothing is downloaded: an ``https://`` URL is looked up
  by its file name in the weights directory (``weights_dir``, else ``$REGVARBENCH_WEIGHTS``, else
  ``~/.cache/regvarbench/weights``), and a missing file fails with a message naming the model,
  the URL and the path to fill (:class:`.weights.MissingWeightsError`, which ``train
  --skip-unavailable`` treats as an unavailable model); the lookup is :mod:`.weights`.
- ``phase_one_md5``, ``phase_two_md5``: checked when given; the published files' md5s (from the
  Kipoi ``model.yaml`` files of okurman/TREDNet) are checked whenever their URLs are used.
- ``phase_one_arch``: a Keras architecture JSON, for a weights-only phase-one file (Kipoi ships
  phase one as ``phase_one_model.json`` plus weights).

Sequences shorter than the model's 2,000 bp are N-padded around their centre (all-zero
one-hot columns), as the study fed its 1 kb windows to TREDNet: the default. With ``score
--genome`` and windows that carry loci, each window is embedded in its genome flanks instead
(``uses_genome_context``; :func:`.tracks.flanked_input`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from ..dna import one_hot
from ..genome import Genome
from ..io import InputError
from ..score_kinds import STUDY
from .base import PrecisionAdapter
from .keras_h5 import KerasModel, read_keras_h5
from .precision import autocast, compute_dtype
from .tracks import fixed_shape_batches, input_maker
from .weights import MissingWeightsError, resolve_weights  # noqa: F401 (MissingWeightsError: re-exported)

FAMILY = "trednet"
SCORE_KIND = STUDY  # the study's log2(alt / ref) of phase two's probability
DEFAULT_BATCH_SIZE = 64
# published files: key -> (URL, md5), from kipoi/TREDNet/*/model.yaml of okurman/TREDNet
PUBLISHED = {
    "phase_one": ("https://zenodo.org/record/6463875/files/TREDNet_weights_phase_one.hdf5",
                  "1e38d75e3596d404efcfb47614b8d49f"),
    "phase_one_arch": ("https://ftp.ncbi.nlm.nih.gov/pub/Dcode/TREDNet/phase_one_model.json",
                       "299b7d6df3e226f7b6992cc6b50d5d0e"),
    "HepG2": ("https://zenodo.org/record/8161621/files/TREDNet_weights_phase_two_HepG2.hdf5",
              "8da5c7d5a5f5b6399d10650698ff20c3"),
    "K562": ("https://zenodo.org/record/8161621/files/TREDNet_weights_phase_two_K562.hdf5",
             "856100181cd41268eacc5cb5c893870b"),
    "islet": ("https://zenodo.org/record/6463875/files/TREDNet_weights_phase_two_islets.hdf5",
              "3d4343887c011bdf8188b29258f5438d"),
}
PUBLISHED_MD5 = {url: md5 for url, md5 in PUBLISHED.values()}


class TREDNetAdapter(PrecisionAdapter):
    """Enhancer probability of published TREDNet: phase one (2 kb -> 1,924) then phase two (-> 1)."""

    uses_genome_context = True  # score --genome: predict_in_context embeds windows in their flanks

    def __init__(self, phase_one: KerasModel, phase_two: KerasModel, spec: dict[str, Any], device: str = "cpu",
                 precision: str = "fp32") -> None:
        if len(phase_one.input_shape) != 2 or phase_one.input_shape[1] != 4 or phase_one.input_shape[0] is None:
            raise InputError(f"{phase_one.source}: phase one must read (length, 4) one-hot, not {phase_one.input_shape}")
        if phase_two.input_shape != (*phase_one.output_shape, 1) or phase_two.output_shape != (1,):
            raise InputError(f"{phase_two.source}: phase two reads {phase_two.input_shape} -> {phase_two.output_shape}; "
                             f"expected {(*phase_one.output_shape, 1)} -> (1,) after phase one {phase_one.source}")
        self.phase_one, self.phase_two = phase_one.to(device).eval(), phase_two.to(device).eval()
        self.spec = spec
        self.name = str(spec.get("model_name", FAMILY))
        self.device = device
        self.input_length = int(phase_one.input_shape[0])
        self.batch_size = int(spec.get("batch_size") or DEFAULT_BATCH_SIZE)
        self.set_precision(precision)

    def networks(self) -> list[KerasModel]:
        """Both phases: the precision converts each of them.

        Returns
        -------
        list of KerasModel
        """
        return [self.phase_one, self.phase_two]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Phase-two enhancer probabilities, shape (n,), of a (n, 4, length) one-hot tensor.

        Parameters
        ----------
        x : torch.Tensor, shape (n, 4, length)
            One-hot inputs (A, C, G, T rows) of the model's input length, in the phases' dtype.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        features = self.phase_one(x.transpose(1, 2))  # Keras reads (n, length, 4)
        return self.phase_two(features.unsqueeze(-1))[:, 0]

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Enhancer probabilities in [0, 1], float64, shape (n,), of N-padded (or centre-cropped) sequences.

        Parameters
        ----------
        seqs : list of str
            DNA windows, N-padded around their centre (or centre-cropped) to ``input_length``.
        batch_size : int, optional
            Rows per forward pass; default the spec's ``batch_size``.

        Returns
        -------
        numpy.ndarray, float64, shape (n,)
        """
        return self._predict(input_maker(seqs, self.input_length), len(seqs), batch_size)

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
            Rows per forward pass; default the spec's ``batch_size``.

        Returns
        -------
        numpy.ndarray, float64, shape (n,)

        Raises
        ------
        ValueError
            ``loci`` and ``seqs`` differ in length.
        """
        return self._predict(input_maker(seqs, self.input_length, loci, genome), len(seqs), batch_size)

    def _predict(self, make_input, n_seqs: int, batch_size: int | None) -> np.ndarray:
        """Forward passes over ``make_input(i)`` (an input_length string), one fixed-shape batch at a time."""
        out = np.empty(n_seqs, dtype=np.float64)
        size = batch_size or self.batch_size
        dtype = compute_dtype(self.precision)
        with torch.inference_mode(), autocast(self.precision, self.device):
            for start, n, chunk in fixed_shape_batches(make_input, n_seqs, size):
                x = torch.from_numpy(one_hot(chunk)).to(self.device, dtype)
                out[start:start + n] = self.forward(x)[:n].to("cpu", torch.float64).numpy()
        return out


def _local(spec: dict[str, Any], name: str, source: str, md5_key: str):
    """The local file of ``source``: md5 from the spec's ``md5_key``, else the published one."""
    return resolve_weights(name, source, spec.get(md5_key) or PUBLISHED_MD5.get(source), spec.get("weights_dir"))


def phase_two_source(cell_line: str | None) -> str:
    """The published phase-two URL of a cell line (HepG2, K562, islet).

    Parameters
    ----------
    cell_line : str or None
        Cell line, matched case-insensitively against the cell-line keys of ``PUBLISHED``.

    Returns
    -------
    str
        The Zenodo URL.

    Raises
    ------
    InputError
        No published phase two for the cell line.
    """
    cells = [k for k in PUBLISHED if not k.startswith("phase_one")]
    match = next((k for k in cells if cell_line and k.lower() == str(cell_line).lower()), None)
    if match is None:
        raise InputError(f"trednet: no published phase two for cell line {cell_line!r} (published: {', '.join(cells)}); "
                         "give the spec a 'phase_two' file")
    return PUBLISHED[match][0]


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None = None, device: str = "cpu") -> TREDNetAdapter:
    """Adapter for published TREDNet from a spec (see the module docstring); ``weights`` is unused.

    Parameters
    ----------
    spec : dict
        ``cell_line`` and optionally ``phase_one``, ``phase_two``, ``phase_one_arch``, their
        ``*_md5``, ``weights_dir``, ``model_name``, ``batch_size``.
    weights : path, optional
        Ignored (the two phases are named by the spec).
    device : str
        Torch device.

    Returns
    -------
    TREDNetAdapter
        ``predict(seqs)`` -> (n,) float64 enhancer probabilities; fp32 arithmetic, as Keras.
    """
    spec = {**spec, "family": FAMILY}
    spec.setdefault("score_kind", SCORE_KIND)
    name = str(spec.get("model_name", FAMILY))
    one = str(spec.get("phase_one") or PUBLISHED["phase_one"][0])
    two = str(spec.get("phase_two") or phase_two_source(spec.get("cell_line")))
    arch = spec.get("phase_one_arch")
    arch_path = _local(spec, name, str(arch), "phase_one_arch_md5") if arch else None
    phase_one = read_keras_h5(_local(spec, name, one, "phase_one_md5"), arch=arch_path)
    phase_two = read_keras_h5(_local(spec, name, two, "phase_two_md5"))
    spec.setdefault("input_length", int(phase_one.input_shape[0]))
    return TREDNetAdapter(phase_one, phase_two, spec, device=device)
