"""Compiled inner loops (numba), defined at module level so numba's disk cache works.

Import this module only through :func:`neuroalign.io._kernels.kernels`, which
returns ``None`` when numba is not installed.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["bin_units", "check_bin_units", "check_units"]


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

@numba.njit(cache=True, nogil=True, inline="always")
def in_order(spikes: np.ndarray, lo: int, hi: int) -> bool:
    # True when spikes[lo:hi] ascend and hold no NaN (NaN fails every comparison);
    # written over two shifted views without branches so that it vectorises
    if hi - lo < 2:
        return hi == lo or spikes[lo] == spikes[lo]
    later = spikes[lo + 1:hi]
    earlier = spikes[lo:hi - 1]
    ok = 0
    for m in range(later.size):
        ok += later[m] >= earlier[m]
    return ok == later.size

@numba.njit(cache=True, nogil=True)
def unit_state(spikes: np.ndarray, lo: int, hi: int) -> int:
    # 2 when spikes[lo:hi] hold a NaN, else 1 when they are out of order, else 0
    state = 0
    prev = -np.inf
    for m in range(lo, hi):
        t = spikes[m]
        if t != t:
            return 2
        if t < prev:
            state = 1
        prev = t
    return state

@numba.njit(cache=True, nogil=True, inline="always")
def bin_one(spikes: np.ndarray, lo_u: int, hi_u: int, align: np.ndarray,
            rel: np.ndarray, block: np.ndarray) -> None:
    # counts of one unit's sorted spikes[lo_u:hi_u] into block (n_trials, n_bins):
    # trial j counts the spikes s with align[j] + rel[0] <= s < align[j] + rel[-1]
    n_trials = align.size
    n_bins = rel.size - 1
    inv = n_bins / (rel[n_bins] - rel[0])
    i = lo_u  # first spike >= the current window's start
    m = lo_u  # first spike >= the current window's end
    prev_first = -np.inf
    prev_last = -np.inf
    for j in range(n_trials):
        a = align[j]
        first = a + rel[0]
        last = a + rel[n_bins]
        if first < prev_first:  # unsorted events: restart the scan
            i = lo_u
        elif first >= prev_last:  # no overlap with the previous window
            i = m
        prev_first = first
        prev_last = last
        # a short linear skip (the usual gap between windows), then gallop
        steps = 0
        while i < hi_u and spikes[i] < first:
            i += 1
            steps += 1
            if steps == 16:
                i = gallop(spikes, i, hi_u, first)
                break
        row = block[j]
        m = i
        while m < hi_u:
            s = spikes[m]
            if s >= last:
                break
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
            m += 1

@numba.njit(cache=True, nogil=True)
def bin_units(spikes: np.ndarray, offsets: np.ndarray, align: np.ndarray,
              rel: np.ndarray, out: np.ndarray, u0: int, u1: int) -> None:
    # out has shape (n_units, n_trials, n_bins) and is zero on entry: each unit
    # fills its own contiguous block
    for u in range(u0, u1):
        bin_one(spikes, offsets[u], offsets[u + 1], align, rel, out[u])

@numba.njit(cache=True, nogil=True)
def check_bin_units(spikes: np.ndarray, offsets: np.ndarray, align: np.ndarray,
                    rel: np.ndarray, out: np.ndarray, u0: int, u1: int,
                    sort: bool, state: np.ndarray) -> None:
    # one pass per unit: check its spikes (state[u] = 0 fine, 1 out of order,
    # 2 NaN), sort them in place when asked, then bin them while they are in cache.
    # Units with NaN (or out of order without sort) are left unbinned.
    for u in range(u0, u1):
        lo_u = offsets[u]
        hi_u = offsets[u + 1]
        if not in_order(spikes, lo_u, hi_u):
            state[u] = unit_state(spikes, lo_u, hi_u)
            if state[u] == 2 or not sort:
                continue
            spikes[lo_u:hi_u].sort()
        bin_one(spikes, lo_u, hi_u, align, rel, out[u])

@numba.njit(cache=True, nogil=True)
def check_units(times: np.ndarray, offsets: np.ndarray,
                unsorted: np.ndarray) -> int:
    # returns the index of the first NaN (-1 if none); flags units out of order
    for u in range(offsets.size - 1):
        lo = offsets[u]
        hi = offsets[u + 1]
        if in_order(times, lo, hi):
            continue
        if unit_state(times, lo, hi) == 1:
            unsorted[u] = True
            continue
        for m in range(lo, hi):
            if times[m] != times[m]:
                return m
    return -1
