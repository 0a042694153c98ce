"""Types of ``neuroalign.batch``, whose names ``__init__.py`` imports on first use."""

from neuroalign.batch.chunks import auto_chunk_size as auto_chunk_size
from neuroalign.batch.chunks import make_chunks as make_chunks
from neuroalign.batch.config import BatchConfig as BatchConfig
from neuroalign.batch.config import EngineSpec as EngineSpec
from neuroalign.batch.config import SourceSpec as SourceSpec
from neuroalign.batch.config import config_help as config_help
from neuroalign.batch.config import load_config as load_config
from neuroalign.batch.config import validate_config as validate_config
from neuroalign.batch.names import check_names as check_names
from neuroalign.batch.plan import Cell as Cell
from neuroalign.batch.plan import expand_cells as expand_cells
from neuroalign.batch.plan import file_fingerprint as file_fingerprint
from neuroalign.batch.plan import source_identity as source_identity
from neuroalign.batch.runner import BatchSummary as BatchSummary
from neuroalign.batch.runner import plan_batch as plan_batch
from neuroalign.batch.runner import run_batch as run_batch
from neuroalign.batch.runner import run_serial as run_serial
from neuroalign.batch.runner import slurm_cluster as slurm_cluster
from neuroalign.batch.store import BatchStatus as BatchStatus
from neuroalign.batch.store import BatchStore as BatchStore
from neuroalign.batch.store import compact as compact
from neuroalign.batch.store import load_results as load_results
from neuroalign.batch.store import results_dataset as results_dataset
from neuroalign.batch.worker import PROJECT_FUNCTIONS as PROJECT_FUNCTIONS
from neuroalign.batch.worker import WorkerCache as WorkerCache
from neuroalign.batch.worker import check_engine as check_engine
from neuroalign.batch.worker import worker_cache as worker_cache

def batch_status(root: str) -> BatchStatus: ...

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
