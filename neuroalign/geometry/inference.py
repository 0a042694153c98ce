"""Intervals and tests for the valence-geometry measures.

:func:`valence_geometry` estimates every measure of
:mod:`neuroalign.geometry.measures` with

- a bootstrap over repetitions: each valence's trials are resampled with
  replacement *within that valence*, one index per trial shared by all of its
  approach steps; percentile intervals;
- a permutation test of the between-valence measures (``A`` and the
  convergence asymmetry) that pools the reward and danger trials, deals them
  out again at random into groups of the original sizes (whole trials, so the
  approach structure of each trial is kept) and recomputes the statistic;
  two-sided Monte Carlo p-value ``(1 + #{|null| >= |observed|}) / (1 + n_perm)``
  (doubled smaller tail, as in :func:`neuroalign.compare.inference.p_value`).

Resample index arrays, interval and p-value all come from
:mod:`neuroalign.compare.inference`; this module only evaluates the geometry
statistics on them (in one batch, see
:func:`~neuroalign.geometry.measures.geometry_statistics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.compare.inference import (
    InferenceResult,
    bootstrap_indices,
    confidence_interval,
    index_counts,
    p_value,
    permutation_indices,
)
from neuroalign.core.contracts import VALENCE_NAMES, require_dims
from neuroalign.core.degenerate import MIN_REPETITIONS, check_patterns, standardise
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.geometry.grid import ValenceGrid, valence_grid
from neuroalign.geometry.measures import (
    DEFAULT_W,
    _valence_stats,
    check_params,
    geometry_statistics,
)

__all__ = ["EUCLIDEAN_INTERVAL_NOTE", "MIN_BOOTSTRAP_REPS", "GeometryResult",
           "valence_geometry"]

#: fewest complete repetitions per valence for a bootstrap interval (the rule of
#: :mod:`neuroalign.core.degenerate`)
MIN_BOOTSTRAP_REPS = MIN_REPETITIONS

#: why ``distance="euclidean"`` gets no bootstrap interval
EUCLIDEAN_INTERVAL_NOTE = (
    "no interval for distance='euclidean': each bootstrap resample of the condition means "
    "adds the noise floor to every step a second time, so the resampled statistic is biased "
    "and its percentile interval can exclude the estimate; use distance='crossnobis' "
    "(cross-validated, unbiased) for intervals"
)

#: per-valence scalar statistics -> row name prefix
_SCALARS = {"sharpness": "S", "path_length": "path_length", "convergence": "convergence"}
#: per-valence statistics reported by approach in the profiles Dataset
_PROFILES = ("step_length", "path_fraction", "spread")


@dataclass
class GeometryResult:
    """Valence geometry of one set of condition patterns, with intervals and tests.

    Attributes
    ----------
    rows
        One :class:`~neuroalign.compare.inference.InferenceResult` per measure:
        ``S_<valence>``, ``path_length_<valence>``, ``convergence_<valence>``,
        ``A`` and ``convergence_asymmetry``.
    profiles
        Per-approach profiles with intervals (see :func:`valence_geometry`).
    distance, noise, w, level, n_boot, n_perm, seed
        The settings used.
    attrs
        Provenance.
    """

    rows: list[InferenceResult]
    profiles: xr.Dataset
    distance: str
    w: int
    level: float
    n_boot: int
    n_perm: int
    seed: int | None
    noise: str = "identity"
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per measure with estimate, interval, p-value and settings."""
        frame = pd.DataFrame([r.to_row() for r in self.rows])
        frame["distance"] = self.distance
        frame["noise"] = self.noise
        frame["w"] = self.w
        frame["n_boot"] = self.n_boot
        frame["n_perm"] = self.n_perm
        return frame

    def __getitem__(self, measure: str) -> InferenceResult:
        """The row of ``measure`` (e.g. ``result["A"].estimate``)."""
        for row in self.rows:
            if row.measure == measure:
                return row
        raise KeyError(f"{measure!r}; measures: {[r.measure for r in self.rows]}")


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValidationError(f"{name}: got {value!r}; expected an integer >= 0 (0 skips it)")
    if 0 < value < 2:
        raise ValidationError(f"{name}: got {value}; expected 0 (skip) or at least 2")
    return int(value)


def _bootstrap(grid: ValenceGrid, dist: str, w: int, n_boot: int, rng) -> dict:
    """Statistics on ``n_boot`` stratified resamples of the repetitions."""
    sizes = [grid.n_reps(v) for v in grid.valences]
    if min(sizes) < MIN_BOOTSTRAP_REPS:
        found = {VALENCE_NAMES[v]: n for v, n in zip(grid.valences, sizes, strict=True)}
        raise InferenceError(
            f"bootstrap over repetitions: repetitions per valence {found}; every valence "
            f"needs at least {MIN_BOOTSTRAP_REPS} (with 2, every cross-validated resample "
            "is the observed pair or undefined, and the interval collapses to the estimate; "
            "pass n_boot=0 for a point estimate)"
        )
    groups = np.repeat(np.arange(len(sizes)), sizes)
    pooled = bootstrap_indices(int(sum(sizes)), n_boot, rng, groups=groups)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    indices = {
        v: pooled[:, groups == i] - offsets[i] for i, v in enumerate(grid.valences)
    }
    return geometry_statistics(grid, indices, distance=dist, w=w)


def _permutation(grid: ValenceGrid, dist: str, w: int, n_perm: int, rng) -> tuple[dict, bool]:
    """Null statistics from dealing the pooled reward and danger trials out again."""
    pooled = np.concatenate([grid.trials[1], grid.trials[-1]], axis=0)
    metric = np.concatenate([grid.metric[1], grid.metric[-1]], axis=0)
    n_r, n = grid.n_reps(1), pooled.shape[0]
    perms = permutation_indices(n, n_perm, rng, exact="auto")
    counts = index_counts(perms.indices[:, :n_r], n)
    reward = _valence_stats(pooled, counts, dist, w, metric)
    danger = _valence_stats(pooled, 1.0 - counts, dist, w, metric)
    null = {
        "A": danger["sharpness"] - reward["sharpness"],
        "convergence_asymmetry": danger["convergence"] - reward["convergence"],
    }
    return null, perms.exact


def _finite(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def _row(name: str, estimate: float, boot: np.ndarray | None, null: np.ndarray | None,
         exact: bool, level: float, n: int, seed: int | None,
         note: str | None = None) -> InferenceResult:
    value = float(estimate)
    res = InferenceResult(measure=name, estimate=value if math.isfinite(value) else math.nan,
                          model="", n=n, level=level, seed=seed,
                          extra={"note": note} if note else {})
    methods = []
    if boot is not None:
        b = _finite(boot)
        valid = int(np.isfinite(b).sum())
        res.n_resamples = valid
        if valid >= 2:
            low, high = confidence_interval(b, level=level, method="percentile")
            res.ci_low, res.ci_high = float(low), float(high)
            res.boot_mean = float(np.nanmean(b))
            res.boot_se = float(np.nanstd(b, ddof=1))
        methods.append("bootstrap-percentile")
    if null is not None:
        nl = _finite(null)
        nl = nl[np.isfinite(nl)]
        if nl.size and math.isfinite(res.estimate):
            res.p_value = float(p_value(nl, res.estimate, alternative="two-sided", exact=exact))
            res.null_mean, res.null_sd = float(nl.mean()), float(nl.std(ddof=1))
        methods.append("permutation-valence")
    res.method = "+".join(methods)
    return res


def _profiles(grid: ValenceGrid, obs: dict, boot: dict | None, level: float,
              attrs: dict) -> xr.Dataset:
    names = [VALENCE_NAMES[v] for v in grid.valences]
    k = grid.n_steps
    data = {}
    for key in _PROFILES:
        est = np.stack([obs[f"{key}_{n}"][0] for n in names])
        if key == "step_length":  # step a (a+1 -> a) lives at approach a; none at K
            est = np.concatenate([est, np.full((len(names), 1), np.nan)], axis=1)
        data[key] = (("valence", "approach"), est)
        low = np.full_like(est, np.nan)
        high = np.full_like(est, np.nan)
        if boot is not None:
            for i, n in enumerate(names):
                lo, hi = confidence_interval(_finite(boot[f"{key}_{n}"]), level=level)
                low[i, : lo.shape[0]], high[i, : hi.shape[0]] = lo, hi
        data[f"{key}_ci_low"] = (("valence", "approach"), low)
        data[f"{key}_ci_high"] = (("valence", "approach"), high)
    return xr.Dataset(
        data,
        coords={
            "valence": list(grid.valences),
            "valence_name": ("valence", names),
            "approach": grid.approaches,
            "approach_from": ("approach", np.append(grid.approaches[1:], -1)
                              if k >= 1 else grid.approaches),
        },
        attrs=attrs,
    )


def valence_geometry(
    patterns: xr.DataArray,
    distance: str = "crossnobis",
    w: int = DEFAULT_W,
    n_boot: int = 1000,
    n_perm: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
    noise: str | np.ndarray | None = None,
) -> GeometryResult:
    """Walls and funnels of one set of condition patterns, with intervals and tests.

    Parameters
    ----------
    patterns
        DataArray ``(repetition, condition, unit)`` with ``valence`` and
        ``approach`` coords on ``condition``; both reward (+1) and danger (-1)
        conditions (neutral ones are measured too, but take no part in ``A``).
        Repetitions with NaN in a valence's conditions are dropped for that
        valence.
    distance
        ``"crossnobis"`` (cross-validated euclidean over repetitions, the
        default) or ``"euclidean"`` (between condition means; biased upwards
        by noise, and given no bootstrap interval: each resample would add the
        noise floor a second time; its rows carry a ``note`` saying so).
    w
        Final steps counted by the sharpness, ``1 <= w < K`` (default 1; a
        funnel of equal steps has ``S = w / K``).
    n_boot
        Bootstrap resamples (0 skips the intervals).
    n_perm
        Valence-label permutations (0 skips the p-values).
    level
        Interval coverage.
    seed
        Seed of the resampling (bootstrap and permutations use independent
        streams spawned from it).
    noise
        Noise precision of the distances: ``None`` (identity: cross-validated
        euclidean), a shrinkage name (``"diag"``, ``"eye"``, ``"variance"``)
        to estimate it once from the residuals around every condition mean
        (then held fixed in every resample and permutation), or an array.

    Returns
    -------
    GeometryResult
        ``rows`` / ``to_frame()``: ``S_reward``, ``S_danger`` (and
        ``S_neutral``), ``path_length_*``, ``convergence_*`` (spread ratio
        outcome / start), ``A = S_danger - S_reward`` and
        ``convergence_asymmetry``; p-values only for the two between-valence
        measures. ``profiles``: Dataset over ``(valence, approach)`` with
        ``step_length`` (the step arriving at ``approach``; NaN at ``K``),
        ``path_fraction`` and ``spread``, each with ``_ci_low``/``_ci_high``.

    Raises
    ------
    ValidationError
        Bad dims or coords, a valence missing, fewer than 2 approach values,
        ``w`` out of range, unknown distance, bad ``n_boot``/``n_perm``/``level``.
    InferenceError
        Fewer than 2 units or infinite values (:mod:`neuroalign.core.degenerate`),
        fewer than 3 repetitions where crossnobis needs them, fewer than
        :data:`MIN_BOOTSTRAP_REPS` per valence for the bootstrap,
        or a valence whose total path length is zero (sharpness undefined).
    """
    require_dims(patterns, ("condition", "unit"), "patterns")
    check_patterns(patterns.values, "patterns", repetitions=False)
    values, scale = standardise(patterns.values)  # lengths of ~1e300 would overflow
    if scale != 1.0:
        patterns = patterns.copy(data=values)
    grid = valence_grid(patterns).with_noise(noise)
    dist = check_params(grid, distance, w)
    n_boot = _check_count(n_boot, "n_boot")
    n_perm = _check_count(n_perm, "n_perm")
    if not 0.0 < float(level) < 1.0:
        raise ValidationError(f"level: got {level!r}; expected a number in (0, 1)")
    obs = geometry_statistics(grid, distance=dist, w=w)
    for v in grid.valences:
        total = obs[f"path_length_{VALENCE_NAMES[v]}"][0]
        if not total > 0:
            raise InferenceError(
                f"valence {VALENCE_NAMES[v]!r}: total path length is {total:g} with distance "
                f"{dist!r}; sharpness is undefined (no detectable change along the approach)"
            )
    boot_seq, perm_seq = np.random.SeedSequence(seed).spawn(2)
    note = EUCLIDEAN_INTERVAL_NOTE if (n_boot and dist == "euclidean") else None
    boot = (_bootstrap(grid, dist, w, n_boot, np.random.default_rng(boot_seq))
            if n_boot and note is None else None)
    null, exact = (_permutation(grid, dist, w, n_perm, np.random.default_rng(perm_seq))
                   if n_perm else (None, False))

    rows: list[InferenceResult] = []
    for key, prefix in _SCALARS.items():
        # path lengths are lengths: back to the values' own units (the rest are ratios)
        unit = scale if key == "path_length" else 1.0
        for v in grid.valences:
            name = f"{key}_{VALENCE_NAMES[v]}"
            row = _row(f"{prefix}_{VALENCE_NAMES[v]}", obs[name][0],
                       None if boot is None else boot[name], None, False,
                       float(level), grid.n_reps(v), seed, note)
            for col in ("estimate", "ci_low", "ci_high", "boot_mean", "boot_se"):
                setattr(row, col, unit * getattr(row, col))
            rows.append(row)
    n_pair = grid.n_reps(1) + grid.n_reps(-1)
    for name, key in (("A", "asymmetry"), ("convergence_asymmetry", "convergence_asymmetry")):
        rows.append(_row(name, obs[key][0], None if boot is None else boot[key],
                         None if null is None else null[name], exact, float(level),
                         n_pair, seed, note))
    carried: dict[str, object] = {k: v for k, v in grid.attrs.items()
                                  if isinstance(v, (str, int, float))}
    carried.update(distance=dist, noise=grid.noise, w=int(w), level=float(level), n_boot=n_boot,
                   n_perm=n_perm, seed=seed, measure="valence_geometry")
    if scale != 1.0:  # the profiles' lengths are in units of the values divided by it
        carried["value_scale"] = scale
    attrs = provenance_attrs(**carried)
    profiles = _profiles(grid, obs, boot, float(level), attrs)
    return GeometryResult(rows=rows, profiles=profiles, distance=dist, w=int(w),
                          level=float(level), n_boot=n_boot, n_perm=n_perm, seed=seed,
                          noise=grid.noise, attrs=attrs)
