"""neuroalign.batch: grids of comparisons on dask.distributed, resumable and fault tolerant.

A batch config names (agents x tasks x seeds x layers) x (sources x regions) x measures;
:func:`run_batch` computes every cell with the per-cell function of ``neuroalign run``
on a dask cluster, many cells per task, and stores one checked Parquet part per chunk;
:func:`load_results` reads them back as one DataFrame, :func:`results_dataset` lazily,
and :func:`compact` merges the parts into a few large files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuroalign.core.lazy import lazy_exports

if TYPE_CHECKING:
    from neuroalign.batch.store import BatchStatus

#: public name -> submodule that defines it (imported on first use, so the command
#: line and ``import neuroalign.batch`` stay fast)
_EXPORTS: dict[str, str] = {
    "auto_chunk_size": "chunks",
    "make_chunks": "chunks",
    "BatchConfig": "config",
    "EngineSpec": "config",
    "SourceSpec": "config",
    "config_help": "config",
    "load_config": "config",
    "validate_config": "config",
    "check_names": "names",
    "Cell": "plan",
    "expand_cells": "plan",
    "file_fingerprint": "plan",
    "source_identity": "plan",
    "BatchSummary": "runner",
    "plan_batch": "runner",
    "run_batch": "runner",
    "run_serial": "runner",
    "slurm_cluster": "runner",
    "BatchStatus": "store",
    "BatchStore": "store",
    "compact": "store",
    "load_results": "store",
    "results_dataset": "store",
    "PROJECT_FUNCTIONS": "worker",
    "WorkerCache": "worker",
    "check_engine": "worker",
    "worker_cache": "worker",
}

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
    from neuroalign.batch.store import BatchStore

    return BatchStore(root).status()


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
