"""Types of ``neuroalign.simulate``, whose names ``__init__.py`` imports on first use."""

from neuroalign.simulate.dataset import DEFAULT_DATASET as DEFAULT_DATASET
from neuroalign.simulate.dataset import make_dataset as make_dataset
from neuroalign.simulate.dataset import session_file_name as session_file_name
from neuroalign.simulate.model import DEFAULT_NEUTRAL_TRIALS as DEFAULT_NEUTRAL_TRIALS
from neuroalign.simulate.model import DEFAULT_TRIALS_PER_VALENCE as DEFAULT_TRIALS_PER_VALENCE
from neuroalign.simulate.model import DEFAULT_UNITS_PER_REGION as DEFAULT_UNITS_PER_REGION
from neuroalign.simulate.model import PLANTINGS as PLANTINGS
from neuroalign.simulate.model import RegionModel as RegionModel
from neuroalign.simulate.model import make_region_model as make_region_model
from neuroalign.simulate.model import planted_asymmetry as planted_asymmetry
from neuroalign.simulate.model import planted_sharpness as planted_sharpness
from neuroalign.simulate.model import planted_summary as planted_summary
from neuroalign.simulate.model import step_profile as step_profile
from neuroalign.simulate.nwb import DEFAULT_REGIONS as DEFAULT_REGIONS
from neuroalign.simulate.nwb import TRIAL_TYPES as TRIAL_TYPES
from neuroalign.simulate.nwb import build_session as build_session
from neuroalign.simulate.nwb import simulate_session as simulate_session
from neuroalign.simulate.patterns import expected_patterns as expected_patterns
from neuroalign.simulate.patterns import patterns_from_activations as patterns_from_activations
from neuroalign.simulate.patterns import sample_condition_patterns as sample_condition_patterns
from neuroalign.simulate.patterns import sample_from_model as sample_from_model

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
