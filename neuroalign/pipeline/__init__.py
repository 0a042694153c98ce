"""neuroalign.pipeline: the main job, from recordings and agents to a report.

:func:`compute_cell` compares one model pattern set with one brain pattern set
(pure and deterministic, shared with :mod:`neuroalign.batch`);
:func:`run_pipeline` runs every cell of a :class:`RunConfig` and writes the report.
"""

from neuroalign.pipeline.cell import (
    MEASURES,
    ROW_COLUMNS,
    align_conditions,
    compute_cell,
    derive_seed,
)
from neuroalign.pipeline.config import AgentSpec, RunConfig, SourceSpec, load_config
from neuroalign.pipeline.loaders import (
    load_brain_patterns,
    load_model_patterns,
    model_patterns_by_layer,
)
from neuroalign.pipeline.measures import CellOptions
from neuroalign.pipeline.run import RunResult, run_pipeline

__all__ = [
    "MEASURES",
    "ROW_COLUMNS",
    "AgentSpec",
    "CellOptions",
    "RunConfig",
    "RunResult",
    "SourceSpec",
    "align_conditions",
    "compute_cell",
    "derive_seed",
    "load_brain_patterns",
    "load_config",
    "load_model_patterns",
    "model_patterns_by_layer",
    "run_pipeline",
]
