"""neuroalign.simulate: synthetic data with planted, documented valence geometry.

Everything made here is marked synthetic. See ``docs/parts/simulate.md`` for the
generative model and :mod:`neuroalign.simulate.model` for the math.
"""

from neuroalign.simulate.dataset import DEFAULT_DATASET, make_dataset, session_file_name
from neuroalign.simulate.model import (
    DEFAULT_NEUTRAL_TRIALS,
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    PLANTINGS,
    RegionModel,
    make_region_model,
    planted_asymmetry,
    planted_sharpness,
    planted_summary,
    step_profile,
)
from neuroalign.simulate.nwb import DEFAULT_REGIONS, TRIAL_TYPES, build_session, simulate_session
from neuroalign.simulate.patterns import (
    expected_patterns,
    patterns_from_activations,
    sample_condition_patterns,
    sample_from_model,
)

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
