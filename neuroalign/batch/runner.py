"""Run a batch grid on dask.distributed, or serially in this process.

Scheduling is dask's: a :class:`distributed.LocalCluster` (one process per worker,
one thread each, bound to 127.0.0.1) by default, or any running scheduler by address,
including a dask-jobqueue SLURM cluster. Cells travel in chunks, many per task (see
:mod:`neuroalign.batch.chunks`), submitted a window at a time so the client never
holds more than a few futures per worker thread. A worker that dies takes its running
chunk with it and the scheduler reruns it on the others
(``distributed.scheduler.allowed-failures`` times, 3 by default); a chunk that still
kills its workers is split in halves until the cell that does it stands alone.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.batch.chunks import auto_chunk_size, make_chunks
from neuroalign.batch.config import DEFAULT_CELL, BatchConfig
from neuroalign.batch.names import check_names
from neuroalign.batch.plan import Cell, _expand_sources, expand_cells
from neuroalign.batch.store import BatchStore, rows_table, table_to_frame
from neuroalign.batch.worker import (
    WorkerCache,
    cell_params,
    check_engine,
    compute_chunk,
    execute_chunk,
    failure_record,
)
from neuroalign.core.atomic import check_output_path
from neuroalign.core.cluster import DEFAULT_DASHBOARD, DEFAULT_HOST, open_client, slurm_cluster
from neuroalign.core.errors import ConfigError
from neuroalign.core.progress import progress_bar
from neuroalign.core.provenance import neuroalign_version

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from distributed import Client
    from rich.console import Console

__all__ = ["BatchSummary", "plan_batch", "run_batch", "run_serial", "slurm_cluster"]

#: worker threads assumed for the automatic chunk size while a cluster has none yet
FALLBACK_THREADS = 64


@dataclass
class BatchSummary:
    """What a run did.

    Attributes
    ----------
    total
        Cells in the grid.
    done
        Cells computed by this run.
    skipped
        Cells already finished by an earlier run (not recomputed).
    failed
        Cells that failed in this run.
    failed_before
        Cells that had failed in an earlier run and were not retried
        (pass ``retry_failed``).
    seconds
        Wall time of the run.
    out
        The batch folder.
    failures
        ``key -> one-line error`` of this run's failures.
    chunks
        Dask tasks the cells to compute were cut into.
    corrupt
        Parts that failed their check and were moved to ``DIR/corrupt/`` (their cells
        were computed again).
    """

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    failed_before: int = 0
    seconds: float = 0.0
    out: str = ""
    failures: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    corrupt: int = 0

    @property
    def ok(self) -> bool:
        """True when every cell of the grid is finished."""
        return self.done + self.skipped == self.total


def _check_default_engine(config: BatchConfig) -> None:
    """Validate the measure names against the default cell function, if it is used."""
    if config.engine.cell != DEFAULT_CELL:
        return
    from neuroalign.core.vocabulary import MEASURE_ALIASES, MEASURES

    unknown = [m for m in config.measures if m not in MEASURES and m not in MEASURE_ALIASES]
    if unknown:
        raise ConfigError(f"measures: unknown {unknown}; expected names from {list(MEASURES)} "
                          f"(aliases: {list(MEASURE_ALIASES)})")
    # a typo in an agent or task name would otherwise fail every cell of the grid one by one
    from neuroalign.zoo.agents import AGENTS
    from neuroalign.zoo.tasks import task_names

    for name, given, known in (("agents", config.zoo_agents(), list(AGENTS)),
                               ("tasks", config.tasks, list(task_names()))):
        unknown = [x for x in given if x not in known]
        if unknown:
            raise ConfigError(f"{name}: unknown {unknown}; expected names from {known}")


def plan_batch(config: BatchConfig) -> tuple[list[Cell], dict[str, Any]]:
    """Expand ``config`` into cells and the plan document stored as ``batch.json``."""
    _check_default_engine(config)
    # typos in layer or region names fail here, once, instead of in every cell
    held = check_names(config, [loc for loc, _ in _expand_sources(config)])
    cells = expand_cells(config, held=held)
    plan = {
        "neuroalign_version": neuroalign_version(),
        "config": config.model_dump(mode="json"),
        "keys": [c.key for c in cells],
    }
    return cells, plan


def run_serial(config: BatchConfig, *, allow_code: bool = False) -> pd.DataFrame:
    """Compute every cell of ``config`` in this process, storing nothing.

    The reference a distributed run must equal row for row: same cell function,
    same loaders, same table layout as :func:`~neuroalign.batch.load_results`.
    Errors propagate. ``allow_code`` as for :func:`run_batch`.
    """
    check_engine(config.engine.model_dump(), allow_code)
    params = cell_params(config)
    cells = expand_cells(config)
    cache = WorkerCache(config.cache_size, int(config.cache_memory_mb * 2**20))
    result = compute_chunk(cells, config.engine.model_dump(), params,
                           config.base_dir, cache, stop_on_error=True)
    if result.failures:
        raise next(iter(result.failures.values()))[0]
    table = _through_parquet(rows_table(result.rows, result.row_keys))
    return table_to_frame(table, [c.key for c in cells])


def _through_parquet(table: Any) -> Any:
    """``table`` as it reads back from a part file (same types as a stored chunk)."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    buf.seek(0)
    return pq.read_table(buf)


def _progress(console: Console | None, enabled: bool) -> Any:
    return progress_bar(console, enabled=enabled)


def run_batch(
    config: BatchConfig,
    out: str | os.PathLike[str],
    *,
    client: Client | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    retry_failed: bool = False,
    fail_fast: bool = False,
    progress: bool = True,
    console: Console | None = None,
    chunk_size: int | None = None,
    host: str = DEFAULT_HOST,
    dashboard: str | None = DEFAULT_DASHBOARD,
    allow_code: bool = False,
) -> BatchSummary:
    """Run the grid of ``config`` into the batch folder ``out``; skip finished cells.

    Parameters
    ----------
    config
        The grid.
    out
        Batch folder; created if needed, reused if it is a batch folder. With a remote
        scheduler it must be on a file system the workers share.
    client
        An existing :class:`distributed.Client` (it is left open).
    scheduler
        Address of a running scheduler (e.g. ``tcp://10.0.0.1:8786``) when no client
        is given; otherwise a LocalCluster is started and closed at the end.
    workers
        Worker processes of the LocalCluster (default: the number of CPUs).
    retry_failed
        Recompute cells that failed in an earlier run (otherwise they are left failed).
    fail_fast
        Stop at the first failing cell (cancelling the rest) and re-raise its error.
    progress
        Show a progress bar (cells) with ETA.
    console
        Rich console for the progress bar.
    chunk_size
        Cells per dask task; default ``config.chunk_size``, or chosen from the grid and
        the cluster's threads (:func:`~neuroalign.batch.chunks.auto_chunk_size`).
    host
        Interface the LocalCluster's scheduler and workers listen on (default
        127.0.0.1: nothing outside this machine can reach them).
    dashboard
        Address of the LocalCluster's dashboard (default ``127.0.0.1:0``, a free port
        on this machine only); ``None`` or ``""`` for none.
    allow_code
        Allow engine functions other than neuroalign's own (``file.py:function`` or
        ``module:function`` in ``config.engine``), which import and run that code on
        every worker. Off by default: a config is data, not code.

    Returns
    -------
    BatchSummary
        Counts of done, skipped and failed cells and the wall time.

    Raises
    ------
    ConfigError
        If the config names foreign engine functions without ``allow_code``, or
        another field is invalid.
    OutputError
        If ``out`` cannot be written (on ``/proc``, ``/sys`` or ``/dev``, below a file,
        in a read-only folder; see :func:`~neuroalign.core.atomic.check_output_path`),
        before any work starts; or another run is writing into it (its lock is held;
        the lock of a run that was killed is taken over).
    """
    start = time.perf_counter()
    check_engine(config.engine.model_dump(), allow_code)
    check_output_path(out, kind="folder", what="batch folder")
    params = cell_params(config)
    root = Path(out).resolve()
    store = BatchStore(root)
    cells, plan = plan_batch(config)
    store.check_root()
    with store.lock():
        return _run_locked(config, store, cells, plan, start, client=client,
                           scheduler=scheduler, workers=workers, retry_failed=retry_failed,
                           fail_fast=fail_fast, progress=progress, console=console,
                           chunk_size=chunk_size, host=host, dashboard=dashboard,
                           params=params)


def _run_locked(config: BatchConfig, store: BatchStore, cells: list[Cell],
                plan: dict[str, Any], start: float, *, client: Client | None,
                scheduler: str | None, workers: int | None, retry_failed: bool,
                fail_fast: bool, progress: bool, console: Console | None,
                chunk_size: int | None, host: str, dashboard: str | None,
                params: dict[str, Any]) -> BatchSummary:
    """The run of :func:`run_batch`, holding the folder's lock."""
    root = store.root
    checked = store.init(plan)
    done_before = store.done_keys(checked)
    failed_before = store.failed_keys(done_before)
    summary = BatchSummary(total=len(cells), out=str(root),
                           corrupt=sum(not p.ok for p in checked))
    todo: list[Cell] = []
    for cell in cells:
        if cell.key in done_before:
            summary.skipped += 1
        elif cell.key in failed_before and not retry_failed:
            summary.failed_before += 1
        else:
            todo.append(cell)
    del cells, plan
    if todo:
        own_client = client is None
        cluster = None
        if client is None:
            client, cluster = open_client(scheduler, workers, host, dashboard)
        try:
            threads = sum(client.nthreads().values()) or FALLBACK_THREADS
            size = chunk_size or config.chunk_size or auto_chunk_size(len(todo), threads)
            chunks = make_chunks(todo, size)
            summary.chunks = len(chunks)
            _submit_and_wait(client, chunks, store, config, params, summary, fail_fast,
                             _progress(console, progress), window=max(16, 4 * threads))
        finally:
            if own_client:
                client.close()
            if cluster is not None:
                cluster.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _submit_and_wait(client: Client, chunks: list[list[Cell]], store: BatchStore,
                     config: BatchConfig, params: dict[str, Any], summary: BatchSummary,
                     fail_fast: bool, bar: Any, window: int) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    topic = f"neuroalign-batch-{token}"
    engine = config.engine.model_dump()
    cache_bytes = int(config.cache_memory_mb * 2**20)
    queue: deque[list[Cell]] = deque(chunks)
    running: dict[Any, tuple[str, list[Cell]]] = {}
    reported: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(1 << 62))
    second_chance: set[str] = set()
    futures = as_completed(with_results=True, raise_errors=False)

    def submit(chunk: list[Cell], priority: int) -> None:
        cid = f"{token}-{next(counter)}"
        fut = client.submit(execute_chunk, chunk, str(store.root), engine, params,
                            config.base_dir, config.cache_size, cache_bytes, fail_fast,
                            topic, cid, key=f"neuroalign-chunk-{cid}", pure=False,
                            priority=priority)
        with lock:
            running[fut] = (cid, chunk)
            reported[cid] = 0
        futures.add(fut)

    def submit_next() -> None:
        if queue:
            submit(queue.popleft(), -(len(chunks) - len(queue)))

    with bar:
        task = bar.add_task("cells", total=sum(len(c) for c in chunks))

        def on_event(event: Any) -> None:
            msg = event[1]
            with lock:
                if msg.get("chunk") in reported:
                    reported[msg["chunk"]] += msg["cells"]
                    bar.update(task, advance=msg["cells"])

        client.subscribe_topic(topic, on_event)
        try:
            for _ in range(window):
                submit_next()
            for fut, result in futures:
                with lock:
                    cid, chunk = running.pop(fut)
                    seen = reported.pop(cid)
                if fut.status == "finished":
                    summary.done += result["done"]
                    summary.failed += len(result["failed"])
                    summary.failures.update(result["failed"])
                    store.write_failures(result["records"])
                    bar.update(task, advance=len(chunk) - seen)
                    if fail_fast and result["error"] is not None:
                        raise result["error"]
                else:
                    err = result if isinstance(result, BaseException) else fut.exception()
                    if fail_fast:
                        raise err
                    bar.update(task, advance=-seen)
                    if len(chunk) > 1:
                        # the chunk killed its workers: split it to isolate the cell
                        half = len(chunk) // 2
                        submit(chunk[:half], 1)
                        submit(chunk[half:], 1)
                    elif chunk[0].key not in second_chance:
                        # a cell may have died beside the one that kills its workers
                        second_chance.add(chunk[0].key)
                        submit(chunk, 1)
                    else:
                        # the task never returned: its worker died too often (KilledWorker)
                        _record_lost(store, chunk[0], err, summary)
                        bar.update(task, advance=1)
                fut.release()
                submit_next()
                bar.update(task, description=f"cells ({summary.failed} failed)"
                           if summary.failed else "cells")
        finally:
            client.unsubscribe_topic(topic)
            with lock:
                left = list(running)
            if left:
                client.cancel(left)


def _record_lost(store: BatchStore, cell: Cell, err: BaseException,
                 summary: BatchSummary) -> None:
    record = failure_record(cell, err, "")
    record.update(host="", pid=None)
    store.write_failure(cell.key, record)
    summary.failed += 1
    summary.failures[cell.key] = f"{type(err).__name__}: {err}"
