"""Event-aligned binning of spikes and sampled signals, all units and trials at once.

Bins are left-closed and right-open. For alignment times ``t_j`` and relative
edges ``e_0 < e_1 < ... < e_B`` (``e_k = start + k * bin_size``), the count of
unit ``u`` in trial ``j``, bin ``k`` is the number of spikes ``s`` with
``t_j + e_k <= s < t_j + e_{k+1}``; the bin's ``time`` coordinate is its centre
``(e_k + e_{k+1}) / 2`` relative to the alignment event. Windows of
neighbouring trials may overlap; a spike is then counted in both trials.

Spikes: per unit, a search per trial finds the spikes inside each window, then
each such spike's bin is computed arithmetically and corrected against the
exact edges. Work is O(n_trials log n_spikes + spikes inside windows) per unit.
With numba installed a compiled kernel does this in one pass per unit (galloping
forward from the previous window when events are sorted) on several threads;
without it the same algorithm runs in numpy (searchsorted, repeat, bincount),
with no per-trial Python loop. Signals (imaging): the samples whose timestamps fall in
a bin are averaged (prefix sums); a bin without samples is NaN.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np

from neuroalign.core.errors import DependencyError, ValidationError
from neuroalign.core.limits import check_memory
from neuroalign.io._kernels import kernels

__all__ = ["bin_centres", "bin_edges", "bin_signals", "bin_spikes", "check_response_memory",
           "event_edges"]

#: bytes per (trial, unit, bin) cell while binning: int32 spike counts; imaging
#: needs float64 sums, means and the transposed result at once
SPIKE_CELL_BYTES = 4
SIGNAL_CELL_BYTES = 3 * 8


def check_response_memory(n_trials: int, n_units: int, n_bins: int, cell_bytes: int,
                          limit: object = None, label: str = "responses") -> int:
    """Refuse binning whose result would not fit the memory limit, before allocating it.

    The estimate is ``n_trials * n_units * n_bins * cell_bytes`` (computed in
    floating point, so absurd shapes cannot overflow). The message names the
    shape, the size and the option that raises the limit (``--max-memory``,
    ``max_memory=``, ``NEUROALIGN_MAX_MEMORY``).

    Returns
    -------
    int
        The estimated number of bytes.

    Raises
    ------
    ResourceError
        Above the limit (see :func:`neuroalign.core.limits.check_memory`).
    """
    need = float(n_trials) * float(n_units) * float(n_bins) * float(cell_bytes)
    check_memory(need, f"{label}: binning {n_trials} trials x {n_units} units x {n_bins} "
                       f"bins ({cell_bytes} bytes each)", limit,
                 option="--max-memory (max_memory= in Python)")
    return int(need)


def bin_edges(window: tuple[float, float], bin_size: float) -> np.ndarray:
    """Relative bin edges ``start + k * bin_size``, ``k = 0..B``.

    Raises
    ------
    ValidationError
        A non-positive or non-finite ``bin_size``; ``start >= stop``; a window
        that is not a whole number of bins.
    ResourceError
        So many bins that their edges alone exceed the memory limit.
    """
    try:
        size = float(bin_size)
    except (TypeError, ValueError):
        raise ValidationError(f"bin_size: got {bin_size!r}; expected seconds > 0") from None
    if not np.isfinite(size) or size <= 0:
        raise ValidationError(f"bin_size: got {bin_size!r}; expected a positive number of seconds")
    try:
        start, stop = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValidationError(
            f"window: got {window!r}; expected (start, stop) in seconds") from None
    if not (np.isfinite(start) and np.isfinite(stop)) or start >= stop:
        raise ValidationError(f"window: got ({start}, {stop}); expected start < stop, both finite")
    n = (stop - start) / size
    if n > 1:  # the edges themselves must fit (a bin of 1e-12 s would ask for terabytes)
        check_memory(8.0 * (n + 1), f"window ({start}, {stop}) with bin_size {size}: "
                                    f"{n:.3g} bin edges (8 bytes each)")
    n_bins = round(n)
    if n_bins < 1 or abs(n - n_bins) > 1e-6 * max(1.0, n):
        raise ValidationError(
            f"window ({start}, {stop}) is {n:.6g} bins of {size} s; expected a whole number "
            "of bins (adjust the window or bin_size)"
        )
    return start + size * np.arange(n_bins + 1, dtype=np.float64)


def bin_centres(rel_edges: np.ndarray) -> np.ndarray:
    """Bin centres of relative edges."""
    return (rel_edges[:-1] + rel_edges[1:]) / 2


def event_edges(align_times: np.ndarray, rel_edges: np.ndarray) -> np.ndarray:
    """Absolute edges, shape ``(n_trials, n_bins + 1)``: ``align[j] + rel_edges[k]``."""
    return np.asarray(align_times, dtype=np.float64)[:, None] + rel_edges[None, :]


def bin_spikes(
    spike_times: np.ndarray,
    offsets: np.ndarray,
    align_times: np.ndarray,
    rel_edges: np.ndarray,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
    n_threads: int | None = None,
) -> np.ndarray:
    """Spike counts of every unit around every event.

    Parameters
    ----------
    spike_times
        Concatenated spike times; each unit's segment sorted ascending.
    offsets
        Segment bounds, ``(n_units + 1,)``.
    align_times
        Alignment times, ``(n_trials,)``, any order.
    rel_edges
        Relative bin edges from :func:`bin_edges`.
    progress
        Called with the number of units done after each block of units.
    engine
        ``"numba"`` (compiled kernel), ``"numpy"``, or ``"auto"`` (numba when
        installed). Both give identical counts.
    n_threads
        Threads for the numba kernel (blocks of units); default: CPU count, at most 8.

    Returns
    -------
    numpy.ndarray
        ``int32`` counts, shape ``(n_trials, n_units, n_bins)`` (with numba, a
        transposed view of a unit-major array: each unit is filled in one block).

    Raises
    ------
    ValidationError
        ``offsets`` that do not run, non-decreasing, from 0 to ``len(spike_times)``
        (the compiled kernel would read out of bounds); non-finite ``align_times``.
    """
    if engine not in ("auto", "numba", "numpy"):
        raise ValidationError(f"engine: got {engine!r}; expected 'auto', 'numba' or 'numpy'")
    align = np.ascontiguousarray(align_times, dtype=np.float64)
    rel_edges = np.ascontiguousarray(rel_edges, dtype=np.float64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    _check_layout(spike_times, offsets, align)
    n_trials, n_units, n_bins = len(align), len(offsets) - 1, len(rel_edges) - 1
    if n_trials == 0 or n_units == 0:
        return np.zeros((n_trials, n_units, n_bins), dtype=np.int32)
    compiled = kernels() if engine in ("auto", "numba") else None
    if engine == "numba" and compiled is None:
        raise DependencyError("engine='numba' needs numba: pip install numba")
    if compiled is not None:
        by_unit = np.zeros((n_units, n_trials, n_bins), dtype=np.int32)
        _bin_compiled(compiled["bin_units"], np.ascontiguousarray(spike_times, np.float64),
                      offsets, align, rel_edges, by_unit, progress, n_threads)
        return by_unit.transpose(1, 0, 2)
    out = np.zeros((n_trials, n_units, n_bins), dtype=np.int32)
    edges = event_edges(align, rel_edges)
    first, last = edges[:, 0], edges[:, -1]
    step = (rel_edges[-1] - rel_edges[0]) / n_bins
    trial_ids = np.arange(n_trials)
    flat_size = n_trials * n_bins
    for u in range(n_units):
        spikes = spike_times[offsets[u]:offsets[u + 1]]
        if spikes.size == 0:
            continue
        lo = np.searchsorted(spikes, first, side="left")
        hi = np.searchsorted(spikes, last, side="left")
        lengths = hi - lo
        total = int(lengths.sum())
        if total == 0:
            continue
        trial = np.repeat(trial_ids, lengths)
        # index of each in-window spike: lo[trial] + position inside its window
        idx = np.arange(total) + np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
        s = spikes[idx]
        a = align[trial]
        k = ((s - first[trial]) / step).astype(np.int64)
        np.clip(k, 0, n_bins - 1, out=k)
        k -= s < a + rel_edges[k]
        k += s >= a + rel_edges[k + 1]
        np.clip(k, 0, n_bins - 1, out=k)
        out[:, u, :] = np.bincount(trial * n_bins + k, minlength=flat_size).reshape(
            n_trials, n_bins)
        if progress is not None and (u + 1) % 64 == 0:
            progress(u + 1)
    if progress is not None:
        progress(n_units)
    return out


def _check_layout(spike_times: np.ndarray, offsets: np.ndarray, align: np.ndarray) -> None:
    """Refuse offsets the compiled kernel would follow out of bounds, and non-finite times."""
    n = len(spike_times)
    if offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0 or offsets[-1] != n \
            or (offsets.size > 1 and (np.diff(offsets) < 0).any()):
        raise ValidationError(
            f"offsets: got {offsets[:6].tolist()}{'...' if offsets.size > 6 else ''} "
            f"({offsets.size} entries); expected non-decreasing bounds from 0 to {n}, "
            "the number of spike times")
    if align.ndim != 1 or not np.isfinite(align).all():
        raise ValidationError("align_times: got non-finite or non-1-D values; expected "
                              "finite times in seconds (drop missing events first)")


def _bin_compiled(kernel: Callable[..., None], spikes: np.ndarray, offsets: np.ndarray,
                  align: np.ndarray, rel: np.ndarray, out: np.ndarray,
                  progress: Callable[[int], None] | None, n_threads: int | None) -> None:
    n_units = len(offsets) - 1
    threads = max(1, min(n_threads or os.cpu_count() or 1, 8))
    n_blocks = max(threads, min(64, n_units // 16 or 1)) if progress else threads
    bounds = np.linspace(0, n_units, min(n_blocks, n_units) + 1).astype(int)
    blocks = list(pairwise(bounds.tolist()))
    if threads == 1 or len(blocks) == 1:
        for u0, u1 in blocks:
            kernel(spikes, offsets, align, rel, out, u0, u1)
            if progress is not None:
                progress(u1)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(kernel, spikes, offsets, align, rel, out, u0, u1)
                   for u0, u1 in blocks]
        done = 0
        for fut, (u0, u1) in zip(futures, blocks, strict=True):
            fut.result()
            done += u1 - u0
            if progress is not None:
                progress(done)


def bin_signals(
    timestamps: np.ndarray, data: np.ndarray, align_times: np.ndarray, rel_edges: np.ndarray
) -> np.ndarray:
    """Mean of sampled signals in each bin around every event.

    Parameters
    ----------
    timestamps
        Sample times, ``(n_samples,)``, ascending.
    data
        Samples, ``(n_samples, n_units)``.
    align_times, rel_edges
        As in :func:`bin_spikes`.

    Returns
    -------
    numpy.ndarray
        ``float64``, shape ``(n_trials, n_units, n_bins)``; NaN where a bin holds
        no sample.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    values = np.asarray(data, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    edges = event_edges(np.asarray(align_times, dtype=np.float64), rel_edges)
    idx = np.searchsorted(ts, edges, side="left")  # (T, B+1)
    prefix = np.zeros((values.shape[0] + 1, values.shape[1]), dtype=np.float64)
    np.cumsum(values, axis=0, out=prefix[1:])
    sums = prefix[idx[:, 1:]] - prefix[idx[:, :-1]]  # (T, B, U)
    counts = (idx[:, 1:] - idx[:, :-1])[:, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return np.ascontiguousarray(mean.transpose(0, 2, 1))
