"""Keras HDF5 models rebuilt as PyTorch modules, read with h5py alone (no TensorFlow at run time).

A whole-model Keras HDF5 file (``model.save("m.h5")`` in Keras 2 / tf-keras, or Keras 3's legacy
``.h5`` format) holds its layer list as JSON in the root attribute ``model_config`` and its
weights under the group ``model_weights`` (one group per layer, ``weight_names`` listing its
arrays). A weights-only file (``save_weights``) has the per-layer groups at the root; its layer
list then comes from a separate architecture JSON (``model.to_json()``, as Kipoi ships TREDNet's
phase one).

:func:`read_keras_h5` rebuilds a ``Sequential`` model, or a functional model whose layers form a
single chain, of the layer kinds in ``SUPPORTED_LAYERS`` (the kinds TREDNet's two phases use).
Anything else is refused with an :class:`~regvarbench.io.InputError` naming the layer and the
file, so a model is either computed as Keras computes it or not at all.

Layout conversions (Keras is channels-last, PyTorch channels-first):

- the rebuilt module takes Keras' own input layout, (n, length, channels), and transposes once to
  (n, channels, length) inside;
- ``Conv1D`` kernel (k, in, out) -> ``Conv1d.weight`` (out, in, k); ``Dense`` kernel (in, out) ->
  ``Linear.weight`` (out, in);
- ``padding="same"`` pads as TensorFlow does (the odd extra column on the right, and for
  max-pooling with -inf), so strided layers agree too; ``"causal"`` pads on the left;
- ``Flatten`` transposes back to (n, length, channels) before flattening, the order the next
  ``Dense`` kernel's rows were trained in (flattening channels-first silently scrambles them);
- ``BatchNormalization``: gamma/beta/moving_mean/moving_variance -> weight/bias/running_mean/
  running_var, with Keras' epsilon (default 1e-3, not torch's 1e-5) and momentum (torch's is
  ``1 - momentum``; it only matters in training).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..io import InputError

SUPPORTED_LAYERS = ("InputLayer", "Conv1D", "MaxPooling1D", "BatchNormalization", "Dropout",
                    "SpatialDropout1D", "Flatten", "Dense", "Activation")
ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
               "softmax": lambda: nn.Softmax(dim=1)}  # dim 1: channels in both (n, C) and (n, C, L)


class KerasModel(nn.Module):
    """A rebuilt Keras model: (n, length, channels) or (n, features) in Keras' layout -> Keras' output.

    Attributes: ``input_shape`` (Keras' shape without the batch axis, None where free),
    ``output_shape`` (likewise), ``layer_names`` (the Keras layer names, in order), ``source``.
    """

    def __init__(self, layers: list[nn.Module], layer_names: list[str], input_shape: tuple,
                 output_shape: tuple, source: str) -> None:
        super().__init__()
        self.layers = nn.Sequential(*layers)
        self.layer_names = list(layer_names)
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(output_shape)
        self.source = source

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The Keras model's output for input in Keras' layout.

        Parameters
        ----------
        x : torch.Tensor, float32 (or the dtype the module was cast to), shape (n, length, channels) or (n, features)
            Input in Keras' (channels-last) layout.

        Returns
        -------
        torch.Tensor
            Keras' output in Keras' layout: (n, outputs), or (n, length, channels) for a 3-d output.
        """
        if x.dim() == 3:
            x = x.transpose(1, 2)  # channels-last -> channels-first
        x = self.layers(x)
        return x.transpose(1, 2) if x.dim() == 3 else x


class _Conv1D(nn.Module):
    """Conv1D with TensorFlow's padding, then its activation, on (n, C, L)."""

    def __init__(self, conv: nn.Conv1d, padding: str, activation: nn.Module) -> None:
        super().__init__()
        self.conv, self.padding, self.activation = conv, padding, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad as TensorFlow does, convolve, apply the activation.

        Parameters
        ----------
        x : torch.Tensor, shape (n, C_in, L)

        Returns
        -------
        torch.Tensor, shape (n, C_out, L_out)
        """
        k, s, d = self.conv.kernel_size[0], self.conv.stride[0], self.conv.dilation[0]
        if self.padding == "same":
            x = F.pad(x, _same_pads(x.shape[-1], (k - 1) * d + 1, s))
        elif self.padding == "causal":
            x = F.pad(x, ((k - 1) * d, 0))
        return self.activation(self.conv(x))


class _MaxPool1D(nn.Module):
    """MaxPooling1D with TensorFlow's padding on (n, C, L)."""

    def __init__(self, pool: int, stride: int, padding: str) -> None:
        super().__init__()
        self.pool, self.stride, self.padding = pool, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad as TensorFlow does (with -inf), max-pool.

        Parameters
        ----------
        x : torch.Tensor, shape (n, C, L)

        Returns
        -------
        torch.Tensor, shape (n, C, L_out)
        """
        if self.padding == "same":
            x = F.pad(x, _same_pads(x.shape[-1], self.pool, self.stride), value=-math.inf)
        return F.max_pool1d(x, self.pool, self.stride)


class _FlattenChannelsLast(nn.Module):
    """Keras Flatten: (n, C, L) -> (n, L * C) in (length, channel) order; (n, F) unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flatten in Keras' (length, channel) order.

        Parameters
        ----------
        x : torch.Tensor, shape (n, C, L) or (n, F)

        Returns
        -------
        torch.Tensor, shape (n, L * C), or ``x`` itself when it is 2-d
        """
        return x.transpose(1, 2).flatten(1) if x.dim() == 3 else x


class _Dense(nn.Module):
    """Dense then its activation; on (n, C, L) it acts on the channels of every position, as Keras does."""

    def __init__(self, linear: nn.Linear, activation: nn.Module) -> None:
        super().__init__()
        self.linear, self.activation = linear, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The dense layer and its activation, over the channels.

        Parameters
        ----------
        x : torch.Tensor, shape (n, C_in, L) or (n, C_in)

        Returns
        -------
        torch.Tensor, shape (n, units, L) or (n, units)
        """
        if x.dim() == 3:
            return self.activation(self.linear(x.transpose(1, 2)).transpose(1, 2))
        return self.activation(self.linear(x))


def read_keras_h5(path: str | os.PathLike, arch: str | os.PathLike | None = None) -> KerasModel:
    """Rebuild a Keras HDF5 model as a float32 PyTorch module in eval mode, weights loaded.

    Parameters
    ----------
    path : str or PathLike
        A whole-model Keras HDF5 file (``model_config`` attribute and ``model_weights`` group),
        or a weights-only file when ``arch`` is given.
    arch : str or PathLike, optional
        A Keras architecture JSON (``model.to_json()``); it takes precedence over the file's own
        ``model_config``.

    Returns
    -------
    KerasModel
        ``model(x)`` maps a float tensor in Keras' layout, (n, length, channels) or (n, features),
        to Keras' output, e.g. (n, outputs).

    Raises
    ------
    InputError
        The file is missing, not HDF5 or damaged; it has no layer configuration; a layer is of a
        kind or has an option this reader does not support (the message names layer and file);
        a weight array is missing or of the wrong shape.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Keras model file not found: {path}")
    config = _read_arch(arch) if arch is not None else None
    try:
        with h5py.File(path, "r") as f:
            _check_origin(f, path)
            if config is None:
                config = _model_config(f, path)
            group = f["model_weights"] if "model_weights" in f else f
            layers = _layer_list(config, path)
            return _build(layers, group, path)
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:  # h5py's errors for damaged files and objects
        raise InputError(f"{path}: not a readable Keras HDF5 model ({type(exc).__name__}: {exc})") from exc


def _read_arch(arch: str | os.PathLike) -> dict[str, Any]:
    """The model config dict of an architecture JSON file."""
    arch = Path(arch)
    try:
        config = json.loads(arch.read_text())
    except OSError as exc:
        raise InputError(f"Keras architecture file not readable: {arch} ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{arch}: not a Keras architecture JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise InputError(f"{arch}: not a Keras architecture JSON (expected an object)")
    return config


def _check_origin(f: h5py.File, path: Path) -> None:
    """Refuse Keras 1 files and Theano-backend files (other config keys, flipped conv kernels)."""
    version = _text(f.attrs.get("keras_version", ""))
    backend = _text(f.attrs.get("backend", ""))
    if version.startswith("1."):
        raise InputError(f"{path}: written by Keras {version}; Keras 1 files are not supported")
    if backend == "theano":
        raise InputError(f"{path}: written with the Theano backend (flipped convolution kernels); not supported")


def _text(value: Any) -> str:
    """An HDF5 attribute as str."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _model_config(f: h5py.File, path: Path) -> dict[str, Any]:
    """The root ``model_config`` attribute, parsed."""
    raw = f.attrs.get("model_config")
    if raw is None:
        raise InputError(f"{path}: no 'model_config' attribute: a weights-only Keras file; give the "
                         "architecture JSON beside it (arch=...)")
    try:
        config = json.loads(_text(raw))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: 'model_config' is not JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise InputError(f"{path}: 'model_config' is not a Keras model configuration")
    return config


def _layer_list(config: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The layer configs of a Sequential model or of a single-chain functional model, in order."""
    kind = config.get("class_name")
    body = config.get("config")
    if kind == "Sequential":
        layers = body.get("layers") if isinstance(body, dict) else body  # Keras < 2.2.3 stored a bare list
        if not isinstance(layers, list):
            raise InputError(f"{path}: Sequential model without a layer list")
        return layers
    if kind in ("Model", "Functional"):
        return _chain(body, path)
    raise InputError(f"{path}: model class {kind!r} not supported (Sequential, or a functional model "
                     "whose layers form one chain)")


def _chain(body: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The layers of a functional model in order; refused unless each feeds only the next."""
    layers = body.get("layers") or []
    previous = None
    for layer in layers:
        name = layer.get("config", {}).get("name", layer.get("name"))
        sources = _inbound_names(layer.get("inbound_nodes") or [])
        expected = [] if previous is None else [previous]
        if sources != expected:
            raise InputError(f"{path}: layer {name!r} ({layer.get('class_name')}): functional model is not a "
                             f"single chain (inputs {sources}, expected {expected}); not supported")
        previous = layer.get("name", name)
    outputs = body.get("output_layers") or []
    if outputs and isinstance(outputs[0], str):  # Keras 3 writes a single output as [name, node, tensor]
        outputs = [outputs]
    outputs = [o[0] for o in outputs if isinstance(o, list) and o]
    if previous is not None and outputs != [previous]:
        raise InputError(f"{path}: functional model's output {outputs} is not its last layer {previous!r}")
    return layers


def _inbound_names(nodes: list) -> list[str]:
    """Names of the layers feeding a functional layer (Keras 2 lists or Keras 3 dicts)."""
    names: list[str] = []
    for node in nodes:
        if isinstance(node, dict):  # Keras 3: {"args": [tensor spec, ...], "kwargs": {...}}
            for arg in node.get("args", []):
                history = arg.get("config", {}).get("keras_history") if isinstance(arg, dict) else None
                if history:
                    names.append(history[0])
        else:  # Keras 2: [[layer_name, node_index, tensor_index, kwargs], ...]
            names += [entry[0] for entry in node if isinstance(entry, list) and entry]
    return names


def _build(layers: list[dict[str, Any]], weights: h5py.Group, path: Path) -> KerasModel:
    """Modules for ``layers`` with weights from ``weights``, tracking Keras' shape."""
    shape: tuple | None = None
    input_shape: tuple = ()
    modules: list[nn.Module] = []
    names: list[str] = []
    for i, layer in enumerate(layers):
        cfg = layer.get("config") or {}
        kind = layer.get("class_name")
        name = str(cfg.get("name", layer.get("name", f"#{i}")))
        where = f"{path}: layer {name!r} ({layer.get('class_name')})"
        if kind not in SUPPORTED_LAYERS:
            raise InputError(f"{where}: layer kind not supported by the Keras reader "
                             f"(supported: {', '.join(SUPPORTED_LAYERS)})")
        _check_dtype(cfg, where)
        declared = cfg.get("batch_input_shape") or cfg.get("batch_shape")
        if declared is not None and shape is None:  # a later layer's input_shape is ignored, as Keras does
            shape = input_shape = tuple(declared[1:])
        if kind == "InputLayer":
            if i > 0:
                raise InputError(f"{where}: an input layer after the first layer is not supported")
            if cfg.get("sparse") or cfg.get("ragged"):
                raise InputError(f"{where}: sparse or ragged input not supported")
            continue
        if shape is None:
            raise InputError(f"{where}: the model declares no input shape (save a built model)")
        module, shape = _BUILDERS[kind](cfg, _layer_weights(weights, name, where), shape, where)
        modules.append(module)
        names.append(name)
    if shape is None:
        raise InputError(f"{path}: the model has no layers")
    model = KerasModel(modules, names, input_shape, shape, str(path))
    return model.float().eval()


def _check_dtype(cfg: dict[str, Any], where: str) -> None:
    """Refuse mixed or half precision policies (Keras would compute in 16 bits)."""
    dtype = cfg.get("dtype")
    if isinstance(dtype, dict):  # Keras 3 DTypePolicy
        dtype = (dtype.get("config") or {}).get("name")
    if dtype is not None and str(dtype) not in ("float32", "float64"):
        raise InputError(f"{where}: dtype policy {dtype!r} not supported (float32 only)")


def _layer_weights(group: h5py.Group, name: str, where: str) -> dict[str, np.ndarray]:
    """The arrays stored for layer ``name``, keyed by their short Keras name (kernel, bias, ...)."""
    if name not in group:
        return {}
    layer = group[name]
    names = [_text(n) for n in layer.attrs.get("weight_names", [])]
    out: dict[str, np.ndarray] = {}
    for full in names:
        short = full.rsplit("/", 1)[-1].split(":")[0]
        if short in out:
            raise InputError(f"{where}: weight {short!r} stored twice ({names})")
        out[short] = np.asarray(layer[full], dtype=np.float32)
    return out


def _take(arrays: dict[str, np.ndarray], key: str, shape: tuple, where: str) -> torch.Tensor:
    """``arrays[key]`` as a tensor, checked against ``shape``."""
    if key not in arrays:
        raise InputError(f"{where}: weight {key!r} missing (stored: {sorted(arrays) or 'none'})")
    value = arrays[key]
    if tuple(value.shape) != tuple(shape):
        raise InputError(f"{where}: weight {key!r} has shape {tuple(value.shape)}, expected {tuple(shape)}")
    return torch.from_numpy(np.ascontiguousarray(value))


def _activation(cfg: dict[str, Any], where: str) -> nn.Module:
    """The torch module for a Keras activation name."""
    name = cfg.get("activation", "linear")
    if isinstance(name, dict):  # a serialised activation object
        name = name.get("config", {}).get("name", name.get("class_name"))
    if name is None:
        name = "linear"
    if name not in ACTIVATIONS:
        raise InputError(f"{where}: activation {name!r} not supported (supported: {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[name]()


def _one(value: Any, option: str, where: str) -> int:
    """An int from a Keras int-or-1-tuple option."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise InputError(f"{where}: {option}={value} is not one-dimensional")
        value = value[0]
    return int(value)


def _channels_last(cfg: dict[str, Any], where: str) -> None:
    """Refuse ``data_format="channels_first"``."""
    fmt = cfg.get("data_format", "channels_last")
    if fmt not in (None, "channels_last"):
        raise InputError(f"{where}: data_format={fmt!r} not supported (channels_last only)")


def _same_pads(length: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's (left, right) 'same' padding: output ceil(L / stride), extra column on the right."""
    out = -(-length // stride)
    total = max((out - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def _out_length(length: int | None, window: int, stride: int, padding: str) -> int | None:
    """Keras' output length of a 1-D window layer (None stays None)."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    return max((length - window) // stride + 1, 0)


def _conv1d(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """Conv1D -> (module, Keras output shape)."""
    if len(shape) != 2:
        raise InputError(f"{where}: needs (length, channels) input, got shape {shape}")
    _channels_last(cfg, where)
    padding = str(cfg.get("padding", "valid")).lower()
    if padding not in ("valid", "same", "causal"):
        raise InputError(f"{where}: padding={padding!r} not supported")
    k = _one(cfg["kernel_size"], "kernel_size", where)
    s = _one(cfg.get("strides", 1), "strides", where)
    d = _one(cfg.get("dilation_rate", 1), "dilation_rate", where)
    groups = int(cfg.get("groups", 1))
    length, in_ch = shape
    out_ch = int(cfg["filters"])
    if in_ch % groups or out_ch % groups:
        raise InputError(f"{where}: groups={groups} does not divide {in_ch} input / {out_ch} output channels")
    use_bias = bool(cfg.get("use_bias", True))
    conv = nn.Conv1d(in_ch, out_ch, k, stride=s, dilation=d, groups=groups, bias=use_bias)
    with torch.no_grad():
        conv.weight.copy_(_take(arrays, "kernel", (k, in_ch // groups, out_ch), where).permute(2, 1, 0))
        if use_bias:
            conv.bias.copy_(_take(arrays, "bias", (out_ch,), where))
    out_len = _out_length(length, (k - 1) * d + 1, s, padding)
    return _Conv1D(conv, padding, _activation(cfg, where)), (out_len, out_ch)


def _maxpool1d(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """MaxPooling1D -> (module, Keras output shape)."""
    if len(shape) != 2:
        raise InputError(f"{where}: needs (length, channels) input, got shape {shape}")
    _channels_last(cfg, where)
    padding = str(cfg.get("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise InputError(f"{where}: padding={padding!r} not supported")
    pool = _one(cfg.get("pool_size", 2), "pool_size", where)
    stride = _one(cfg.get("strides") or pool, "strides", where)
    return _MaxPool1D(pool, stride, padding), (_out_length(shape[0], pool, stride, padding), shape[1])


def _batchnorm(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """BatchNormalization over the channel (last) axis -> (module, shape)."""
    axis = cfg.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise InputError(f"{where}: axis={axis} not supported (one axis)")
        axis = axis[0]
    if int(axis) not in (-1, len(shape)):
        raise InputError(f"{where}: axis={axis} not supported (the channel axis, -1, only)")
    if cfg.get("renorm"):
        raise InputError(f"{where}: renorm=True not supported")
    channels = int(shape[-1])
    bn = nn.BatchNorm1d(channels, eps=float(cfg.get("epsilon", 1e-3)),
                        momentum=1.0 - float(cfg.get("momentum", 0.99)))
    with torch.no_grad():
        if cfg.get("scale", True):
            bn.weight.copy_(_take(arrays, "gamma", (channels,), where))
        if cfg.get("center", True):
            bn.bias.copy_(_take(arrays, "beta", (channels,), where))
        bn.running_mean.copy_(_take(arrays, "moving_mean", (channels,), where))
        bn.running_var.copy_(_take(arrays, "moving_variance", (channels,), where))
    return bn, shape


def _dropout(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """Dropout / SpatialDropout1D: identity at inference."""
    if cfg.get("noise_shape") is not None:
        raise InputError(f"{where}: noise_shape not supported")
    return nn.Dropout(float(cfg.get("rate", 0.0))), shape


def _flatten(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """Flatten in Keras' (length, channel) order -> (module, (features,))."""
    _channels_last(cfg, where)
    if any(n is None for n in shape):
        raise InputError(f"{where}: Flatten of a free length {shape}; the input length must be fixed")
    return _FlattenChannelsLast(), (int(np.prod(shape)),)


def _dense(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """Dense on the last axis -> (module, shape with units last)."""
    in_f, units = int(shape[-1]), int(cfg["units"])
    use_bias = bool(cfg.get("use_bias", True))
    linear = nn.Linear(in_f, units, bias=use_bias)
    with torch.no_grad():
        linear.weight.copy_(_take(arrays, "kernel", (in_f, units), where).T)
        if use_bias:
            linear.bias.copy_(_take(arrays, "bias", (units,), where))
    return _Dense(linear, _activation(cfg, where)), (*shape[:-1], units)


def _activation_layer(cfg: dict[str, Any], arrays: dict[str, np.ndarray], shape: tuple, where: str):
    """Activation layer -> (module, shape)."""
    return _activation(cfg, where), shape


_BUILDERS = {"Conv1D": _conv1d, "MaxPooling1D": _maxpool1d, "BatchNormalization": _batchnorm,
             "Dropout": _dropout, "SpatialDropout1D": _dropout, "Flatten": _flatten, "Dense": _dense,
             "Activation": _activation_layer}
