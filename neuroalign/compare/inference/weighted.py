"""Weighted ranks and correlations: resampled vectors without building them.

A bootstrap resample of conditions that repeats condition ``a`` ``c_a`` times turns
every pair ``(a, b)`` of the RDM vector into ``c_a * c_b`` identical entries and
drops the pairs of a condition with its own copy. Any statistic that treats entries
as a sample (means, Pearson, Spearman ranks with averaged ties, cosine) is then the
same statistic on the *original* vector with integer weights ``w_ab = c_a c_b``.
These functions compute them batched over resamples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "fixed_weighted_corr_matrix",
    "pair_weights",
    "weighted_corr",
    "weighted_corr_matrix",
    "weighted_rank",
]


def pair_weights(counts: np.ndarray, n: int) -> np.ndarray:
    """Upper-triangle pair weights ``c_a c_b`` (a < b) from condition counts.

    Parameters
    ----------
    counts : array of shape (..., n)
        How often each condition occurs in a resample.
    n : int
        Number of conditions.

    Returns
    -------
    numpy.ndarray of shape (..., n (n - 1) / 2), in ``numpy.triu_indices(n, 1)`` order.
    """
    iu, ju = np.triu_indices(n, 1)
    return counts[..., iu] * counts[..., ju]


def _tie_runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the first and last element of each run of ties in sorted vectors."""
    differs = sorted_values[..., 1:] != sorted_values[..., :-1]
    ones = np.ones((*sorted_values.shape[:-1], 1), dtype=bool)
    return np.concatenate([ones, differs], axis=-1), np.concatenate([differs, ones], axis=-1)


def weighted_rank(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Tie-averaged ranks of entries that occur ``weights`` times each.

    The rank of an entry is the average rank its copies would get in the vector
    where each entry is repeated ``weight`` times (``scipy.stats.rankdata``'s
    "average" method); zero-weight entries get a rank but carry no weight.

    Parameters
    ----------
    values : array of shape (..., p)
        Values; sorted once per vector, whatever the number of weight rows.
    weights : array broadcastable with ``values`` to the output shape

    Returns
    -------
    numpy.ndarray of float, the broadcast shape of ``values`` and ``weights``.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    shape = np.broadcast_shapes(values.shape, weights.shape)
    order = np.argsort(values, axis=-1)
    sorted_vals = np.take_along_axis(values, order, axis=-1)
    order_b = np.broadcast_to(order, shape)
    sw = np.take_along_axis(np.broadcast_to(weights, shape), order_b, axis=-1)
    cw = np.cumsum(sw, axis=-1)
    if np.all(sorted_vals[..., 1:] != sorted_vals[..., :-1]):
        # no ties: each entry is its own group
        ranks_sorted = cw - 0.5 * sw + 0.5
    else:
        # cumulative weights never decrease along the sorted axis, so the weight before
        # a run is a running maximum over run starts, and the weight up to its end a
        # running minimum (from the right) over run ends
        start, end = _tie_runs(sorted_vals)
        before = np.maximum.accumulate(np.where(start, cw - sw, -np.inf), axis=-1)
        upto = np.flip(np.minimum.accumulate(np.flip(np.where(end, cw, np.inf), -1), axis=-1), -1)
        ranks_sorted = before + (upto - before + 1.0) / 2.0
    out = np.empty(shape)
    np.put_along_axis(out, order_b, ranks_sorted, axis=-1)
    return out


def _weighted_center(x: Any, w: Any, wsum: Any) -> Any:
    return x - (x * w).sum(-1, keepdims=True) / wsum


def weighted_corr_matrix(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, center: bool = True
) -> np.ndarray:
    """Weighted Pearson (or cosine) between every row of ``x`` and every row of ``y``.

    Parameters
    ----------
    x : array of shape (B, M, p) or (M, p)
    y : array of shape (B, S, p) or (S, p)
    w : array of shape (B, p)
        Non-negative weights (one row per resample).
    center : bool
        Subtract weighted means (Pearson); ``False`` gives the weighted cosine.

    Returns
    -------
    numpy.ndarray of shape (B, M, S)
    """
    w = np.asarray(w, dtype=float)
    x, y = np.asarray(x), np.asarray(y)
    xb = np.broadcast_to(x, (w.shape[0], *x.shape[-2:])) if x.ndim == 2 else x
    yb = np.broadcast_to(y, (w.shape[0], *y.shape[-2:])) if y.ndim == 2 else y
    with np.errstate(invalid="ignore", divide="ignore"):
        return _corr_matrix(xb, yb, w, center, np.sqrt)


def weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray, center: bool = True) -> np.ndarray:
    """Weighted Pearson (or cosine) of paired rows, broadcast on leading dims.

    Parameters
    ----------
    x, y : arrays of shape (..., p)
    w : array broadcastable to (..., p)
    center : bool
        Pearson when ``True``; cosine when ``False``.

    Returns
    -------
    numpy.ndarray of shape (...)
    """
    w = np.asarray(w, dtype=float)
    if center:
        wsum = w.sum(-1, keepdims=True)
        x = _weighted_center(x, w, wsum)
        y = _weighted_center(y, w, wsum)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * x * y).sum(-1) / np.sqrt((w * x * x).sum(-1) * (w * y * y).sum(-1))


def fixed_weighted_corr_matrix(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, center: bool = True
) -> np.ndarray:
    """Weighted Pearson (or cosine) of fixed rows under many weight vectors.

    Same result as :func:`weighted_corr_matrix` for ``x`` (M, p) and ``y`` (S, p)
    that do not change across the resamples, from matrix products of the weights
    with ``x``, ``y``, their squares and products: no (B, S, p) array is formed.

    Returns
    -------
    numpy.ndarray of shape (B, M, S)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _fixed_corr_matrix(x, y, w, center, np.sqrt)


def _corr_matrix(x: Any, y: Any, w: Any, center: bool, sqrt: Callable[[Any], Any]) -> Any:
    """Core of :func:`weighted_corr_matrix` for numpy arrays or torch tensors.

    ``x`` (B, M, p), ``y`` (B, S, p), ``w`` (B, p); ``sqrt`` is the array library's.
    """
    wb = w[:, None, :]
    wsum = w.sum(-1)[:, None, None]
    if center:
        x = _weighted_center(x, wb, wsum)
        y = _weighted_center(y, wb, wsum)
    xw = x * wb
    cross = xw @ y.swapaxes(-1, -2)
    nx = (xw * x).sum(-1)
    ny = (y * y * wb).sum(-1)
    return cross / sqrt(nx[:, :, None] * ny[:, None, :])


def _fixed_corr_matrix(
    x: Any, y: Any, w: Any, center: bool, sqrt: Callable[[Any], Any]
) -> Any:
    """Core of :func:`fixed_weighted_corr_matrix` for numpy arrays or torch tensors.

    ``x`` (M, p), ``y`` (S, p), ``w`` (B, p); ``sqrt`` is the array library's.
    """
    if center:  # a global shift leaves Pearson unchanged and limits cancellation
        x = x - x.mean(-1, keepdims=True)
        y = y - y.mean(-1, keepdims=True)
    n_b, p = w.shape
    s_xy = ((w[:, None, :] * x[None]).reshape(-1, p) @ y.T).reshape(n_b, x.shape[0], -1)
    s_xx = w @ (x * x).T
    s_yy = w @ (y * y).T
    if not center:
        return s_xy / sqrt(s_xx[:, :, None] * s_yy[:, None, :])
    big_w = w.sum(-1)
    s_x = w @ x.T
    s_y = w @ y.T
    cov = s_xy - s_x[:, :, None] * s_y[:, None, :] / big_w[:, None, None]
    vx = s_xx - s_x * s_x / big_w[:, None]
    vy = s_yy - s_y * s_y / big_w[:, None]
    return cov / sqrt(vx[:, :, None] * vy[:, None, :])
