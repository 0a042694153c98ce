"""Array kernels for RDMs: plain arrays in, upper-triangle vectors out.

Normalisation follows rsatoolbox: squared distances are divided by the number of
units (channels), so values do not grow with population size.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.sparse
import scipy.spatial.distance

from neuroalign.compare._vec import upper_tri

__all__ = [
    "crossnobis_balanced",
    "distances_from_gram",
    "rdm_observations",
    "rdm_patterns",
]


def distances_from_gram(g: np.ndarray) -> np.ndarray:
    """Upper triangle of ``g_ii + g_jj - 2 g_ij`` (symmetrised), batched."""
    d = np.diagonal(g, axis1=-2, axis2=-1)
    full = d[..., :, None] + d[..., None, :] - g - np.swapaxes(g, -1, -2)
    return upper_tri(full)


def rdm_patterns(
    x: np.ndarray,
    method: str,
    precision: np.ndarray | None = None,
    prior_lambda: float = 1.0,
    prior_weight: float = 0.1,
) -> np.ndarray:
    """RDM vector of condition patterns ``x`` (conditions x units), no NaN.

    ``method`` is one of ``sqeuclidean``, ``euclidean``, ``mahalanobis``,
    ``correlation``, ``cosine``, ``poisson``.
    """
    n_units = x.shape[-1]
    if method in ("sqeuclidean", "euclidean") and precision is None:
        # direct differences: the Gram expansion loses precision for near-equal patterns
        v = scipy.spatial.distance.pdist(x, "sqeuclidean") / n_units
        return np.sqrt(v) if method == "euclidean" else v
    if method in ("sqeuclidean", "euclidean", "mahalanobis"):
        xp = x if precision is None else x @ precision
        v = distances_from_gram(xp @ x.T) / n_units
        if method == "euclidean":
            v = np.sqrt(np.maximum(v, 0.0))
        return v
    if method in ("correlation", "cosine"):
        z = x - x.mean(axis=-1, keepdims=True) if method == "correlation" else x
        z = z / np.sqrt(np.einsum("ij,ij->i", z, z))[:, None]
        return upper_tri(1.0 - z @ z.T)
    if method == "poisson":
        lam = (x + prior_lambda * prior_weight) / (1.0 + prior_weight)
        k = lam @ np.log(lam).T
        return distances_from_gram(k) / n_units
    raise AssertionError(method)  # pragma: no cover - validated by the caller


def crossnobis_balanced(folds: np.ndarray, precision: np.ndarray | None = None) -> np.ndarray:
    """Cross-validated Mahalanobis distances from fold means, leave-one-fold-out.

    Parameters
    ----------
    folds
        Array ``(n_folds, n_conditions, n_units)`` of per-fold condition means.
    precision
        Noise precision ``(n_units, n_units)``; identity when omitted.

    Notes
    -----
    Averaging ``(mean of other folds)_d . Lambda . (held-out fold)_d`` over held-out
    folds equals ``(|S_d|^2 - sum_f |X_fd|^2) / (F (F - 1))`` in the Lambda metric,
    with ``S`` the sum over folds and ``d`` a condition difference; so all fold pairs
    are handled by two Gram matrices (one einsum) instead of a loop.
    """
    n_f, n_cond, n_units = folds.shape
    flat = folds.reshape(n_f * n_cond, n_units)
    y = flat if precision is None else whiten_rows(flat, precision)
    if y is not None:
        # Lambda = L L': the Gram matrices of X L are those of X in the Lambda metric
        y = y.reshape(n_f, n_cond, n_units)
        y_cat = y.transpose(1, 0, 2).reshape(n_cond, -1)
        total = y.sum(axis=0)
        g = (total @ total.T - y_cat @ y_cat.T) / (n_f * (n_f - 1))
        return distances_from_gram(g) / n_units
    fp = flat @ precision
    # sum over folds of X_f L X_f' as one matrix product over (fold, unit) columns
    fp_cat = fp.reshape(n_f, n_cond, n_units).transpose(1, 0, 2).reshape(n_cond, -1)
    x_cat = folds.transpose(1, 0, 2).reshape(n_cond, -1)
    g_within = fp_cat @ x_cat.T
    total = folds.sum(axis=0)
    total_p = fp.reshape(n_f, n_cond, n_units).sum(axis=0)
    g = (total_p @ total.T - g_within) / (n_f * (n_f - 1))
    return distances_from_gram(g) / n_units


def whiten_rows(rows: np.ndarray, precision: np.ndarray) -> np.ndarray | None:
    """``rows @ L`` with ``precision = L L'`` (Cholesky); None if not symmetric p.d.

    Inner products of the result are the inner products of ``rows`` in the precision
    metric, at about half the cost of multiplying by the full precision.
    """
    if not np.allclose(precision, precision.T, rtol=1e-12, atol=1e-14):
        return None
    try:
        chol = scipy.linalg.cholesky(precision, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    rows_t = np.asarray(rows, dtype=np.float64).T  # F-ordered view, no copy
    return scipy.linalg.blas.dtrmm(1.0, chol, rows_t, side=0, lower=1, trans_a=1).T


def rdm_observations(
    x: np.ndarray,
    cond: np.ndarray,
    n_cond: int,
    cv: np.ndarray | None,
    precision: np.ndarray | None = None,
    weighting: str = "number",
) -> np.ndarray:
    """RDM from single observations with NaN, unequal counts and optional cross-validation.

    Parameters
    ----------
    x
        ``(n_obs, n_units)``; NaN entries are ignored pair by pair.
    cond
        Condition index of each observation, in ``[0, n_cond)``.
    n_cond
        Number of conditions.
    cv
        Fold of each observation; pairs from the same fold are excluded (the
        cross-validated estimator). ``None``: all pairs, including each observation
        with itself.
    precision
        Noise precision; with NaN it is restricted to the units both observations
        hold (computed per pair of missing-value patterns).
    weighting
        ``"number"``: each condition pair's inner product is the sum over observation
        pairs divided by the number of units they share; ``"equal"``: the mean over
        observation pairs of the per-unit inner product.

    Returns
    -------
    numpy.ndarray
        RDM vector ``self_i + self_j - 2 cross_ij``; NaN where no valid pair exists.
    """
    missing = np.isnan(x)
    if weighting == "number" and (precision is None or not missing.any()):
        g = _grouped_gram(x, missing, cond, n_cond, cv, precision)
        return distances_from_gram(g)
    # observations grouped by condition, so condition sums are contiguous reductions
    order = np.argsort(cond, kind="stable")
    x, cond = x[order], cond[order]
    cv = None if cv is None else cv[order]
    missing = np.isnan(x)
    finite = ~missing
    x0 = np.where(finite, x, 0.0)
    if precision is None:
        sim = x0 @ x0.T
    elif finite.all():
        sim = x0 @ precision @ x0.T
    else:
        sim = _masked_precision_gram(x0, finite, precision)
    weight = _shared_counts(missing)
    valid = weight > 0
    if cv is not None:
        valid &= cv[:, None] != cv[None, :]
    if weighting == "equal":
        num = np.where(valid, sim / np.where(valid, weight, 1.0), 0.0)
        den = valid.astype(np.float64)
    else:
        num = np.where(valid, sim, 0.0)
        den = np.where(valid, weight, 0.0)
    present, starts = np.unique(cond, return_index=True)
    s = np.zeros((n_cond, n_cond))
    w = np.zeros((n_cond, n_cond))
    both = np.ix_(present, present)
    s[both] = np.add.reduceat(np.add.reduceat(num, starts, axis=0), starts, axis=1)
    w[both] = np.add.reduceat(np.add.reduceat(den, starts, axis=0), starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(w > 0, s / np.where(w > 0, w, 1.0), np.nan)
    return distances_from_gram(g)


def _grouped_gram(
    x: np.ndarray,
    missing: np.ndarray,
    cond: np.ndarray,
    n_cond: int,
    cv: np.ndarray | None,
    precision: np.ndarray | None,
) -> np.ndarray:
    """Condition inner products of rdm_observations without forming observation pairs.

    Sums over pairs of observations (a in condition i, b in condition j) from different
    folds equal the product of the condition sums minus the per-fold products:
    sum_{f != g} = T_i' L T_j - sum_f T_fi' L T_fj with T the sums of observations, and
    the same for the shared-unit counts with the finite masks in place of the values.
    """
    x0 = np.where(missing, 0.0, x)
    if precision is not None:
        whitened = whiten_rows(x0, precision)
        if whitened is not None:
            x0, precision = whitened, None
    m = (~missing).astype(np.float64)
    n_obs, n_units = x.shape
    folds = np.zeros(n_obs, dtype=np.int64) if cv is None else np.unique(cv, return_inverse=True)[1]
    n_f = int(folds.max()) + 1
    onehot = scipy.sparse.csr_matrix(
        (np.ones(n_obs), (folds.ravel() * n_cond + cond, np.arange(n_obs))),
        shape=(n_f * n_cond, n_obs),
    )
    tx = np.asarray(onehot @ x0).reshape(n_f, n_cond, n_units)  # (fold, condition) sums
    tm = np.asarray(onehot @ m).reshape(n_f, n_cond, n_units)

    def pairs_gram(t: np.ndarray, metric: np.ndarray | None) -> np.ndarray:
        tot = t.sum(axis=0)
        tp = t if metric is None else (t.reshape(-1, n_units) @ metric).reshape(t.shape)
        g = (tp.sum(axis=0)) @ tot.T
        if cv is not None:  # remove the pairs inside a fold
            g = g - tp.transpose(1, 0, 2).reshape(n_cond, -1) @ t.transpose(1, 0, 2).reshape(
                n_cond, -1).T
        return g

    s = pairs_gram(tx, precision)
    w = pairs_gram(tm, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w > 0.5, s / np.where(w > 0.5, w, 1.0), np.nan)


def _shared_counts(missing: np.ndarray) -> np.ndarray:
    """Number of units both observations hold, for every pair of observations."""
    n_units = missing.shape[1]
    per_row = missing.sum(axis=1).astype(np.float64)
    if not per_row.any():
        return np.full((missing.shape[0], missing.shape[0]), float(n_units))
    if missing.mean() < 0.05:  # few NaN: a sparse product of the NaN masks
        sp = scipy.sparse.csr_matrix(missing.astype(np.float64))
        both = (sp @ sp.T).toarray()
    else:
        mf = missing.astype(np.float32)  # counts are exact in float32 below 2**24
        both = (mf @ mf.T).astype(np.float64)
    return n_units - per_row[:, None] - per_row[None, :] + both


def _masked_precision_gram(
    x0: np.ndarray, finite: np.ndarray, precision: np.ndarray
) -> np.ndarray:
    """x_i[f] . P[f, f] . x_j[f] with f the units both i and j hold, per pattern pair."""
    patterns, group = np.unique(finite, axis=0, return_inverse=True)
    group = group.ravel()
    sim = np.empty((x0.shape[0], x0.shape[0]))
    for gi, pi in enumerate(patterns):
        rows_i = np.flatnonzero(group == gi)
        for gj in range(gi, patterns.shape[0]):
            f = pi & patterns[gj]
            rows_j = np.flatnonzero(group == gj)
            block = x0[np.ix_(rows_i, f)] @ precision[np.ix_(f, f)] @ x0[np.ix_(rows_j, f)].T
            sim[np.ix_(rows_i, rows_j)] = block
            sim[np.ix_(rows_j, rows_i)] = block.T
    return sim
