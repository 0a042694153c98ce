"""Types of ``neuroalign.core``, whose names ``__init__.py`` imports on first use."""

from neuroalign.core.atomic import atomic_dir as atomic_dir
from neuroalign.core.atomic import atomic_file as atomic_file
from neuroalign.core.atomic import check_output_path as check_output_path
from neuroalign.core.atomic import check_regular_file as check_regular_file
from neuroalign.core.atomic import prepare_output_dir as prepare_output_dir
from neuroalign.core.atomic import sweep_stale as sweep_stale
from neuroalign.core.cache import cache_root as cache_root
from neuroalign.core.cluster import open_client as open_client
from neuroalign.core.cluster import slurm_cluster as slurm_cluster
from neuroalign.core.contracts import DIMS as DIMS
from neuroalign.core.contracts import VALENCE_CODES as VALENCE_CODES
from neuroalign.core.contracts import VALENCE_NAMES as VALENCE_NAMES
from neuroalign.core.contracts import condition_coords as condition_coords
from neuroalign.core.contracts import condition_label as condition_label
from neuroalign.core.contracts import condition_labels as condition_labels
from neuroalign.core.contracts import parse_condition_label as parse_condition_label
from neuroalign.core.contracts import require_dims as require_dims
from neuroalign.core.contracts import valence_code as valence_code
from neuroalign.core.errors import CheckpointError as CheckpointError
from neuroalign.core.errors import ConfigError as ConfigError
from neuroalign.core.errors import DataError as DataError
from neuroalign.core.errors import DependencyError as DependencyError
from neuroalign.core.errors import InferenceError as InferenceError
from neuroalign.core.errors import NeuroalignError as NeuroalignError
from neuroalign.core.errors import NWBFormatError as NWBFormatError
from neuroalign.core.errors import OutputError as OutputError
from neuroalign.core.errors import OutputExistsError as OutputExistsError
from neuroalign.core.errors import ProfileError as ProfileError
from neuroalign.core.errors import ResourceError as ResourceError
from neuroalign.core.errors import SourceError as SourceError
from neuroalign.core.errors import ValidationError as ValidationError
from neuroalign.core.limits import check_memory as check_memory
from neuroalign.core.limits import max_memory as max_memory
from neuroalign.core.limits import parse_size as parse_size
from neuroalign.core.provenance import neuroalign_version as neuroalign_version
from neuroalign.core.provenance import provenance_attrs as provenance_attrs
from neuroalign.core.random import as_rng as as_rng

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
    "open_client",
    "parse_condition_label",
    "parse_size",
    "prepare_output_dir",
    "provenance_attrs",
    "require_dims",
    "slurm_cluster",
    "sweep_stale",
    "valence_code",
]
