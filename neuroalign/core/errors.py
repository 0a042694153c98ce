"""The one exception hierarchy of neuroalign.

Every error the package raises on purpose derives from :class:`NeuroalignError`,
so a notebook user can catch everything neuroalign refuses with one ``except``
clause, and a caller can catch the narrower class it knows how to handle.

Messages name the file, field or parameter, what was found and what was expected.
"""

from __future__ import annotations

__all__ = [
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
]


class NeuroalignError(Exception):
    """Base class of every error neuroalign raises on purpose."""


class ValidationError(NeuroalignError, ValueError):
    """A parameter or an array has the wrong value, type, shape or dims."""


class SourceError(NeuroalignError, OSError):
    """A data source cannot be opened: missing file, bad URL, unreachable host."""


class NWBFormatError(NeuroalignError, ValueError):
    """A file opens but is not usable NWB: not HDF5, truncated, missing tables."""


class DataError(NeuroalignError, ValueError):
    """The data are readable but unusable: NaN or unsorted spikes, empty valences."""


class ProfileError(NeuroalignError, ValueError):
    """A dataset profile does not fit the file: missing column, no valence events."""


class ConfigError(NeuroalignError, ValueError):
    """A YAML or typed configuration is invalid: unknown field, missing file."""


class OutputError(NeuroalignError, OSError):
    """An output path cannot be written: below a file, read-only, a special filesystem."""


class OutputExistsError(NeuroalignError, FileExistsError):
    """An output folder or file exists and overwriting was not asked for."""


class CheckpointError(NeuroalignError, ValueError):
    """A checkpoint is corrupt, truncated, from another version or another task."""


class InferenceError(NeuroalignError, ValueError):
    """The design cannot support the statistical test or interval asked for."""


class DependencyError(NeuroalignError, ImportError):
    """An optional dependency is missing; the message says how to install it."""


class ResourceError(NeuroalignError, MemoryError):
    """An input asks for more memory than the limit allows (see :mod:`neuroalign.core.limits`)."""
