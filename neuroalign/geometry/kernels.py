"""Vectorised path statistics for a batch of resamples of one valence.

Every statistic here is a function of the trial array ``x`` of one valence,
shaped ``(n_reps, K + 1, n_units)`` with approach ascending, and of a *weight*
matrix ``counts`` shaped ``(n_resamples, n_reps)``: how many times each
repetition enters each resample. The observed sample is ``counts = 1``; a
bootstrap resample is the ``bincount`` of its index row; a permutation's
group is a 0/1 row over the pooled trials of two valences. One matrix product
per statistic then serves the whole batch.

Cross-validated squared distance with weights
---------------------------------------------
For a step ``a`` let ``delta_m = x_m(a + 1) - x_m(a)`` (trial ``m``'s own
difference between the two conditions). The cross-validated estimate of the
squared distance between the condition means averages ``delta_m . delta_n``
over pairs of *distinct* trials ``m != n``; its expectation is the true squared
distance because independent trials share no noise. With weights ``c``::

    d2 = (|sum_m c_m delta_m|^2 - sum_m c_m^2 |delta_m|^2)
         / ((sum_m c_m)^2 - sum_m c_m^2) / n_units

which pairs only copies of *different* original trials, so a bootstrap
resample that draws a trial twice never multiplies its noise with itself.
With all ``c_m = 1`` it is the leave-one-trial-out crossnobis estimator with an
identity noise precision (rsatoolbox's ``crossnobis`` with one fold per trial).
"""

from __future__ import annotations

import numpy as np

from neuroalign.core.vocabulary import GEOMETRY_ALIASES, GEOMETRY_DISTANCES, canonical_name

__all__ = [
    "DISTANCES",
    "normalise_distance",
    "path_fraction",
    "sharpness_from_steps",
    "spread",
    "step_lengths_sq",
]

#: canonical distance names; aliases are accepted by :func:`normalise_distance`
DISTANCES: tuple[str, ...] = GEOMETRY_DISTANCES


def normalise_distance(distance: str) -> str:
    """Canonical name of ``distance`` (``"crossnobis"`` or ``"euclidean"``).

    Raises
    ------
    ValidationError
        If ``distance`` is not a known name or alias.
    """
    key = distance.strip().lower() if isinstance(distance, str) else distance
    return canonical_name(key, "distance", GEOMETRY_DISTANCES, GEOMETRY_ALIASES)


def step_lengths_sq(x: np.ndarray, counts: np.ndarray, distance: str) -> np.ndarray:
    """Squared step lengths per unit, ``(n_resamples, K)``; column ``a`` is step ``a+1 -> a``.

    Parameters
    ----------
    x
        Trials of one valence, ``(n_reps, K + 1, n_units)``, approach ascending.
    counts
        Weights ``(n_resamples, n_reps)``.
    distance
        ``"crossnobis"`` (unbiased, may be negative) or ``"euclidean"``
        (between the weighted condition means; biased upwards by noise).

    Returns
    -------
    numpy.ndarray
        Squared distances divided by the number of units. Rows whose weights
        cannot support the estimate (fewer than two distinct trials for
        crossnobis, zero total weight) are NaN.
    """
    m, k1, p = x.shape
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum(axis=1)
    if distance == "crossnobis":
        delta = (x[:, 1:, :] - x[:, :-1, :]).reshape(m, (k1 - 1) * p)
        summed = (c @ delta).reshape(-1, k1 - 1, p)
        self_sq = (c**2) @ (delta.reshape(m, k1 - 1, p) ** 2).sum(axis=2)
        pairs = n**2 - (c**2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = ((summed**2).sum(axis=2) - self_sq) / (pairs[:, None] * p)
        out[pairs <= 0] = np.nan
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (c @ x.reshape(m, k1 * p)).reshape(-1, k1, p) / n[:, None, None]
    diff = mean[:, 1:, :] - mean[:, :-1, :]
    return (diff**2).sum(axis=2) / p


def sharpness_from_steps(steps: np.ndarray, w: int) -> np.ndarray:
    """Sharpness ``S = sum(steps[..., :w]) / sum(steps)``; NaN where the path length is 0."""
    total = steps.sum(axis=-1)
    final = steps[..., :w].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = final / total
    return np.where(total > 0, s, np.nan)


def path_fraction(steps: np.ndarray) -> np.ndarray:
    """Cumulative path fraction by approach, ``(..., K + 1)``, approach ascending.

    ``F(a)`` is the share of the total path covered on the way from approach
    ``K`` down to ``a``: ``F(K) = 0`` and ``F(0) = 1``; ``S = 1 - F(w)``.
    """
    total = steps.sum(axis=-1, keepdims=True)
    remaining = np.cumsum(steps[..., ::-1], axis=-1)[..., ::-1]  # sum_{j >= a} l(j)
    zeros = np.zeros((*steps.shape[:-1], 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.concatenate([remaining, zeros], axis=-1) / total
    return np.where(total > 0, frac, np.nan)


def spread(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spread of single-repetition patterns around their mean, ``(n_resamples, K + 1)``.

    The weighted, ``ddof=1`` variance across repetitions, averaged over units:
    the mean squared distance of a single repetition to the condition mean,
    per unit, made unbiased by ``n / (n - 1)``.
    """
    m, k1, p = x.shape
    c = np.asarray(counts, dtype=np.float64)
    n = c.sum(axis=1)
    mean = (c @ x.reshape(m, k1 * p)).reshape(-1, k1, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = mean / n[:, None, None]
        second = c @ (x**2).mean(axis=2)
        out = (second - n[:, None] * (mean**2).mean(axis=2)) / (n[:, None] - 1)
    out[n <= 1] = np.nan
    return np.maximum(out, 0.0)
