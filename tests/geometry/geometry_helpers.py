"""Small planted-geometry generator for the geometry tests (independent of simulate).

Paths are built so that the true sharpness is known exactly: each step of a
valence's condition means moves along a random unit direction by a chosen size,
so the per-unit euclidean step length between consecutive true means is that size.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from neuroalign.core.contracts import condition_coords


def true_sharpness(steps: np.ndarray, w: int = 1) -> float:
    """Sharpness of a path with the given step lengths (index 0 = final step)."""
    steps = np.asarray(steps, dtype=float)
    return float(steps[:w].sum() / steps.sum())


def planted_means(
    steps: dict[int, np.ndarray], n_units: int, rng: np.random.Generator, base: float = 4.0
) -> dict[int, np.ndarray]:
    """True condition means per valence, ``(K + 1, n_units)``, approach ascending.

    ``steps[v][a]`` is the euclidean length (per unit) of the step from ``a + 1``
    to ``a``; every step moves along its own random unit direction.
    """
    k = len(next(iter(steps.values())))
    out = {}
    for v, s in steps.items():
        s = np.asarray(s, dtype=float)
        dirs = rng.normal(size=(k, n_units))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        path = np.zeros((k + 1, n_units))
        for a in range(k - 1, -1, -1):  # from approach K down to 0
            path[a] = path[a + 1] + s[a] * np.sqrt(n_units) * dirs[a]
        out[v] = base + path
    return out


def sample_patterns(
    means: dict[int, np.ndarray],
    n_reps: int,
    rng: np.random.Generator,
    noise: float = 1.0,
) -> xr.DataArray:
    """Gaussian repetitions around the means as a contract DataArray."""
    vals = list(means)
    k1 = next(iter(means.values())).shape[0]
    blocks = []
    for v in vals:
        m = means[v][::-1]  # contract layout: approach descending
        blocks.append(m[None] + noise * rng.normal(size=(n_reps, *m.shape)))
    data = np.concatenate(blocks, axis=1)
    da = xr.DataArray(data, dims=("repetition", "condition", "unit"))
    return da.assign_coords(condition_coords(vals, range(k1)))


def wall_funnel(
    wall: int, n_units: int = 30, n_reps: int = 40, k: int = 5, size: float = 0.5,
    noise: float = 1.0, rng: np.random.Generator | None = None,
) -> tuple[xr.DataArray, dict[int, np.ndarray]]:
    """A wall around valence ``wall`` and a funnel around the other (0: both funnels)."""
    rng = rng or np.random.default_rng(0)
    funnel = np.full(k, size)
    wall_steps = np.r_[size * k * 0.8, np.full(k - 1, size * k * 0.05)]
    steps = {v: (wall_steps if v == wall else funnel) for v in (1, -1)}
    means = planted_means(steps, n_units, rng)
    return sample_patterns(means, n_reps, rng, noise), steps
