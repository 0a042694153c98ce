"""neuroalign.pipeline: the main job, from recordings and agents to a report.

:func:`prepare_side` does the per-side work once (an RDM, the valence geometry on
the side's own grid); :func:`score_cell` scores one pair of prepared sides and
:func:`compute_cell` one pair of pattern sets (pure and deterministic, shared with
:mod:`neuroalign.batch`);
:func:`run_pipeline` runs every cell of a :class:`RunConfig` and writes the report.
"""

from neuroalign.pipeline.cell import (
    MEASURES,
    ROW_COLUMNS,
    align_conditions,
    compute_cell,
    derive_seed,
    score_cell,
)
from neuroalign.pipeline.config import AgentSpec, RunConfig, SourceSpec, load_config
from neuroalign.pipeline.loaders import (
    load_brain_patterns,
    load_model_patterns,
    model_patterns_by_layer,
)
from neuroalign.pipeline.run import RunArtifacts, RunResult, run_pipeline
from neuroalign.pipeline.sides import Side, prepare_side

__all__ = [
    "MEASURES",
    "ROW_COLUMNS",
    "AgentSpec",
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
    "model_patterns_by_layer",
    "prepare_side",
    "run_pipeline",
    "score_cell",
]
