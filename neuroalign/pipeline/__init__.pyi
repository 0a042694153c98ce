"""Types of ``neuroalign.pipeline``, whose names ``__init__.py`` imports on first use."""

from neuroalign.pipeline.cell import MEASURES as MEASURES
from neuroalign.pipeline.cell import ROW_COLUMNS as ROW_COLUMNS
from neuroalign.pipeline.cell import align_conditions as align_conditions
from neuroalign.pipeline.cell import compute_cell as compute_cell
from neuroalign.pipeline.cell import derive_seed as derive_seed
from neuroalign.pipeline.cell import score_cell as score_cell
from neuroalign.pipeline.config import AgentSpec as AgentSpec
from neuroalign.pipeline.config import RunConfig as RunConfig
from neuroalign.pipeline.config import SourceSpec as SourceSpec
from neuroalign.pipeline.config import load_config as load_config
from neuroalign.pipeline.loaders import load_brain_patterns as load_brain_patterns
from neuroalign.pipeline.loaders import load_model_patterns as load_model_patterns
from neuroalign.pipeline.loaders import model_patterns_by_layer as model_patterns_by_layer
from neuroalign.pipeline.replication import ReplicationResult as ReplicationResult
from neuroalign.pipeline.replication import run_replication as run_replication
from neuroalign.pipeline.replication_config import ReplicationConfig as ReplicationConfig
from neuroalign.pipeline.replication_config import (
    load_replication_config as load_replication_config,
)
from neuroalign.pipeline.run import RunArtifacts as RunArtifacts
from neuroalign.pipeline.run import RunResult as RunResult
from neuroalign.pipeline.run import run_pipeline as run_pipeline
from neuroalign.pipeline.sides import Side as Side
from neuroalign.pipeline.sides import prepare_side as prepare_side

__all__ = [
    "MEASURES",
    "ROW_COLUMNS",
    "AgentSpec",
    "ReplicationConfig",
    "ReplicationResult",
    "RunArtifacts",
    "RunConfig",
    "RunResult",
    "Side",
    "SourceSpec",
    "align_conditions",
    "compute_cell",
    "derive_seed",
    "load_brain_patterns",
    "load_config",
    "load_model_patterns",
    "load_replication_config",
    "model_patterns_by_layer",
    "prepare_side",
    "run_pipeline",
    "run_replication",
    "score_cell",
]
