"""Inference on pattern measures (CKA, shape, predictivity, callables)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neuroalign.compare.inference import (
    bootstrap_indices,
    cka_measure,
    evaluate,
    permutation_indices,
    spearman_brown,
    split_half_ceiling,
)
from neuroalign.compare.inference import pattern_resampling as pr
from neuroalign.core.errors import InferenceError, ValidationError


def ref_cka(x, y, debiased=True):
    """Linear CKA written from Kornblith et al. (2019) and Song et al. (2012)."""
    def hsic(k, l):  # noqa: E741
        n = k.shape[0]
        if not debiased:
            h = np.eye(n) - 1.0 / n
            return np.trace(k @ h @ l @ h) / (n - 1) ** 2
        k, l = k.copy(), l.copy()  # noqa: E741
        np.fill_diagonal(k, 0)
        np.fill_diagonal(l, 0)
        one = np.ones(n)
        return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))

    k, l = x @ x.T, y @ y.T  # noqa: E741
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n, reps = 12, 6
    latent = rng.normal(size=(n, 5))
    model = latent @ rng.normal(size=(5, 20)) + 0.5 * rng.normal(size=(n, 20))
    brain = latent @ rng.normal(size=(5, 15)) + rng.normal(size=(reps, n, 15))
    return model, brain


@pytest.mark.parametrize("debiased", [True, False])
def test_cka_estimate_equals_published_formula(data, debiased):
    model, brain = data
    table = evaluate("cka", model, brain, measure_kwargs={"debiased": debiased})
    assert table.estimate[0] == pytest.approx(ref_cka(model, brain.mean(0), debiased), abs=1e-10)
    assert table.measure[0] == ("cka_linear" if debiased else "cka_linear_biased")


def test_cka_permutation_null_equals_recomputed_grams(data):
    model, brain = data
    perms = permutation_indices(12, 15, 3).indices
    null = pr.permutation_null(cka_measure(), model, [brain], perms)
    expect = [ref_cka(model[p], brain.mean(0)) for p in perms]
    np.testing.assert_allclose(null, expect, atol=1e-10)


def test_cka_condition_bootstrap_equals_loop(data):
    model, brain = data
    idx = bootstrap_indices(12, 10, 4)
    boot = pr.boot_conditions(cka_measure(), model, [brain], idx)
    expect = [ref_cka(model[i], brain.mean(0)[i]) for i in idx]
    np.testing.assert_allclose(boot, expect, atol=1e-10)


def test_repetition_bootstrap_equals_loop(data):
    model, brain = data
    boot = pr.boot_repetitions(cka_measure(), model, [brain], 8, np.random.default_rng(9))
    idx = bootstrap_indices(brain.shape[0], 8, np.random.default_rng(9))
    expect = [ref_cka(model, brain[i].mean(0)) for i in idx]
    np.testing.assert_allclose(boot, expect, atol=1e-10)


def test_cka_exact_permutation_p_value_by_hand():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 8))
    y = x @ rng.normal(size=(8, 6)) + 0.3 * rng.normal(size=(5, 6))
    table = evaluate("cka", x, y, permutation=True, alpha=0.01,
                     measure_kwargs={"debiased": False})
    obs = ref_cka(x, y, False)
    null = np.array([ref_cka(x[list(p)], y, False) for p in itertools.permutations(range(5))])
    assert table.p_value[0] == pytest.approx(np.mean(null >= obs - 1e-10))
    assert table.method[0] == "permutation-exact"


def test_debiased_cka_permutation_on_independent_data_is_not_significant():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 1000)), rng.normal(size=(50, 1000))
    table = evaluate("cka", x, y, permutation=True, n_perm=199, seed=0)
    assert abs(table.estimate[0]) < 0.05 and abs(table.null_mean[0]) < 0.01
    assert table.p_value[0] > 0.05


def test_split_half_ceiling_with_spearman_brown(data):
    _, brain = data
    clean = np.broadcast_to(brain.mean(0), brain.shape)
    assert split_half_ceiling(cka_measure(), [clean], 5, 0) == pytest.approx((1.0, 1.0))
    half, full = split_half_ceiling(cka_measure(), [brain], 20, 0)
    order = np.argsort(np.random.default_rng(0).random((20, 6)), axis=1)
    vals = [ref_cka(brain[o[:3]].mean(0), brain[o[3:]].mean(0)) for o in order]
    assert half == pytest.approx(np.mean(vals), abs=1e-10)
    assert full == pytest.approx(spearman_brown(np.mean(vals)), abs=1e-10)
    table = evaluate("cka", brain.mean(0), brain, noise_ceiling=True, n_splits=20, seed=0)
    assert table.ceiling_high[0] == pytest.approx(full)


def test_subject_and_two_level_bootstraps(data):
    model, brain = data
    subjects = [brain, brain[:, :, :10] * 2.0, brain[::-1, :, 5:]]
    table = evaluate("cka", {"m": model}, subjects, bootstrap="subjects", n_boot=50, seed=1)
    per = np.array([ref_cka(model, s.mean(0)) for s in subjects])
    assert table.estimate[0] == pytest.approx(per.mean(), abs=1e-10)
    idx = bootstrap_indices(3, 50, np.random.default_rng(1))
    assert table.boot_mean[0] == pytest.approx(per[idx].mean(1).mean(), abs=1e-10)
    two = evaluate("cka", model, subjects, bootstrap="two-level", n_boot=20, seed=1)
    assert two.ci_low[0] <= two.boot_mean[0] <= two.ci_high[0]


def test_shape_distance_inference(data):
    from neuroalign.compare import shape

    model, brain = data
    table = evaluate("shape", model, brain, permutation=True, n_perm=19, alpha=0.05,
                     bootstrap="conditions", n_boot=10, seed=0)
    assert table.estimate[0] == pytest.approx(float(shape.shape_distance(model, brain.mean(0))))
    # a distance: small is evidence, so the related model beats its relabellings
    assert table.p_value[0] == pytest.approx(1 / 20)
    assert table.null_mean[0] > table.estimate[0]


def test_callable_measure_and_seed_invariance(data):
    model, brain = data

    def mean_corr(x, y):
        return np.corrcoef(x.mean(1), y.mean(1))[0, 1]

    kw = dict(bootstrap="conditions", n_boot=30, permutation=True, n_perm=30)
    a = evaluate(mean_corr, model, brain, seed=5, **kw)
    b = evaluate(mean_corr, model, brain, seed=5, **kw)
    c = evaluate(mean_corr, model, brain, seed=6, **kw)
    assert a.equals(b) and not a.ci_low.equals(c.ci_low)
    assert a.measure[0] == "mean_corr"
    assert a.estimate[0] == pytest.approx(mean_corr(model, brain.mean(0)))


def test_predictivity_permutation(data):
    model, brain = data
    table = evaluate("predictivity", model, brain, permutation=True, n_perm=19, seed=0,
                     measure_kwargs={"n_folds": 3, "n_splits_half": 2})
    assert table.p_value[0] <= 0.1 and table.estimate[0] > 0.3
    with pytest.raises(InferenceError, match="not available for predictivity"):
        evaluate("predictivity", model, brain, bootstrap="repetitions")


def test_pattern_errors(data):
    model, brain = data
    with pytest.raises(InferenceError, match="needs patterns with a repetition axis"):
        evaluate("cka", model, brain.mean(0), bootstrap="repetitions")
    with pytest.raises(InferenceError, match="at least 2 subjects"):
        evaluate("cka", model, brain, bootstrap="subjects")
    with pytest.raises(ValidationError, match=r"model: 5 conditions, but y\[0\] has 12"):
        evaluate("cka", model[:5], brain)
    with pytest.raises(ValidationError, match="expected patterns of shape"):
        evaluate("cka", model[0], brain)
    with pytest.raises(ValidationError, match="unknown CKA kernel 'poly'"):
        evaluate("cka", model, brain, measure_kwargs={"kernel": "poly"})
    with pytest.raises(InferenceError, match="at least 2 repetitions"):
        evaluate("cka", model, brain.mean(0), noise_ceiling=True)
    with pytest.raises(InferenceError, match="3 conditions"):
        evaluate("cka", model[:3], brain[:, :3], permutation=True)
