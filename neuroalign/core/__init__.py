"""Foundation shared by every part: errors, data contracts, provenance, atomic writes,
checks of output and input paths, memory limits."""

from neuroalign.core.atomic import (
    atomic_dir,
    atomic_file,
    check_output_path,
    check_regular_file,
    prepare_output_dir,
    sweep_stale,
)
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
    OutputError,
    OutputExistsError,
    ProfileError,
    ResourceError,
    SourceError,
    ValidationError,
)
from neuroalign.core.limits import check_memory, max_memory, parse_size
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
    "OutputError",
    "OutputExistsError",
    "ProfileError",
    "ResourceError",
    "SourceError",
    "ValidationError",
    "as_rng",
    "atomic_dir",
    "atomic_file",
    "cache_root",
    "check_memory",
    "check_output_path",
    "check_regular_file",
    "condition_coords",
    "condition_label",
    "condition_labels",
    "max_memory",
    "neuroalign_version",
    "parse_condition_label",
    "parse_size",
    "prepare_output_dir",
    "provenance_attrs",
    "require_dims",
    "sweep_stale",
    "valence_code",
]
