"""The adapter base class: everything scoring and one-shot probing ask of a model, declared once.

Every family's adapter subclasses :class:`Adapter` and overrides what it can do; scoring reads the
two capability flags (``uses_genome_context``, ``supports_cone``) and calls the methods they
promise, so no caller probes an adapter with ``hasattr``. :func:`check_capabilities` holds an
adapter to its flags (``models.load_model`` calls it on every adapter it returns).
"""

from __future__ import annotations

from types import MappingProxyType
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..genome import Genome
from .precision import compute_dtype, resolve_precision

NO_COUNTS: Mapping[str, int] = MappingProxyType({})


class Adapter(ABC):
    """A model as scoring sees it: a name, a spec, and one output per sequence.

    Subclasses set ``name`` and ``spec`` and define :meth:`predict` (abstract: a subclass without it
    cannot be instantiated). A subclass that sets ``uses_genome_context`` overrides
    :meth:`predict_in_context`; one that sets ``supports_cone`` overrides :meth:`predict_variants`
    (and :meth:`predict_variants_in_context` as well when it uses genome context). The defaults
    describe an adapter that has neither capability and keeps its own arithmetic: the capability
    methods raise ``NotImplementedError`` (callers read the flags first, and ``check_capabilities``
    holds each adapter to its flags).

    Attributes
    ----------
    name : str
        The ``model`` column of score tables.
    spec : dict
        The content of ``spec.json`` (``family``, ``model_name``, ``cell_line``, ``score_kind``, ...).
    uses_genome_context : bool
        With ``score --genome``, windows are predicted inside their genome flanks
        (:meth:`predict_in_context`).
    supports_cone : bool
        Alternative windows can be scored by reusing their reference's pass (:meth:`predict_variants`).
    last_variant_counts : Mapping[str, int]
        How the last :meth:`predict_variants` call computed its alts (``cone``, ``full``,
        ``unchanged``); empty for adapters without the capability.
    model : torch.nn.Module or None
        The network (one-shot probes read the input of its last ``nn.Linear``); None for models
        that are not one network (motif scans).
    device : str
        Torch device the network runs on.
    tokenizer : object or None
        Tokenizer of token-input models (Hugging Face); with one, :meth:`encode` gives the network's
        inputs, without one the network takes one-hot sequences of ``spec["input_length"]``.
    """

    name: str
    spec: dict[str, Any]
    uses_genome_context: bool = False
    supports_cone: bool = False
    last_variant_counts: Mapping[str, int] = NO_COUNTS
    model: Any = None
    device: str = "cpu"
    tokenizer: Any = None

    @abstractmethod
    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """The model's output for each sequence (the quantity the spec's ``score_kind`` reads).

        Parameters
        ----------
        seqs : list of str, length n
            DNA sequences (A, C, G, T, N), of the model's input length or fitted to it.
        batch_size : int, optional
            Sequences per forward pass; the adapter's default when None.

        Returns
        -------
        numpy.ndarray of float64, shape (n,)
            Enhancer probabilities in [0, 1] (motif log-odds, track sums: see ``score_kind``).
        """

    def predict_in_context(self, seqs: list[str], loci: list[tuple], genome: Genome,
                           batch_size: int | None = None) -> np.ndarray:
        """As :meth:`predict`, each window embedded in its genome flanks (``uses_genome_context``).

        Parameters
        ----------
        seqs : list of str, length n
            The windows as make-windows wrote them.
        loci : list of tuple, length n
            (chrom, window_start, strand) or (chrom, window_start, strand, window_end) per window.
        genome : Genome
            Where the flanks come from.
        batch_size : int, optional
            Rows per forward pass.

        Returns
        -------
        numpy.ndarray of float64, shape (n,)
        """
        raise NotImplementedError(f"{type(self).__name__} does not predict in genome context")

    def predict_variants(self, ref_seqs: list[str], ref_index: np.ndarray, alt_seqs: list[str],
                         batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reference and alternative outputs, alts by reuse of their reference's pass (``supports_cone``).

        Parameters
        ----------
        ref_seqs : list of str, length n_ref
            Distinct reference windows.
        ref_index : numpy.ndarray of int, shape (n_alt,)
            ``ref_index[i]``: the row of ``ref_seqs`` that ``alt_seqs[i]`` changes.
        alt_seqs : list of str, length n_alt
            Alternative windows.
        batch_size : int, optional
            Rows per forward pass.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray) of float64, shapes (n_ref,), (n_alt,)
            As :meth:`predict` would give them.
        """
        raise NotImplementedError(f"{type(self).__name__} does not reuse reference passes")

    def predict_variants_in_context(self, ref_seqs: list[str], ref_loci: list[tuple], ref_index: np.ndarray,
                                    alt_seqs: list[str], alt_loci: list[tuple], genome: Genome,
                                    batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`predict_variants`, each window in its genome flanks (both capabilities).

        Parameters
        ----------
        ref_seqs, alt_seqs : list of str, lengths n_ref, n_alt
            Reference and alternative windows.
        ref_loci, alt_loci : list of tuple, lengths n_ref, n_alt
            (chrom, window_start, strand, window_end) of each window.
        ref_index : numpy.ndarray of int, shape (n_alt,)
            Reference row of each alternative.
        genome : Genome
            Where the flanks come from.
        batch_size : int, optional
            Rows per forward pass.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray) of float64, shapes (n_ref,), (n_alt,)
        """
        raise NotImplementedError(f"{type(self).__name__} does not reuse reference passes in genome context")

    def set_precision(self, precision: str) -> str | None:
        """Compute in ``precision`` from now on; None for an adapter that keeps its own arithmetic.

        Parameters
        ----------
        precision : str
            A concrete precision (``fp64``, ``fp32``, ``bf16`` or ``fp16``; ``auto`` already resolved).

        Returns
        -------
        str or None
            The precision the adapter now computes in, or None (this default: unchanged).
        """
        return None

    def encode(self, seqs: list[str]) -> dict[str, Any]:
        """The network's token inputs for ``seqs`` (adapters with a ``tokenizer``).

        Parameters
        ----------
        seqs : list of str, length n
            DNA sequences.

        Returns
        -------
        dict of str to torch.Tensor
            Model inputs (``input_ids``, ``attention_mask``, ...), each of shape (n, tokens).
        """
        raise NotImplementedError(f"{type(self).__name__} takes one-hot sequences, not tokens")


class PrecisionAdapter(Adapter):
    """An adapter whose torch networks compute in a precision chosen by ``set_precision``.

    Subclasses list their networks in :meth:`networks` (default: ``self.model``) and set
    ``self.device`` before calling ``set_precision``; predictions then run in ``self.precision``.
    """

    precision: str

    def networks(self) -> list[Any]:
        """The torch modules converted to the compute dtype (default: ``[self.model]``).

        Returns
        -------
        list of torch.nn.Module
        """
        return [self.model]

    def set_precision(self, precision: str) -> str:
        """Use ``precision`` (``auto`` resolved for this device) from now on; returns the concrete one.

        Parameters
        ----------
        precision : str
            ``auto``, ``fp32``, ``fp64``, ``bf16`` or ``fp16``.

        Returns
        -------
        str
            The resolved precision (also stored as ``self.precision``).
        """
        self.precision = resolve_precision(precision, self.device)
        dtype = compute_dtype(self.precision)  # converted once here, not on every prediction
        for network in self.networks():
            network.to(dtype=dtype)
        return self.precision


def missing_capabilities(adapter: Adapter | type[Adapter]) -> list[str]:
    """The methods an adapter's flags promise that it (or its class) leaves to the base class.

    Parameters
    ----------
    adapter : Adapter or Adapter subclass
        An adapter (its instance flags are read, as ``CNNAdapter`` sets ``supports_cone`` per
        network) or an adapter class (its class flags).

    Returns
    -------
    list of str
        Names of the methods to override; empty when the adapter keeps its promises.
    """
    cls = adapter if isinstance(adapter, type) else type(adapter)
    wanted = ["predict"]
    if adapter.uses_genome_context:
        wanted.append("predict_in_context")
    if adapter.supports_cone:
        wanted.append("predict_variants")
        if adapter.uses_genome_context:
            wanted.append("predict_variants_in_context")
    if adapter.tokenizer is not None:
        wanted.append("encode")
    return [name for name in wanted if getattr(cls, name) is getattr(Adapter, name)]


def check_capabilities(adapter: Adapter) -> Adapter:
    """``adapter`` itself, once it is an Adapter that overrides every method its flags promise.

    Parameters
    ----------
    adapter : Adapter
        What a family's ``load_adapter`` returned.

    Returns
    -------
    Adapter
        The same object.

    Raises
    ------
    TypeError
        Not an ``Adapter``, or a promised method is missing (a programming error in a family module).
    """
    if not isinstance(adapter, Adapter):
        raise TypeError(f"{type(adapter).__name__} is not a regvarbench.models.Adapter")
    missing = missing_capabilities(adapter)
    if missing:
        raise TypeError(f"{type(adapter).__name__} sets capability flags without defining {', '.join(missing)}")
    return adapter
