"""Confidence intervals, p-values and the tidy result row of the inference layer."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _st

from neuroalign.compare.inference._validate import check_choice, check_level
from neuroalign.core.errors import InferenceError, ValidationError

__all__ = [
    "CI_METHODS",
    "RESULT_COLUMNS",
    "InferenceResult",
    "binomial_interval",
    "check_permutation_power",
    "confidence_interval",
    "p_value",
    "spearman_brown",
]

CI_METHODS = ("percentile", "basic", "normal")
ALTERNATIVES = ("greater", "less", "two-sided")

#: Column order of the tidy tables made by :func:`evaluate`.
RESULT_COLUMNS = (
    "measure",
    "model",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_resamples",
    "boot_mean",
    "boot_se",
    "null_mean",
    "null_sd",
    "ceiling_low",
    "ceiling_high",
    "level",
    "seed",
    "method",
)


def confidence_interval(
    values: np.ndarray,
    level: float = 0.95,
    method: str = "percentile",
    estimate: np.ndarray | float | None = None,
    axis: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided confidence interval from a bootstrap distribution.

    Parameters
    ----------
    values : array
        Bootstrap replicates along ``axis``; NaN replicates (degenerate resamples)
        are ignored.
    level : float
        Coverage in (0, 1).
    method : {"percentile", "basic", "normal"}
        ``percentile``: quantiles ``(1 -+ level) / 2`` of the replicates (linear
        interpolation). ``basic``: ``2 * estimate - percentile`` bounds reflected.
        ``normal``: ``estimate -+ z * sd(replicates)``.
    estimate : array or float, optional
        Point estimate, required for ``basic`` and ``normal``.
    axis : int
        Replicate axis.

    Returns
    -------
    (low, high) : arrays (or floats) with ``axis`` removed.
    """
    lev = check_level(level)
    check_choice(method, "method", CI_METHODS)
    vals = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    if vals.shape[0] < 2:
        raise InferenceError(
            f"a confidence interval needs at least 2 resamples; got {vals.shape[0]}"
        )
    tail = (1.0 - lev) / 2.0
    if method == "percentile":
        low, high = np.nanquantile(vals, [tail, 1.0 - tail], axis=0)
        return low, high
    if estimate is None:
        raise ValidationError(f"confidence interval method {method!r} needs the estimate")
    est = np.asarray(estimate, dtype=float)
    if method == "basic":
        q_low, q_high = np.nanquantile(vals, [tail, 1.0 - tail], axis=0)
        return 2.0 * est - q_high, 2.0 * est - q_low
    sd = np.nanstd(vals, axis=0, ddof=1)
    z = _st.norm.ppf(1.0 - tail)
    return est - z * sd, est + z * sd


def p_value(
    null: np.ndarray,
    observed: np.ndarray | float,
    alternative: str = "greater",
    exact: bool = False,
    axis: int = 0,
    rtol: float = 1e-10,
) -> np.ndarray:
    """Permutation p-value of ``observed`` against a null distribution.

    Parameters
    ----------
    null : array
        Null statistics along ``axis`` (one per permutation).
    observed : array or float
        Observed statistic (broadcast against ``null`` without ``axis``).
    alternative : {"greater", "less", "two-sided"}
        ``greater``: large values are evidence (similarities); ``less``: small
        values are (distances); ``two-sided``: twice the smaller one-sided p,
        capped at 1.
    exact : bool
        ``True`` when ``null`` holds *all* permutations, the identity included:
        ``p = #{null >= observed} / n``. ``False`` for Monte Carlo draws:
        ``p = (1 + #{null >= observed}) / (1 + n)``, valid because the observed
        labelling counts as one member of the null.
    axis : int
        Permutation axis.
    rtol : float
        Null values within ``rtol * max(1, |observed|)`` of the observation count as
        ties (at least as extreme), so that round-off cannot make a p-value too small.

    Returns
    -------
    numpy.ndarray (0-d for scalar input)
    """
    check_choice(alternative, "alternative", ALTERNATIVES)
    nul = np.moveaxis(np.asarray(null, dtype=float), axis, 0)
    obs = np.asarray(observed, dtype=float)
    if np.isnan(obs).any() or np.isnan(nul).any():
        raise InferenceError("p-value of a NaN statistic or NaN null: the measure is undefined")
    n = nul.shape[0]
    tol = rtol * np.maximum(1.0, np.abs(obs))

    def one_sided(greater: bool) -> np.ndarray:
        hits = (nul >= obs - tol) if greater else (nul <= obs + tol)
        count = hits.sum(axis=0)
        return count / n if exact else (1.0 + count) / (1.0 + n)

    if alternative == "greater":
        return one_sided(True)
    if alternative == "less":
        return one_sided(False)
    return np.minimum(1.0, 2.0 * np.minimum(one_sided(True), one_sided(False)))


def check_permutation_power(
    n_labels: int, n_perm: int, alpha: float, alternative: str = "greater"
) -> None:
    """Refuse a permutation test whose smallest attainable p-value exceeds ``alpha``.

    With ``n_labels`` exchangeable labels there are ``n_labels!`` distinct
    permutations, so no p-value below ``1 / n_labels!`` exists (twice that when
    two-sided); with ``n_perm`` Monte Carlo draws the floor is ``1 / (n_perm + 1)``.

    Raises
    ------
    InferenceError
        When the floor is above ``alpha``.
    """
    alpha = check_level(alpha, "alpha")
    n_all = math.factorial(n_labels) if n_labels <= 20 else math.inf
    floor = 1.0 / min(n_all, n_perm + 1)
    if alternative == "two-sided":
        floor *= 2.0
    if floor > alpha:
        raise InferenceError(
            f"a permutation test with {n_labels} conditions and n_perm={n_perm} cannot reach "
            f"alpha={alpha:g}: there are only {min(n_all, n_perm + 1)} distinct labellings, "
            f"so the smallest possible {alternative} p-value is {floor:.4g}; use more "
            f"conditions (or more permutations), or a bootstrap interval instead"
        )


def binomial_interval(k: Any, n: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion ``k / n`` (vectorised).

    Parameters
    ----------
    k, n
        Successes and trials (arrays broadcast together).
    level
        Confidence level in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        ``(low, high)``; NaN where ``n == 0`` (no trials, no interval).

    Raises
    ------
    ValidationError
        ``level`` outside (0, 1), negative counts, or ``k > n``.
    """
    check_level(level)
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=np.float64),
                                       np.asarray(n, dtype=np.float64))
    if np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValidationError(f"k: got {k_arr.ravel()[:5].tolist()} for n "
                              f"{n_arr.ravel()[:5].tolist()}; expected 0 <= k <= n")
    z = float(_st.norm.ppf(0.5 + level / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        centre = (p + z * z / (2 * n_arr)) / (1 + z * z / n_arr)
        half = z / (1 + z * z / n_arr) * np.sqrt(p * (1 - p) / n_arr + z * z / (4 * n_arr**2))
    low = np.where(n_arr > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n_arr > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def spearman_brown(r: np.ndarray | float, factor: float = 2.0) -> np.ndarray:
    """Spearman-Brown prophecy: reliability of a measure ``factor`` times longer.

    ``r_full = factor * r / (1 + (factor - 1) * r)``; the split-half correction is
    ``factor = 2``.
    """
    r = np.asarray(r, dtype=float)
    return factor * r / (1.0 + (factor - 1.0) * r)


@dataclass
class InferenceResult:
    """One row of an inference table (one model x one measure).

    Attributes mirror :data:`RESULT_COLUMNS`; ``extra`` holds measure-specific
    columns (e.g. predictivity's region).
    """

    measure: str
    estimate: float
    model: str = "model"
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    n: int = 0
    n_resamples: int = 0
    boot_mean: float = math.nan
    boot_se: float = math.nan
    null_mean: float = math.nan
    null_sd: float = math.nan
    ceiling_low: float = math.nan
    ceiling_high: float = math.nan
    level: float = 0.95
    seed: int | None = None
    method: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """Flat dict in :data:`RESULT_COLUMNS` order, then the ``extra`` columns."""
        data = asdict(self)
        extra = data.pop("extra")
        row = {key: data[key] for key in RESULT_COLUMNS}
        row.update(extra)
        return row
