"""Batched resampling of the shape metric and CKA equals a per-replicate loop.

The reference is the per-replicate computation: one resample at a time, the shape
distance from the unit-space estimator (centre, whiten, zero-pad, full SVD, rotate,
score) and CKA from the published formula. The caches of the inference layer give
the same numbers as no caches and are filled once per input.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroalign.compare.inference import (
    bootstrap_indices,
    cka_measure,
    evaluate,
    evaluate_results,
    permutation_indices,
    shape_measure,
)
from neuroalign.compare.inference import pattern_resampling as pr
from neuroalign.compare.shape import reduce_representation, score_reduced
from neuroalign.core.errors import ValidationError


def ref_shape(x: np.ndarray, y: np.ndarray, alpha: float = 1.0,
              score: str = "angular") -> float:
    """One shape distance in unit space: whiten, zero-pad, full SVD, rotate, score."""

    def whiten(a: np.ndarray) -> np.ndarray:
        a = a - a.mean(axis=0)
        if alpha >= 1.0:
            return a
        lam, vec = np.linalg.eigh(a.T @ a / a.shape[0])
        lam = np.maximum(lam, 1e-10 * max(lam.max(), 1e-10))
        return a @ (vec @ np.diag(alpha + (1.0 - alpha) / np.sqrt(lam)) @ vec.T)

    xw, yw = whiten(x), whiten(y)
    p = max(xw.shape[1], yw.shape[1])
    xw = np.pad(xw, ((0, 0), (0, p - xw.shape[1])))
    yw = np.pad(yw, ((0, 0), (0, p - yw.shape[1])))
    u, _, vt = np.linalg.svd(xw.T @ yw)
    xr = xw @ u @ vt
    if score == "euclidean":
        return float(np.linalg.norm(xr - yw) / np.sqrt(x.shape[0]))
    c = np.sum(xr * yw) / (np.linalg.norm(xr) * np.linalg.norm(yw))
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


def ref_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA from Song et al. (2012), one pair at a time."""

    def hsic(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
        n = k.shape[0]
        k, l = k.copy(), l.copy()  # noqa: E741
        np.fill_diagonal(k, 0)
        np.fill_diagonal(l, 0)
        one = np.ones(n)
        return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))

    k, l = x @ x.T, y @ y.T  # noqa: E741
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def _close(got: np.ndarray, want: list[float]) -> None:
    """Equal to 1e-10; a true angular distance of 0 (e.g. CCA with more units than
    conditions) is resolved only to ~sqrt(eps) by arccos near 1, by either side."""
    want_a = np.asarray(want, dtype=float)
    tol = np.where(want_a < 1e-7, 1e-7, 1e-10)
    assert np.all(np.abs(np.asarray(got) - want_a) <= tol), (got, want_a)


def _patterns(n_rep: int, n: int, units: int, seed: int, rank: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, rank or units))
    if rank is not None:  # fewer independent directions than units (degenerate)
        base = base @ rng.normal(size=(rank, units))
    return base + 0.7 * rng.normal(size=(n_rep, n, units))


SHAPES = [  # (conditions, model units, brain units, brain rank)
    (12, 64, 40, None),   # both wider than the conditions: reduced to n x n
    (12, 2, 40, None),    # a 2-unit layer against a wide region
    (12, 12, 12, None),   # square
    (6, 3, 20, None),
    (12, 30, 25, 3),      # brain of rank 3 + noise on 25 units
    (12, 1, 5, None),     # a single unit
]


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
@pytest.mark.parametrize(("n", "px", "py", "rank"), SHAPES)
def test_shape_resampling_equals_per_replicate_loop(n, px, py, rank, alpha):
    x = _patterns(5, n, px, 1)
    y = _patterns(9, n, py, 2, rank)
    m = shape_measure(alpha=alpha)
    rng = np.random.default_rng(3)
    boot = pr.boot_repetitions(m, x, [y], 12, rng)
    rng = np.random.default_rng(3)
    xi, yi = bootstrap_indices(5, 12, rng), bootstrap_indices(9, 12, rng)
    want = [ref_shape(x[a].mean(0), y[b].mean(0), alpha) for a, b in zip(xi, yi, strict=True)]
    _close(boot, want)

    perms = permutation_indices(n, 15, 4).indices
    null = pr.permutation_null(m, x, [y], perms)
    want = [ref_shape(x.mean(0)[p], y.mean(0), alpha) for p in perms]
    _close(null, want)

    idx = bootstrap_indices(n, 10, 5)  # repeated conditions: re-centred per resample
    boot_c = pr.boot_conditions(m, x, [y], idx)
    want = [ref_shape(x.mean(0)[i], y.mean(0)[i], alpha) for i in idx]
    _close(boot_c, want)

    half, _ = pr.split_half_ceiling(m, [y], 6, 7)
    order = np.argsort(np.random.default_rng(7).random((6, 9)), axis=1)
    want = np.mean([ref_shape(y[o[:4]].mean(0), y[o[4:8]].mean(0), alpha) for o in order])
    _close(np.array([half]), [want])


@pytest.mark.parametrize("score", ["angular", "euclidean"])
def test_reduced_scores_broadcast_like_pairs(score):
    rng = np.random.default_rng(8)
    xs, y = rng.normal(size=(7, 10, 30)), rng.normal(size=(10, 4))
    got = score_reduced(reduce_representation(xs), reduce_representation(y), score)
    want = [ref_shape(a, y, 1.0, score) for a in xs]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    # relabelling conditions commutes with the reduction (the permutation shortcut)
    p = rng.permutation(10)
    np.testing.assert_allclose(score_reduced(reduce_representation(xs[:, p]),
                                             reduce_representation(y), score),
                               score_reduced(reduce_representation(xs)[:, p],
                                             reduce_representation(y), score),
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize(("n", "px", "py", "rank"), SHAPES[:5])
def test_cka_resampling_equals_per_replicate_loop(n, px, py, rank):
    x, y = _patterns(5, n, px, 11), _patterns(9, n, py, 12, rank)
    m = cka_measure()
    boot = pr.boot_repetitions(m, x, [y], 12, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    xi, yi = bootstrap_indices(5, 12, rng), bootstrap_indices(9, 12, rng)
    want = [ref_cka(x[a].mean(0), y[b].mean(0)) for a, b in zip(xi, yi, strict=True)]
    np.testing.assert_allclose(boot, want, rtol=0, atol=1e-10)


def test_degenerate_resample_is_refused_like_one_distance():
    x = _patterns(4, 8, 6, 1)
    y = np.ones((5, 8, 3)) * np.arange(5.0)[:, None, None]  # no variance across conditions
    m = shape_measure()
    with pytest.raises(ValidationError, match="zero variance across conditions"):
        pr.boot_repetitions(m, x, [y], 20, np.random.default_rng(0))
    y = _patterns(5, 8, 3, 2)
    y[1, 2, 0] = np.nan
    with pytest.raises(ValidationError, match="contain NaN"):
        pr.boot_repetitions(m, x, [y], 20, np.random.default_rng(0))
    with pytest.raises(ValidationError, match=r"alpha: got 2; expected a number in \[0, 1\]"):
        shape_measure(alpha=2)


@pytest.mark.parametrize("measure", ["shape", "cka"])
def test_caches_give_the_same_table_and_fill_once(measure):
    models = [_patterns(6, 12, p, s) for s, p in ((1, 16), (2, 30), (3, 3))]
    brain = _patterns(20, 12, 25, 9)
    kw = {"bootstrap": "repetitions", "n_boot": 50, "permutation": True, "n_perm": 50,
          "noise_ceiling": True, "n_splits": 8, "seed": 4}
    brain_cache: dict = {}
    for model in models:
        plain = evaluate(measure, model, brain, **kw)
        model_cache: dict = {}
        cached = evaluate(measure, model, brain, caches=(model_cache, brain_cache), **kw)
        assert plain.equals(cached)
        n_brain = len(brain_cache)
        again = evaluate_results(measure, model, brain, caches=(model_cache, brain_cache),
                                 **kw)[0]
        assert len(brain_cache) == n_brain  # nothing new for an input seen before
        assert again.estimate == cached.estimate[0] and again.ci_low == cached.ci_low[0]
    # the brain's share (its average, resamples, split halves) is kept once for all models
    assert len(brain_cache) == 3
    with pytest.raises(ValidationError, match="caches: got dict; expected None or a pair"):
        evaluate(measure, models[0], brain, caches={})
