"""Hierarchical bootstrap of pooled estimates (Saravanan et al. 2020).

Replicates are organised in levels: a brain region's sessions belong to
animals (animal > session > trial), an agent family's seeds to algorithms
(algorithm > seed > repetition). One bootstrap replicate draws the top level
with replacement, then, within every drawn group, its children with
replacement, down to the leaves (sessions, seeds); the pooled estimate of the
replicate is the mean over the drawn leaves. The bottom level (trials,
repetitions) is resampled where the per-cell results allow it: each drawn
leaf's value is redrawn from its own bootstrap distribution, approximated as
normal with the cell's own bootstrap standard error (``boot_se``, the standard
deviation of its resamples; results written without it: the standard error implied
by the cell's interval at the cell's own interval level, ``se = (ci_high - ci_low) /
(2 z)``, never the study's level, :func:`cell_se`), on the Fisher scale of the
parameter's range [-1, 1] (:func:`redraw_deviation`), so that no replicate leaves
it. A leaf without either enters with its estimate alone.

Everything is vectorised over replicates: :func:`hierarchical_weights` returns
how often each leaf is drawn in each replicate, and :func:`pooled_replicates`
turns weights on the two sides of a crossed design (brain leaves x model
leaves) into replicates of the pooled mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from neuroalign.core.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BOUNDS", "bootstrap_p", "cell_se", "hierarchical_weights", "pooled_replicates",
           "redraw_deviation", "se_from_interval"]


def hierarchical_weights(levels: Sequence[Sequence[object]], n_boot: int,
                         rng: np.random.Generator, fixed_top: bool = False) -> np.ndarray:
    """How often each leaf is drawn in each hierarchical bootstrap replicate.

    Parameters
    ----------
    levels
        One label sequence per level, top first, each as long as the number of
        leaves; e.g. ``[animal_of_leaf, session_of_leaf]``. A leaf's path of
        labels names its group at every level.
    n_boot
        Replicates.
    rng
        Random generator.
    fixed_top
        Keep every top-level group once (strata) and resample only below it,
        e.g. the seeds of each of two agents being compared.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, n_leaves)`` counts. ``n_boot = 0`` gives all ones (the
        observed sample, one row).
    """
    if not levels:
        raise ValidationError("levels: got none; expected at least one level of labels")
    n_leaf = len(levels[0])
    if any(len(lv) != n_leaf for lv in levels):
        raise ValidationError(f"levels: lengths {[len(lv) for lv in levels]}; expected equal")
    if n_boot == 0:
        return np.ones((1, n_leaf))
    def groups_at(depth: int, members: np.ndarray) -> dict[tuple, np.ndarray]:
        out: dict[tuple, list[int]] = {}
        for i in members:
            key = tuple(str(levels[d][i]) for d in range(depth + 1))
            out.setdefault(key, []).append(int(i))
        return {k: np.asarray(v) for k, v in out.items()}

    weights = np.zeros((n_boot, n_leaf))

    def descend(depth: int, members: np.ndarray, draws: np.ndarray) -> None:
        # draws: (n_boot,) how many times this set of siblings is sampled as a whole
        groups = list(groups_at(depth, members).values())
        n_g = len(groups)
        if depth == 0 and fixed_top:
            counts = np.repeat(draws[:, None], n_g, axis=1)
        else:
            counts = rng.multinomial((draws * n_g).astype(np.int64), np.full(n_g, 1.0 / n_g))
        for j, grp in enumerate(groups):
            if depth == len(levels) - 1:
                weights[:, grp] += counts[:, j:j + 1] / grp.size  # leaf group: its leaves
            else:
                descend(depth + 1, grp, counts[:, j])

    descend(0, np.arange(n_leaf), np.ones(n_boot, dtype=np.int64))
    return weights


def se_from_interval(low: np.ndarray, high: np.ndarray,
                     level: float | np.ndarray) -> np.ndarray:
    """Standard error implied by a two-sided normal interval (0 where there is none)."""
    from scipy import stats  # here, not at import: the command line starts fast

    z = stats.norm.ppf(0.5 + np.asarray(level, dtype=float) / 2.0)
    se = (np.asarray(high, dtype=float) - np.asarray(low, dtype=float)) / (2.0 * z)
    return np.where(np.isfinite(se) & (se > 0), se, 0.0)


def cell_se(frame: pd.DataFrame) -> np.ndarray:
    """Standard error of each result row, as the cell computed it.

    The row's ``boot_se`` where it is finite and positive; else the standard
    error implied by its interval at the row's own ``level``
    (:func:`se_from_interval`); else 0 (no bottom-level redraw). The study's
    interval level takes no part: it only sets the quantiles of the study's own
    intervals.

    Raises
    ------
    ValidationError
        ``frame`` lacks the ``level`` column (read results through
        :func:`neuroalign.core.results.results_table`, which fills it for older tables).
    """
    if "level" not in frame.columns:
        raise ValidationError("results: no 'level' column; expected the cells' interval level "
                              "(read the table with neuroalign.core.results.results_table)")
    n = len(frame)
    boot = (frame["boot_se"].to_numpy(dtype=float) if "boot_se" in frame.columns
            else np.full(n, np.nan))
    level = frame["level"].to_numpy(dtype=float)
    low, high = frame["ci_low"].to_numpy(dtype=float), frame["ci_high"].to_numpy(dtype=float)
    ok_level = np.isfinite(level) & (level > 0) & (level < 1)
    implied = np.zeros(n)
    if ok_level.any():
        implied[ok_level] = se_from_interval(low[ok_level], high[ok_level], level[ok_level])
    return np.where(np.isfinite(boot) & (boot > 0), boot, implied)


#: the range of every quantity the study pools (A, RSA and CKA values)
BOUNDS = (-1.0, 1.0)


def redraw_deviation(values: np.ndarray, se: np.ndarray, noise: np.ndarray,
                     bounds: tuple[float, float] | None = BOUNDS) -> np.ndarray:
    """How far each leaf's bottom-level redraw moves it, kept inside ``bounds``.

    The redraw is normal with standard deviation ``se`` on the Fisher scale of
    the parameter's range: ``u = (2 x - lo - hi) / (hi - lo)`` in ``(-1, 1)``,
    ``atanh(u) + noise * se_u / (1 - u^2)`` (the delta method), back through
    ``tanh``; so every redrawn value lies inside ``bounds``, and for values far
    from the bounds the redraw is the normal one. ``bounds=None``: the normal
    redraw ``noise * se``.

    Parameters
    ----------
    values
        Leaf estimates (NaN: missing).
    se
        Their standard errors (0 or NaN: no redraw).
    noise
        Standard normal draws, ``values``' shape with leading replicate axes.
    bounds
        The parameter's range.

    Returns
    -------
    numpy.ndarray
        Redrawn minus observed value, ``noise``'s shape (0 where there is no redraw).
    """
    s = np.nan_to_num(np.asarray(se, dtype=float))
    x = np.asarray(values, dtype=float)
    if bounds is None:
        return np.where(np.isfinite(x), noise * s, 0.0)
    lo, hi = bounds
    half = (hi - lo) / 2.0
    u = np.clip((np.nan_to_num(x) - (lo + hi) / 2.0) / half, -1 + 1e-9, 1 - 1e-9)
    z = np.arctanh(u)
    drawn = np.tanh(z + noise * (s / half) / (1.0 - u * u))
    return np.where(np.isfinite(x) & (s > 0), (drawn - u) * half, 0.0)


def pooled_replicates(values: np.ndarray, se: np.ndarray, w_rows: np.ndarray,
                      w_cols: np.ndarray, rng: np.random.Generator | None,
                      bounds: tuple[float, float] | None = BOUNDS) -> np.ndarray:
    """Weighted means of a leaf x leaf table for every replicate.

    Parameters
    ----------
    values
        ``(n_rows, n_cols)`` leaf estimates (NaN: missing, left out).
    se
        Standard errors of ``values`` for the bottom-level redraw (0: none).
    w_rows, w_cols
        ``(n_boot, n_rows)`` and ``(n_boot, n_cols)`` leaf weights.
    rng
        Generator of the bottom-level redraw (``None``: no redraw).
    bounds
        Range of the pooled parameter: the redraw stays inside it
        (:func:`redraw_deviation`), and so does every replicate.

    Returns
    -------
    numpy.ndarray
        ``(n_boot,)`` pooled means (NaN where no drawn leaf has a value).
    """
    mask = np.isfinite(values)
    filled = np.where(mask, values, 0.0)
    den = np.einsum("bi,ij,bj->b", w_rows, mask.astype(float), w_cols)
    num = np.einsum("bi,ij,bj->b", w_rows, filled, w_cols)
    if rng is not None and np.any(se[mask] > 0):
        noise = rng.standard_normal((w_rows.shape[0], *values.shape))
        deviation = redraw_deviation(values, np.where(mask, se, 0.0), noise, bounds)
        num = num + np.einsum("bi,bij,bj->b", w_rows, deviation, w_cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def bootstrap_p(replicates: np.ndarray, direction: int = 0) -> float:
    """Bootstrap p-value of "the pooled quantity is 0" at resolution ``1 / (n + 1)``.

    ``direction`` 0: two-sided, twice the smaller tail ``(1 + #{r <= 0}) /
    (1 + n)`` or ``(1 + #{r >= 0}) / (1 + n)``, capped at 1; +1 / -1: the tail
    opposite the predicted sign.
    """
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan")
    low = (1 + np.sum(r <= 0)) / (1 + r.size)
    high = (1 + np.sum(r >= 0)) / (1 + r.size)
    if direction > 0:
        return float(low)
    if direction < 0:
        return float(high)
    return float(min(1.0, 2 * min(low, high)))
