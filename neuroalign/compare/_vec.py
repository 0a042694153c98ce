"""Upper-triangle vector utilities shared by the RDM modules (no xarray here)."""

from __future__ import annotations

import numpy as np

from neuroalign.core.errors import ValidationError

__all__ = ["n_from_length", "square_from_vector", "upper_tri"]


def n_from_length(p: int) -> int:
    """Number of conditions ``n`` with ``n * (n - 1) / 2 == p``.

    Raises
    ------
    ValidationError
        If ``p`` is not a triangular number.
    """
    n = round((1 + np.sqrt(1 + 8 * p)) / 2)
    if n * (n - 1) // 2 != p:
        raise ValidationError(
            f"RDM vector length {p} is not n*(n-1)/2 for any number of conditions n"
        )
    return n


def upper_tri(rdm_matrix: np.ndarray) -> np.ndarray:
    """Upper triangle (above the diagonal, row-major) of square matrices.

    Parameters
    ----------
    rdm_matrix
        Array of shape ``(..., n, n)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n * (n - 1) / 2)``, in the order of
        ``numpy.triu_indices(n, k=1)`` (the order of ``scipy.spatial.distance.squareform``
        and of rsatoolbox's RDM vectors).
    """
    m = np.asarray(rdm_matrix)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        raise ValidationError(
            f"rdm_matrix: expected shape (..., n, n); got {m.shape}"
        )
    iu, ju = np.triu_indices(m.shape[-1], k=1)
    return m[..., iu, ju]


def square_from_vector(vec: np.ndarray, n: int | None = None) -> np.ndarray:
    """Symmetric matrices with a zero diagonal from upper-triangle vectors.

    Parameters
    ----------
    vec
        Array of shape ``(..., p)`` with ``p = n * (n - 1) / 2``.
    n
        Number of conditions; inferred from ``p`` when omitted.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n, n)``.
    """
    v = np.asarray(vec)
    if v.ndim < 1:
        raise ValidationError("vec: expected an array of shape (..., p); got a scalar")
    p = v.shape[-1]
    n_inf = n_from_length(p)
    if n is not None and int(n) != n_inf:
        raise ValidationError(
            f"vec: length {p} fits {n_inf} conditions, but n={n} was given"
        )
    out = np.zeros((*v.shape[:-1], n_inf, n_inf), dtype=np.result_type(v.dtype, np.float64))
    iu, ju = np.triu_indices(n_inf, k=1)
    out[..., iu, ju] = v
    out[..., ju, iu] = v
    return out
