"""The data contracts shared by every part (design section 3).

Everything passed between parts is an :class:`xarray.DataArray` with these dims:

``unit``
    a neuron, ROI or model unit; coords ``unit_id``, ``region`` (brain) or
    ``layer`` (model), ``session`` or ``agent``, ``seed``.
``trial``
    one event-aligned trial; coords ``event``, ``valence``, ``outcome``, ``session``.
``time``
    bin centre relative to the alignment event, in seconds.
``condition``
    one cell of the condition grid; coords ``valence``, ``approach``, ``label``.
``repetition``
    independent measurements of the same condition (trials, folds, seeds).

Valence is an integer: +1 appetitive (reward), -1 aversive (danger), 0 neutral.
Approach counts steps (agents) or time bins (recordings) before the outcome;
0 is at the outcome. A condition's label is ``"<valence name>:<approach>"``,
e.g. ``"danger:0"`` or ``"reward:3"``, so grids built by different parts line
up by label.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from neuroalign.core.errors import ValidationError

# numpy and xarray are imported where they are used: the command line, whose options take
# the defaults below, starts without them
if TYPE_CHECKING:
    import numpy as np
    import xarray as xr

__all__ = [
    "CONTRAST_BY",
    "CONTRAST_STEP_S",
    "DEFAULT_BIN_SIZE",
    "DEFAULT_N_APPROACH",
    "DEFAULT_WINDOW",
    "DIMS",
    "VALENCE_CODES",
    "VALENCE_NAMES",
    "condition_coords",
    "condition_label",
    "condition_labels",
    "contrast_condition_coords",
    "contrast_condition_label",
    "contrast_level",
    "contrast_levels",
    "parse_condition_label",
    "require_dims",
    "valence_code",
]

#: seconds of the real trial per step of the contrast task and of the contrast grid
CONTRAST_STEP_S: float = 0.1
#: the default number of approach steps K (the grid has K + 1 conditions per valence)
DEFAULT_N_APPROACH: int = 5
#: the default bin width in seconds (one approach step)
DEFAULT_BIN_SIZE: float = 0.25
#: the default response window, seconds around the alignment event, [start, stop): exactly
#: the K + 1 bins of the default grid, [-K * bin, bin)
DEFAULT_WINDOW: tuple[float, float] = (-DEFAULT_N_APPROACH * DEFAULT_BIN_SIZE, DEFAULT_BIN_SIZE)

#: the dimension names shared by every part (docs/architecture.md, data contracts)
DIMS = ("unit", "trial", "time", "condition", "repetition")

#: valence code -> canonical name used in condition labels and reports
VALENCE_NAMES: dict[int, str] = {1: "reward", -1: "danger", 0: "neutral"}
#: canonical name -> valence code
VALENCE_CODES: dict[str, int] = {v: k for k, v in VALENCE_NAMES.items()}


def valence_code(value: int | str) -> int:
    """Return the integer valence code of ``value``.

    Parameters
    ----------
    value
        ``+1``/``-1``/``0`` or one of ``"reward"``, ``"danger"``, ``"neutral"``.

    Returns
    -------
    int
        The valence code.

    Raises
    ------
    ValidationError
        If ``value`` is not a known valence.
    """
    if isinstance(value, str):
        if value in VALENCE_CODES:
            return VALENCE_CODES[value]
    elif isinstance(value, numbers.Integral) and int(value) in VALENCE_NAMES:
        return int(value)
    raise ValidationError(
        f"valence: got {value!r}; expected one of {sorted(VALENCE_NAMES)} "
        f"or {sorted(VALENCE_CODES)}"
    )


def condition_label(valence: int | str, approach: int) -> str:
    """Label of one condition-grid cell, e.g. ``condition_label(-1, 0) == "danger:0"``."""
    return f"{VALENCE_NAMES[valence_code(valence)]}:{int(approach)}"


def parse_condition_label(label: str) -> tuple[int, int]:
    """Inverse of :func:`condition_label`: ``"reward:3"`` -> ``(1, 3)``."""
    try:
        name, approach = str(label).split(":")
        return VALENCE_CODES[name], int(approach)
    except (ValueError, KeyError):
        raise ValidationError(
            f"condition label: got {label!r}; expected '<valence>:<approach>' with valence "
            f"in {sorted(VALENCE_CODES)} and an integer approach, e.g. 'danger:0'"
        ) from None


def condition_coords(
    valences: Iterable[int | str], approaches: Sequence[int]
) -> dict[str, tuple[str, np.ndarray]]:
    """Coords of a full valence x approach grid, valence-major, approach descending.

    Parameters
    ----------
    valences
        Valences in the order they should appear, e.g. ``(1, -1)``.
    approaches
        Approach steps, e.g. ``range(5)``; they are laid out from the largest
        (furthest from the outcome) to 0.

    Returns
    -------
    dict
        ``{"valence": ..., "approach": ..., "label": ...}`` ready for
        ``DataArray.assign_coords``, each on the ``condition`` dim.
    """
    import numpy as np

    vals = [valence_code(v) for v in valences]
    apps = sorted((int(a) for a in approaches), reverse=True)
    v = np.repeat(np.asarray(vals, dtype=np.int64), len(apps))
    a = np.tile(np.asarray(apps, dtype=np.int64), len(vals))
    labels = np.asarray(
        [condition_label(int(vi), int(ai)) for vi, ai in zip(v, a, strict=True)], dtype=object
    )
    return {
        "valence": ("condition", v),
        "approach": ("condition", a),
        "label": ("condition", labels.astype(str)),
    }


#: how a two-choice contrast grid groups trials: by the signed difference
#: ``c_right - c_left`` ("diff", 9 levels) or by its sign ("side", 3 levels)
CONTRAST_BY: tuple[str, ...] = ("diff", "side")
_CONTRASTS = (0.0, 0.25, 0.5, 1.0)


def _check_by(by: str) -> str:
    if by not in CONTRAST_BY:
        raise ValidationError(f"by: got {by!r}; expected one of {list(CONTRAST_BY)}")
    return by


def contrast_level(c_left: object, c_right: object, by: str = "diff") -> np.ndarray:
    """Condition level of two-choice contrast trials (Steinmetz et al. 2019, IBL).

    ``by="diff"``: the signed difference ``c_right - c_left`` rounded to 0.01;
    ``by="side"``: its sign (-1 left higher, 0 equal, +1 right higher).
    """
    import numpy as np

    diff = np.round(np.asarray(c_right, dtype=np.float64)
                    - np.asarray(c_left, dtype=np.float64), 2)
    return np.sign(diff) if _check_by(by) == "side" else diff + 0.0  # no -0.0


def contrast_levels(by: str = "diff") -> list[float]:
    """Every level of :func:`contrast_level` for contrasts 0, 0.25, 0.5, 1, ascending."""
    import numpy as np

    cl, cr = np.meshgrid(_CONTRASTS, _CONTRASTS)
    return sorted({float(v) for v in contrast_level(cl.ravel(), cr.ravel(), by)})


def contrast_condition_label(level: float, valence: int | str, time_s: float,
                             by: str = "diff") -> str:
    """Label of one contrast-grid cell: ``"diff+0.50:reward:0.3s"``.

    ``level`` is the contrast level (:func:`contrast_level`), ``valence`` the
    outcome (+1 water, -1 white noise) and ``time_s`` the start of the time bin,
    seconds after stimulus onset (rounded to 0.01 s).
    """
    name = VALENCE_NAMES[valence_code(valence)]
    return f"{_check_by(by)}{float(level):+.2f}:{name}:{round(float(time_s), 2):g}s"


def contrast_condition_coords(
    levels: Sequence[float], valences: Iterable[int | str], times_s: Sequence[float],
    by: str = "diff",
) -> dict[str, tuple[str, np.ndarray]]:
    """Coords of a contrast x outcome x time grid (level-major, then valence, then time).

    Returns
    -------
    dict
        On the ``condition`` dim: ``contrast`` (the level), ``valence`` (outcome),
        ``time_s`` (bin start after stimulus onset, seconds), ``label``
        (:func:`contrast_condition_label`).
    """
    import numpy as np

    vals = [valence_code(v) for v in valences]
    lev = np.repeat(np.asarray(levels, dtype=np.float64), len(vals) * len(times_s))
    val = np.tile(np.repeat(np.asarray(vals, dtype=np.int64), len(times_s)), len(levels))
    tim = np.tile(np.asarray(times_s, dtype=np.float64), len(levels) * len(vals))
    labels = [contrast_condition_label(a, b, c, by) for a, b, c in zip(lev, val, tim, strict=True)]
    return {
        "contrast": ("condition", lev),
        "valence": ("condition", val),
        "time_s": ("condition", np.round(tim, 2)),
        "label": ("condition", np.asarray(labels, dtype=str)),
    }


def require_dims(da: object, required: Sequence[str], name: str = "data") -> xr.DataArray:
    """Check that ``da`` is a DataArray carrying at least the ``required`` dims.

    Raises
    ------
    ValidationError
        Naming ``name``, the dims found and the dims expected.
    """
    import xarray as xr

    if not isinstance(da, xr.DataArray):
        raise ValidationError(
            f"{name}: got {type(da).__name__}; expected an xarray.DataArray with dims "
            f"{tuple(required)}"
        )
    missing = [d for d in required if d not in da.dims]
    if missing:
        raise ValidationError(
            f"{name}: dims {tuple(da.dims)} lack {tuple(missing)}; expected at least "
            f"{tuple(required)}"
        )
    return da


@overload
def condition_labels(da: Any, name: str = ..., missing: Literal["index", "error"] = ...
                     ) -> np.ndarray: ...
@overload
def condition_labels(da: Any, name: str = ..., missing: str = ...) -> np.ndarray | None: ...
def condition_labels(da: Any, name: str = "data", missing: str = "index"
                     ) -> np.ndarray | None:
    """The condition labels of ``da``, the one lookup every part uses.

    In order: the ``label`` coord on the ``condition`` dim; labels built from the
    ``valence`` and ``approach`` coords (:func:`condition_label`); the values of a
    ``condition`` coord. Without any of them ``missing`` decides.

    Parameters
    ----------
    da
        A DataArray with a ``condition`` dim (an RDM's first dim is ``condition``).
    name
        How an error names ``da``.
    missing
        ``"index"``: positions ``c0, c1, ...``; ``"none"``: return ``None``;
        ``"error"``: raise.

    Returns
    -------
    numpy.ndarray or None
        ``str`` labels, one per condition.

    Raises
    ------
    ValidationError
        ``da`` has no ``condition`` dim, or no label source with ``missing="error"``.
    """
    import numpy as np

    coords = getattr(da, "coords", None)
    dims = tuple(getattr(da, "dims", ()))
    if coords is not None and "condition" in dims:
        if "label" in coords and coords["label"].dims == ("condition",):
            return np.asarray(coords["label"].values).astype(str)
        if ("valence" in coords and "approach" in coords
                and coords["valence"].dims == coords["approach"].dims == ("condition",)):
            return np.asarray([condition_label(int(v), int(a)) for v, a in zip(
                coords["valence"].values, coords["approach"].values, strict=True)], dtype=str)
        if "condition" in coords:
            return np.asarray(coords["condition"].values).astype(str)
    if missing == "none":
        return None
    if missing == "index" and "condition" in dims:
        return np.asarray([f"c{i}" for i in range(da.sizes["condition"])])
    raise ValidationError(
        f"{name}: got dims {dims} and no 'label', 'valence'/'approach' or 'condition' coord "
        "on the condition dim; expected condition labels to align conditions by"
    )
