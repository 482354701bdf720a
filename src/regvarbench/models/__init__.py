"""Model adapters: one interface through which every model family scores sequences.

An adapter (``Adapter``, from ``models.base``) has ``.name`` (the model column of score tables),
``.spec`` (the dict saved as ``spec.json``) and ``.predict(seqs) -> np.ndarray`` of enhancer
probabilities in [0, 1] (motif log-odds, track sums: see the spec's ``score_kind``), shape (n,),
float64, and declares what else it can do (genome context, reference-pass reuse, precision).
``load_model`` picks the family module from ``spec["family"]``, so adding a family means adding
one module with an ``Adapter`` subclass and ``load_adapter(spec, weights, device)``, and one line
in ``FAMILIES``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..artifacts import read_spec, write_spec  # noqa: F401 (write_spec: re-exported, as models.write_spec)
from ..io import InputError
from .base import Adapter, check_capabilities
from .probe import ProbeAdapter

# family -> module defining load_adapter(spec, weights, device)
FAMILIES = {"cnn": "regvarbench.models.cnn", "hf": "regvarbench.models.hf"}
FAMILIES["motif"] = "regvarbench.models.motif"  # JASPAR PWM baseline, no training
FAMILIES.update(enformer="regvarbench.models.tracks", borzoi="regvarbench.models.tracks")  # one-shot track models
FAMILIES["trednet"] = "regvarbench.models.trednet_keras"  # published TREDNet, its Keras HDF5 files read by h5py
FAMILIES["sei"] = "regvarbench.models.sei_framework"  # published Sei, its PyTorch state dict (sei.pth)


def load_model(path_or_spec: str | os.PathLike | dict[str, Any], device: str = "cpu") -> Adapter:
    """Adapter for a trained model directory, a spec.json path, or a spec dict.

    A spec dict may name its weights file under ``"weights"``; without one the network gets
    fresh weights seeded from ``spec["seed"]`` (an untrained baseline, or for tests); an ``hf``
    spec dict loads its ``"source"`` checkpoint (hub id or directory) instead.

    Parameters
    ----------
    path_or_spec : str, PathLike or dict
        A trained model directory, the path of its ``spec.json``, or a spec dict (its ``"family"``
        picks the module in ``FAMILIES``, default ``cnn``; a ``"probe"`` entry wraps the network in a
        ``ProbeAdapter``).
    device : str
        Torch device the network runs on, default ``cpu``.

    Returns
    -------
    Adapter
        The family's adapter (a ``models.base.Adapter``: ``.name``, ``.spec``, ``.predict`` and the
        capabilities its flags declare).

    Raises
    ------
    InputError
        The spec names an unknown family.
    TypeError
        The family's ``load_adapter`` returned something that is not an ``Adapter`` keeping its
        flags' promises (``models.base.check_capabilities``).
    """
    if isinstance(path_or_spec, dict):
        spec = dict(path_or_spec)
        weights = spec.pop("weights", None)
    else:
        spec, weights = read_spec(path_or_spec)
    family = spec.get("family", "cnn")
    if family not in FAMILIES:
        raise InputError(f"unknown model family {family!r}; known: {', '.join(sorted(FAMILIES))}")
    module = importlib.import_module(FAMILIES[family])
    if "probe" in spec:  # one-shot: the untrained network read by a linear probe (models/probe.py)
        base = {k: v for k, v in spec.items() if k != "probe"}
        adapter = ProbeAdapter(check_capabilities(module.load_adapter(base, None, device=device)), spec)
    else:
        adapter = module.load_adapter(spec, weights, device=device)
    return check_capabilities(adapter)
