"""Cut the cells of a batch into chunks: many cells per dask task.

A chunk holds cells of one source (a session) and a run of agent layers, so a worker
loads each session and each agent layer once per chunk. One task and one result part
per chunk instead of per cell is what keeps the client's per-cell cost far below a
millisecond on grids of a million cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from neuroalign.batch.plan import Cell
from neuroalign.batch.worker import chunk_order
from neuroalign.core.errors import ConfigError

__all__ = ["MAX_CHUNK", "TASKS_PER_THREAD", "auto_chunk_size", "make_chunks"]

#: largest automatic chunk (cells); a chunk's rows are held in memory until written
MAX_CHUNK = 1000
#: automatic chunks are small enough for this many tasks per worker thread (balance)
TASKS_PER_THREAD = 8


def auto_chunk_size(n_cells: int, n_threads: int) -> int:
    """Cells per chunk for ``n_cells`` on ``n_threads`` worker threads.

    ``ceil(n_cells / (8 * n_threads))``, between 1 and 1000: enough tasks for every
    thread to stay busy to the end, and as few as that allows.
    """
    return max(1, min(MAX_CHUNK, math.ceil(n_cells / (TASKS_PER_THREAD * max(n_threads, 1)))))


def make_chunks(cells: Sequence[Cell], size: int) -> list[list[Cell]]:
    """``cells`` grouped by source, then agent layer, cut into chunks of ``size``.

    Raises
    ------
    ConfigError
        If ``size`` is below 1.
    """
    if size < 1:
        raise ConfigError(f"chunk_size: got {size}; expected a positive number of cells")
    ordered = chunk_order(cells)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]
