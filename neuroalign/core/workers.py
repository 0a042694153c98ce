"""Work spread over forked processes: the CPUs this process may use, and an ordered map.

A run's cells and a report's figures are independent pieces of CPU-bound Python work
(the interpreter lock keeps threads from overlapping them). :func:`forked_map` runs
them in forked worker processes, which inherit everything prepared before the fork,
so only each item and its result cross between processes. Where ``fork`` is not
available, or with one CPU or one item, it runs them here, in order; the results are
the same either way.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["forked_map", "usable_cpus"]

T = TypeVar("T")
R = TypeVar("R")

#: the function a worker process applies (set in each worker when it starts)
_FUNCTION: Callable[[Any], Any] | None = None


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _start_worker(function: Callable[[Any], Any]) -> None:
    global _FUNCTION
    _FUNCTION = function


def _apply(item: Any) -> Any:
    assert _FUNCTION is not None, "worker started without its function"
    return _FUNCTION(item)


def forked_map(function: Callable[[T], R], items: Sequence[T],
               workers: int | None = None, *, here_first: int = 0) -> Iterator[R]:
    """``function(item)`` for every item of ``items``, yielded in the order of ``items``.

    Parameters
    ----------
    function
        Applied to each item. It is inherited by the forked workers, not pickled,
        so it may be a closure over large prepared data; each item and each result
        is pickled.
    items
        The work, one item per call (the first items are handed out first).
    workers
        Worker processes (default: :func:`usable_cpus`), at most one per item.
        Below 2, where ``fork`` is not available, or in a daemonic process (a worker of
        a :class:`multiprocessing.Pool`, which may not start processes), every call
        runs in this process.
    here_first
        The first ``here_first`` items run in this process before the workers start,
        so that the modules they import and the caches they fill are inherited by
        every worker instead of being made again in each.

    Yields
    ------
    object
        The result of each item, in order, as soon as it and every earlier one is done.
    """
    n = usable_cpus() if workers is None else int(workers)
    n = max(1, min(n, len(items) - here_first))
    if (n < 2 or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):  # a daemon may not have children
        for item in items:
            yield function(item)
        return
    for item in items[:here_first]:
        yield function(item)
    context = multiprocessing.get_context("fork")
    # objects made so far are left out of the workers' garbage collection, which would
    # otherwise write to (and so copy) every page of memory they inherit
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=n, mp_context=context,
                                 initializer=_start_worker, initargs=(function,)) as pool:
            yield from pool.map(_apply, items[here_first:])
    finally:
        gc.unfreeze()
