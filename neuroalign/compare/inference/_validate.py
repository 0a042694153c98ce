"""Parameter checks of the inference layer: the shared ones of :mod:`neuroalign.core`."""

from __future__ import annotations

from neuroalign.core.random import as_rng
from neuroalign.core.validation import check_choice, check_level, check_positive_int

__all__ = ["as_rng", "check_choice", "check_level", "check_positive_int"]
