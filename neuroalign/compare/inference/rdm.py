"""Inference for RDM comparisons: bootstrap, permutation and noise ceilings.

Semantics follow rsatoolbox's ``eval_bootstrap*`` and ``boot_noise_ceiling``: a
model's evaluation is the mean over subjects of the comparison of the model RDM with
each subject RDM; a bootstrap over conditions keeps the repeated conditions but drops
the pairs that compare a condition with its own copy; a resample with fewer than three
distinct conditions is undefined (NaN). Pearson, Spearman and cosine run on pair
weights (see :mod:`.weighted`), all resamples at once; other methods select the
resampled pairs by fancy indexing and call
:func:`neuroalign.compare.rdm_compare.compare_vectors` per resample.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import numpy as np

from neuroalign.compare.inference._rdm_ceiling import (
    noise_ceiling_moments,
    noise_ceiling_ranked,
)
from neuroalign.compare.inference.resample import index_counts
from neuroalign.compare.inference.weighted import (
    fixed_weighted_corr_matrix,
    pair_weights,
    weighted_corr_matrix,
    weighted_rank,
)
from neuroalign.core.contracts import condition_labels
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.core.vocabulary import compare_method

__all__ = [
    "FAST_METHODS",
    "as_rdm_vectors",
    "canonical_method",
    "rdm_bootstrap_evaluations",
    "rdm_condition_labels",
    "rdm_noise_ceiling",
    "rdm_permutation_null",
    "resampled_pairs",
]

#: Comparison methods with vectorised weighted kernels (aliases map onto these).
FAST_METHODS = ("pearson", "spearman", "cosine")
_CHUNK_ELEMENTS = 4_000_000


def canonical_method(method: str) -> str:
    """The canonical RDM comparison of ``method`` (aliases such as ``"corr"`` mapped).

    Raises
    ------
    ValidationError
        An unknown name (the message lists the names and aliases).
    """
    return compare_method(method)


def rdm_condition_labels(rdms: Any) -> np.ndarray | None:
    """Condition labels carried by an RDM DataArray (or the first of a list), else None."""
    first = rdms[0] if isinstance(rdms, (list, tuple)) and rdms else rdms
    return condition_labels(first, "rdm", missing="none")


def _ordered_matrix(rdm: Any, labels: np.ndarray | None, name: str) -> np.ndarray:
    """Values of an RDM, reordered to ``labels`` when both sides carry labels."""
    own = rdm_condition_labels(rdm)
    values = np.asarray(getattr(rdm, "values", rdm), dtype=float)
    if own is None or labels is None or np.array_equal(own, labels):
        return values
    missing = sorted(str(v) for v in set(labels) - set(own))
    extra = sorted(str(v) for v in set(own) - set(labels))
    if missing or extra:
        raise ValidationError(
            f"{name}: condition labels differ from the data's; missing {missing[:10]}, "
            f"extra {extra[:10]}"
        )
    pos = {lab: i for i, lab in enumerate(own)}
    idx = np.array([pos[lab] for lab in labels])
    return values[..., idx[:, None], idx[None, :]]


def as_rdm_vectors(
    rdms: Any, name: str = "rdms", labels: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """RDM(s) as upper-triangle vectors of shape (k, p) and the number of conditions.

    Accepts square arrays ``(n, n)`` / ``(k, n, n)``, vectors ``(p,)`` / ``(k, p)``,
    RDM DataArrays (``condition`` x ``condition_b``, or with a leading dim) and lists
    of them, and rsatoolbox ``RDMs``. When ``labels`` is given and a DataArray
    carries a ``label`` coord, its conditions are reordered to ``labels``.
    """
    if hasattr(rdms, "get_vectors") and hasattr(rdms, "n_cond"):
        return np.asarray(rdms.get_vectors(), dtype=float), int(rdms.n_cond)
    if isinstance(rdms, (list, tuple)) and rdms and hasattr(rdms[0], "dims"):
        rdms = np.stack([_ordered_matrix(r, labels, f"{name}[{i}]") for i, r in enumerate(rdms)])
    elif hasattr(rdms, "dims"):
        rdms = _ordered_matrix(rdms, labels, name)
    arr = np.asarray(rdms, dtype=float)
    if arr.ndim >= 2 and arr.shape[-1] == arr.shape[-2] and arr.shape[-1] > 1:
        n = arr.shape[-1]
        iu, ju = np.triu_indices(n, 1)
        vecs = arr.reshape(-1, n, n)[:, iu, ju]
        return vecs, n
    if arr.ndim in (1, 2) and arr.shape[-1] > 0:
        p = arr.shape[-1]
        n = round(float((1 + np.sqrt(1 + 8 * p)) / 2))
        if n * (n - 1) // 2 == p:
            return arr.reshape(-1, p), n
    raise ValidationError(
        f"{name}: expected RDMs as (n, n) / (k, n, n) matrices or (p,) / (k, p) "
        f"upper-triangle vectors; got shape {arr.shape}"
    )


def _compare_vectors(a: np.ndarray, b: np.ndarray, method: str, n: int) -> np.ndarray:
    from neuroalign.compare.rdm_compare import compare_vectors

    whitened = method in ("corr_cov", "cosine_cov")
    return np.asarray(
        compare_vectors(a, b, method, n_conditions=n if whitened else None), dtype=float
    )


def _transform(vecs: np.ndarray, w: np.ndarray, method: str) -> np.ndarray:
    """Per-resample representation that a (weighted) Pearson/cosine then compares."""
    if method == "spearman":
        return weighted_rank(vecs, w[:, None, :])
    return np.broadcast_to(vecs, (w.shape[0], *vecs.shape))


def _chunks(n_boot: int, per_resample: int) -> list[slice]:
    size = max(1, _CHUNK_ELEMENTS // max(1, per_resample))
    return [slice(i, min(i + size, n_boot)) for i in range(0, n_boot, size)]


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """One threadpoolctl controller per process (finding the libraries is the slow part)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return None
    return ThreadpoolController()


def _single_threaded_blas():
    """Small matrix products run fastest (and never oversubscribe) on one BLAS thread.

    Uses threadpoolctl (installed with scikit-learn) when available.
    """
    controller = _blas_controller()
    if controller is None:  # pragma: no cover - scikit-learn brings it
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def rdm_bootstrap_evaluations(
    models: np.ndarray,
    data: np.ndarray,
    n_conditions: int,
    method: str = "pearson",
    condition_indices: np.ndarray | None = None,
    subject_indices: np.ndarray | None = None,
    noise_ceiling: bool = False,
    backend: str = "numpy",
) -> dict[str, np.ndarray]:
    """Evaluate models on resampled subject RDMs, all resamples at once.

    Parameters
    ----------
    models : array of shape (M, p)
        Model RDM vectors.
    data : array of shape (S, p)
        Subject RDM vectors.
    n_conditions : int
        Number of conditions ``n`` (``p = n (n - 1) / 2``).
    method : str
        Comparison method (``pearson``/``corr``, ``spearman`` and ``cosine`` are
        vectorised; others go through ``compare_vectors`` per resample).
    condition_indices : array of int, shape (B, n), optional
        Resampled conditions per resample (``None``: all conditions once).
    subject_indices : array of int, shape (B, S), optional
        Resampled subjects per resample (``None``: all subjects once).
    noise_ceiling : bool
        Also compute the leave-one-subject-out noise ceiling of every resample
        (fast methods only).
    backend : {"numpy", "torch"}
        Array library for the fast methods.

    Returns
    -------
    dict
        ``evaluations`` (B, M), NaN where a resample has fewer than three distinct
        conditions; with ``noise_ceiling``, also ``nc_low`` and ``nc_high`` (B,).
    """
    method = canonical_method(method)
    models = np.asarray(models, dtype=float)
    data = np.asarray(data, dtype=float)
    n_sub = data.shape[0]
    n_boot = max(
        1,
        0 if condition_indices is None else len(condition_indices),
        0 if subject_indices is None else len(subject_indices),
    )
    if condition_indices is None:
        cc = np.ones((n_boot, n_conditions))
    else:
        cc = index_counts(condition_indices, n_conditions)
    cs = np.ones((n_boot, n_sub)) if subject_indices is None else index_counts(
        subject_indices, n_sub
    )
    w_all = pair_weights(cc, n_conditions)
    valid = (cc > 0).sum(-1) >= 3
    out: dict[str, np.ndarray] = {"evaluations": np.full((n_boot, models.shape[0]), np.nan)}
    if noise_ceiling:
        if method not in FAST_METHODS:
            raise InferenceError(
                f"noise ceilings are implemented for {', '.join(FAST_METHODS)}; got {method!r}"
            )
        out["nc_low"] = np.full(n_boot, np.nan)
        out["nc_high"] = np.full(n_boot, np.nan)
    if method not in FAST_METHODS:
        out["evaluations"] = _generic_evaluations(models, data, n_conditions, method,
                                                  condition_indices, cs, valid)
        return out
    if backend == "torch":
        from neuroalign.compare.inference.torch_backend import rdm_bootstrap_torch

        return rdm_bootstrap_torch(models, data, w_all, cs, valid, method, noise_ceiling, out)
    with _single_threaded_blas():
        _fast_evaluations(models, data, w_all, cs, method, noise_ceiling, out)
    for key in out:
        out[key][~valid] = np.nan
    return out


def _fast_evaluations(models, data, w_all, cs, method, noise_ceiling, out):
    """Pearson / Spearman / cosine evaluations (and ceilings) in chunks of resamples."""
    n_sub = data.shape[0]
    per = (models.shape[0] + 3 * n_sub) * models.shape[1]
    for sl in _chunks(w_all.shape[0], per):
        w = w_all[sl]
        if method == "spearman":
            xt = _transform(models, w, method)
            yt = _transform(data, w, method)
            r = weighted_corr_matrix(xt, yt, w)  # (b, M, S)
        else:
            r = fixed_weighted_corr_matrix(models, data, w, center=method != "cosine")
        out["evaluations"][sl] = np.einsum("bms,bs->bm", r, cs[sl]) / n_sub
        if noise_ceiling and method != "spearman":
            low, high = noise_ceiling_moments(data, w, cs[sl], method)
            out["nc_low"][sl], out["nc_high"][sl] = low, high
        elif noise_ceiling:
            low, high = noise_ceiling_ranked(yt, w, cs[sl], method)
            out["nc_low"][sl], out["nc_high"][sl] = low, high


def _pair_lookup(n: int) -> np.ndarray:
    """(n, n) table: position of pair (i, j) in the upper-triangle vector (-1 on the diagonal)."""
    iu, ju = np.triu_indices(n, 1)
    table = np.full((n, n), -1, dtype=np.int64)
    table[iu, ju] = np.arange(iu.size)
    table[ju, iu] = np.arange(iu.size)
    return table


def resampled_pairs(condition_indices: np.ndarray, n: int) -> np.ndarray:
    """Vector positions of the resampled RDMs, all resamples at once.

    Row ``b`` lists, for the upper triangle of ``rdm[sel][:, sel]`` with ``sel`` the
    sorted ``condition_indices[b]``, the position of that pair in the original
    vector, or ``-1`` where a condition meets its own copy (those entries are
    dropped, as rsatoolbox does). Shape (B, n_sel (n_sel - 1) / 2).
    """
    sel = np.sort(np.asarray(condition_indices), axis=-1)
    iu, ju = np.triu_indices(sel.shape[-1], 1)
    return _pair_lookup(n)[sel[:, iu], sel[:, ju]]


def _take_pairs(vecs: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """(K, p) vectors at positions (B, q) -> (B, K, q), NaN where ``pos`` is -1."""
    out = np.swapaxes(vecs[:, pos], 0, 1)
    return np.where((pos < 0)[:, None, :], np.nan, out)


def _generic_evaluations(models, data, n, method, condition_indices, cs, valid):
    """Fancy-index every resample at once, then batched ``compare_vectors``."""
    n_boot = cs.shape[0]
    n_sub = data.shape[0]
    if condition_indices is None:
        r = _compare_vectors(models[:, None, :], data[None, :, :], method, n)
        return (r @ cs.T).T / n_sub
    evals = np.full((n_boot, models.shape[0]), np.nan)
    pos = resampled_pairs(condition_indices, n)
    n_sel = np.shape(condition_indices)[-1]
    per = (models.shape[0] + 2 * n_sub) * pos.shape[1] * models.shape[0]
    for sl in _chunks(n_boot, per):
        ok = np.flatnonzero(valid[sl]) + sl.start
        if ok.size == 0:
            continue
        xm = _take_pairs(models, pos[ok])  # (b, M, q)
        yd = _take_pairs(data, pos[ok])  # (b, S, q)
        r = _compare_vectors(xm[:, :, None, :], yd[:, None, :, :], method, n_sel)
        evals[ok] = np.einsum("bms,bs->bm", r, cs[ok]) / n_sub
    return evals


def rdm_noise_ceiling(
    data: np.ndarray, n_conditions: int, method: str = "pearson"
) -> tuple[float, float]:
    """Leave-one-subject-out noise ceiling of subject RDMs (rsatoolbox semantics).

    The upper bound compares each subject with the pooled RDM of all subjects, the
    lower bound with the pooled RDM of the others; both are averaged over subjects.
    Pooling z-scores (Pearson), ranks (Spearman) or RMS-normalises (cosine) each RDM
    before averaging.

    Returns
    -------
    (low, high) : floats
    """
    method = canonical_method(method)
    data = np.asarray(data, dtype=float)
    if data.shape[0] < 2:
        raise InferenceError("a leave-one-subject-out noise ceiling needs at least 2 subjects")
    res = rdm_bootstrap_evaluations(data[:1], data, n_conditions, method, noise_ceiling=True)
    return float(res["nc_low"][0]), float(res["nc_high"][0])


def rdm_permutation_null(
    models: np.ndarray,
    data: np.ndarray,
    n_conditions: int,
    permutations: np.ndarray,
    method: str = "pearson",
) -> np.ndarray:
    """Model evaluations with the model's condition labels permuted.

    Parameters
    ----------
    models : array of shape (M, p)
    data : array of shape (S, p)
    n_conditions : int
    permutations : array of int, shape (P, n)
        Row ``k`` relabels model conditions: ``model[perm][:, perm]``.
    method : str

    Returns
    -------
    numpy.ndarray of shape (P, M): mean over subjects of each comparison.
    """
    method = canonical_method(method)
    n = n_conditions
    iu, ju = np.triu_indices(n, 1)
    perms = np.asarray(permutations)
    pos = _pair_lookup(n)[perms[:, iu], perms[:, ju]]  # (P, p), all permutations at once
    null = np.empty((perms.shape[0], models.shape[0]))
    if method in FAST_METHODS:
        with _single_threaded_blas():
            return _fast_null(models, data, pos, method, null)
    per = models.shape[0] * data.shape[0] * models.shape[1]
    for sl in _chunks(perms.shape[0], per):
        xp = np.swapaxes(models[:, pos[sl]], 0, 1)  # (b, M, p)
        r = _compare_vectors(xp[:, :, None, :], data[None, None], method, n)
        null[sl] = r.mean(-1)
    return null


def _fast_null(models, data, pos, method, null):
    """Permutation null of Pearson / Spearman / cosine: transform once, then gather.

    Ranks, means and norms do not change when entries are permuted, so each null
    value is one dot product of the permuted, normalised model with the data.
    """
    ones = np.ones((1, models.shape[1]))
    xr = _transform(models, ones, method)[0]
    yr = _transform(data, ones, method)[0]
    if method != "cosine":
        xr = xr - xr.mean(-1, keepdims=True)
        yr = yr - yr.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        xr = xr / np.linalg.norm(xr, axis=-1, keepdims=True)
        yr = yr / np.linalg.norm(yr, axis=-1, keepdims=True)
    for sl in _chunks(pos.shape[0], models.shape[0] * models.shape[1]):
        xp = xr[:, pos[sl]]  # (M, b, p)
        null[sl] = (xp @ yr.T).mean(-1).T
    return null
