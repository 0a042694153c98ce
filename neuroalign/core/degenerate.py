"""When a measure of a set of patterns is undefined: the degenerate rules, stated once.

Every measure (rsa, cka, shape, geometry, predictivity) applies these rules to
each of its sides before computing; a side that breaks one gives a NaN result
with a note naming the rule (the run's rows), or an
:class:`~neuroalign.core.errors.InferenceError` from the public entry points
(:func:`neuroalign.compare.inference.evaluate`,
:func:`neuroalign.geometry.valence_geometry`), never a confident number:

1. **Units.** A side needs at least :data:`MIN_UNITS` units: with one unit
   every condition pattern is a point on a line, so RDM ranks, CKA and shape
   distances reflect one neuron's tuning, and a "path" cannot turn.
2. **Repetitions.** Cross-validated RDMs (crossnobis) and every interval need
   at least :data:`MIN_REPETITIONS` repetitions of each condition (a
   repetition counts for a condition when its values there are finite). A
   deterministic side (a probed model layer: one exact pattern per
   condition) is exempt; its RDM is between its exact patterns.
3. **Values.** Infinite values make every measure undefined. Values so large
   that their squares overflow float64 (beyond :data:`OVERFLOW_LIMIT`) are
   divided by a power of two first (:func:`standardise`; exact, so
   scale-invariant statistics are unchanged), so no SVD or distance overflows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neuroalign.core.errors import InferenceError

__all__ = [
    "MIN_REPETITIONS",
    "MIN_UNITS",
    "OVERFLOW_LIMIT",
    "check_patterns",
    "degenerate_reason",
    "repetitions_per_condition",
    "standardise",
]

#: fewest units of a side for any measure
MIN_UNITS = 2
#: fewest repetitions of each condition for a cross-validated RDM or an interval
MIN_REPETITIONS = 3
#: largest magnitude whose products stay finite in float64 (sqrt of the largest float / 1e4)
OVERFLOW_LIMIT = 1e150


def _as_three(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[None] if arr.ndim == 2 else arr


def repetitions_per_condition(values: np.ndarray) -> np.ndarray:
    """Repetitions with finite values, per condition, of ``(repetition?, condition, unit)``."""
    arr = _as_three(values)
    return np.isfinite(arr).all(axis=2).sum(axis=0)


def degenerate_reason(values: np.ndarray, what: str, *, deterministic: bool = False,
                      repetitions: bool = True, labels: Sequence[str] | None = None
                      ) -> str | None:
    """Why no measure of ``values`` can be trusted (see the module rules), or ``None``.

    Parameters
    ----------
    values
        Patterns ``(repetition, condition, unit)`` or ``(condition, unit)`` (one
        repetition).
    what
        Names the side in the note, e.g. ``"brain side"``.
    deterministic
        One repetition is an exact pattern per condition (a probed model layer);
        exempt from the repetition rule.
    repetitions
        Apply the repetition rule (a measure without intervals or
        cross-validation over repetitions passes ``False``).
    labels
        Condition labels, to name a condition in the note (default: its index).
    """
    arr = _as_three(values)

    def name(cond: int) -> str:
        return repr(str(labels[cond])) if labels is not None else str(cond)

    n_inf = int(np.isinf(arr).sum())
    if n_inf:
        rep, cond, unit = (int(i[0]) for i in np.nonzero(np.isinf(arr)))
        return (f"{what} holds {n_inf} infinite value(s) (first at repetition {rep}, "
                f"condition {name(cond)}, unit {unit}); every measure of it is undefined")
    n_units = arr.shape[-1]
    if n_units < MIN_UNITS:
        return (f"{what} has {n_units} unit(s); every measure needs at least {MIN_UNITS} "
                "(one unit has no pattern to compare)")
    if repetitions and not (deterministic and arr.shape[0] == 1):
        counts = repetitions_per_condition(arr)
        fewest = int(counts.min()) if counts.size else 0
        if fewest < MIN_REPETITIONS:
            cond = int(np.argmin(counts))
            return (f"{what} has {fewest} repetition(s) of condition {name(cond)}; cross-validated "
                    f"RDMs and intervals need at least {MIN_REPETITIONS} per condition")
    return None


def check_patterns(values: np.ndarray, what: str, *, deterministic: bool = False,
                   repetitions: bool = True) -> None:
    """Raise :class:`InferenceError` with :func:`degenerate_reason`'s note, if any."""
    reason = degenerate_reason(values, what, deterministic=deterministic,
                               repetitions=repetitions)
    if reason is not None:
        raise InferenceError(reason)


def standardise(values: np.ndarray) -> tuple[np.ndarray, float]:
    """``values`` divided by a power of two when their magnitude would overflow.

    Returns ``(values / scale, scale)``; ``scale`` is 1 when the largest finite
    magnitude is at most :data:`OVERFLOW_LIMIT`, else the power of two that
    brings it to [0.5, 1). Division by a power of two is exact, so every
    scale-invariant statistic (correlations of RDMs, CKA, shape distances,
    sharpness) is unchanged, and a length computed on the result is the true
    one divided by ``scale``.
    """
    arr = np.asarray(values, dtype=float)
    finite = np.abs(arr[np.isfinite(arr)])
    top = float(finite.max()) if finite.size else 0.0
    if top <= OVERFLOW_LIMIT:
        return arr, 1.0
    scale = math.ldexp(1.0, math.frexp(top)[1])
    return arr / scale, scale
