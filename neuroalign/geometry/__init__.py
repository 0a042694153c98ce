"""Walls and funnels: neuroalign's valence-geometry measures, with intervals and tests.

This is neuroalign's *operational definition* of the wall/funnel hypothesis
(see ``docs/parts/geometry.md``), not a measure taken from the literature.

Quick use::

    from neuroalign.geometry import valence_geometry
    result = valence_geometry(patterns)          # (repetition, condition, unit)
    result.to_frame()                            # S_reward, S_danger, A, ...
    result.profiles                              # per-approach profiles, with intervals
"""

from neuroalign.geometry.grid import ValenceGrid, valence_grid
from neuroalign.geometry.inference import GeometryResult, valence_geometry
from neuroalign.geometry.kernels import DISTANCES
from neuroalign.geometry.measures import (
    DEFAULT_W,
    approach_profile,
    convergence,
    geometry_statistics,
    sharpness,
    step_lengths,
    valence_asymmetry,
)

__all__ = [
    "DEFAULT_W",
    "DISTANCES",
    "GeometryResult",
    "ValenceGrid",
    "approach_profile",
    "convergence",
    "geometry_statistics",
    "sharpness",
    "step_lengths",
    "valence_asymmetry",
    "valence_geometry",
    "valence_grid",
]
