"""RDM-comparison inference against rsatoolbox's bootstrap and noise ceilings."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import rsatoolbox
import scipy.stats
from rsatoolbox.inference import eval_bootstrap, eval_bootstrap_pattern, eval_bootstrap_rdm
from rsatoolbox.inference.noise_ceiling import boot_noise_ceiling
from scipy.spatial.distance import pdist

from neuroalign.compare.inference import (
    RESULT_COLUMNS,
    evaluate,
    rdm_bootstrap_evaluations,
    rdm_noise_ceiling,
    rdm_permutation_null,
    weighted_rank,
)
from neuroalign.compare.inference.rdm import canonical_method, resampled_pairs
from neuroalign.core.errors import InferenceError, ValidationError

N_COND, N_SUB, N_MOD = 9, 6, 2


@pytest.fixture(scope="module")
def rdms():
    rng = np.random.default_rng(11)
    shared = rng.normal(size=(N_COND, 4))
    data = np.array([pdist(shared + 0.8 * rng.normal(size=(N_COND, 4))) for _ in range(N_SUB)])
    data[:, :4] = np.round(data[:, :4])  # ties in the data
    models = np.array([pdist(shared + rng.normal(size=(N_COND, 4))), pdist(rng.normal(
        size=(N_COND, 3)))])
    models[1, :6] = 1.0  # a model with tied predictions
    return models, data


def _rsa_models(models):
    return [rsatoolbox.model.ModelFixed(f"m{i}", rsatoolbox.rdm.RDMs(m[None]))
            for i, m in enumerate(models)]


def _run_recording_draws(monkeypatch, func, *args, **kwargs):
    """Run an rsatoolbox bootstrap while recording the indices it draws."""
    draws = []
    state = np.random.RandomState(7)

    def randint(low, high=None, size=None):
        out = state.randint(low, high, size=size)
        draws.append(out)
        return out

    monkeypatch.setattr(np.random, "randint", randint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = func(*args, **kwargs)
    monkeypatch.undo()
    return result, draws


@pytest.mark.parametrize("method", ["corr", "spearman", "cosine", "tau-a", "rho-a", "corr_cov"])
def test_two_level_bootstrap_equals_rsatoolbox(monkeypatch, rdms, method):
    models, data = rdms
    res, draws = _run_recording_draws(
        monkeypatch, eval_bootstrap, _rsa_models(models), rsatoolbox.rdm.RDMs(data),
        method=method, N=25, boot_noise_ceil=method in ("corr", "spearman", "cosine"))
    subjects, conditions = np.array(draws[0::2]), np.array(draws[1::2])
    fast = method in ("corr", "spearman", "cosine")
    ours = rdm_bootstrap_evaluations(models, data, N_COND, canonical_method(method),
                                     conditions, subjects, noise_ceiling=fast)
    np.testing.assert_allclose(ours["evaluations"], res.evaluations, atol=1e-10, rtol=0)
    if fast:
        np.testing.assert_allclose(ours["nc_low"], res.noise_ceiling[0], atol=1e-10, rtol=0)
        np.testing.assert_allclose(ours["nc_high"], res.noise_ceiling[1], atol=1e-10, rtol=0)


@pytest.mark.parametrize("method", ["corr", "spearman"])
def test_single_level_bootstraps_equal_rsatoolbox(monkeypatch, rdms, method):
    models, data = rdms
    mine = canonical_method(method)
    res, draws = _run_recording_draws(monkeypatch, eval_bootstrap_pattern, _rsa_models(models),
                                      rsatoolbox.rdm.RDMs(data), method=method, N=20)
    ours = rdm_bootstrap_evaluations(models, data, N_COND, mine, np.array(draws))
    np.testing.assert_allclose(ours["evaluations"], res.evaluations, atol=1e-10, rtol=0)
    res, draws = _run_recording_draws(monkeypatch, eval_bootstrap_rdm, _rsa_models(models),
                                      rsatoolbox.rdm.RDMs(data), method=method, N=20)
    ours = rdm_bootstrap_evaluations(models, data, N_COND, mine, subject_indices=np.array(draws))
    np.testing.assert_allclose(ours["evaluations"], res.evaluations, atol=1e-10, rtol=0)


def test_degenerate_resamples_are_nan_like_rsatoolbox(rdms):
    models, data = rdms
    cond = np.array([[0, 0, 0, 1, 1, 1, 1, 1, 1], [0, 1, 2, 2, 2, 2, 2, 2, 2]])
    ev = rdm_bootstrap_evaluations(models, data, N_COND, "pearson", cond)["evaluations"]
    assert np.isnan(ev[0]).all() and np.isfinite(ev[1]).all()


@pytest.mark.parametrize("method", ["corr", "spearman", "cosine"])
def test_noise_ceiling_equals_rsatoolbox(rdms, method):
    _, data = rdms
    low, high = boot_noise_ceiling(rsatoolbox.rdm.RDMs(data), method=method)
    ours = rdm_noise_ceiling(data, N_COND, canonical_method(method))
    assert ours == pytest.approx((low, high), abs=1e-12)


def test_evaluate_table_estimate_and_noise_ceiling(rdms):
    models, data = rdms
    squares = np.stack([scipy.spatial.distance.squareform(m) for m in models])
    table = evaluate("spearman", {"good": squares[0], "flat": squares[1]}, data,
                     bootstrap="two-level", n_boot=200, noise_ceiling=True, seed=3)
    assert list(table.columns) == [*RESULT_COLUMNS, "n_subjects"]
    assert list(table.model) == ["good", "flat"]
    for j in range(2):
        rhos = [scipy.stats.spearmanr(models[j], d)[0] for d in data]
        assert table.estimate[j] == pytest.approx(np.mean(rhos), abs=1e-12)
    low, high = boot_noise_ceiling(rsatoolbox.rdm.RDMs(data), method="spearman")
    assert table.ceiling_low[0] == pytest.approx(low, abs=1e-12)
    assert table.ceiling_high[1] == pytest.approx(high, abs=1e-12)
    assert (table.ci_low < table.boot_mean).all() and (table.boot_mean < table.ci_high).all()
    assert (table.n == N_COND).all() and (table.n_subjects == N_SUB).all()


def test_permutation_p_value_exact_against_hand_enumeration():
    rng = np.random.default_rng(2)
    n = 5
    model = pdist(rng.normal(size=(n, 3)))
    data = np.array([model + 0.3 * rng.normal(size=model.size) for _ in range(4)])
    table = evaluate("pearson", model, data, permutation=True, n_perm=500, alpha=0.01)
    sq = scipy.spatial.distance.squareform(model)
    obs = np.mean([np.corrcoef(model, d)[0, 1] for d in data])
    null = []
    for p in itertools.permutations(range(n)):
        perm_vec = scipy.spatial.distance.squareform(sq[np.ix_(p, p)], checks=False)
        null.append(np.mean([np.corrcoef(perm_vec, d)[0, 1] for d in data]))
    null = np.array(null)
    assert table.p_value[0] == pytest.approx(np.mean(null >= obs - 1e-12))
    assert table.null_mean[0] == pytest.approx(null.mean())
    assert table.null_sd[0] == pytest.approx(null.std(ddof=1))
    assert table.method[0] == "permutation-exact"


@pytest.mark.parametrize("method", ["spearman", "kendall_tau_a"])
def test_permutation_null_equals_explicit_relabelling(rdms, method):
    models, data = rdms
    from neuroalign.compare.rdm_compare import compare_vectors

    perms = np.random.default_rng(0).permuted(np.tile(np.arange(N_COND), (6, 1)), axis=1)
    null = rdm_permutation_null(models, data, N_COND, perms, method)
    for k, p in enumerate(perms):
        sq = np.stack([scipy.spatial.distance.squareform(m) for m in models])[:, p][:, :, p]
        iu = np.triu_indices(N_COND, 1)
        expect = compare_vectors(sq[:, iu[0], iu[1]][:, None], data[None], method).mean(-1)
        np.testing.assert_allclose(null[k], expect, atol=1e-12)


def test_resampled_pairs_drop_own_copies():
    pos = resampled_pairs(np.array([[2, 0, 2]]), 3)
    # sorted selection (0, 2, 2): pairs (0,2), (0,2), (2,2)
    np.testing.assert_array_equal(pos, [[1, 1, -1]])


def test_weighted_rank_equals_rankdata_of_expanded_vector():
    rng = np.random.default_rng(4)
    values = rng.integers(0, 6, size=(3, 15)).astype(float)
    weights = rng.integers(0, 4, size=(5, 1, 15)).astype(float)
    ranks = weighted_rank(values, weights)
    for b, k in itertools.product(range(5), range(3)):
        reps = weights[b, 0].astype(int)
        expanded = scipy.stats.rankdata(np.repeat(values[k], reps))
        owner = np.repeat(np.arange(15), reps)
        for j in np.flatnonzero(reps):
            assert ranks[b, k, j] == pytest.approx(expanded[owner == j].mean())


def test_torch_backend_equals_numpy(rdms):
    models, data = rdms
    rng = np.random.default_rng(5)
    cond, subj = rng.integers(0, N_COND, (40, N_COND)), rng.integers(0, N_SUB, (40, N_SUB))
    for method in ("pearson", "spearman", "cosine"):
        a = rdm_bootstrap_evaluations(models, data, N_COND, method, cond, subj)
        b = rdm_bootstrap_evaluations(models, data, N_COND, method, cond, subj, backend="torch")
        np.testing.assert_allclose(b["evaluations"], a["evaluations"], atol=1e-8, rtol=0)
    table = evaluate("spearman", models, data, bootstrap="two-level", n_boot=30, seed=5,
                     backend="torch")
    assert table.n_resamples[0] == 30


def test_same_seed_same_table_other_seed_other_table(rdms):
    models, data = rdms
    kw = dict(bootstrap="two-level", n_boot=100, permutation=True, n_perm=100)
    a = evaluate("pearson", models, data, seed=1, **kw)
    b = evaluate("pearson", models, data, seed=1, **kw)
    c = evaluate("pearson", models, data, seed=2, **kw)
    assert a.equals(b)
    assert not np.allclose(a.ci_low, c.ci_low)
    assert (a.seed == 1).all() and (c.seed == 2).all()
    np.testing.assert_array_equal(a.estimate, c.estimate)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(bootstrap="conditions", n_boot=0), ValidationError,
         "n_boot: got 0; expected a positive integer"),
        (dict(level=1.0), ValidationError,
         r"level: got 1\.0; expected a number in the open interval \(0, 1\)"),
        (dict(bootstrap="jackknife"), ValidationError,
         "bootstrap: got 'jackknife'; expected one of None, 'conditions', 'repetitions'"),
        (dict(bootstrap="repetitions"), InferenceError,
         "not available for RDM comparisons.*'conditions', 'subjects', 'two-level'"),
        (dict(backend="jax"), ValidationError,
         "backend: got 'jax'; expected one of 'numpy', 'torch'"),
    ],
)
def test_bad_parameters(rdms, kwargs, error, match):
    models, data = rdms
    with pytest.raises(error, match=match):
        evaluate("pearson", models, data, **kwargs)


def test_refusals_with_clear_messages(rdms):
    models, data = rdms
    tri = np.array([1.0, 2.0, 3.0])
    with pytest.raises(InferenceError, match=r"3 conditions .* smallest possible .* 0\.1667"):
        evaluate("pearson", tri, np.stack([tri, tri[::-1]]), permutation=True)
    with pytest.raises(ValidationError, match="measure: got 'pearsn'; expected one of 'rsa', "):
        evaluate("pearsn", models, data)
    with pytest.raises(ValidationError, match="expected one RDM of 9 conditions"):
        evaluate("pearson", {"a": models[0], "b": tri}, data)
    with pytest.raises(ValidationError, match="expected RDMs as"):
        evaluate("pearson", np.ones(4), data)
    with pytest.raises(InferenceError, match="at least 2 subjects"):
        rdm_noise_ceiling(data[:1], N_COND)


def test_labelled_rdm_dataarrays_are_aligned_by_label():
    import xarray as xr

    from neuroalign.compare.rdm import compute_rdm

    rng = np.random.default_rng(8)
    labels = [f"c{i}" for i in range(7)]

    def patterns(values, order):
        return xr.DataArray(values[order], dims=("condition", "unit"),
                            coords={"label": ("condition", [labels[i] for i in order])})

    shared = rng.normal(size=(7, 5))
    subjects = [compute_rdm(patterns(shared + 0.5 * rng.normal(size=(7, 5)), np.arange(7)),
                            method="euclidean") for _ in range(4)]
    model_vals = shared + rng.normal(size=(7, 5))
    in_order = compute_rdm(patterns(model_vals, np.arange(7)), method="euclidean")
    shuffled = compute_rdm(patterns(model_vals, rng.permutation(7)), method="euclidean")
    a = evaluate("spearman", in_order, subjects)
    b = evaluate("spearman", shuffled, subjects)
    assert a.estimate[0] == pytest.approx(b.estimate[0], abs=1e-12)
    other = compute_rdm(xr.DataArray(model_vals, dims=("condition", "unit"), coords={
        "label": ("condition", [*labels[:6], "z"])}), method="euclidean")
    with pytest.raises(ValidationError, match=r"missing \['c6'\], extra \['z'\]"):
        evaluate("spearman", other, subjects)


@pytest.mark.parametrize("method", ["pearson", "cosine"])
def test_moment_noise_ceiling_equals_explicit_pooling(rdms, method):
    from neuroalign.compare.inference._rdm_ceiling import (
        noise_ceiling_moments,
        noise_ceiling_ranked,
    )
    from neuroalign.compare.inference.resample import index_counts
    from neuroalign.compare.inference.weighted import pair_weights

    _, data = rdms
    rng = np.random.default_rng(3)
    w = pair_weights(index_counts(rng.integers(0, N_COND, (20, N_COND)), N_COND), N_COND)
    cs = index_counts(rng.integers(0, N_SUB, (20, N_SUB)), N_SUB)
    cs[0] = [N_SUB, 0, 0, 0, 0, 0]  # a resample with a single subject
    fast = noise_ceiling_moments(data, w, cs, method)
    slow = noise_ceiling_ranked(np.broadcast_to(data, (20, *data.shape)), w, cs, method)
    np.testing.assert_allclose(fast, slow, atol=1e-10)
