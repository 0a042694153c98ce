"""neuroalign.simulate: synthetic data with planted, documented valence geometry.

Everything made here is marked synthetic. See ``docs/parts/simulate.md`` for the
generative model and :mod:`neuroalign.simulate.model` for the math.
"""

from neuroalign.core.lazy import lazy_exports

#: public name -> submodule that defines it (imported on first use, so the command
#: line and ``import neuroalign.simulate`` stay fast)
_EXPORTS: dict[str, str] = {
    "DEFAULT_DATASET": "dataset",
    "make_dataset": "dataset",
    "session_file_name": "dataset",
    "DEFAULT_NEUTRAL_TRIALS": "model",
    "DEFAULT_TRIALS_PER_VALENCE": "model",
    "DEFAULT_UNITS_PER_REGION": "model",
    "PLANTINGS": "model",
    "RegionModel": "model",
    "make_region_model": "model",
    "planted_asymmetry": "model",
    "planted_sharpness": "model",
    "planted_summary": "model",
    "step_profile": "model",
    "DEFAULT_REGIONS": "nwb",
    "TRIAL_TYPES": "nwb",
    "build_session": "nwb",
    "simulate_session": "nwb",
    "expected_patterns": "patterns",
    "patterns_from_activations": "patterns",
    "sample_condition_patterns": "patterns",
    "sample_from_model": "patterns",
}

__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_NEUTRAL_TRIALS",
    "DEFAULT_REGIONS",
    "DEFAULT_TRIALS_PER_VALENCE",
    "DEFAULT_UNITS_PER_REGION",
    "PLANTINGS",
    "TRIAL_TYPES",
    "RegionModel",
    "build_session",
    "expected_patterns",
    "make_dataset",
    "make_region_model",
    "patterns_from_activations",
    "planted_asymmetry",
    "planted_sharpness",
    "planted_summary",
    "sample_condition_patterns",
    "sample_from_model",
    "session_file_name",
    "simulate_session",
    "step_profile",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
