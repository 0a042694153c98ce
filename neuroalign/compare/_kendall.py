"""Kendall's tau-a for many pairs of vectors at once, in O(p log p) per pair.

tau-a = (concordant - discordant) / (p (p - 1) / 2), where pairs tied in either
vector count as neither. With ``tot = p (p - 1) / 2``, ``xtie`` / ``ytie`` the pairs
tied in x / y and ``ntie`` the pairs tied in both,

    concordant - discordant = tot - xtie - ytie + ntie - 2 * discordant.

The discordant pairs are the strict inversions of the y-ranks once the elements are
sorted by (x, y). Inversions are counted for all rows at once with a most-significant-
bit-first radix scheme: at bit ``b`` the pairs decided there are those that share the
higher bits, come in order (1, 0) at bit ``b``; a stable radix sort (numpy's stable
argsort on 16/32-bit integers) keeps the elements grouped by prefix in their original
order, so each level is a handful of vectorised passes. This numpy path is the
reference and the fallback.

The fast path (:func:`tau_a_pairs`, numba) ranks each distinct vector once, then for
every pair walks the elements in x order with a Fenwick tree over the y ranks: each
x-tie group first queries how many earlier elements have a smaller y rank
(concordant) or a larger one (discordant), then inserts itself, which gives
concordant - discordant directly, ties included.
"""

from __future__ import annotations

import importlib.util
import threading
import types
from functools import cache

import numpy as np

__all__ = ["HAVE_NUMBA", "dense_ranks", "tau_a_pairs", "tau_a_rows"]

#: whether the compiled (numba) kernel is available; the numpy path is the reference
HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _small_int(p: int) -> type:
    return np.int16 if p < 2**15 else np.int32


def _ranks_and_order(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    step = np.zeros(xs.shape, dtype=np.int64)
    step[..., 1:] = xs[..., 1:] != xs[..., :-1]
    ranks_sorted = np.cumsum(step, axis=-1)
    out = np.empty_like(ranks_sorted)
    np.put_along_axis(out, order, ranks_sorted, axis=-1)
    return out, order


def dense_ranks(x: np.ndarray) -> np.ndarray:
    """Dense ranks (0, 1, 2, ... with ties sharing a rank) along the last axis."""
    return _ranks_and_order(np.asarray(x))[0]


def _tied_pairs_sorted(s: np.ndarray) -> np.ndarray:
    """Number of tied pairs per row of a row-sorted integer array."""
    p = s.shape[-1]
    idx = np.arange(p)
    new = np.ones(s.shape, dtype=bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=-1)
    return (idx - start).sum(axis=-1, dtype=np.int64)


def _count_inversions(y: np.ndarray) -> np.ndarray:
    """Strict inversions (i < j, y_i > y_j) per row of non-negative integer ranks."""
    n_rows, p = y.shape
    dt = _small_int(p)
    y = y.astype(dt)
    total = np.zeros(n_rows, dtype=np.int64)
    if p < 2:
        return total
    nbits = max(1, int(y.max()).bit_length())
    cur = y
    for b in range(nbits - 1, -1, -1):
        if b + 1 < nbits:
            # stable radix sort by the prefix above bit b keeps original order in groups
            order = np.argsort(cur >> (b + 1), axis=-1, kind="stable")
            cur = np.take_along_axis(cur, order, axis=-1)
            prefix = cur >> (b + 1)
            new = np.ones(cur.shape, dtype=bool)
            new[:, 1:] = prefix[:, 1:] != prefix[:, :-1]
        else:
            new = np.zeros(cur.shape, dtype=bool)
            new[:, 0] = True
        bit = ((cur >> b) & 1).astype(np.int32)
        ones_excl = np.cumsum(bit, axis=-1, dtype=np.int32) - bit
        # ones seen before the start of each element's group
        base = np.maximum.accumulate(np.where(new, ones_excl, -1), axis=-1)
        zero = bit == 0
        total += np.where(zero, ones_excl - base, 0).sum(axis=-1, dtype=np.int64)
    return total


def tau_a_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-a between matching rows of two 2-D arrays without NaN.

    Parameters
    ----------
    x, y
        Arrays of shape ``(m, p)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)``; NaN where ``p < 2``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, p = x.shape
    if p < 2:
        return np.full(m, np.nan)
    xr = dense_ranks(x)
    yr = dense_ranks(y)
    key = xr * p + yr
    order = np.argsort(key, axis=-1)
    ks = np.take_along_axis(key, order, axis=-1)
    ntie = _tied_pairs_sorted(ks)
    xtie = _tied_pairs_sorted(np.sort(xr, axis=-1))
    ytie = _tied_pairs_sorted(np.sort(yr, axis=-1))
    dis = _count_inversions(np.take_along_axis(yr, order, axis=-1))
    tot = p * (p - 1) // 2
    num = tot - xtie - ytie + ntie - 2 * dis
    return np.clip(num / tot, -1.0, 1.0)


def _bit_kernel(order_x, ranks_x, ranks_y, ia, ib, out):  # pragma: no cover - compiled
    """con - dis for pairs (ia[k], ib[k]) with a Fenwick tree over y-ranks."""
    n_pairs = ia.shape[0]
    p = order_x.shape[1]
    for k in _prange(n_pairs):
        ox = order_x[ia[k]]
        rx = ranks_x[ia[k]]
        ry = ranks_y[ib[k]]
        xs = np.empty(p, dtype=np.int32)
        ys = np.empty(p, dtype=np.int32)
        for t in range(p):
            xs[t] = rx[ox[t]]
            ys[t] = ry[ox[t]]
        tree = np.zeros(p + 1, dtype=np.int32)
        same = np.zeros(p, dtype=np.int32)
        inserted = 0
        num = 0
        start = 0
        while start < p:
            stop = start + 1
            while stop < p and xs[stop] == xs[start]:
                stop += 1
            for t in range(start, stop):
                r = ys[t]
                less = 0
                i = r
                while i > 0:
                    less += tree[i]
                    i -= i & (-i)
                # concordant (< r) minus discordant (> r) among earlier x-groups
                num += 2 * less + same[r] - inserted
            for t in range(start, stop):
                r = ys[t]
                same[r] += 1
                i = r + 1
                while i <= p:
                    tree[i] += 1
                    i += i & (-i)
            inserted += stop - start
            start = stop
        out[k] = num


_prange = range  # numba.prange inside the parallel compiled version


@cache
def _compiled_kernel(parallel: bool):  # pragma: no cover - depends on numba being installed
    """Compile the Fenwick kernel on first use (cached on disk by numba).

    The parallel version is used only from the main thread: threaded callers (e.g.
    dask workers) get the serial one, so numba's thread pool is never entered
    concurrently.
    """
    import numba

    if not parallel:
        return numba.njit(cache=True, nogil=True)(_bit_kernel)
    glb = dict(_bit_kernel.__globals__, _prange=numba.prange)
    func = types.FunctionType(_bit_kernel.__code__, glb, "_bit_kernel_parallel")
    func.__qualname__ = "_bit_kernel_parallel"  # its own entry in numba's on-disk cache
    return numba.njit(parallel=True, cache=True, nogil=True)(func)


def tau_a_pairs(x: np.ndarray, y: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Kendall's tau-a between rows ``x[ia[k]]`` and ``y[ib[k]]`` for every k.

    Ranks and sort orders are computed once per distinct row, not once per pair,
    so comparing many RDMs with many RDMs costs one O(p log p) sweep per pair.
    Uses a compiled Fenwick-tree kernel when numba is installed, else
    :func:`tau_a_rows`.
    """
    same = x is y
    x = np.asarray(x, dtype=np.float64)
    y = x if same else np.asarray(y, dtype=np.float64)
    ia = np.asarray(ia, dtype=np.int64)
    ib = np.asarray(ib, dtype=np.int64)
    p = x.shape[-1]
    if p < 2:
        return np.full(ia.shape[0], np.nan)
    if not HAVE_NUMBA:  # pragma: no cover
        return tau_a_rows(x[ia], y[ib])
    ranks_x, order_x = _ranks_and_order(x)
    ranks_y = ranks_x if y is x else dense_ranks(y)
    out = np.empty(ia.shape[0], dtype=np.int64)
    # the parallel kernel pays off only for large batches (loading it costs ~1 s once)
    parallel = (
        ia.shape[0] >= 4
        and ia.shape[0] * p >= 1_000_000
        and threading.current_thread() is threading.main_thread()
    )
    _compiled_kernel(parallel)(order_x, ranks_x, ranks_y, ia, ib, out)
    tot = p * (p - 1) // 2
    return np.clip(out / tot, -1.0, 1.0)
