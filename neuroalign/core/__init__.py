"""Foundation shared by every part: errors, data contracts, provenance, atomic writes."""

from neuroalign.core.atomic import atomic_dir, atomic_file, prepare_output_dir
from neuroalign.core.cache import cache_root
from neuroalign.core.contracts import (
    DIMS,
    VALENCE_CODES,
    VALENCE_NAMES,
    condition_coords,
    condition_label,
    condition_labels,
    parse_condition_label,
    require_dims,
    valence_code,
)
from neuroalign.core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DependencyError,
    InferenceError,
    NeuroalignError,
    NWBFormatError,
    OutputExistsError,
    ProfileError,
    SourceError,
    ValidationError,
)
from neuroalign.core.provenance import neuroalign_version, provenance_attrs
from neuroalign.core.random import as_rng

__all__ = [
    "DIMS",
    "VALENCE_CODES",
    "VALENCE_NAMES",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DependencyError",
    "InferenceError",
    "NWBFormatError",
    "NeuroalignError",
    "OutputExistsError",
    "ProfileError",
    "SourceError",
    "ValidationError",
    "as_rng",
    "atomic_dir",
    "atomic_file",
    "cache_root",
    "condition_coords",
    "condition_label",
    "condition_labels",
    "neuroalign_version",
    "parse_condition_label",
    "prepare_output_dir",
    "provenance_attrs",
    "require_dims",
    "valence_code",
]
