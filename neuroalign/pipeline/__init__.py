"""neuroalign.pipeline: the main job, from recordings and agents to a report.

:func:`prepare_side` does the per-side work once (an RDM, the valence geometry on
the side's own grid); :func:`score_cell` scores one pair of prepared sides and
:func:`compute_cell` one pair of pattern sets (pure and deterministic, shared with
:mod:`neuroalign.batch`);
:func:`run_pipeline` runs every cell of a :class:`RunConfig` and writes the report;
:func:`run_replication` tests H1 on many trained seeds of every task and architecture
(``neuroalign replicate``, a :class:`ReplicationConfig`).
"""

from neuroalign.core.lazy import lazy_exports

#: public name -> submodule that defines it (imported on first use, so the command
#: line and ``import neuroalign.pipeline`` stay fast)
_EXPORTS: dict[str, str] = {
    "MEASURES": "cell",
    "ROW_COLUMNS": "cell",
    "align_conditions": "cell",
    "compute_cell": "cell",
    "derive_seed": "cell",
    "score_cell": "cell",
    "AgentSpec": "config",
    "RunConfig": "config",
    "SourceSpec": "config",
    "load_config": "config",
    "load_brain_patterns": "loaders",
    "load_model_patterns": "loaders",
    "model_patterns_by_layer": "loaders",
    "ReplicationResult": "replication",
    "run_replication": "replication",
    "ReplicationConfig": "replication_config",
    "load_replication_config": "replication_config",
    "RunArtifacts": "run",
    "RunResult": "run",
    "run_pipeline": "run",
    "Side": "sides",
    "prepare_side": "sides",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
