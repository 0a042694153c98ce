"""Leave-one-subject-out noise ceilings of RDM comparisons, for many resamples at once.

Pooling follows rsatoolbox's ``pool_rdm``: subject RDMs are z-scored (Pearson), ranked
(Spearman) or RMS-normalised (cosine) over the pairs of the resample, then averaged.
"""

from __future__ import annotations

import numpy as np

from neuroalign.compare.inference.weighted import weighted_corr, weighted_rank

__all__ = ["noise_ceiling_moments", "noise_ceiling_ranked"]


def _pool(y: np.ndarray, w: np.ndarray, method: str) -> np.ndarray:
    """Subject vectors in the space where pooling is averaging (rsatoolbox's pool_rdm)."""
    wsum = w.sum(-1, keepdims=True)
    if method == "pearson":
        mu = (y * w).sum(-1, keepdims=True) / wsum
        sd = np.sqrt((((y - mu) ** 2) * w).sum(-1, keepdims=True) / wsum)
        return (y - mu) / sd
    if method == "cosine":
        return y / np.sqrt((y * y * w).sum(-1, keepdims=True) / wsum)
    return y  # spearman: y already holds weighted ranks


def noise_ceiling_ranked(
    yt: np.ndarray, w: np.ndarray, cs: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-subject-out bounds for each resample (rows of ``w`` and ``cs``).

    Pairs of conditions absent from a resample carry no weight; they are dropped
    first (each row keeps its weighted pairs, padded with zero weights) so that the
    re-ranking of the pooled vectors sorts only the pairs that count.
    """
    keep = w > 0
    q = int(keep.sum(-1).max())
    pos = np.argsort(~keep, axis=-1, kind="stable")[:, :q]
    w = np.take_along_axis(w, pos, axis=-1)
    yt = np.take_along_axis(yt, np.broadcast_to(pos[:, None, :], (*yt.shape[:2], q)), axis=-1)
    wb = w[:, None, :]
    center = method != "cosine"
    z = _pool(yt, wb, method)  # (B, S, p)
    total = np.einsum("bs,bsp->bp", cs, z)
    n_sel = cs.sum(-1)
    upper_vec = total / n_sel[:, None]
    if method == "spearman":
        upper_vec = weighted_rank(upper_vec, w)
    upper = weighted_corr(upper_vec[:, None, :], yt, wb, center=center)  # (B, S)
    present = cs > 0
    single = present.sum(-1) == 1
    rest = total[:, None, :] - cs[..., None] * z
    rest = np.where(single[:, None, None], total[:, None, :], rest)
    if method == "spearman":
        rest = weighted_rank(rest, wb)
    lower = weighted_corr(rest, yt, wb, center=center)
    n_present = present.sum(-1)
    low = np.where(present, lower, 0.0).sum(-1) / n_present
    high = np.where(present, upper, 0.0).sum(-1) / n_present
    return low, high


def noise_ceiling_moments(
    y: np.ndarray, w: np.ndarray, cs: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-subject-out bounds for Pearson and cosine from weighted moments.

    Pooled vectors are linear in the subject vectors, so every sum the correlation
    needs is a matrix product of the weights with ``y`` and ``y ** 2``: no
    (resample, subject, pair) array is formed.
    """
    big_w = w.sum(-1)[:, None]  # (B, 1)
    m1 = w @ y.T / big_w  # weighted means (B, S)
    m2 = w @ (y * y).T / big_w
    if method == "pearson":
        scale = np.sqrt(np.maximum(m2 - m1 * m1, 0.0))  # pooled z-scores
        shift = m1
    else:
        scale = np.sqrt(m2)  # pooled RMS-normalised vectors
        shift = np.zeros_like(m1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = cs / scale
        a = np.where(cs > 0, a, 0.0)
        total = a @ y - (a * shift).sum(-1, keepdims=True)  # (B, p), pooled sum
        wt = w * total
        g = wt @ y.T  # (w T) . y_t  (B, S)
        s_t = wt.sum(-1, keepdims=True)
        s_tt = (wt * total).sum(-1, keepdims=True)
        s_y = big_w * m1
        s_yy = big_w * m2
        # (w z_t) . y_t, (w T) . z_t and w . z_t^2 for the pooled form z_t of subject t
        zy = big_w * (m2 - m1 * shift) / scale
        tz = (g - shift * s_t) / scale
        zz = big_w * (m2 - 2 * m1 * shift + shift * shift) / (scale * scale)
        s_z = big_w * (m1 - shift) / scale
        single = ((cs > 0).sum(-1) == 1)[:, None]
        c = np.where(single, 0.0, cs)
        up = _corr_from_sums(g, s_t, s_tt, s_y, s_yy, big_w, method)
        lo = _corr_from_sums(g - c * zy, s_t - c * s_z, s_tt - 2 * c * tz + c * c * zz,
                             s_y, s_yy, big_w, method)
    present = cs > 0
    n_present = present.sum(-1)
    return (np.where(present, lo, 0.0).sum(-1) / n_present,
            np.where(present, up, 0.0).sum(-1) / n_present)


def _corr_from_sums(s_uy, s_u, s_uu, s_y, s_yy, big_w, method):
    """Weighted Pearson or cosine from the weighted sums of u, y, u^2, y^2 and u y."""
    if method == "cosine":
        return s_uy / np.sqrt(s_uu * s_yy)
    cov = s_uy - s_u * s_y / big_w
    return cov / np.sqrt((s_uu - s_u * s_u / big_w) * (s_yy - s_y * s_y / big_w))
