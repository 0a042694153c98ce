"""The time a recording covers, judged from the file's own timestamps.

A spike recording covers at least its first to its last spike, but a quiet
start or end (or a unit table with no spikes at all) says nothing about when
recording began or stopped. The span is therefore the union of the spike span
and the ``start_time`` / ``stop_time`` of every event table of the file (trials,
epochs, behavioural events): a session whose first stimulus comes 5 ms before
its first spike keeps its first trial. An imaging recording covers its first
to its last sample.

Files that hold data only in some intervals (e.g. spike counts imported from
binned arrays, recorded only in each trial's window) say so in their
``intervals/invalid_times`` table; a window that overlaps one of those
intervals would count silence that was never recorded, so it is refused (or
its trial dropped and reported, with ``outside="drop"``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["INVALID_TIMES", "invalid_overlap", "recording_span"]

#: the NWB table of intervals to leave out of analysis
INVALID_TIMES = "invalid_times"


def recording_span(
    tables: Mapping[str, pd.DataFrame], data_span: tuple[float, float], sampled: bool = False
) -> tuple[float, float]:
    """``(first, last)`` time in seconds the recording covers.

    Parameters
    ----------
    tables
        The file's event tables (:func:`neuroalign.io.events.read_event_tables`).
    data_span
        First and last spike (or sample); ``(nan, nan)`` when there are none.
    sampled
        ``True`` for a sampled signal (imaging): its samples alone are the span.

    Returns
    -------
    (float, float)
        ``(nan, nan)`` when neither the data nor any table has a time.
    """
    lo, hi = (float(data_span[0]), float(data_span[1]))
    if sampled:
        return lo, hi
    starts, stops = [lo], [hi]
    for key, frame in tables.items():
        if key == INVALID_TIMES:
            continue
        for col, into in (("start_time", starts), ("stop_time", stops)):
            if col in frame and len(frame):
                values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
                if np.isfinite(values).any():
                    into.append(float(np.nanmin(values)))
                    stops.append(float(np.nanmax(values)))
    finite_lo = [v for v in starts if np.isfinite(v)]
    finite_hi = [v for v in stops if np.isfinite(v)]
    if not finite_lo or not finite_hi:
        return float("nan"), float("nan")
    return min(finite_lo), max(finite_hi)


def invalid_overlap(
    tables: Mapping[str, pd.DataFrame], times: np.ndarray, window: tuple[float, float],
    tol: float = 1e-7,
) -> np.ndarray:
    """Which windows ``[t + window[0], t + window[1])`` overlap an invalid interval.

    Overlaps shorter than ``tol`` seconds (rounding of the interval bounds)
    are not counted.

    Returns
    -------
    numpy.ndarray
        ``bool``, one per time; all false when the file has no ``invalid_times``.
    """
    times = np.asarray(times, dtype=np.float64)
    frame = tables.get(INVALID_TIMES)
    if frame is None or not len(frame) or not {"start_time", "stop_time"} <= set(frame):
        return np.zeros(times.shape, dtype=bool)
    starts = frame["start_time"].to_numpy(dtype=float)
    stops = frame["stop_time"].to_numpy(dtype=float)
    order = np.argsort(starts, kind="stable")
    starts, reach = starts[order], np.maximum.accumulate(stops[order])
    lo, hi = times + window[0] + tol, times + window[1] - tol
    # the last interval starting before the window's end; any earlier one reaching past
    # the window's start overlaps it (``reach`` is the furthest end so far)
    last = np.searchsorted(starts, hi, side="left") - 1
    hit = np.zeros(times.shape, dtype=bool)
    ok = last >= 0
    hit[ok] = reach[last[ok]] > lo[ok]
    return hit
