"""Sei (Chen et al. 2022, FunctionLab/sei-framework): the published network ``Sei`` and the
scaled-down trainable layout ``sei_like`` (``SeiLike``), one tower for both.

Sei reads 4,096 bp through three blocks of two "linear" convolutions followed by a residual pair of
ReLU convolutions (480, 640, 960 channels, kernel 9, max-pool 4 and dropout between blocks), then
five residual dilated convolutions (dilation 2, 4, 8, 16, 25), B-spline pooling of the 256 pooled
positions onto 16 basis functions (no weights), and a classifier ``Linear(960*16, 21907) - ReLU -
Linear(21907, 21907) - Sigmoid`` predicting 21,907 chromatin profiles (~0.89 B parameters).

``Sei(widths, n_outputs, hidden)`` is that network at any width, with the published key names;
``load_sei`` reads the published ``sei.pth`` (keys ``module.model.*``: it was saved from
``nn.DataParallel(NonStrandSpecific(Sei()))``), strips that prefix, refuses any other layout and
loads it with ``strict=True``. The adapter is :mod:`.sei_framework` (family ``sei``).

``SeiLike`` has the same modules (``lconv1`` … ``dconv5``, ``spline_tr``, ``classifier``) at a
configurable width; defaults are about 1/15 of Sei's channels. Deviations, all deliberate:

- the classifier ends in one enhancer logit (``Linear(C*df, dense) - ReLU - Linear(dense, 1)``)
  instead of 21,907 sigmoid tracks, so it trains per cell line like the other CNNs;
- batch norm (``norm1`` … ``norm4``) after each linear pair and after the dilated tower, which
  Sei does not have: without it the network sat at chance level for epochs on ~400 training
  sequences, and at lr 3e-3 never left it (``batch_norm: false`` gives Sei's plain layout).

Both compute the B-spline basis (cubic, knots evenly spaced over the positions, intercept,
unscaled: Sei's ``spline_factory(n, 16)``; equal to it in fp32, tested against splev) for the
actual length at the pooling layer, so any input length works; padding keeps lengths ("same").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..io import InputError
from .cone import Patch, add_patches, pointwise_patch, sequential_patch, sequential_reference

DEFAULTS = {"channels": [32, 48, 64], "kernel_size": 9, "dilations": [2, 4, 8, 16, 25],
            "pool_size": 4, "dropout": 0.2, "dilated_dropout": 0.1, "spline_df": 16,
            "spline_dropout": 0.5, "dense": 32, "batch_norm": True}


def bspline_basis(length: int, df: int, degree: int = 3) -> np.ndarray:
    """(length, df) cubic B-spline design matrix over evenly spaced positions in [0, 1].

    Parameters
    ----------
    length : int
        Number of positions (1 puts the single position at 0).
    df : int
        Number of basis functions (at least ``degree + 1``).
    degree : int
        Spline degree; 3 is cubic.

    Returns
    -------
    numpy.ndarray, float64, shape (length, df)

    Raises
    ------
    InputError
        ``df`` is below ``degree + 1``.
    """
    from scipy.interpolate import BSpline

    if df < degree + 1:
        raise InputError(f"sei_like: spline_df must be at least {degree + 1}")
    knots = np.r_[[0.0] * degree, np.linspace(0.0, 1.0, df - degree + 1), [1.0] * degree]
    x = np.linspace(0.0, 1.0, length) if length > 1 else np.zeros(1)
    return BSpline.design_matrix(x, knots, degree).toarray()


class BSplineTransformation(nn.Module):
    """Pools (n, C, L) onto (n, C, df) by the B-spline basis of length L (cached per L, no weights)."""

    def __init__(self, degrees_of_freedom: int) -> None:
        super().__init__()
        self.df = degrees_of_freedom
        self._cache: dict[int, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """B-spline pooling of the last axis.

        Parameters
        ----------
        x : torch.Tensor, shape (n, C, L)

        Returns
        -------
        torch.Tensor, shape (n, C, df)
            Same dtype and device as ``x``.
        """
        length = x.shape[-1]
        if length not in self._cache:
            self._cache[length] = torch.from_numpy(bspline_basis(length, self.df))
        return x @ self._cache[length].to(device=x.device, dtype=x.dtype)


def _same(kernel_size: int, dilation: int = 1) -> int:
    return dilation * (kernel_size - 1) // 2



class _SeiTrunk(nn.Module):
    """Sei's convolutional tower and B-spline pooling (modules ``lconv1`` … ``dconvN``, ``spline_tr``)."""

    def __init__(self, channels: list[int], kernel_size: int, dilations: list[int], pool_size: int,
                 dropout: float, dilated_dropout: float, spline_df: int, spline_dropout: float,
                 batch_norm: bool, name: str) -> None:
        super().__init__()
        if len(channels) != 3:
            raise InputError(f"{name}: 'channels' needs three widths (one per block), e.g. [32, 48, 64]")
        if kernel_size % 2 == 0:
            raise InputError(f"{name}: 'kernel_size' must be odd (same-length convolutions)")
        if not dilations:
            raise InputError(f"{name}: 'dilations' needs at least one dilation")
        k, p = kernel_size, _same(kernel_size)
        c1, c2, c3 = channels

        def linear_pair(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
            head = [nn.MaxPool1d(pool_size), nn.Dropout(dropout)] if pool else []
            return nn.Sequential(*head, nn.Conv1d(c_in, c_out, k, padding=p), nn.Conv1d(c_out, c_out, k, padding=p))

        def relu_pair(c: int, drop: bool) -> nn.Sequential:
            head = [nn.Dropout(dropout)] if drop else []
            return nn.Sequential(*head, nn.Conv1d(c, c, k, padding=p), nn.ReLU(inplace=False),
                                 nn.Conv1d(c, c, k, padding=p), nn.ReLU(inplace=False))

        # batch norm after each linear pair and the dilated tower (sei_like only, not in Sei): separate
        # modules, so Sei's key names stay
        norms = [nn.BatchNorm1d(c) if batch_norm else nn.Identity() for c in [*channels, c3]]
        self.norm1, self.norm2, self.norm3, self.norm4 = norms
        self.lconv1 = linear_pair(4, c1, pool=False)
        self.conv1 = relu_pair(c1, drop=False)
        self.lconv2 = linear_pair(c1, c2, pool=True)
        self.conv2 = relu_pair(c2, drop=True)
        self.lconv3 = linear_pair(c2, c3, pool=True)
        self.conv3 = relu_pair(c3, drop=True)
        for i, d in enumerate(dilations, start=1):
            setattr(self, f"dconv{i}", nn.Sequential(
                nn.Dropout(dilated_dropout), nn.Conv1d(c3, c3, 5, dilation=d, padding=_same(5, d)), nn.ReLU()))
        self.n_dilated = len(dilations)
        self.spline_tr = nn.Sequential(nn.Dropout(spline_dropout), BSplineTransformation(spline_df))

    def tower(self, x: torch.Tensor) -> torch.Tensor:
        """(n, C, L / pool²) output of the dilated tower for a (n, 4, L) one-hot tensor.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA (A, C, G, T rows), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (n, C, L / pool²)
            C = the third block's width; lengths are floored at each max-pool.
        """
        lout1 = self.norm1(self.lconv1(x))
        out1 = self.conv1(lout1)
        lout2 = self.norm2(self.lconv2(out1 + lout1))
        out2 = self.conv2(lout2)
        lout3 = self.norm3(self.lconv3(out2 + lout2))
        out3 = self.conv3(lout3)
        out = out3 + self.dconv1(out3 + lout3)  # as Sei: the first dilated conv also sees lout3
        for i in range(2, self.n_dilated + 1):
            out = out + getattr(self, f"dconv{i}")(out)
        return self.norm4(out)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, C * df) B-spline-pooled tower output, flattened channel-major as Sei's ``view``.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA (A, C, G, T rows), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (n, C * df)
        """
        return self.spline_tr(self.tower(x)).flatten(1)

    def tower_reference(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """:meth:`tower` of reference inputs, and the activations :meth:`tower_patch` reuses.

        Parameters
        ----------
        x : torch.Tensor, shape (R, 4, L)
            Encoded reference inputs.

        Returns
        -------
        tuple
            The tower output (R, C, L / pool²), equal to ``tower(x)`` (the same operations), and
            the cache: every convolution's and pool's input and every residual summand, (R, C_i, L_i).
        """
        c: dict = {}
        lout1 = c["lout1"] = self.norm1(sequential_reference(self.lconv1, x, c))
        out1 = c["out1"] = sequential_reference(self.conv1, lout1, c)
        lout2 = c["lout2"] = self.norm2(sequential_reference(self.lconv2, out1 + lout1, c))
        out2 = c["out2"] = sequential_reference(self.conv2, lout2, c)
        lout3 = c["lout3"] = self.norm3(sequential_reference(self.lconv3, out2 + lout2, c))
        out = c["out3"] = sequential_reference(self.conv3, lout3, c)
        c["res1"] = out + lout3
        for i in range(1, self.n_dilated + 1):
            c[f"d{i}"] = sequential_reference(getattr(self, f"dconv{i}"), c["res1"] if i == 1 else out, c)
            out = c[f"sum{i}"] = out + c[f"d{i}"]
        c["out"] = out = self.norm4(out)
        return out, c

    def tower_patch(self, cache: dict, rows: torch.Tensor, patch: Patch) -> Patch:
        """The tower output's patch for inputs that differ from reference rows only inside ``patch``.

        Receptive-field reuse (models/cone.py): every layer recomputes only the positions the
        input's change reaches, from the reference activations of :meth:`tower_reference`.
        Kernel-9 convolutions widen the patch by 8, max-pool 4 divides it by 4 (rounded up, plus
        one), dilated kernel-5 convolutions widen it by 4 x dilation; exact up to float
        summation order (eval mode only: dropout is the identity).

        Parameters
        ----------
        cache : dict
            From :meth:`tower_reference`, reference rows R.
        rows : torch.Tensor, shape (B,), int64
            Reference row of each alternative.
        patch : Patch
            The alternatives' input values over ``[lo, lo + w)``, (B, 4, w).

        Returns
        -------
        Patch
            Of the tower output, (B, C, w_out); :func:`.cone.paste` gives the whole output.
        """
        if self.training:
            raise RuntimeError("tower_patch needs eval mode (dropout and batch norm as in inference)")
        c = cache
        lout1 = pointwise_patch(self.norm1, sequential_patch(self.lconv1, patch, c, rows))
        out1 = sequential_patch(self.conv1, lout1, c, rows)
        s1 = add_patches(out1, c["out1"], lout1, c["lout1"], rows)
        lout2 = pointwise_patch(self.norm2, sequential_patch(self.lconv2, s1, c, rows))
        out2 = sequential_patch(self.conv2, lout2, c, rows)
        s2 = add_patches(out2, c["out2"], lout2, c["lout2"], rows)
        lout3 = pointwise_patch(self.norm3, sequential_patch(self.lconv3, s2, c, rows))
        out = sequential_patch(self.conv3, lout3, c, rows)
        res, out_ref = add_patches(out, c["out3"], lout3, c["lout3"], rows), c["out3"]
        for i in range(1, self.n_dilated + 1):
            d = sequential_patch(getattr(self, f"dconv{i}"), res if i == 1 else out, c, rows)
            out, out_ref = add_patches(out, out_ref, d, c[f"d{i}"], rows), c[f"sum{i}"]
        return pointwise_patch(self.norm4, out)


class SeiLike(_SeiTrunk):
    """Sei's block structure (linear conv pairs, residual ReLU conv pairs, dilated residual tower), one logit."""

    def __init__(self, channels: list[int], kernel_size: int, dilations: list[int], pool_size: int,
                 dropout: float, dilated_dropout: float, spline_df: int, spline_dropout: float,
                 dense: int, batch_norm: bool = True) -> None:
        super().__init__(channels, kernel_size, dilations, pool_size, dropout, dilated_dropout, spline_df,
                         spline_dropout, batch_norm, name="sei_like")
        self.classifier = nn.Sequential(nn.Linear(channels[2] * spline_df, dense), nn.ReLU(), nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One enhancer logit per sequence.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA (A, C, G, T rows), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (n,)
        """
        return self.classifier(self.features(x)).squeeze(1)


# The published network (FunctionLab/sei-framework model/sei.py; Chen et al. 2022)
SEI_WIDTHS = (480, 640, 960)
SEI_OUTPUTS = 21_907  # chromatin profiles (model/target.names)
SEI_SPLINE_DF = 16  # int(128 / 8) in the published code
SEI_INPUT_LENGTH = 4_096
SEI_PREFIX = "module.model."  # sei.pth is the state dict of nn.DataParallel(NonStrandSpecific(Sei()))


class Sei(_SeiTrunk):
    """The published Sei: its tower, B-spline pooling and ``Linear - ReLU - Linear - Sigmoid`` classifier.

    Parameters
    ----------
    widths : sequence of 3 int
        Channels of the three blocks; published 480, 640, 960.
    n_outputs : int
        Chromatin profiles predicted; published 21,907.
    hidden : int, optional
        Width of the classifier's hidden layer; published (default) ``n_outputs``.
    spline_df : int
        B-spline basis functions over the pooled positions; published 16.

    Kernel 9, max-pool 4, dilations 2, 4, 8, 16, 25 (kernel 5) and the dropout rates are the
    published ones. ``forward`` maps (n, 4, L) one-hot (A, C, G, T rows) to (n, n_outputs)
    probabilities; at any width the state-dict keys are the published ones (without
    ``SEI_PREFIX``).
    """

    def __init__(self, widths: tuple[int, int, int] | list[int] = SEI_WIDTHS, n_outputs: int = SEI_OUTPUTS,
                 hidden: int | None = None, spline_df: int = SEI_SPLINE_DF) -> None:
        super().__init__(list(widths), kernel_size=9, dilations=[2, 4, 8, 16, 25], pool_size=4, dropout=0.2,
                         dilated_dropout=0.1, spline_df=spline_df, spline_dropout=0.5, batch_norm=False, name="sei")
        hidden = int(hidden or n_outputs)
        self.widths, self.n_outputs, self.hidden = tuple(int(w) for w in widths), int(n_outputs), hidden
        self.spline_df = spline_df
        self.classifier = nn.Sequential(nn.Linear(self.widths[2] * spline_df, hidden), nn.ReLU(),
                                        nn.Linear(hidden, self.n_outputs), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Profile probabilities: :meth:`head` of :meth:`tower`.

        Parameters
        ----------
        x : torch.Tensor, float32 or float64, shape (n, 4, L)
            One-hot DNA (A, C, G, T rows), in the dtype of the weights.

        Returns
        -------
        torch.Tensor, shape (n, n_outputs)
            Sigmoid outputs in [0, 1].
        """
        return self.head(self.tower(x))

    def head(self, tower: torch.Tensor) -> torch.Tensor:
        """(n, n_outputs) probabilities from the (n, C, L') tower output: B-spline pooling, classifier.

        Parameters
        ----------
        tower : torch.Tensor, shape (n, C, L')
            Output of :meth:`tower` (or a pasted cone patch of it).

        Returns
        -------
        torch.Tensor, shape (n, n_outputs)
        """
        return self.classifier(self.spline_tr(tower).flatten(1))


def save_sei(model: Sei, path: str | Path) -> Path:
    """Write ``model``'s state dict as the published ``sei.pth`` is laid out (keys ``module.model.*``).

    Parameters
    ----------
    model : Sei
        The network.
    path : str or Path
        File to write (parent directories are created).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({SEI_PREFIX + k: v for k, v in model.state_dict().items()}, path)
    return path


def read_sei_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a Sei ``.pth`` file, the published ``module.model.`` prefix removed.

    Parameters
    ----------
    path : str or Path
        A state dict saved by ``torch.save`` (the published ``sei.pth``), or a Selene checkpoint
        holding one under ``"state_dict"``.

    Returns
    -------
    dict[str, torch.Tensor]
        Keys as ``Sei().state_dict()`` names them; tensors memory-mapped where the file allows.

    Raises
    ------
    InputError
        The file is missing, not a torch file, or its keys do not all carry the prefix.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Sei weights not found: {path}")
    try:
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # files of torch < 1.6 (legacy format) cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (pickle, zip and torch errors alike: a damaged or foreign file)
        raise InputError(f"{path}: not a readable PyTorch state dict ({type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from exc
    if isinstance(raw, dict) and isinstance(raw.get("state_dict"), dict):
        raw = raw["state_dict"]  # a Selene training checkpoint
    if not isinstance(raw, dict) or not raw or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise InputError(f"{path}: not a state dict of tensors (got {type(raw).__name__})")
    foreign = [k for k in raw if not str(k).startswith(SEI_PREFIX)]
    if foreign:
        raise InputError(f"{path}: key {foreign[0]!r} (and {len(foreign) - 1} more) lacks the prefix {SEI_PREFIX!r} "
                         "of the published sei.pth (saved from nn.DataParallel(NonStrandSpecific(Sei()))); "
                         "not a Sei state dict as published")
    return {k[len(SEI_PREFIX):]: v for k, v in raw.items()}


def sei_sizes(state: dict[str, torch.Tensor], source: str | Path = "state dict") -> dict[str, Any]:
    """``Sei`` constructor arguments (widths, n_outputs, hidden, spline_df) read off a state dict's shapes.

    Parameters
    ----------
    state : dict of str to torch.Tensor
        A Sei state dict, prefix removed (:func:`read_sei_state_dict`).
    source : str or Path
        Name of the state dict in error messages.

    Returns
    -------
    dict
        ``widths`` (list of 3 int), ``n_outputs``, ``hidden`` and ``spline_df`` (int each).

    Raises
    ------
    InputError
        A key Sei needs is missing, or the classifier's input size is not a multiple of the last width.
    """
    keys = ("lconv1.0.weight", "lconv2.2.weight", "lconv3.2.weight", "classifier.0.weight", "classifier.2.weight")
    missing = [k for k in keys if k not in state or state[k].dim() < 2]
    if missing:
        raise InputError(f"{source}: not a Sei state dict: no {missing[0]!r} (keys start {', '.join(list(state)[:3])})")
    widths = [int(state[k].shape[0]) for k in keys[:3]]
    hidden, flat = (int(n) for n in state["classifier.0.weight"].shape)
    if flat % widths[2]:
        raise InputError(f"{source}: classifier.0.weight has {flat} inputs, not a multiple of {widths[2]} channels")
    return {"widths": widths, "n_outputs": int(state["classifier.2.weight"].shape[0]), "hidden": hidden,
            "spline_df": flat // widths[2]}


def load_sei(path: str | Path, device: str = "cpu") -> Sei:
    """Sei with the weights of ``path`` (published ``sei.pth`` layout), loaded with ``strict=True``.

    Parameters
    ----------
    path : str or Path
        The weights file (see :func:`read_sei_state_dict`); its widths and output count are read
        off its shapes, every other shape and every key name must be Sei's.
    device : str
        Torch device.

    Returns
    -------
    Sei
        In eval mode, on ``device``, in the file's dtype.

    Raises
    ------
    InputError
        Keys missing, unexpected or of another shape (the message names the file and the first of each).
    """
    state = read_sei_state_dict(path)
    with torch.device("meta"):
        model = Sei(**sei_sizes(state, path))
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (Sei: {shape})" for k, shape in expected.items()
             if k in state and tuple(state[k].shape) != shape]
    problems = [f"{len(v)} {what}, e.g. {v[0]}" for what, v in
                (("missing keys", missing), ("unexpected keys", unexpected), ("shapes differ", wrong)) if v]
    if problems:
        raise InputError(f"{path}: not Sei's architecture: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True, assign=True)
    return model.to(device).eval()
