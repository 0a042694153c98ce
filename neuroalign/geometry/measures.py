"""Walls and funnels: the valence-geometry measures (point estimates and batches).

For each valence ``v`` the condition means ``r_v(a)``, ``a = K, ..., 0``, trace a
path as the outcome nears. With ``d`` a distance between condition means:

- step length ``l_v(a) = d(r_v(a + 1), r_v(a))`` for ``a = K - 1, ..., 0``;
- sharpness ``S_v = sum_{a < w} l_v(a) / sum_a l_v(a)``: near 1 for a wall,
  near ``w / K`` for a funnel (equal steps);
- convergence: the spread of single repetitions around ``r_v(a)`` by approach,
  summarised by the ratio ``C_v = spread_v(0) / spread_v(K)``;
- valence asymmetry ``A = S_danger - S_reward``.

Step lengths are reported as distances per unit, ``sqrt(max(d2, 0) / n_units)``
with ``d2`` the squared distance (cross-validated for ``"crossnobis"``), so that
sharpness is a share of a path *length*, lies in ``[0, 1]``, and ``A`` in
``[-1, 1]``. :func:`geometry_statistics` evaluates all of it for a batch of
resamples at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.compare.inference import index_counts
from neuroalign.core.contracts import VALENCE_NAMES
from neuroalign.core.degenerate import MIN_REPETITIONS
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.geometry.grid import ValenceGrid, valence_grid
from neuroalign.geometry.kernels import (
    normalise_distance,
    path_fraction,
    sharpness_from_steps,
    spread,
    step_lengths_sq,
)

__all__ = [
    "DEFAULT_W",
    "approach_profile",
    "check_params",
    "convergence",
    "geometry_statistics",
    "sharpness",
    "step_lengths",
    "valence_asymmetry",
]

#: default number of final steps counted by the sharpness
DEFAULT_W = 1


def check_params(grid: ValenceGrid, distance: str, w: int | None) -> str:
    """Validate ``distance`` and ``w`` against ``grid``; return the canonical distance.

    Raises
    ------
    ValidationError
        Unknown distance, or ``w`` not in ``1 .. K - 1``.
    InferenceError
        Fewer than :data:`~neuroalign.core.degenerate.MIN_REPETITIONS` repetitions of a
        valence with ``"crossnobis"``.
    """
    dist = normalise_distance(distance)
    k = grid.n_steps
    bad_type = isinstance(w, bool) or not isinstance(w, (int, np.integer))
    if w is not None and (bad_type or not 1 <= w < k):
        raise ValidationError(
            f"w: got {w!r}; expected an integer with 1 <= w < K = {k} (the number of "
            f"approach steps; the grid has approaches {grid.approaches.tolist()})"
        )
    if dist == "crossnobis":
        for v in grid.valences:
            if grid.n_reps(v) < MIN_REPETITIONS:
                raise InferenceError(
                    f"distance 'crossnobis': valence {VALENCE_NAMES[v]!r} has "
                    f"{grid.n_reps(v)} complete repetition(s); cross-validation needs at "
                    f"least {MIN_REPETITIONS} (use distance='euclidean' for single patterns)"
                )
    return dist


#: resamples are processed in chunks of at most this many (resample x approach x unit) values
_CHUNK_ELEMENTS = 2**23


def _valence_stats(x: np.ndarray, counts: np.ndarray, distance: str, w: int | None,
                   metric: np.ndarray | None = None) -> dict:
    metric = x if metric is None else metric
    size = max(1, _CHUNK_ELEMENTS // max(1, x.shape[1] * x.shape[2]))
    sq = np.concatenate([step_lengths_sq(metric, counts[i:i + size], distance)
                         for i in range(0, counts.shape[0], size)])
    steps = np.sqrt(np.clip(sq, 0.0, None))
    spr = np.concatenate([spread(x, counts[i:i + size])
                          for i in range(0, counts.shape[0], size)])
    with np.errstate(invalid="ignore", divide="ignore"):
        conv = np.where(spr[:, -1] > 0, spr[:, 0] / spr[:, -1], np.nan)
    return {
        "step_length": steps,
        "path_length": steps.sum(axis=1),
        "sharpness": sharpness_from_steps(steps, w if w is not None else DEFAULT_W),
        "path_fraction": path_fraction(steps),
        "spread": spr,
        "convergence": conv,
    }


def _grid(patterns: xr.DataArray | ValenceGrid, noise: str | np.ndarray | None = None
          ) -> ValenceGrid:
    if isinstance(patterns, ValenceGrid):
        return patterns if noise is None else patterns.with_noise(noise)
    grid = valence_grid(patterns)
    return grid if noise is None else grid.with_noise(noise)


def _counts_for(
    grid: ValenceGrid, v: int, indices: np.ndarray | Mapping[int, np.ndarray] | None
) -> np.ndarray:
    n = grid.n_reps(v)
    if indices is None:
        return np.ones((1, n))
    idx = indices[v] if isinstance(indices, Mapping) else indices
    idx = np.asarray(idx)
    if idx.ndim != 2 or idx.size == 0:
        raise ValidationError(
            f"indices for valence {VALENCE_NAMES[v]!r}: got shape {idx.shape}; expected "
            "(n_resamples, n_draws)"
        )
    if idx.min() < 0 or idx.max() >= n:
        raise ValidationError(
            f"indices for valence {VALENCE_NAMES[v]!r}: values span {idx.min()}..{idx.max()}; "
            f"expected 0..{n - 1} ({n} repetitions)"
        )
    return index_counts(idx, n)


def geometry_statistics(
    patterns: xr.DataArray | ValenceGrid,
    indices: np.ndarray | Mapping[int, np.ndarray] | None = None,
    *,
    distance: str = "crossnobis",
    w: int | None = DEFAULT_W,
    noise: str | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every geometry statistic for a batch of resamples, in one pass.

    Parameters
    ----------
    patterns
        Condition patterns ``(repetition, condition, unit)`` or a
        :class:`~neuroalign.geometry.grid.ValenceGrid`.
    indices
        Resample index rows ``(n_resamples, n_draws)`` into the repetitions,
        one array for every valence or ``{valence code: array}``; the same row
        is used for every approach step of a valence (one trial spans them
        all). ``None``: the observed sample (one row).
    distance
        ``"crossnobis"`` (default) or ``"euclidean"``.
    w
        Number of final steps counted by the sharpness, ``1 <= w < K``
        (``None``: no check, sharpness with ``w = 1``; for grids with ``K = 1``).
    noise
        Noise precision for the distances: ``None`` (identity, or the grid's
        own), a shrinkage name estimated from the residuals, or an array
        (see :meth:`~neuroalign.geometry.grid.ValenceGrid.with_noise`).

    Returns
    -------
    dict
        ``"<name>"`` for the valence-free statistics and ``"<name>_<valence>"``
        per valence (valence names as in :data:`~neuroalign.core.VALENCE_NAMES`):
        ``step_length`` ``(n, K)`` (column ``a`` is the step from ``a + 1`` to
        ``a``), ``path_length`` ``(n,)``, ``sharpness`` ``(n,)``,
        ``path_fraction`` ``(n, K + 1)``, ``spread`` ``(n, K + 1)``,
        ``convergence`` ``(n,)``; and ``asymmetry`` ``(n,)`` (``S_danger -
        S_reward``) and ``convergence_asymmetry`` ``(n,)`` (``C_danger -
        C_reward``). Undefined values (zero path length) are NaN.
    """
    grid = _grid(patterns, noise)
    dist = check_params(grid, distance, w)
    out: dict[str, np.ndarray] = {}
    for v in grid.valences:
        stats = _valence_stats(grid.trials[v], _counts_for(grid, v, indices), dist, w,
                               grid.metric[v])
        for key, value in stats.items():
            out[f"{key}_{VALENCE_NAMES[v]}"] = value
    out["asymmetry"] = out["sharpness_danger"] - out["sharpness_reward"]
    out["convergence_asymmetry"] = out["convergence_danger"] - out["convergence_reward"]
    return out


def _observed(patterns: xr.DataArray | ValenceGrid, distance: str, w: int | None,
              noise: str | np.ndarray | None = None) -> tuple:
    grid = _grid(patterns, noise)
    return grid, normalise_distance(distance), geometry_statistics(grid, distance=distance, w=w)


def _by_valence(grid: ValenceGrid, stats: dict, key: str, approaches: np.ndarray,
                attrs: dict[str, Any]) -> xr.DataArray:
    data = np.stack([stats[f"{key}_{VALENCE_NAMES[v]}"][0] for v in grid.valences])
    return xr.DataArray(
        data,
        dims=("valence", "approach"),
        coords={
            "valence": list(grid.valences),
            "valence_name": ("valence", [VALENCE_NAMES[v] for v in grid.valences]),
            "approach": approaches,
        },
        name=key,
        attrs=provenance_attrs(**attrs),
    )


def step_lengths(
    patterns: xr.DataArray, distance: str = "crossnobis", noise: str | np.ndarray | None = None
) -> xr.DataArray:
    """Step lengths ``l_v(a) = d(r_v(a + 1), r_v(a))`` per valence.

    Returns
    -------
    xarray.DataArray
        Dims ``(valence, approach)``; entry ``a`` is the step arriving at
        approach ``a`` (from ``a + 1``), for ``a = 0 .. K - 1``. Distances per
        unit: ``sqrt(max(d2, 0) / n_units)``.
    """
    grid, dist, stats = _observed(patterns, distance, None, noise)
    da = _by_valence(grid, stats, "step_length", grid.approaches[:-1],
                     {"distance": dist, "noise": grid.noise, "measure": "step_length"})
    return da.assign_coords(approach_from=("approach", grid.approaches[1:]))


def approach_profile(
    patterns: xr.DataArray, distance: str = "crossnobis", noise: str | np.ndarray | None = None
) -> xr.DataArray:
    """Cumulative path fraction ``F_v(a)`` by approach (0 at ``a = K``, 1 at ``a = 0``)."""
    grid, dist, stats = _observed(patterns, distance, None, noise)
    return _by_valence(grid, stats, "path_fraction", grid.approaches,
                       {"distance": dist, "noise": grid.noise, "measure": "path_fraction"})


def convergence(patterns: xr.DataArray) -> xr.DataArray:
    """Spread of single repetitions around ``r_v(a)`` by approach (mean variance per unit)."""
    grid, _, stats = _observed(patterns, "euclidean", None)
    if any(grid.n_reps(v) < 2 for v in grid.valences):
        raise InferenceError(
            "convergence: every valence needs at least 2 complete repetitions to measure a "
            f"spread; found {[grid.n_reps(v) for v in grid.valences]}"
        )
    return _by_valence(grid, stats, "spread", grid.approaches, {"measure": "spread"})


def _require_path(grid: ValenceGrid, stats: dict) -> None:
    for v in grid.valences:
        total = stats[f"path_length_{VALENCE_NAMES[v]}"][0]
        if not total > 0:
            raise InferenceError(
                f"valence {VALENCE_NAMES[v]!r}: the total path length is {total:g}; sharpness "
                "is undefined (no condition differs from the next along the approach)"
            )


def sharpness(
    patterns: xr.DataArray,
    distance: str = "crossnobis",
    w: int = DEFAULT_W,
    noise: str | np.ndarray | None = None,
) -> xr.DataArray:
    """Sharpness ``S_v`` per valence: the share of the path covered in the final ``w`` steps.

    Raises
    ------
    InferenceError
        If a valence's total path length is zero.
    """
    grid, dist, stats = _observed(patterns, distance, w, noise)
    _require_path(grid, stats)
    return xr.DataArray(
        np.asarray([stats[f"sharpness_{VALENCE_NAMES[v]}"][0] for v in grid.valences]),
        dims=("valence",),
        coords={
            "valence": list(grid.valences),
            "valence_name": ("valence", [VALENCE_NAMES[v] for v in grid.valences]),
        },
        name="sharpness",
        attrs=provenance_attrs(distance=dist, w=int(w), noise=grid.noise, measure="sharpness"),
    )


def valence_asymmetry(
    patterns: xr.DataArray,
    distance: str = "crossnobis",
    w: int = DEFAULT_W,
    noise: str | np.ndarray | None = None,
) -> float:
    """Valence asymmetry ``A = S_danger - S_reward`` (in ``[-1, 1]``)."""
    grid, _, stats = _observed(patterns, distance, w, noise)
    _require_path(grid, stats)
    return float(stats["asymmetry"][0])
