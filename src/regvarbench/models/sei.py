"""Sei-style CNN (architecture ``sei_like``): Sei's layout, scaled down, one enhancer logit.

Sei (Chen et al. 2022, FunctionLab/sei-framework) reads 4,096 bp through three blocks of
"linear" convolutions followed by a residual pair of ReLU convolutions (480, 640, 960 channels,
kernel 9, max-pool 4 and dropout between blocks), then five residual dilated convolutions
(dilation 2, 4, 8, 16, 25), B-spline pooling of the positions onto 16 basis functions, and a
dense classifier predicting 21,907 chromatin profiles.

Here the same modules, with the same names (``lconv1`` … ``dconv5``, ``spline_tr``,
``classifier``), are built at a configurable width; defaults are about 1/15 of Sei's channels.
Deviations, all deliberate:

- the classifier ends in one enhancer logit (``Linear(C*df, dense) - ReLU - Linear(dense, 1)``)
  instead of 21,907 sigmoid tracks, so it trains per cell line like the other CNNs;
- the B-spline basis (cubic, uniform knots, intercept, unscaled, as Sei's) is computed for the
  actual length at the pooling layer, so any input length works; it is not a parameter;
- batch norm (``norm1`` … ``norm4``) after each linear pair and after the dilated tower, which
  Sei does not have: without it the network sat at chance level for epochs on ~400 training
  sequences, and at lr 3e-3 never left it (``batch_norm: false`` gives Sei's plain layout);
- padding keeps lengths ("same") in every convolution, as in Sei.

With ``batch_norm=False``, ``channels=[480, 640, 960]``, ``kernel_size=9``, ``spline_df=16`` the trunk's state-dict keys
and shapes are those of Sei's ``sei.pth`` after dropping its ``module.model.`` prefix, so the
published trunk could be loaded with ``load_state_dict(strict=False)``; its classifier (21,907
outputs) cannot, and those weights are not downloadable here. See docs/models.md.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..io import InputError

DEFAULTS = {"channels": [32, 48, 64], "kernel_size": 9, "dilations": [2, 4, 8, 16, 25],
            "pool_size": 4, "dropout": 0.2, "dilated_dropout": 0.1, "spline_df": 16,
            "spline_dropout": 0.5, "dense": 32, "batch_norm": True}


def bspline_basis(length: int, df: int, degree: int = 3) -> np.ndarray:
    """(length, df) cubic B-spline design matrix over evenly spaced positions in [0, 1]."""
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
        length = x.shape[-1]
        if length not in self._cache:
            self._cache[length] = torch.from_numpy(bspline_basis(length, self.df))
        return x @ self._cache[length].to(device=x.device, dtype=x.dtype)


def _same(kernel_size: int, dilation: int = 1) -> int:
    return dilation * (kernel_size - 1) // 2


class SeiLike(nn.Module):
    """Sei's block structure (linear conv pairs, residual ReLU conv pairs, dilated residual tower)."""

    def __init__(self, channels: list[int], kernel_size: int, dilations: list[int], pool_size: int,
                 dropout: float, dilated_dropout: float, spline_df: int, spline_dropout: float,
                 dense: int, batch_norm: bool = True) -> None:
        super().__init__()
        if len(channels) != 3:
            raise InputError("sei_like: 'channels' needs three widths (one per block), e.g. [32, 48, 64]")
        if kernel_size % 2 == 0:
            raise InputError("sei_like: 'kernel_size' must be odd (same-length convolutions)")
        k, p = kernel_size, _same(kernel_size)
        c1, c2, c3 = channels

        def linear_pair(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
            head = [nn.MaxPool1d(pool_size), nn.Dropout(dropout)] if pool else []
            return nn.Sequential(*head, nn.Conv1d(c_in, c_out, k, padding=p), nn.Conv1d(c_out, c_out, k, padding=p))

        def relu_pair(c: int, drop: bool) -> nn.Sequential:
            head = [nn.Dropout(dropout)] if drop else []
            return nn.Sequential(*head, nn.Conv1d(c, c, k, padding=p), nn.ReLU(inplace=False),
                                 nn.Conv1d(c, c, k, padding=p), nn.ReLU(inplace=False))

        # batch norm after each linear pair and the dilated tower (not in Sei): separate modules, so Sei's key names stay
        norms = [nn.BatchNorm1d(c) if batch_norm else nn.Identity() for c in [*channels, c3]]
        self.norm1, self.norm2, self.norm3, self.norm4 = norms
        self.lconv1 = linear_pair(4, c1, pool=False)
        self.conv1 = relu_pair(c1, drop=False)
        self.lconv2 = linear_pair(c1, c2, pool=True)
        self.conv2 = relu_pair(c2, drop=True)
        self.lconv3 = linear_pair(c2, c3, pool=True)
        self.conv3 = relu_pair(c3, drop=True)
        if not dilations:
            raise InputError("sei_like: 'dilations' needs at least one dilation")
        for i, d in enumerate(dilations, start=1):
            setattr(self, f"dconv{i}", nn.Sequential(
                nn.Dropout(dilated_dropout), nn.Conv1d(c3, c3, 5, dilation=d, padding=_same(5, d)), nn.ReLU()))
        self.n_dilated = len(dilations)
        self.spline_tr = nn.Sequential(nn.Dropout(spline_dropout), BSplineTransformation(spline_df))
        self.classifier = nn.Sequential(nn.Linear(c3 * spline_df, dense), nn.ReLU(), nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lout1 = self.norm1(self.lconv1(x))
        out1 = self.conv1(lout1)
        lout2 = self.norm2(self.lconv2(out1 + lout1))
        out2 = self.conv2(lout2)
        lout3 = self.norm3(self.lconv3(out2 + lout2))
        out3 = self.conv3(lout3)
        out = out3 + self.dconv1(out3 + lout3)  # as Sei: the first dilated conv also sees lout3
        for i in range(2, self.n_dilated + 1):
            out = out + getattr(self, f"dconv{i}")(out)
        pooled = self.spline_tr(self.norm4(out))
        return self.classifier(pooled.flatten(1)).squeeze(1)
