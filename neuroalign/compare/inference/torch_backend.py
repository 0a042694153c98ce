"""Torch versions of the weighted rank/correlation kernels (float64; CPU or GPU).

torch is imported lazily; the results equal the numpy kernels to round-off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuroalign.compare.inference.weighted import _corr_matrix, _fixed_corr_matrix
from neuroalign.core.errors import DependencyError, InferenceError

__all__ = [
    "rdm_bootstrap_torch",
    "torch_fixed_weighted_corr_matrix",
    "torch_weighted_corr_matrix",
    "torch_weighted_rank",
]


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise DependencyError(
            "backend='torch' needs PyTorch; install it (pip install torch) or use "
            "backend='numpy'"
        ) from exc
    return torch


def torch_weighted_rank(values: Any, weights: Any) -> Any:
    """Tie-averaged ranks of entries repeated ``weights`` times (see ``weighted_rank``)."""
    torch = _torch()
    shape = torch.broadcast_shapes(values.shape, weights.shape)
    sorted_vals, order = torch.sort(values, dim=-1, stable=True)
    p = values.shape[-1]
    pos = torch.arange(p, device=values.device).expand(sorted_vals.shape)
    differs = sorted_vals[..., 1:] != sorted_vals[..., :-1]
    ones = torch.ones((*sorted_vals.shape[:-1], 1), dtype=torch.bool, device=values.device)
    start = torch.cat([ones, differs], dim=-1)
    end = torch.cat([differs, ones], dim=-1)
    first = torch.cummax(torch.where(start, pos, torch.zeros_like(pos)), dim=-1).values
    last_rev = torch.where(end, pos, torch.full_like(pos, p - 1)).flip(-1)
    last = torch.cummin(last_rev, dim=-1).values.flip(-1)
    order_b = order.expand(shape)
    sw = torch.gather(weights.expand(shape), -1, order_b)
    cw = torch.cumsum(sw, dim=-1)
    before = torch.gather(cw - sw, -1, first.expand(shape))
    total = torch.gather(cw, -1, last.expand(shape)) - before
    out = torch.empty(shape, dtype=cw.dtype, device=values.device)
    return out.scatter_(-1, order_b, before + (total + 1.0) / 2.0)


def torch_weighted_corr_matrix(x: Any, y: Any, w: Any, center: bool = True) -> Any:
    """Weighted Pearson/cosine of rows of ``x`` (B, M, p) with rows of ``y`` (B, S, p)."""
    return _corr_matrix(x, y, w, center, _torch().sqrt)


def torch_fixed_weighted_corr_matrix(x: Any, y: Any, w: Any, center: bool = True) -> Any:
    """Weighted Pearson/cosine of fixed rows ``x`` (M, p), ``y`` (S, p) under weights (B, p)."""
    return _fixed_corr_matrix(x, y, w, center, _torch().sqrt)


def rdm_bootstrap_torch(
    models: np.ndarray,
    data: np.ndarray,
    w_all: np.ndarray,
    cs: np.ndarray,
    valid: np.ndarray,
    method: str,
    noise_ceiling: bool,
    out: dict[str, np.ndarray],
    device: str | None = None,
    chunk: int = 256,
) -> dict[str, np.ndarray]:
    """Bootstrap evaluations of the fast methods in torch (float64), chunked."""
    torch = _torch()
    if noise_ceiling:
        raise InferenceError("bootstrapped noise ceilings run on backend='numpy' only")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    xm = torch.as_tensor(models, dtype=torch.float64, device=dev)
    yd = torch.as_tensor(data, dtype=torch.float64, device=dev)
    n_sub = data.shape[0]
    for start in range(0, w_all.shape[0], chunk):
        sl = slice(start, start + chunk)
        w = torch.as_tensor(w_all[sl], dtype=torch.float64, device=dev)
        if method == "spearman":
            xt = torch_weighted_rank(xm, w[:, None, :])
            yt = torch_weighted_rank(yd, w[:, None, :])
            r = torch_weighted_corr_matrix(xt, yt, w)
        else:
            r = torch_fixed_weighted_corr_matrix(xm, yd, w, center=method != "cosine")
        c = torch.as_tensor(cs[sl], dtype=torch.float64, device=dev)
        out["evaluations"][sl] = (torch.einsum("bms,bs->bm", r, c) / n_sub).cpu().numpy()
    out["evaluations"][~valid] = np.nan
    return out
