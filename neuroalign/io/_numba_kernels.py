"""Compiled inner loops (numba), defined at module level so numba's disk cache works.

Import this module only through :func:`neuroalign.io._kernels.kernels`, which
returns ``None`` when numba is not installed.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["bin_units", "check_units"]


@numba.njit(cache=True, nogil=True, inline="always")
def lower_bound(a: np.ndarray, lo: int, hi: int, x: float) -> int:
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo

@numba.njit(cache=True, nogil=True, inline="always")
def gallop(a: np.ndarray, start: int, hi_u: int, x: float) -> int:
    # first index >= start with a[index] >= x, searching forward from start
    step = 1
    lo = start
    hi = start
    while hi < hi_u and a[hi] < x:
        lo = hi + 1
        hi += step
        step *= 2
    if hi > hi_u:
        hi = hi_u
    return lower_bound(a, lo, hi, x)

@numba.njit(cache=True, nogil=True)
def bin_units(spikes: np.ndarray, offsets: np.ndarray, align: np.ndarray,
              rel: np.ndarray, out: np.ndarray, u0: int, u1: int) -> None:
    # out has shape (n_units, n_trials, n_bins) and is zero on entry: each unit
    # fills its own contiguous block
    n_trials = align.size
    n_bins = rel.size - 1
    inv = n_bins / (rel[n_bins] - rel[0])
    for u in range(u0, u1):
        lo_u = offsets[u]
        hi_u = offsets[u + 1]
        block = out[u]
        i = lo_u
        prev_first = -np.inf
        for j in range(n_trials):
            a = align[j]
            first = a + rel[0]
            last = a + rel[n_bins]
            if first < prev_first:  # unsorted events: restart the scan
                i = lo_u
            prev_first = first
            i = gallop(spikes, i, hi_u, first)
            end = gallop(spikes, i, hi_u, last)
            row = block[j]
            for m in range(i, end):
                s = spikes[m]
                k = int((s - first) * inv)
                if k > n_bins - 1:
                    k = n_bins - 1
                if k < 0:
                    k = 0
                if s < a + rel[k]:
                    k -= 1
                elif s >= a + rel[k + 1]:
                    k += 1
                row[k] += 1

@numba.njit(cache=True, nogil=True)
def check_units(times: np.ndarray, offsets: np.ndarray,
                unsorted: np.ndarray) -> int:
    # returns the index of the first NaN (-1 if none); flags units out of order
    for u in range(offsets.size - 1):
        prev = -np.inf
        for m in range(offsets[u], offsets[u + 1]):
            t = times[m]
            if t != t:
                return m
            if t < prev:
                unsorted[u] = True
            prev = t
    return -1
