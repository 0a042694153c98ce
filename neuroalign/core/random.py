"""One way to turn a user's ``rng``/``seed`` argument into a numpy Generator."""

from __future__ import annotations

import numpy as np

from neuroalign.core.errors import ValidationError

__all__ = ["as_rng"]


def as_rng(rng: np.random.Generator | int | None = None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a generator, a seed or ``None``.

    Raises
    ------
    ValidationError
        For anything else, naming the type received.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ValidationError(
        f"rng: got {type(rng).__name__}; expected a numpy Generator, an int seed or None"
    )
