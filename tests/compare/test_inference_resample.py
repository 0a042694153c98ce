"""Resampling primitives, intervals and p-values of neuroalign.compare.inference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from neuroalign.compare.inference import (
    InferenceResult,
    bootstrap_indices,
    check_permutation_power,
    confidence_interval,
    index_counts,
    kfold_indices,
    p_value,
    permutation_indices,
    spearman_brown,
    two_level_bootstrap_indices,
)
from neuroalign.core.errors import InferenceError, ValidationError


def test_bootstrap_indices_shape_range_and_seed():
    a = bootstrap_indices(7, 50, 3)
    assert a.shape == (50, 7) and a.min() >= 0 and a.max() <= 6
    np.testing.assert_array_equal(a, bootstrap_indices(7, 50, np.random.default_rng(3)))
    assert not np.array_equal(a, bootstrap_indices(7, 50, 4))


def test_bootstrap_indices_stratified_keeps_groups():
    groups = np.array([0, 0, 1, 1, 1, 2])
    idx = bootstrap_indices(6, 200, 0, groups=groups)
    np.testing.assert_array_equal(groups[idx], np.broadcast_to(groups, idx.shape))
    # the singleton group can only draw itself; the others do vary
    assert np.all(idx[:, 5] == 5)
    assert len(np.unique(idx[:, 2:5])) == 3


def test_two_level_bootstrap_respects_inner_sizes():
    outer, inner = two_level_bootstrap_indices(3, [2, 5, 1], 100, 1)
    assert outer.shape == (100, 3) and inner.shape == (100, 3, 5)
    sizes = np.array([2, 5, 1])[outer]
    for k in range(5):
        used = k < sizes
        assert np.all(inner[..., k][~used] == -1)
        assert np.all((inner[..., k][used] >= 0) & (inner[..., k][used] < sizes[used]))
    assert np.all(inner[outer == 2][:, 0] == 0)


def test_permutation_indices_exact_and_monte_carlo():
    exact = permutation_indices(4, 100, 0)
    assert exact.exact and exact.indices.shape == (24, 4)
    np.testing.assert_array_equal(exact.indices[0], np.arange(4))
    assert len({tuple(r) for r in exact.indices}) == 24
    mc = permutation_indices(6, 100, 0)
    assert not mc.exact and mc.indices.shape == (100, 6)
    np.testing.assert_array_equal(np.sort(mc.indices, axis=1), np.broadcast_to(np.arange(6),
                                                                                 (100, 6)))
    forced = permutation_indices(4, 10, 0, exact=False)
    assert not forced.exact and forced.indices.shape == (10, 4)
    with pytest.raises(InferenceError, match="too many to enumerate"):
        permutation_indices(12, 10, 0, exact=True)


def test_index_counts_ignores_padding():
    counts = index_counts(np.array([[0, 0, 2], [1, -1, -1]]), 3)
    np.testing.assert_array_equal(counts, [[2, 0, 1], [0, 1, 0]])


def test_kfold_partitions_items_and_groups():
    folds = kfold_indices(10, 3, 0)
    tests = np.concatenate([t for _, t in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(10))
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0 and train.size + test.size == 10
    runs = np.repeat(np.arange(4), 3)
    for train, test in kfold_indices(12, 4, 1, groups=runs):
        assert np.unique(runs[test]).size == 1
        assert np.intersect1d(runs[train], runs[test]).size == 0
    with pytest.raises(InferenceError, match="n_folds=5 is more than the 4 groups"):
        kfold_indices(12, 5, groups=runs)


def test_exact_p_value_matches_hand_enumeration():
    x = np.array([1.0, 2.0, 3.0, 5.0])
    y = np.array([1.5, 1.0, 3.5, 4.0])
    perms = permutation_indices(4, 1000, 0)
    null = np.array([np.corrcoef(x[p], y)[0, 1] for p in perms.indices])
    obs = np.corrcoef(x, y)[0, 1]
    hand = sum(np.corrcoef(x[list(p)], y)[0, 1] >= obs - 1e-12
               for p in itertools.permutations(range(4))) / 24
    assert p_value(null, obs, "greater", exact=True) == pytest.approx(hand)
    hand_less = sum(np.corrcoef(x[list(p)], y)[0, 1] <= obs + 1e-12
                    for p in itertools.permutations(range(4))) / 24
    assert p_value(null, obs, "less", exact=True) == pytest.approx(hand_less)
    assert p_value(null, obs, "two-sided", exact=True) == pytest.approx(
        min(1.0, 2 * min(hand, hand_less)))


def test_monte_carlo_p_value_counts_the_observation():
    null = np.array([0.1, 0.5, 0.9, 0.2])
    assert p_value(null, 0.5) == pytest.approx((1 + 2) / 5)
    assert p_value(null, 2.0) == pytest.approx(1 / 5)
    # batched over a trailing axis
    got = p_value(np.stack([null, -null], axis=1), np.array([0.5, -0.15]))
    np.testing.assert_allclose(got, [(1 + 2) / 5, (1 + 1) / 5])
    with pytest.raises(InferenceError, match="NaN"):
        p_value(null, np.nan)


def test_percentile_interval_coverage_on_normal_mean():
    """Bootstrap percentile intervals of a mean cover the truth about 90% of the time."""
    rng = np.random.default_rng(0)
    hits = 0
    n_rep = 300
    for _ in range(n_rep):
        sample = rng.normal(size=40)
        idx = bootstrap_indices(40, 400, rng)
        boot = sample[idx].mean(axis=1)
        low, high = confidence_interval(boot, level=0.9)
        hits += low <= 0.0 <= high
    assert 0.83 <= hits / n_rep <= 0.96


def test_interval_methods_on_known_values():
    vals = np.arange(101.0)
    low, high = confidence_interval(vals, 0.9)
    assert (low, high) == pytest.approx((5.0, 95.0))
    low, high = confidence_interval(vals, 0.9, "basic", estimate=50.0)
    assert (low, high) == pytest.approx((5.0, 95.0))
    low, high = confidence_interval(vals, 0.9, "basic", estimate=60.0)
    assert (low, high) == pytest.approx((25.0, 115.0))
    low, high = confidence_interval(vals, 0.95, "normal", estimate=0.0)
    sd = vals.std(ddof=1)
    assert (low, high) == pytest.approx((-1.959964 * sd, 1.959964 * sd), rel=1e-5)
    with_nan = np.append(vals, np.nan)
    assert confidence_interval(with_nan, 0.9) == pytest.approx((5.0, 95.0))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: bootstrap_indices(5, 0, 0), ValidationError,
         "n_boot: got 0; expected a positive integer"),
        (lambda: bootstrap_indices(5, 2.5, 0), ValidationError,
         "n_boot: got 2.5; expected a positive integer"),
        (lambda: bootstrap_indices(3, 2, 0, groups=[0, 1]), ValidationError, r"shape \(3,\)"),
        (lambda: confidence_interval(np.ones(9), 1.5), ValidationError, r"open interval \(0, 1\)"),
        (lambda: confidence_interval(np.ones(9), method="bca"), ValidationError,
         "method: got 'bca'; expected one of 'percentile', 'basic', 'normal'"),
        (lambda: confidence_interval(np.ones(9), method="basic"), ValidationError,
         "needs the estimate"),
        (lambda: confidence_interval(np.ones(1)), InferenceError, "at least 2 resamples"),
        (lambda: p_value(np.ones(3), 1.0, "bigger"), ValidationError,
         "alternative: got 'bigger'; expected one of 'greater', 'less', 'two-sided'"),
        (lambda: permutation_indices(4, 10, 0, exact="yes"), ValidationError,
         "exact: got 'yes'; expected one of"),
        (lambda: bootstrap_indices(4, 3, rng="seed"), ValidationError,
         "rng: got str; expected a numpy Generator"),
    ],
)
def test_bad_parameters(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_permutation_power_check():
    with pytest.raises(InferenceError, match=r"3 conditions .* smallest possible greater "
                                             r"p-value is 0\.1667"):
        check_permutation_power(3, 1000, 0.05)
    check_permutation_power(4, 1000, 0.05)
    with pytest.raises(InferenceError, match=r"two-sided p-value is 0\.08333"):
        check_permutation_power(4, 1000, 0.05, "two-sided")
    with pytest.raises(InferenceError, match="n_perm=10"):
        check_permutation_power(10, 10, 0.05)


def test_spearman_brown_and_result_row():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.5, 3) == pytest.approx(0.75)
    row = InferenceResult(measure="cka", estimate=0.3, extra={"region": "BLA"}).to_row()
    assert list(row)[:4] == ["measure", "model", "estimate", "ci_low"]
    assert row["region"] == "BLA" and math.isnan(row["p_value"])
