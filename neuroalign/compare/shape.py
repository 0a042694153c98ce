"""Shape metrics: Procrustes, CCA and partial whitening between them (Williams et al. 2021).

Each representation ``X`` (conditions x units) is centred over conditions and
partially whitened, ``X_a = X (a I + (1 - a) C^{-1/2})`` with ``C = X'X / n`` its
covariance and ``a = alpha`` in [0, 1]: ``alpha=1`` leaves ``X`` as it is
(Procrustes), ``alpha=0`` whitens fully (CCA). The smaller representation is
zero-padded to the larger unit count, and the best rotation ``Q`` aligns them:
``Q = U V'`` from the SVD ``X_a' Y_a = U S V'``. Scores:

``"angular"``
    ``arccos( tr(S) / (|X_a|_F |Y_a|_F) )``, in ``[0, pi/2]``; a metric on shapes.
``"euclidean"``
    ``|X_a Q - Y_a|_F / sqrt(n)``, the root-mean-square distance per condition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuroalign.compare._align import align_patterns
from neuroalign.core.degenerate import standardise
from neuroalign.core.errors import InferenceError, ValidationError

__all__ = ["SCORES", "ShapeMetric", "reduce_representation", "score_reduced", "shape_distance"]

SCORES = ("angular", "euclidean")
_EIG_TOL = 1e-10


def _whitener(x: np.ndarray, alpha: float) -> np.ndarray:
    """Partial whitening matrix ``a I + (1 - a) C^{-1/2}`` of centred ``x`` (batched)."""
    p = x.shape[-1]
    eye = np.broadcast_to(np.eye(p), (*x.shape[:-2], p, p))
    if alpha >= 1.0:
        return eye.copy()
    cov = np.swapaxes(x, -1, -2) @ x / x.shape[-2]
    lam, vec = np.linalg.eigh(cov)
    floor = _EIG_TOL * np.maximum(lam.max(axis=-1, keepdims=True), _EIG_TOL)
    inv_sqrt = 1.0 / np.sqrt(np.maximum(lam, floor))
    d = alpha + (1.0 - alpha) * inv_sqrt
    return (vec * d[..., None, :]) @ np.swapaxes(vec, -1, -2)


def _reduced(x: np.ndarray, alpha: float) -> np.ndarray:
    """Centred, partially whitened ``x`` in at most ``n_conditions`` coordinates (batched).

    With more units than conditions, the centred ``x = U S V'`` (thin SVD) spans at
    most ``n`` directions of unit space, and the whitener is ``V diag(d) V'`` on that
    span, so ``x W = U diag(s d) V'`` equals ``U diag(s d)`` up to the isometry
    ``V'``, which no rotation-invariant score sees. Eigenvalues ``s^2 / n`` are
    floored as in :func:`_whitener`. With no more units than conditions this is the
    plain ``x W``.
    """
    xc = x - x.mean(axis=-2, keepdims=True)
    n, p = xc.shape[-2:]
    if p <= n:
        return xc if alpha >= 1.0 else xc @ _whitener(xc, alpha)
    return _span(xc, alpha)


def _span(xc: np.ndarray, alpha: float) -> np.ndarray:
    """Coordinates of centred ``xc`` (more units than conditions) in its row span.

    Procrustes (``alpha=1``) takes ``xc' = Q R`` (thin QR), so ``xc = R' Q'``;
    otherwise the thin SVD gives the whitened ``U diag(s d)``.
    """
    if alpha >= 1.0:
        return np.swapaxes(np.linalg.qr(np.swapaxes(xc, -1, -2), mode="r"), -1, -2)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    return _scaled(u, s, alpha)


def _scaled(u: np.ndarray, s: np.ndarray, alpha: float) -> np.ndarray:
    """``U diag(s d)`` with the partial-whitening gains ``d`` of eigenvalues ``s^2 / n``."""
    n = u.shape[-2]
    if alpha >= 1.0:
        return u * s[..., None, :]
    lam = s * s / n
    floor = _EIG_TOL * np.maximum(lam.max(axis=-1, keepdims=True), _EIG_TOL)
    d = alpha + (1.0 - alpha) / np.sqrt(np.maximum(lam, floor))
    return u * (s * d)[..., None, :]


def _reduced_pair(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_reduced` of both sides, one stacked factorisation when both have more units
    than conditions and the same leading shape (the narrower side zero-padded)."""
    n = x.shape[-2]
    if x.shape[:-1] != y.shape[:-1] or min(x.shape[-1], y.shape[-1]) <= n:
        return _reduced(x, alpha), _reduced(y, alpha)
    p = max(x.shape[-1], y.shape[-1])
    both = np.stack([_pad(x, p), _pad(y, p)])
    w = _span(both - both.mean(axis=-2, keepdims=True), alpha)
    return w[0], w[1]


def _pad(x: np.ndarray, p: int) -> np.ndarray:
    if x.shape[-1] == p:
        return x
    pad = np.zeros((*x.shape[:-1], p - x.shape[-1]))
    return np.concatenate([x, pad], axis=-1)


def _score(xr_: np.ndarray, yw: np.ndarray, score: str) -> np.ndarray:
    """Distance between rotated ``xr_`` and ``yw`` (batched)."""
    if score == "angular":
        nx = np.sqrt(np.einsum("...ij,...ij->...", xr_, xr_))
        ny = np.sqrt(np.einsum("...ij,...ij->...", yw, yw))
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.einsum("...ij,...ij->...", xr_, yw) / (nx * ny)
        return np.arccos(np.clip(c, -1.0, 1.0))
    diff = xr_ - yw
    return np.sqrt(np.einsum("...ij,...ij->...", diff, diff) / xr_.shape[-2])


def reduce_representation(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """One side of a shape distance: centred, partially whitened, in its condition span.

    Parameters
    ----------
    x
        Array ``(..., n_conditions, n_units)`` (batched over leading dims).
    alpha
        Partial whitening in ``[0, 1]`` (1 = Procrustes, 0 = CCA).

    Returns
    -------
    numpy.ndarray
        ``(..., n_conditions, k)`` with ``k = min(n_conditions, n_units)``: the
        representation up to an isometry of unit space, which no shape score sees.
        Relabelling conditions commutes with it (``reduce(x[p]) = reduce(x)[p]``
        for a permutation ``p``), so a permutation test reduces each side once.
    """
    return _reduced(np.asarray(x, dtype=np.float64), float(alpha))


def score_reduced(xw: np.ndarray, yw: np.ndarray, score: str = "angular") -> np.ndarray:
    """Shape distance between two reduced representations (batched, broadcast).

    ``xw``, ``yw``: outputs of :func:`reduce_representation` with the same number of
    conditions; their widths may differ. The angular score needs only the singular
    values of ``xw' yw`` (their sum is ``tr(X_a Q Y_a')`` at the optimal rotation
    ``Q``), so no rotation is formed; the euclidean score forms the rotation, since
    ``|X_a|^2 + |Y_a|^2 - 2 tr(S)`` would lose precision near 0. NaN where a side has
    no variance.
    """
    if score == "angular":
        s = np.linalg.svd(np.swapaxes(xw, -1, -2) @ yw, compute_uv=False)
        nx = np.sqrt(np.einsum("...ij,...ij->...", xw, xw))
        ny = np.sqrt(np.einsum("...ij,...ij->...", yw, yw))
        with np.errstate(invalid="ignore", divide="ignore"):
            c = s.sum(axis=-1) / (nx * ny)
        return np.arccos(np.clip(c, -1.0, 1.0))
    p = max(xw.shape[-1], yw.shape[-1])
    xw, yw = _pad(xw, p), _pad(yw, p)
    u, _, vt = np.linalg.svd(np.swapaxes(xw, -1, -2) @ yw)
    return _score(xw @ (u @ vt), yw, score)


class ShapeMetric:
    """Generalised shape metric with partial whitening (netrep-style estimator).

    Parameters
    ----------
    alpha
        Regularisation of whitening in ``[0, 1]``: 1 is Procrustes, 0 is CCA.
    score
        ``"angular"`` (default) or ``"euclidean"``.

    Attributes
    ----------
    mean_x_, mean_y_
        Condition means removed from each representation (fitted).
    whiten_x_, whiten_y_
        Partial whitening matrices (fitted).
    rotation_
        Orthogonal alignment of the whitened, zero-padded ``x`` onto ``y``.
    """

    def __init__(self, alpha: float = 1.0, score: str = "angular") -> None:
        if not (isinstance(alpha, (int, float, np.floating)) and 0.0 <= float(alpha) <= 1.0):
            raise ValidationError(f"alpha: got {alpha!r}; expected a number in [0, 1]")
        if score not in SCORES:
            raise ValidationError(f"score: got {score!r}; expected one of {', '.join(SCORES)}")
        self.alpha = float(alpha)
        self.score_name = score

    def _transform(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = max(x.shape[-1], y.shape[-1])
        xw = _pad((x - self.mean_x_) @ self.whiten_x_, p)
        yw = _pad((y - self.mean_y_) @ self.whiten_y_, p)
        return xw, yw

    def fit(self, x: Any, y: Any) -> ShapeMetric:
        """Learn centring, whitening and the rotation from ``x`` and ``y``.

        ``x``, ``y``: ``(condition, unit)`` DataArrays aligned by condition label, or
        arrays ``(..., n_conditions, n_units)`` (batched over leading dims).
        """
        xa, ya = align_patterns(x, y, "the shape metric", min_conditions=2)
        self.mean_x_ = xa.mean(axis=-2, keepdims=True)
        self.mean_y_ = ya.mean(axis=-2, keepdims=True)
        self.whiten_x_ = _whitener(xa - self.mean_x_, self.alpha)
        self.whiten_y_ = _whitener(ya - self.mean_y_, self.alpha)
        xw, yw = self._transform(xa, ya)
        u, _, vt = np.linalg.svd(np.swapaxes(xw, -1, -2) @ yw)
        self.rotation_ = u @ vt
        return self

    def score(self, x: Any, y: Any) -> float | np.ndarray:
        """Distance between ``x`` and ``y`` under the fitted transforms."""
        if not hasattr(self, "rotation_"):
            raise ValidationError("ShapeMetric: call fit(x, y) before score(x, y)")
        xa, ya = align_patterns(x, y, "the shape metric", min_conditions=2)
        xw, yw = self._transform(xa, ya)
        out = _score(xw @ self.rotation_, yw, self.score_name)
        if np.any(np.isnan(out)):
            raise ValidationError(
                "shape metric: a representation has zero variance across conditions"
            )
        return float(out) if np.ndim(out) == 0 else out

    def __repr__(self) -> str:
        return f"ShapeMetric(alpha={self.alpha}, score={self.score_name!r})"


def shape_distance(
    x: Any, y: Any, alpha: float = 1.0, score: str = "angular"
) -> float | np.ndarray:
    """Shape distance between two representations, fitted and scored on the same data.

    Parameters
    ----------
    x, y
        ``(condition, unit)`` DataArrays (aligned by label) or arrays
        ``(..., n_conditions, n_units)``; unit counts may differ (zero padding).
    alpha
        1 = Procrustes (default), 0 = CCA, in between partial whitening.
    score
        ``"angular"`` or ``"euclidean"``.

    Returns
    -------
    float or numpy.ndarray
        0 for representations equal up to rotation (and, for ``angular``,
        isotropic scaling).

    Raises
    ------
    InferenceError
        Values that would overflow float64 (beyond
        :data:`~neuroalign.core.degenerate.OVERFLOW_LIMIT`) where the score depends on
        their scale (``euclidean``, or ``0 < alpha < 1``); otherwise such values are
        divided by a power of two first, which leaves the score unchanged.
    """
    metric = ShapeMetric(alpha=alpha, score=score)
    xa, ya = align_patterns(x, y, "the shape metric", min_conditions=2)
    (xs, x_scale), (ys, y_scale) = standardise(xa), standardise(ya)
    if x_scale != 1.0 or y_scale != 1.0:  # values of ~1e300 would overflow
        if metric.score_name != "angular" or 0.0 < metric.alpha < 1.0:
            raise InferenceError(
                f"shape metric: values up to {max(x_scale, y_scale):.3g} overflow float64, "
                f"and the {metric.score_name} score with alpha={metric.alpha:g} depends on "
                "their scale; divide the data by a common unit first (the angular score "
                "with alpha 0 or 1 is scale-invariant and takes them as they are)")
        xa, ya = xs, ys
    out = score_reduced(*_reduced_pair(xa, ya, metric.alpha), metric.score_name)
    if np.any(np.isnan(out)):
        raise ValidationError("shape metric: a representation has zero variance across conditions")
    return float(out) if np.ndim(out) == 0 else out
