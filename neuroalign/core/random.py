"""One way to turn a user's ``rng``/``seed`` argument into a numpy Generator."""

from __future__ import annotations

import warnings

import numpy as np

from neuroalign.core.errors import ValidationError

__all__ = ["as_rng", "seed_argument"]


def as_rng(rng: np.random.Generator | int | None = None, name: str = "rng"
           ) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a generator, a seed or ``None``.

    ``name`` is the parameter the messages name (``"rng"`` or ``"seed"``).

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
        f"{name}: got {type(rng).__name__}; expected a numpy Generator, an int seed or None"
    )


def seed_argument(seed: np.random.Generator | int | None, rng: object, where: str
                  ) -> np.random.Generator | int | None:
    """The ``seed`` of a function that used to call it ``rng``.

    ``rng=...`` is still accepted with a :class:`DeprecationWarning`; giving both
    is an error.

    Raises
    ------
    ValidationError
        Both ``seed`` and ``rng`` given, or an ``rng`` that is neither a numpy
        Generator nor an int seed.
    """
    if rng is None:
        return seed
    if seed is not None:
        raise ValidationError(f"{where}: got both seed and rng; expected only seed "
                              "(an int or a numpy Generator)")
    warnings.warn(f"{where}: the keyword 'rng' is deprecated; pass 'seed' (an int or a numpy "
                  "Generator)", DeprecationWarning, stacklevel=3)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    raise ValidationError(f"{where}: rng: got {type(rng).__name__}; expected a numpy Generator "
                          "or an int seed")
