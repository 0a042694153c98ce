"""The dask cluster every distributed job of neuroalign runs on.

A :class:`distributed.LocalCluster` on this machine by default (one process per
worker, one thread each, listening on 127.0.0.1 only), any running scheduler by
address (``tcp://10.0.0.1:8786``), or an HPC cluster made with
:func:`slurm_cluster` (dask-jobqueue) and handed over as a ``Client``. The batch
engine (:mod:`neuroalign.batch`) and the zoo's seed sweeps
(:mod:`neuroalign.zoo.sweep`) both open their client here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuroalign.core.errors import DependencyError
from neuroalign.core.workers import usable_cpus

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["DEFAULT_DASHBOARD", "DEFAULT_HOST", "open_client", "slurm_cluster"]

#: where a LocalCluster listens, and its dashboard: this machine only
DEFAULT_HOST = "127.0.0.1"
DEFAULT_DASHBOARD = "127.0.0.1:0"


def open_client(scheduler: str | None, workers: int | None, host: str = DEFAULT_HOST,
                dashboard: str | None = DEFAULT_DASHBOARD) -> tuple[Client, Any]:
    """A client of ``scheduler``, or of a new LocalCluster of ``workers`` processes.

    Parameters
    ----------
    scheduler
        Address of a running scheduler; ``None`` starts a LocalCluster.
    workers
        Worker processes of the LocalCluster, one thread each (default: the CPUs this
        process may use). Each worker runs one task at a time, so a worker that dies
        takes only its own task with it.
    host
        Interface the LocalCluster's scheduler and workers listen on.
    dashboard
        Address of the LocalCluster's dashboard; ``None`` or ``""`` for none.

    Returns
    -------
    tuple
        ``(client, cluster)``; ``cluster`` is ``None`` for an external scheduler.
        The caller closes both.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    import dask

    n = workers or usable_cpus()
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host=host,
                               dashboard_address=dashboard or None, silence_logs=40)
    return Client(cluster), cluster


def slurm_cluster(jobs: int = 1, *, dashboard: str | None = "127.0.0.1:8787",
                  **kwargs: Any) -> Any:
    """A dask-jobqueue SLURM cluster scaled to ``jobs`` batch jobs (the HPC recipe).

    Parameters
    ----------
    jobs
        SLURM jobs to submit (each runs ``processes`` worker processes).
    dashboard
        Address of the scheduler's dashboard; by default it listens on the login node's
        loopback interface only (reach it through ``ssh -L 8787:127.0.0.1:8787``);
        ``None`` for none. The scheduler itself must listen where the compute nodes
        can reach it (dask-jobqueue's ``interface`` / ``scheduler_options``).
    **kwargs
        Passed to :class:`dask_jobqueue.SLURMCluster`, e.g. ``queue``, ``account``,
        ``cores``, ``processes``, ``memory``, ``walltime``.

    Returns
    -------
    dask_jobqueue.SLURMCluster
        Pass ``Client(cluster)`` as ``client`` to :func:`neuroalign.batch.run_batch`
        or :func:`neuroalign.zoo.run_sweep`.

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
    options = dict(kwargs.pop("scheduler_options", None) or {})
    if dashboard is not None:
        options.setdefault("dashboard_address", dashboard)
    cluster = SLURMCluster(scheduler_options=options, **kwargs)
    cluster.scale(jobs=jobs)
    return cluster
