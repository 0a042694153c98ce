"""Parameter checks shared by the inference layer."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from neuroalign.core.errors import ValidationError
from neuroalign.core.random import as_rng

__all__ = ["as_rng", "check_choice", "check_level", "check_positive_int"]


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise when it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValidationError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def check_level(level: object, name: str = "level") -> float:
    """Return a confidence level strictly inside (0, 1), or raise."""
    try:
        lev = float(level)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number in (0, 1); got {level!r}") from None
    if not 0.0 < lev < 1.0:
        raise ValidationError(f"{name} must be in the open interval (0, 1); got {level!r}")
    return lev


def check_choice(value: object, name: str, valid: Iterable[object]) -> object:
    """Return ``value`` if it is one of ``valid``; otherwise raise listing the valid ones."""
    valid = list(valid)
    if value not in valid:
        listed = ", ".join(repr(v) for v in valid)
        raise ValidationError(f"unknown {name} {value!r}; valid values: {listed}")
    return value
