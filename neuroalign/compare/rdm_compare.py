"""Comparing RDMs: batched comparisons of upper-triangle vectors and labelled RDMs.

All comparisons are similarities (1 for identical RDMs up to the method's
invariances). They agree with rsatoolbox's ``compare`` (methods ``corr``,
``spearman``, ``tau-a``, ``rho-a``, ``cosine``, ``corr_cov``, ``cosine_cov``).

NaN policy: an entry that is NaN in either vector of a pair is dropped for that
pair (pairwise deletion), as rsatoolbox drops NaN entries. A vector whose remaining
entries have zero norm (cosine) or zero variance (pearson, spearman) gets similarity
0, rsatoolbox's convention; :func:`compare_rdms` refuses such RDMs instead.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import xarray as xr

from neuroalign.compare._kendall import tau_a_pairs
from neuroalign.compare._vec import n_from_length
from neuroalign.core.errors import ValidationError
from neuroalign.core.vocabulary import COMPARE_METHODS, compare_method

__all__ = ["COMPARE_METHODS", "compare_rdms", "compare_vectors"]

def _pair_cosine(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Cosine between rows a[ia[k]] and b[ib[k]]; 0 where a norm is 0."""
    na = np.sqrt(np.einsum("ij,ij->i", a, a))
    nb = np.sqrt(np.einsum("ij,ij->i", b, b))
    if ia.size == a.shape[0] * b.shape[0] and ia.size > 1:
        # full outer product: one matrix product, then pick the pairs
        dots = (a @ b.T)[ia, ib]
    else:
        dots = np.einsum("ij,ij->i", a[ia], b[ib])
    den = na[ia] * nb[ib]
    out = np.zeros(ia.shape[0])
    ok = den > 0
    out[ok] = dots[ok] / den[ok]
    return out


def _center(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-1, keepdims=True)


def _cov_weighting(
    v: np.ndarray, n_cond: int, keep: np.ndarray, sigma_k: np.ndarray | None
) -> np.ndarray:
    """Whitened representation of RDM vectors (rows of ``v`` over the kept entries).

    The RDM is mapped to the double-centred second-moment matrix ``G = -D/2``
    (off-diagonal entries, then the n diagonal entries), whose entries are
    uncorrelated under i.i.d. pattern noise; off-diagonal entries get weight
    sqrt(2) because they occur twice in G. With missing entries, the centring is
    the weighted least-squares projection removing row and column effects.
    """
    m, p_keep = v.shape
    p_full = n_cond * (n_cond - 1) // 2
    iu, ju = np.triu_indices(n_cond, k=1)
    vw = -0.5 * np.concatenate([v, np.zeros((m, n_cond))], axis=1)
    if keep.all():
        g = np.zeros((m, n_cond, n_cond))
        g[:, iu, ju] = vw[:, :p_full]
        g[:, ju, iu] = vw[:, :p_full]
        row = g.mean(axis=2, keepdims=True)
        gc = g - row - np.swapaxes(row, 1, 2) + g.mean(axis=(1, 2), keepdims=True)
        out = np.concatenate([gc[:, iu, ju], gc[:, np.arange(n_cond), np.arange(n_cond)]], 1)
        ri = np.concatenate([iu, np.arange(n_cond)])
        ci = np.concatenate([ju, np.arange(n_cond)])
    else:
        # design: each kept entry (i, j) loads on condition effects i and j;
        # diagonal entries load once on their condition; weights 1/2 off-diagonal.
        ri = np.concatenate([iu[keep], np.arange(n_cond)])
        ci = np.concatenate([ju[keep], np.arange(n_cond)])
        design = np.zeros((ri.size, n_cond))
        np.add.at(design, (np.arange(ri.size), ri), 1.0)
        np.add.at(design, (np.arange(ri.size), ci), 1.0)
        design[p_keep:] /= 2
        w = np.concatenate([np.full(p_keep, 0.5), np.ones(n_cond)])[:, None]
        proj = design @ np.linalg.inv(design.T @ (w * design)) @ (w * design).T
        out = vw - vw @ proj
    if sigma_k is not None:
        s = np.sqrt(np.asarray(sigma_k, dtype=np.float64))
        out = out / (s[ri] * s[ci])
    n_off = out.shape[1] - n_cond
    out[:, :n_off] *= np.sqrt(2.0)
    return out


def _compare_clean(
    a: np.ndarray,
    b: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    method: str,
    keep: np.ndarray,
    n_cond: int | None,
    sigma_k: np.ndarray | None,
) -> np.ndarray:
    """Similarity for pairs of NaN-free rows (a[ia[k]], b[ib[k]])."""
    p = a.shape[1]
    if method == "cosine":
        return _pair_cosine(a, b, ia, ib)
    if method == "pearson":
        return _pair_cosine(_center(a), _center(b), ia, ib)
    if method in ("spearman", "rho_a"):
        ra = _center(scipy.stats.rankdata(a, axis=-1))
        rb = ra if b is a else _center(scipy.stats.rankdata(b, axis=-1))
        if method == "spearman":
            return _pair_cosine(ra, rb, ia, ib)
        if p < 2:
            return np.full(ia.shape[0], np.nan)
        return np.einsum("ij,ij->i", ra[ia], rb[ib]) * 12.0 / (p**3 - p)
    if method == "kendall_tau_a":
        if b is a:
            # tau-a is symmetric: compute each unordered pair once
            lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
            keys, inv = np.unique(lo * a.shape[0] + hi, return_inverse=True)
            vals = tau_a_pairs(a, a, keys // a.shape[0], keys % a.shape[0])
            return vals[inv.ravel()]
        return tau_a_pairs(a, b, ia, ib)
    # whitened comparisons
    if n_cond is None:
        n_cond = n_from_length(keep.size)
    if method == "corr_cov":
        ca = _center(a)
        b = ca if b is a else _center(b)
        a = ca
    wa = _cov_weighting(a, n_cond, keep, sigma_k)
    wb = wa if b is a else _cov_weighting(b, n_cond, keep, sigma_k)
    return _pair_cosine(wa, wb, ia, ib)


def compare_vectors(
    a: np.ndarray,
    b: np.ndarray,
    method: str = "pearson",
    *,
    n_conditions: int | None = None,
    sigma_k: np.ndarray | None = None,
) -> np.ndarray:
    """Compare RDM upper-triangle vectors, batched over leading dims.

    Parameters
    ----------
    a, b
        Arrays of shape ``(..., p)`` whose leading dims broadcast against each other.
    method
        One of :data:`COMPARE_METHODS` or an alias of
        :data:`neuroalign.core.vocabulary.COMPARE_ALIASES`: ``"pearson"``, ``"spearman"``,
        ``"kendall_tau_a"`` (O(p log p) per pair), ``"rho_a"`` (Spearman without tie
        correction, ``12 sum(ra rb) / (p^3 - p)`` on centred ranks), ``"cosine"``,
        ``"corr_cov"`` / ``"cosine_cov"`` (Pearson / cosine after whitening by the
        covariance of RDM entries under i.i.d. noise, Diedrichsen et al. 2021).
    n_conditions
        Number of conditions; needed only by the whitened methods and inferred from
        ``p`` when omitted.
    sigma_k
        Optional per-condition noise variances (shape ``(n_conditions,)``) for the
        whitened methods.

    Returns
    -------
    numpy.ndarray
        Shape: the broadcast of the leading dims of ``a`` and ``b``.

    Notes
    -----
    Entries that are NaN in either vector of a pair are dropped for that pair.
    """
    method = compare_method(method)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim == 0 or b.ndim == 0:
        raise ValidationError("a, b: expected arrays of shape (..., p); got a scalar")
    if a.shape[-1] != b.shape[-1]:
        raise ValidationError(
            f"a, b: RDM vectors differ in length ({a.shape[-1]} vs {b.shape[-1]})"
        )
    p = a.shape[-1]
    try:
        shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError:
        raise ValidationError(
            f"a, b: leading shapes {a.shape[:-1]} and {b.shape[:-1]} do not broadcast"
        ) from None
    if sigma_k is not None:
        sigma_k = np.asarray(sigma_k, dtype=np.float64)
        if sigma_k.ndim != 1:
            raise ValidationError(
                f"sigma_k: expected per-condition variances of shape (n_conditions,); "
                f"got shape {sigma_k.shape}"
            )
    n_cond: int | None
    if method in ("corr_cov", "cosine_cov"):
        n_cond = n_from_length(p)
        if n_conditions is not None and int(n_conditions) != n_cond:
            raise ValidationError(
                f"n_conditions: got {n_conditions}, but vectors of length {p} hold "
                f"{n_cond} conditions"
            )
        if sigma_k is not None and sigma_k.shape[0] != n_cond:
            raise ValidationError(
                f"sigma_k: expected {n_cond} variances; got {sigma_k.shape[0]}"
            )
    else:
        n_cond = n_conditions
    same = a is b or (a.shape == b.shape and np.array_equal(a, b, equal_nan=True))
    a2 = a.reshape(-1, p)
    b2 = a2 if same else b.reshape(-1, p)
    if not same and a2.shape == b2.shape and np.array_equal(a2, b2, equal_nan=True):
        same, b2 = True, a2  # e.g. all pairs of one set of RDMs: a[:, None] vs a[None]
    ia = np.broadcast_to(np.arange(a2.shape[0]).reshape(a.shape[:-1]), shape).ravel()
    ib = np.broadcast_to(np.arange(b2.shape[0]).reshape(b.shape[:-1]), shape).ravel()
    nan_a = np.isnan(a2)
    nan_b = nan_a if same else np.isnan(b2)
    if not (nan_a.any() or nan_b.any()):
        full = np.ones(p, dtype=bool)
        out = _compare_clean(a2, b2, ia, ib, method, full, n_cond, sigma_k)
        return out.reshape(shape)
    out = np.empty(ia.shape[0])
    keep_pairs = ~(nan_a[ia] | nan_b[ib])
    # group pairs by their pattern of kept entries (bit-packed rows compare fast)
    packed = np.ascontiguousarray(np.packbits(keep_pairs, axis=1))
    rows = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, group = np.unique(rows, return_index=True, return_inverse=True)
    group = group.ravel()
    for g, row in enumerate(first):
        keep = keep_pairs[row]
        sel = np.flatnonzero(group == g)
        ua, ja = np.unique(ia[sel], return_inverse=True)
        ub, jb = np.unique(ib[sel], return_inverse=True)
        sa = a2[ua][:, keep]
        sb = sa if same and np.array_equal(ua, ub) else b2[ub][:, keep]
        out[sel] = _compare_clean(sa, sb, ja.ravel(), jb.ravel(), method, keep, n_cond,
                                  sigma_k)
    return out.reshape(shape)


def compare_rdms(
    a: xr.DataArray,
    b: xr.DataArray,
    method: str = "spearman",
    *,
    sigma_k: np.ndarray | None = None,
) -> float:
    """Compare two labelled RDMs, aligned by condition label.

    Parameters
    ----------
    a, b
        RDM DataArrays from :func:`neuroalign.compare.compute_rdm` (dims
        ``condition`` x ``condition_b`` with a ``label`` coordinate). Only the
        conditions both hold are compared, in ``a``'s order.
    method
        One of :data:`COMPARE_METHODS` or an alias (``"tau-a"``, ``"corr"``, ...).
    sigma_k
        Per-condition noise variances for the whitened methods (in ``a``'s order).

    Returns
    -------
    float
        The similarity.

    Raises
    ------
    ValidationError
        When the RDMs share no condition label (the message lists both label
        sets), fewer than 3 shared conditions remain, an RDM is constant over the
        shared entries, or the method is unknown.

    Notes
    -----
    NaN entries (e.g. dissimilarities that could not be estimated) are dropped
    pairwise; the number of entries used is not returned.
    """
    from neuroalign.compare.rdm import align_rdms

    method = compare_method(method)
    va, vb, labels = align_rdms(a, b)
    ok = ~(np.isnan(va) | np.isnan(vb))
    if ok.sum() < 2:
        raise ValidationError(
            f"compare_rdms: fewer than 2 dissimilarities are not NaN in both RDMs "
            f"(shared conditions {labels.tolist()})"
        )
    for name, v in (("a", va), ("b", vb)):
        vals = v[ok]
        if method != "cosine" and np.ptp(vals) == 0:
            raise ValidationError(
                f"compare_rdms: RDM {name} is constant over the shared conditions; "
                f"method {method!r} is undefined for it"
            )
        if method == "cosine" and not np.any(vals):
            raise ValidationError(f"compare_rdms: RDM {name} is all zeros; cosine undefined")
    return float(compare_vectors(va, vb, method, sigma_k=sigma_k))
