"""CKA: the published formulas, invariances, the debiased estimator's null, bad input."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

from neuroalign.compare import center_gram, cka, gram_linear, gram_rbf, hsic_biased, hsic_unbiased
from neuroalign.compare.cka import cka_feature_linear
from neuroalign.core import ValidationError


def hsic_u_by_definition(k, l):  # noqa: E741
    """Song et al. 2012, eq. (5): the U-statistic averaged over all distinct 4-tuples."""
    n = k.shape[0]
    total = 0.0
    count = 0
    for i, j, q, r in permutations(range(n), 4):
        total += k[i, j] * l[i, j] + k[i, j] * l[q, r] - 2 * k[i, j] * l[i, q]
        count += 1
    return total / count


def test_unbiased_hsic_equals_u_statistic_definition():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3))
    y = rng.standard_normal((7, 4))
    k, l = gram_linear(x), gram_rbf(y)  # noqa: E741
    assert hsic_unbiased(k, l) == pytest.approx(hsic_u_by_definition(k, l), rel=1e-10)


def test_biased_hsic_and_centering_match_matrix_definitions():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((9, 3)), rng.standard_normal((9, 5))
    k, l = gram_linear(x), gram_linear(y)  # noqa: E741
    h = np.eye(9) - np.ones((9, 9)) / 9
    np.testing.assert_allclose(center_gram(k), h @ k @ h, atol=1e-12)
    assert hsic_biased(k, l) == pytest.approx(np.trace(k @ h @ l @ h) / 64, rel=1e-12)
    # Kornblith et al. 2019: linear CKA = ||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F), centred X, Y
    xc, yc = x - x.mean(0), y - y.mean(0)
    expect = np.linalg.norm(yc.T @ xc) ** 2 / (
        np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    assert cka(x, y, debiased=False) == pytest.approx(expect, rel=1e-12)


def test_rbf_gram_median_heuristic():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 4))
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    sigma = np.sqrt(np.median(d2[np.triu_indices(10, 1)]))
    np.testing.assert_allclose(gram_rbf(x), np.exp(-d2 / (2 * sigma**2)), atol=1e-12)
    np.testing.assert_allclose(gram_rbf(x, sigma=2.0), np.exp(-d2 / 8.0), atol=1e-12)


def test_debiased_near_zero_where_biased_is_high():
    rng = np.random.default_rng(3)
    deb, bia = [], []
    for _ in range(5):
        x = rng.standard_normal((50, 1000))
        y = rng.standard_normal((50, 1000))
        deb.append(cka(x, y))
        bia.append(cka(x, y, debiased=False))
    assert abs(np.mean(deb)) < 0.03
    assert np.max(np.abs(deb)) < 0.08
    assert 0.93 < np.mean(bia) < 0.97


@pytest.mark.parametrize("debiased", [True, False])
def test_feature_space_equals_gram_space(debiased):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 40, 5))  # batched, unequal unit counts
    y = x[..., :3] @ rng.standard_normal((3, 3, 7)) + rng.standard_normal((3, 40, 7))
    feat = cka(x, y, debiased=debiased, form="feature")
    gram = cka(x, y, debiased=debiased, form="gram")
    assert feat.shape == (3,)
    np.testing.assert_allclose(feat, gram, atol=1e-12)
    np.testing.assert_allclose(cka_feature_linear(x, y, debiased), gram, atol=1e-12)


rep = st.tuples(st.integers(6, 14), st.integers(2, 6), st.integers(0, 2**32 - 1))


@settings(max_examples=25, deadline=None)
@given(rep, st.sampled_from(["linear", "rbf"]), st.booleans(), st.floats(0.1, 10))
def test_invariant_to_rotation_scaling_and_unit_permutation(shape, kernel, debiased, scale):
    n, p, seed = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    y = x @ rng.standard_normal((p, p + 1)) + rng.standard_normal((n, p + 1))
    base = cka(x, y, kernel=kernel, debiased=debiased)
    q = ortho_group.rvs(p, random_state=seed % 2**31) if p > 1 else np.ones((1, 1))
    perm = rng.permutation(p + 1)
    assert cka(x @ q, y, kernel=kernel, debiased=debiased) == pytest.approx(base, abs=1e-9)
    assert cka(scale * x, y, kernel=kernel, debiased=debiased) == pytest.approx(base, abs=1e-9)
    assert cka(x, y[:, perm], kernel=kernel, debiased=debiased) == pytest.approx(base, abs=1e-9)
    assert cka(x, x, kernel=kernel, debiased=debiased) == pytest.approx(1.0, abs=1e-9)


def patterns(labels, units, seed):
    x = np.random.default_rng(seed).standard_normal((len(labels), units))
    return xr.DataArray(x, dims=("condition", "unit"), coords={"label": ("condition", labels)})


def test_dataarrays_align_by_label():
    labels = [f"c{i}" for i in range(8)]
    x = patterns(labels, 5, 0)
    y = x.isel(condition=[3, 1, 0, 7, 6, 5, 4, 2]).transpose("unit", "condition")
    assert cka(x, y) == pytest.approx(1.0)
    z = patterns(labels[::-1], 6, 1)
    assert cka(x, z) == pytest.approx(cka(x.values, z.values[::-1]))


def test_bad_input():
    labels = [f"c{i}" for i in range(8)]
    x = patterns(labels, 5, 0)
    with pytest.raises(ValidationError, match=r"share no condition label: x has \['c0'"):
        cka(x, patterns([f"d{i}" for i in range(8)], 5, 1))
    with pytest.raises(ValidationError, match="needs at least 4"):
        cka(x[:3], x[:3])
    with pytest.raises(ValidationError, match="expected one of linear, rbf"):
        cka(x, x, kernel="poly")
    with pytest.raises(ValidationError, match="zero variance"):
        cka(x, x.copy(data=np.ones(x.shape)))
    with pytest.raises(ValidationError, match=r"dims \('repetition', 'condition', 'unit'\)"):
        cka(x.expand_dims("repetition"), x)
    with pytest.raises(ValidationError, match="contain NaN"):
        cka(x, x.where(x > 0))
    with pytest.raises(ValidationError, match="different numbers of conditions"):
        cka(np.zeros((5, 2)), np.zeros((6, 2)))
