"""Shape metrics: Procrustes and CCA references, metric properties, estimator API."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from neuroalign.compare import ShapeMetric, shape_distance
from neuroalign.core import ValidationError


def test_procrustes_equals_scipy_reference():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 4)), rng.standard_normal((20, 4))
    xc, yc = x - x.mean(0), y - y.mean(0)
    r, _ = orthogonal_procrustes(xc, yc)
    cos = np.sum((xc @ r) * yc) / (np.linalg.norm(xc) * np.linalg.norm(yc))
    assert shape_distance(x, y) == pytest.approx(np.arccos(cos), abs=1e-10)
    rms = np.linalg.norm(xc @ r - yc) / np.sqrt(20)
    assert shape_distance(x, y, score="euclidean") == pytest.approx(rms, abs=1e-10)


def test_cca_angle_is_mean_canonical_correlation():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 3))
    y = x @ rng.standard_normal((3, 3)) + rng.standard_normal((40, 3))
    qx, _ = np.linalg.qr(x - x.mean(0))
    qy, _ = np.linalg.qr(y - y.mean(0))
    rho = np.linalg.svd(qx.T @ qy, compute_uv=False)  # canonical correlations
    assert shape_distance(x, y, alpha=0.0) == pytest.approx(np.arccos(rho.mean()), abs=1e-8)
    # CCA is invariant to any invertible linear map of the units
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    assert shape_distance(x @ a, y, alpha=0.0) == pytest.approx(
        shape_distance(x, y, alpha=0.0), abs=1e-8)


def two_reps(shape):
    n, p, seed = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    y = x @ rng.standard_normal((p, p)) + rng.standard_normal((n, p))
    return rng, x, y


shapes = st.tuples(st.integers(6, 15), st.integers(2, 5), st.integers(0, 2**31 - 1))


@settings(max_examples=25, deadline=None)
@given(shapes, st.floats(0.1, 10), st.sampled_from([0.0, 1.0]))
def test_invariances_and_identity(shape, scale, alpha):
    rng, x, y = two_reps(shape)
    p = x.shape[1]
    base = shape_distance(x, y, alpha=alpha)
    q = ortho_group.rvs(p, random_state=shape[2])
    perm = rng.permutation(p)
    assert shape_distance(x @ q, y, alpha=alpha) == pytest.approx(base, abs=1e-7)
    assert shape_distance(scale * x, y, alpha=alpha) == pytest.approx(base, abs=1e-7)
    assert shape_distance(x[:, perm], y, alpha=alpha) == pytest.approx(base, abs=1e-7)
    assert shape_distance(x + 5.0, y, alpha=alpha) == pytest.approx(base, abs=1e-7)
    assert shape_distance(x, scale * x @ q, alpha=alpha) == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(5, 12), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_angular_procrustes_triangle_inequality_and_symmetry(n, p, seed):
    rng = np.random.default_rng(seed)
    a, b, c = (rng.standard_normal((n, p + k)) for k in range(3))  # unequal unit counts
    ab, bc, ac = shape_distance(a, b), shape_distance(b, c), shape_distance(a, c)
    assert ac <= ab + bc + 1e-9
    assert ab == pytest.approx(shape_distance(b, a), abs=1e-9)
    assert 0.0 <= ab <= np.pi / 2 + 1e-12


def test_zero_padding_for_unequal_units():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((12, 3))
    y = np.concatenate([x @ ortho_group.rvs(3, random_state=1), np.zeros((12, 2))], axis=1)
    assert shape_distance(x, y) == pytest.approx(0.0, abs=1e-7)


def test_estimator_fit_then_score_on_held_out():
    rng = np.random.default_rng(3)
    q = ortho_group.rvs(4, random_state=3)
    x = rng.standard_normal((60, 4))
    y = x @ q + 0.05 * rng.standard_normal((60, 4))
    metric = ShapeMetric(alpha=1.0, score="angular").fit(x[:40], y[:40])
    assert metric.rotation_.shape == (4, 4)
    np.testing.assert_allclose(metric.rotation_ @ metric.rotation_.T, np.eye(4), atol=1e-10)
    held_out = metric.score(x[40:], y[40:])
    assert held_out < 0.1
    unrelated = metric.score(x[40:], rng.standard_normal((20, 4)))
    assert unrelated > 0.8
    assert repr(metric) == "ShapeMetric(alpha=1.0, score='angular')"


def test_dataarrays_align_by_label():
    labels = [f"c{i}" for i in range(8)]
    x = xr.DataArray(np.random.default_rng(0).standard_normal((8, 3)),
                     dims=("condition", "unit"), coords={"label": ("condition", labels)})
    y = x.isel(condition=[7, 6, 5, 4, 3, 2, 1, 0])
    assert shape_distance(x, y) == pytest.approx(0.0, abs=1e-7)


def test_batched_leading_dims():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((3, 10, 4)), rng.standard_normal((3, 10, 2))
    out = shape_distance(x, y)
    assert out.shape == (3,)
    assert out[1] == pytest.approx(shape_distance(x[1], y[1]))


def _reference_distance(x, y, alpha, score):
    """Straightforward estimator: whiten in unit space, zero-pad, full SVD, score."""

    def whiten(a):
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
        return np.linalg.norm(xr - yw) / np.sqrt(x.shape[0])
    c = np.sum(xr * yw) / (np.linalg.norm(xr) * np.linalg.norm(yw))
    return np.arccos(np.clip(c, -1.0, 1.0))


@pytest.mark.parametrize("score", ["angular", "euclidean"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("units", [(40, 64), (64, 64), (30, 5), (5, 3), (12, 12), (3, 20)])
def test_reduced_computation_matches_unit_space_reference(units, alpha, score):
    rng = np.random.default_rng(sum(units))
    n = 12  # conditions: fewer, equal to or more than the units of either side
    px, py = units
    x = rng.standard_normal((n, px)) * rng.uniform(0.2, 3.0, px)
    y = x[:, :py] @ rng.standard_normal((py, py)) if py <= px else rng.standard_normal((n, py))
    y = y + rng.standard_normal((n, py))
    near = np.pad(x @ ortho_group.rvs(px, random_state=px), ((0, 0), (0, max(py - px, 0))))
    near = near[:, :py] + 0.01 * rng.standard_normal((n, py)) + 1.0  # close to a rotation
    xb = np.stack([x, 2.0 * x[::-1], x])
    yb = np.stack([y, y[::-1] + 0.1, near])
    got = [shape_distance(a, b, alpha=alpha, score=score) for a, b in zip(xb, yb, strict=True)]
    want = [_reference_distance(a, b, alpha, score) for a, b in zip(xb, yb, strict=True)]
    # a true distance of 0 is only resolved to ~sqrt(eps) by arccos near 1, in both
    tol = np.where(np.asarray(want) < 1e-7, 1e-7, 1e-10)
    assert np.all(np.abs(np.asarray(got) - want) < tol), (got, want)
    # batched input gives the same values as one pair at a time
    np.testing.assert_allclose(shape_distance(xb, yb, alpha=alpha, score=score), got,
                               rtol=0, atol=1e-10)


def test_reduced_computation_identical_inputs_give_zero():
    x = np.random.default_rng(5).standard_normal((12, 80))
    assert shape_distance(x, x) == pytest.approx(0.0, abs=1e-7)  # arccos near 1: ~sqrt(eps)
    assert shape_distance(x, x, score="euclidean") < 1e-12


def test_bad_input():
    with pytest.raises(ValidationError, match=r"alpha: got 1.5; expected a number in \[0, 1\]"):
        ShapeMetric(alpha=1.5)
    with pytest.raises(ValidationError, match="expected one of angular, euclidean"):
        ShapeMetric(score="cosine")
    with pytest.raises(ValidationError, match="call fit"):
        ShapeMetric().score(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValidationError, match="different numbers of conditions"):
        shape_distance(np.zeros((4, 2)), np.zeros((5, 2)))
    with pytest.raises(ValidationError, match="zero variance"):
        shape_distance(np.ones((4, 2)), np.random.default_rng(0).random((4, 2)))
    with pytest.raises(ValidationError, match=r"1 condition\(s\)"):
        shape_distance(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ValidationError, match="contain NaN"):
        shape_distance(np.full((4, 2), np.nan), np.zeros((4, 2)))
