"""Binning spikes while a file is read, and the progress display of loading."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from neuroalign.io.binning import bin_spikes
from neuroalign.io.units import SpikeUnits

__all__ = ["StreamBinner", "bin_with_progress", "status"]


class StreamBinner:
    """Checks and bins each block of units on a worker thread while the next block is read.

    ``kernel`` is the compiled ``check_bin_units``: per unit it flags NaN and
    out-of-order spike times (``state``: 0 fine, 1 out of order, 2 NaN), sorts
    out-of-order units in place when ``sort``, and bins the unit while its
    spikes are in cache, so the spikes are gone over once.
    """

    def __init__(self, kernel: Callable[..., None], align: np.ndarray, rel: np.ndarray,
                 say: Callable[[str], None], sort: bool = True) -> None:
        self.kernel, self.say, self.sort = kernel, say, bool(sort)
        self.align = np.ascontiguousarray(align, dtype=np.float64)
        self.rel = np.ascontiguousarray(rel, dtype=np.float64)
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4)))
        self.futures: list[Future[None]] = []
        self.out: np.ndarray | None = None
        self.state = np.zeros(0, dtype=np.int8)

    def __call__(self, times: np.ndarray, offsets: np.ndarray, u0: int, u1: int) -> None:
        if self.out is None:
            n_units = len(offsets) - 1
            # unit-major, so that each unit fills one contiguous block
            self.out = np.zeros((n_units, len(self.align), len(self.rel) - 1), dtype=np.int32)
            self.state = np.zeros(n_units, dtype=np.int8)
        self.say(f"read and binning units {u0}..{u1 - 1} of {len(offsets) - 1}")
        # two tasks per block, so that the last block is shared by two workers
        mid = (u0 + u1) // 2
        for a, b in ((u0, mid), (mid, u1)):
            if b > a:
                self.futures.append(self.pool.submit(self.kernel, times, offsets, self.align,
                                                     self.rel, self.out, a, b, self.sort,
                                                     self.state))

    def result(self) -> tuple[np.ndarray, int, np.ndarray]:
        """Counts ``(trial, unit, time)`` once every block is binned, the first unit with
        NaN spike times (-1 if none) and the units whose spikes were out of order."""
        for fut in self.futures:
            fut.result()
        if self.out is None:
            raise RuntimeError("no block was binned")
        nan = np.flatnonzero(self.state == 2)
        return (self.out.transpose(1, 0, 2), int(nan[0]) if nan.size else -1,
                np.flatnonzero(self.state == 1))

    def close(self) -> None:
        """Stop the worker (waiting for a running block)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def status(enabled: bool, title: str) -> Iterator[Callable[[str], None]]:
    """A rich status line (spinner) while a file is read; a no-op when disabled."""
    if not enabled:
        yield lambda message: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(title) as status:
        yield lambda message: status.update(f"{title}: {message}")


def bin_with_progress(units: SpikeUnits, times: np.ndarray, rel: np.ndarray,
                       progress: bool) -> np.ndarray:
    if not progress:
        return bin_spikes(units.spike_times, units.offsets, times, rel)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("binning units", total=units.n_units)
        return bin_spikes(units.spike_times, units.offsets, times, rel,
                          progress=lambda done: bar.update(task, completed=done))
