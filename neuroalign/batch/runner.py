"""Run a batch grid on dask.distributed, or serially in this process.

Scheduling is dask's: a :class:`distributed.LocalCluster` (one process per worker,
one thread each) by default, or any running scheduler by address, including a
dask-jobqueue SLURM cluster. Each cell is one task; a worker that dies takes its
running tasks with it and the scheduler reruns them on the others
(``distributed.scheduler.allowed-failures`` times, 3 by default).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.batch.config import DEFAULT_CELL, BatchConfig
from neuroalign.batch.names import check_names
from neuroalign.batch.plan import Cell, _expand_sources, expand_cells
from neuroalign.batch.store import BatchStore, assemble, read_table, rows_table
from neuroalign.batch.worker import WorkerCache, compute_rows, execute_cell
from neuroalign.core.errors import ConfigError, DependencyError
from neuroalign.core.progress import progress_bar
from neuroalign.core.provenance import neuroalign_version

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from distributed import Client
    from rich.console import Console

__all__ = ["BatchSummary", "plan_batch", "run_batch", "run_serial", "slurm_cluster"]


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
    """

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    failed_before: int = 0
    seconds: float = 0.0
    out: str = ""
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every cell of the grid is finished."""
        return self.done + self.skipped == self.total


def _check_default_engine(config: BatchConfig) -> None:
    """Validate the measure names against the default cell function, if it is used."""
    if config.engine.cell != DEFAULT_CELL:
        return
    try:
        from neuroalign.pipeline.cell import MEASURES
    except ImportError as err:
        raise DependencyError(f"the default cell function needs neuroalign.pipeline ({err})"
                              ) from err
    unknown = [m for m in config.measures if m not in MEASURES]
    if unknown:
        raise ConfigError(f"measures: unknown {unknown}; expected names from {list(MEASURES)}")
    # a typo in an agent or task name would otherwise fail every cell of the grid one by one
    from neuroalign.zoo.agents import AGENTS
    from neuroalign.zoo.tasks import task_names

    for name, given, known in (("agents", config.agents, list(AGENTS)),
                               ("tasks", config.tasks, list(task_names()))):
        unknown = [x for x in given if x not in known]
        if unknown:
            raise ConfigError(f"{name}: unknown {unknown}; expected names from {known}")


def plan_batch(config: BatchConfig) -> tuple[list[Cell], dict[str, Any]]:
    """Expand ``config`` into cells and the plan document stored as ``batch.json``."""
    _check_default_engine(config)
    # typos in layer or region names fail here, once, instead of in every cell
    check_names(config, [loc for loc, _ in _expand_sources(config)])
    cells = expand_cells(config)
    plan = {
        "neuroalign_version": neuroalign_version(),
        "config": config.model_dump(mode="json"),
        "cells": [c.describe() for c in cells],
    }
    return cells, plan


def run_serial(config: BatchConfig) -> pd.DataFrame:
    """Compute every cell of ``config`` in this process, in grid order, storing nothing.

    The reference a distributed run must equal row for row: same cell function,
    same loaders, same table layout as :func:`~neuroalign.batch.load_results`.
    Errors propagate.
    """
    cells = expand_cells(config)
    cache = WorkerCache(config.cache_size)
    engine = config.engine.model_dump()
    frames = [_through_parquet(rows_table(
        compute_rows(c, engine, config.cell_params(), config.base_dir, cache), c.key))
        for c in cells]
    return assemble(frames)


def _through_parquet(table: Any) -> pd.DataFrame:
    """``table`` as it reads back from a part file (same dtypes as a stored cell)."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    buf.seek(0)
    return read_table(buf)


def _open_client(scheduler: str | None, workers: int | None) -> tuple[Client, Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=40)
    return Client(cluster), cluster


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
        Show a progress bar with ETA.
    console
        Rich console for the progress bar.

    Returns
    -------
    BatchSummary
        Counts of done, skipped and failed cells and the wall time.
    """
    start = time.perf_counter()
    root = Path(out).resolve()
    store = BatchStore(root)
    cells, plan = plan_batch(config)
    store.init(plan)
    done_before = store.done_keys()
    failed_before = store.failed_keys()
    summary = BatchSummary(total=len(cells), out=str(root))
    todo: list[Cell] = []
    for cell in cells:
        if cell.key in done_before:
            summary.skipped += 1
        elif cell.key in failed_before and not retry_failed:
            summary.failed_before += 1
        else:
            todo.append(cell)
    if todo:
        own_client = client is None
        cluster = None
        if client is None:
            client, cluster = _open_client(scheduler, workers)
        try:
            _submit_and_wait(client, todo, store, config, summary, fail_fast,
                             _progress(console, progress))
        finally:
            if own_client:
                client.close()
            if cluster is not None:
                cluster.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _submit_and_wait(client: Client, todo: list[Cell], store: BatchStore,
                     config: BatchConfig, summary: BatchSummary, fail_fast: bool,
                     bar: Any) -> None:
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    engine = config.engine.model_dump()
    params = config.cell_params()
    by_future = {}
    for i, cell in enumerate(todo):
        fut = client.submit(execute_cell, cell, str(store.root), engine, params,
                            config.base_dir, config.cache_size, fail_fast,
                            key=f"neuroalign-cell-{cell.key}-{token}", pure=False,
                            priority=-i)
        by_future[fut] = cell
    with bar:
        task = bar.add_task("cells", total=len(todo))
        try:
            done_futures = as_completed(list(by_future), with_results=True,
                                        raise_errors=False)
            for fut, result in done_futures:
                cell = by_future.pop(fut)
                if fut.status == "finished":
                    if result["status"] == "done":
                        summary.done += 1
                    else:
                        summary.failed += 1
                        summary.failures[cell.key] = result["error"]
                else:
                    err = result if isinstance(result, BaseException) else fut.exception()
                    if fail_fast:
                        raise err
                    # the task never returned: its worker died too often (KilledWorker)
                    message = f"{type(err).__name__}: {err}"
                    store.write_failure(cell.key, {
                        "key": cell.key, "cell": cell.describe(),
                        "error_type": type(err).__name__, "message": str(err),
                        "traceback": "", "host": "", "pid": None,
                        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    })
                    summary.failed += 1
                    summary.failures[cell.key] = message
                fut.release()
                bar.update(task, advance=1,
                           description=f"cells ({summary.failed} failed)" if summary.failed
                           else "cells")
        finally:
            if by_future:
                client.cancel(list(by_future))


def slurm_cluster(jobs: int = 1, **kwargs: Any) -> Any:
    """A dask-jobqueue SLURM cluster scaled to ``jobs`` batch jobs (the HPC recipe).

    Parameters
    ----------
    jobs
        SLURM jobs to submit (each runs ``processes`` worker processes).
    **kwargs
        Passed to :class:`dask_jobqueue.SLURMCluster`, e.g. ``queue``, ``account``,
        ``cores``, ``processes``, ``memory``, ``walltime``.

    Returns
    -------
    dask_jobqueue.SLURMCluster
        Pass ``Client(cluster)`` as ``client`` to :func:`run_batch`.

    Raises
    ------
    DependencyError
        If dask-jobqueue is not installed (``pip install "neuroalign[jobqueue]"``).
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise DependencyError(
            "slurm_cluster needs dask-jobqueue, which is not installed; install it with "
            "pip install \"neuroalign[jobqueue]\""
        ) from None
    cluster = SLURMCluster(**kwargs)
    cluster.scale(jobs=jobs)
    return cluster
