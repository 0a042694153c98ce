"""Alignment of two representations by condition label (shared by the measures)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.contracts import condition_labels
from neuroalign.core.errors import ValidationError

__all__ = ["align_patterns", "pattern_matrix", "shared_label_index"]


def shared_label_index(
    la: np.ndarray, lb: np.ndarray, names: tuple[str, str], subject: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the labels ``la`` and ``lb`` share, in the order of ``la``.

    Parameters
    ----------
    la, lb
        Condition labels (strings) of the two inputs.
    names
        Names of the two inputs, for the error message.
    subject
        Subject of the error message; ``"<a> and <b>"`` by default.

    Returns
    -------
    tuple of numpy.ndarray
        Integer indices ``ia`` into ``la`` and ``ib`` into ``lb`` with
        ``la[ia] == lb[ib]``.

    Raises
    ------
    ValidationError
        When no label is shared (the message lists the first labels of both).
    """
    pos = {lab: i for i, lab in enumerate(lb)}
    ia = np.asarray([i for i, lab in enumerate(la) if lab in pos], dtype=np.int64)
    if ia.size == 0:
        who = subject if subject is not None else f"{names[0]} and {names[1]}"
        raise ValidationError(
            f"{who} share no condition label: {names[0]} has {la[:10].tolist()}, "
            f"{names[1]} has {lb[:10].tolist()}"
        )
    ib = np.asarray([pos[lab] for lab in la[ia]], dtype=np.int64)
    return ia, ib


def pattern_matrix(x: Any, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Float array ``(..., condition, unit)`` of ``x`` and its condition labels.

    A DataArray must have dims ``("condition", "unit")``; its labels come from
    :func:`neuroalign.core.contracts.condition_labels` (``None`` when it has none).
    Plain arrays need at least two dims and have no labels.
    """
    if isinstance(x, xr.DataArray):
        if set(x.dims) != {"condition", "unit"}:
            raise ValidationError(
                f"{name}: dims {tuple(x.dims)}; expected ('condition', 'unit') (average "
                "repetitions first)"
            )
        labels = condition_labels(x, name, missing="none")
        return x.transpose("condition", "unit").values.astype(np.float64), labels
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 2:
        raise ValidationError(f"{name}: expected shape (..., conditions, units); got {arr.shape}")
    return arr, None


def align_patterns(
    x: Any, y: Any, measure: str, min_conditions: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Condition patterns of ``x`` and ``y`` on their shared conditions, in ``x``'s order.

    Parameters
    ----------
    x, y
        ``(condition, unit)`` DataArrays (aligned by label when both have labels)
        or arrays ``(..., n_conditions, n_units)`` (aligned by position).
    measure
        Name of the measure, for the error messages.
    min_conditions
        Fewest shared conditions accepted.

    Returns
    -------
    tuple of numpy.ndarray
        float64 arrays with the same number of conditions (axis -2).

    Raises
    ------
    ValidationError
        Wrong dims, no shared label, different or too few conditions, or NaN.
    """
    xa, lx = pattern_matrix(x, "x")
    ya, ly = pattern_matrix(y, "y")
    if lx is not None and ly is not None:
        ix, iy = shared_label_index(lx, ly, ("x", "y"))
        xa, ya = xa[..., ix, :], ya[..., iy, :]
    if xa.shape[-2] != ya.shape[-2]:
        raise ValidationError(
            f"x and y: different numbers of conditions ({xa.shape[-2]} vs {ya.shape[-2]})"
        )
    if xa.shape[-2] < min_conditions:
        raise ValidationError(
            f"x and y: {xa.shape[-2]} condition(s); need at least {min_conditions}"
        )
    if np.isnan(xa).any() or np.isnan(ya).any():
        raise ValidationError(f"x, y: contain NaN; {measure} needs complete condition patterns")
    return xa, ya
