"""neuroalign.batch: grids of comparisons on dask.distributed, resumable and fault tolerant.

A batch config names (agents x tasks x seeds x layers) x (sources x regions) x measures;
:func:`run_batch` computes every cell with the per-cell function of ``neuroalign run``
on a dask cluster, many cells per task, and stores one checked Parquet part per chunk;
:func:`load_results` reads them back as one DataFrame, :func:`results_dataset` lazily,
and :func:`compact` merges the parts into a few large files.
"""

from neuroalign.batch.chunks import auto_chunk_size, make_chunks
from neuroalign.batch.config import (
    BatchConfig,
    EngineSpec,
    SourceSpec,
    config_help,
    load_config,
    validate_config,
)
from neuroalign.batch.names import check_names
from neuroalign.batch.plan import Cell, expand_cells, file_fingerprint, source_identity
from neuroalign.batch.runner import (
    BatchSummary,
    plan_batch,
    run_batch,
    run_serial,
    slurm_cluster,
)
from neuroalign.batch.store import (
    BatchStatus,
    BatchStore,
    compact,
    load_results,
    results_dataset,
)
from neuroalign.batch.worker import PROJECT_FUNCTIONS, WorkerCache, check_engine, worker_cache

__all__ = [
    "PROJECT_FUNCTIONS",
    "BatchConfig",
    "BatchStatus",
    "BatchStore",
    "BatchSummary",
    "Cell",
    "EngineSpec",
    "SourceSpec",
    "WorkerCache",
    "auto_chunk_size",
    "batch_status",
    "check_engine",
    "check_names",
    "compact",
    "config_help",
    "expand_cells",
    "file_fingerprint",
    "load_config",
    "load_results",
    "make_chunks",
    "plan_batch",
    "results_dataset",
    "run_batch",
    "run_serial",
    "slurm_cluster",
    "source_identity",
    "validate_config",
    "worker_cache",
]


def batch_status(root: str) -> BatchStatus:
    """Done / failed / pending counts of the batch folder ``root``."""
    return BatchStore(root).status()
