"""Centered kernel alignment (CKA) with biased and debiased HSIC estimators.

For Gram matrices K, L over the same n conditions (Kornblith et al. 2019)

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)).

``hsic_biased`` is Gretton et al.'s ``tr(K H L H) / (n - 1)^2`` with
``H = I - 11'/n``. ``hsic_unbiased`` is the U-statistic of Song et al. (2012):
with K~, L~ the Grams with zeroed diagonals,

    HSIC_1 = [tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n(n-3)).

The biased estimator is inflated at neural sample sizes (about 0.95 for
independent Gaussian data with n=50 conditions and 1000 units); the debiased one
is near 0 there, and is the default. All functions are batched over leading dims.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuroalign.compare._align import align_patterns
from neuroalign.core.degenerate import standardise
from neuroalign.core.errors import ValidationError

__all__ = [
    "center_gram",
    "cka",
    "cka_feature_linear",
    "gram_linear",
    "gram_rbf",
    "hsic_biased",
    "hsic_unbiased",
]


def gram_linear(x: np.ndarray) -> np.ndarray:
    """Linear kernel ``X X'`` for ``x`` of shape ``(..., n, p)``."""
    x = np.asarray(x, dtype=np.float64)
    return x @ np.swapaxes(x, -1, -2)


def gram_rbf(x: np.ndarray, sigma: float | np.ndarray | None = None,
             scale: float = 1.0) -> np.ndarray:
    """Gaussian kernel ``exp(-|x_i - x_j|^2 / (2 sigma^2))`` for ``x`` ``(..., n, p)``.

    Parameters
    ----------
    sigma
        Bandwidth; scalar or one per leading index. ``None``: the median heuristic,
        ``scale`` times the median distance between distinct conditions.
    scale
        Multiplier of the median heuristic (ignored when ``sigma`` is given).
    """
    x = np.asarray(x, dtype=np.float64)
    g = gram_linear(x)
    d = np.diagonal(g, axis1=-2, axis2=-1)
    sq = np.maximum(d[..., :, None] + d[..., None, :] - 2 * g, 0.0)
    if sigma is None:
        n = x.shape[-2]
        iu, ju = np.triu_indices(n, k=1)
        med = np.median(sq[..., iu, ju], axis=-1)
        sigma = scale * np.sqrt(med)
    sigma = np.asarray(sigma, dtype=np.float64)
    if np.any(sigma <= 0):
        raise ValidationError(
            "gram_rbf: bandwidth sigma is 0 (all conditions identical?); give sigma > 0"
        )
    s2 = (sigma**2)[..., None, None] if sigma.ndim else sigma**2
    return np.exp(-sq / (2.0 * s2))


def center_gram(k: np.ndarray) -> np.ndarray:
    """Double-centred Gram ``H K H`` (batched over leading dims)."""
    k = np.asarray(k, dtype=np.float64)
    row = k.mean(axis=-1, keepdims=True)
    col = k.mean(axis=-2, keepdims=True)
    return k - row - col + k.mean(axis=(-2, -1), keepdims=True)


def hsic_biased(k: np.ndarray, l: np.ndarray) -> np.ndarray:  # noqa: E741
    """Biased HSIC ``tr(K H L H) / (n - 1)^2`` (batched)."""
    k = np.asarray(k, dtype=np.float64)
    n = k.shape[-1]
    kc = center_gram(k)
    return np.einsum("...ij,...ij->...", kc, np.asarray(l, dtype=np.float64)) / (n - 1) ** 2


def hsic_unbiased(k: np.ndarray, l: np.ndarray) -> np.ndarray:  # noqa: E741
    """Unbiased HSIC of Song et al. (2012) (batched); needs n >= 4."""
    k = np.asarray(k, dtype=np.float64)
    l = np.asarray(l, dtype=np.float64)  # noqa: E741
    n = k.shape[-1]
    if n < 4:
        raise ValidationError(f"hsic_unbiased: needs at least 4 conditions; got {n}")
    idx = np.arange(n)
    kt = k.copy()
    lt = l.copy()
    kt[..., idx, idx] = 0.0
    lt[..., idx, idx] = 0.0
    tr = np.einsum("...ij,...ij->...", kt, lt)
    ks = kt.sum(axis=-1)
    ls = lt.sum(axis=-1)
    return _hsic_u_terms(tr, ks, ls, n)


def _hsic_u_terms(tr: np.ndarray, ks: np.ndarray, ls: np.ndarray, n: int) -> np.ndarray:
    """Combine tr(K~L~), row sums of K~ and L~ into the unbiased HSIC."""
    sum_k = ks.sum(axis=-1)
    sum_l = ls.sum(axis=-1)
    cross = np.einsum("...i,...i->...", ks, ls)
    return (tr + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))


def _hsic_u_features(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unbiased HSIC of linear kernels from features, O(n p q) without n x n Grams."""
    n = x.shape[-2]
    xy = np.swapaxes(x, -1, -2) @ y
    nx = np.einsum("...ij,...ij->...i", x, x)
    ny = np.einsum("...ij,...ij->...i", y, y)
    tr = np.einsum("...ij,...ij->...", xy, xy) - np.einsum("...i,...i->...", nx, ny)
    ks = np.einsum("...ij,...j->...i", x, x.sum(axis=-2)) - nx
    ls = np.einsum("...ij,...j->...i", y, y.sum(axis=-2)) - ny
    return _hsic_u_terms(tr, ks, ls, n)


def cka_feature_linear(x: np.ndarray, y: np.ndarray, debiased: bool = True) -> np.ndarray:
    """Linear CKA computed in feature space (cheap when units << conditions).

    Equal to ``cka`` with linear Grams; batched over leading dims; NaN where a
    representation has no variance.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=-2, keepdims=True)
    y = y - y.mean(axis=-2, keepdims=True)
    if debiased:
        hxy = _hsic_u_features(x, y)
        hxx = _hsic_u_features(x, x)
        hyy = _hsic_u_features(y, y)
    else:

        def fro2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            m = np.swapaxes(a, -1, -2) @ b
            return np.einsum("...ij,...ij->...", m, m)

        hxy, hxx, hyy = fro2(x, y), fro2(x, x), fro2(y, y)
    return _ratio(hxy, hxx, hyy)


def _ratio(hxy: np.ndarray, hxx: np.ndarray, hyy: np.ndarray) -> np.ndarray:
    den = np.sqrt(np.maximum(hxx * hyy, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, hxy / np.where(den > 0, den, 1.0), np.nan)


def _cka_gram(k: np.ndarray, l: np.ndarray, debiased: bool) -> np.ndarray:  # noqa: E741
    h = hsic_unbiased if debiased else hsic_biased
    return _ratio(h(k, l), h(k, k), h(l, l))


def cka(
    x: Any,
    y: Any,
    kernel: str = "linear",
    debiased: bool = True,
    *,
    sigma: float | None = None,
    form: str = "auto",
) -> float | np.ndarray:
    """Centered kernel alignment between two representations.

    Parameters
    ----------
    x, y
        ``(condition, unit)`` DataArrays (aligned by condition label; the unit counts
        may differ) or arrays ``(..., n_conditions, n_units)``.
    kernel
        ``"linear"`` or ``"rbf"`` (Gaussian; bandwidth ``sigma`` or the median
        heuristic per representation).
    debiased
        Use the unbiased HSIC (default) or the biased one.
    form
        ``"gram"``, ``"feature"`` (linear only) or ``"auto"``: feature space when it
        is cheaper, i.e. when ``p_x p_y < n (p_x + p_y)``.

    Returns
    -------
    float or numpy.ndarray
        CKA; a float for 2-D inputs.

    Raises
    ------
    ValidationError
        Unknown kernel or form, no shared labels, fewer than 4 conditions for the
        debiased estimator, or a representation without variance.
    """
    if kernel not in ("linear", "rbf"):
        raise ValidationError(f"kernel: got {kernel!r}; expected one of linear, rbf")
    if form not in ("auto", "gram", "feature"):
        raise ValidationError(f"form: got {form!r}; expected one of auto, gram, feature")
    if form == "feature" and kernel != "linear":
        raise ValidationError("form='feature' exists only for kernel='linear'")
    xa, ya = align_patterns(x, y, "CKA")
    n = xa.shape[-2]
    if n < (4 if debiased else 2):
        raise ValidationError(
            f"cka: {n} shared conditions; the {'debiased' if debiased else 'biased'} "
            f"estimator needs at least {4 if debiased else 2}"
        )
    if kernel == "linear":  # scale-invariant: values of ~1e300 must not overflow
        xa, ya = standardise(xa)[0], standardise(ya)[0]
        px, py = xa.shape[-1], ya.shape[-1]
        use_feature = form == "feature" or (form == "auto" and px * py < n * (px + py))
        if use_feature:
            out = cka_feature_linear(xa, ya, debiased)
        else:
            xc = xa - xa.mean(axis=-2, keepdims=True)
            yc = ya - ya.mean(axis=-2, keepdims=True)
            out = _cka_gram(gram_linear(xc), gram_linear(yc), debiased)
    else:
        out = _cka_gram(gram_rbf(xa, sigma), gram_rbf(ya, sigma), debiased)
    if np.any(np.isnan(out)):
        raise ValidationError(
            "cka: a representation has zero variance across conditions; CKA is undefined"
        )
    return float(out) if np.ndim(out) == 0 else out
