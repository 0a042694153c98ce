"""Noise covariance and precision from residuals, with shrinkage.

Estimators (``shrinkage=``):

``"diag"``
    Schäfer & Strimmer (2005) target D: shrink off-diagonal covariances towards 0
    with the analytic optimal intensity; the default, as in rsatoolbox.
``"eye"``
    Ledoit & Wolf (2004): shrink towards a multiple of the identity.
``"none"``
    The sample covariance ``X'X / dof``.
``"variance"``
    Only the variances (a diagonal matrix): univariate noise normalisation.

The values equal rsatoolbox's ``cov_from_residuals`` / ``prec_from_residuals``
with methods ``shrinkage_diag``, ``shrinkage_eye``, ``full`` and ``diag``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neuroalign.core.errors import ValidationError

__all__ = ["SHRINKAGE_METHODS", "noise_covariance", "noise_precision", "residuals_from"]

SHRINKAGE_METHODS = ("diag", "eye", "none", "variance")


def residuals_from(patterns: xr.DataArray) -> tuple[np.ndarray, int]:
    """Residuals around condition means of ``(repetition, condition, unit)`` patterns.

    Returns the ``(n_obs, n_units)`` residuals of the observations without NaN and
    their degrees of freedom ``n_obs - n_conditions``.
    """
    if not isinstance(patterns, xr.DataArray) or set(patterns.dims) != {
        "repetition", "condition", "unit"
    }:
        raise ValidationError(
            "patterns: expected a DataArray with dims ('repetition', 'condition', 'unit') "
            f"to estimate noise; got {getattr(patterns, 'dims', type(patterns).__name__)}"
        )
    x = patterns.transpose("repetition", "condition", "unit").values.astype(np.float64)
    res = x - np.nanmean(x, axis=0, keepdims=True)
    rows = res.reshape(-1, res.shape[-1])
    ok = ~np.isnan(rows).any(axis=1)
    n_cond_used = int((~np.isnan(x).any(axis=2)).any(axis=0).sum())
    return rows[ok], int(ok.sum()) - n_cond_used


def noise_covariance(
    residuals: np.ndarray | xr.DataArray, shrinkage: str = "diag", dof: int | None = None
) -> np.ndarray:
    """Noise covariance over units from residuals.

    Parameters
    ----------
    residuals
        ``(n_obs, n_units)`` array (its column means are removed) or a
        ``(repetition, condition, unit)`` DataArray (condition means removed).
    shrinkage
        One of :data:`SHRINKAGE_METHODS`.
    dof
        Degrees of freedom; default ``n_obs - 1`` for arrays and
        ``n_obs - n_conditions`` for DataArrays.

    Returns
    -------
    numpy.ndarray
        ``(n_units, n_units)`` covariance.
    """
    if shrinkage not in SHRINKAGE_METHODS:
        raise ValidationError(
            f"shrinkage: got {shrinkage!r}; expected one of {', '.join(SHRINKAGE_METHODS)}"
        )
    if isinstance(residuals, xr.DataArray):
        x, dof_nat = residuals_from(residuals)
    else:
        x = np.asarray(residuals, dtype=np.float64)
        if x.ndim != 2:
            raise ValidationError(
                f"residuals: expected shape (n_obs, n_units); got {x.shape}"
            )
        if np.isnan(x).any():
            raise ValidationError("residuals: contain NaN; drop incomplete observations first")
        x = x - x.mean(axis=0, keepdims=True)
        dof_nat = x.shape[0] - 1
    dof = dof_nat if dof is None else int(dof)
    n = x.shape[0]
    if n < 2 or dof < 1:
        raise ValidationError(
            f"residuals: {n} observations with {dof} degrees of freedom; need at least 2 and 1"
        )
    xtx = x.T @ x
    if shrinkage == "none":
        return xtx / dof
    if shrinkage == "variance":
        return np.diag(np.diag(xtx) / dof)
    sq = x * x
    s2_sum = sq.T @ sq
    if shrinkage == "eye":
        s = xtx / n
        b2 = np.sum(s2_sum / n - s * s) / n
        m = np.trace(s) / s.shape[0]
        target = m * np.eye(s.shape[0])
        d2 = np.sum((s - target) ** 2)
        b2 = min(d2, b2)
        return (b2 / d2 * target + (d2 - b2) / d2 * s) * n / dof
    s = xtx / dof
    var = np.diag(s)
    if np.any(var <= 0):
        bad = np.flatnonzero(var <= 0)[:5].tolist()
        raise ValidationError(
            f"residuals: units {bad} have zero variance; shrinkage 'diag' needs positive "
            "variances (use 'eye')"
        )
    std = np.sqrt(var)
    s_mean = xtx / np.outer(std, std) / (n - 1)
    s2_mean = s2_sum / np.outer(var, var) / (n - 1)
    var_hat = n / dof**2 * (s2_mean - s_mean**2)
    off = ~np.eye(s.shape[0], dtype=bool)
    lamb = float(np.clip(np.sum(var_hat[off]) / np.sum(s_mean[off] ** 2), 0.0, 1.0))
    return s * np.where(off, 1.0 - lamb, 1.0)


def noise_precision(
    residuals: np.ndarray | xr.DataArray, shrinkage: str = "diag", dof: int | None = None
) -> np.ndarray:
    """Noise precision (inverse of :func:`noise_covariance`); same parameters."""
    cov = noise_covariance(residuals, shrinkage=shrinkage, dof=dof)
    try:
        return np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        raise ValidationError(
            f"noise covariance (shrinkage {shrinkage!r}) is singular; use shrinkage "
            "'diag' or 'eye'"
        ) from None
