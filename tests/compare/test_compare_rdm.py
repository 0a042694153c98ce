"""RDMs from patterns: equality with rsatoolbox, properties, conversion, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rsatoolbox.data import Dataset
from rsatoolbox.data.noise import cov_from_residuals, prec_from_residuals
from rsatoolbox.rdm import calc_rdm, calc_rdm_unbalanced

from neuroalign.compare import (
    RDM_METHODS,
    compute_rdm,
    from_rsatoolbox,
    noise_covariance,
    noise_precision,
    rdm_vector,
    square_from_vector,
    to_rsatoolbox,
    upper_tri,
)
from neuroalign.core import ValidationError, condition_coords

# rsatoolbox's own descriptor handling casts NaN to int while building its RDMs
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast")


def make_patterns(n_rep=4, n_cond=6, n_units=9, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((1, n_cond, n_units))
    x = signal + 0.7 * rng.standard_normal((n_rep, n_cond, n_units))
    if positive:
        x = np.abs(x) * 3
    coords = condition_coords((1, -1), range(n_cond // 2))
    return xr.DataArray(x, dims=("repetition", "condition", "unit"), coords=coords)


def rsa_dataset(da, keep=None):
    x = da.values
    n_rep, n_cond, n_units = x.shape
    labels = np.asarray(da.label.values)
    obs = x.reshape(-1, n_units)
    conds = np.tile(labels, n_rep)
    runs = np.repeat(np.arange(n_rep), n_cond)
    if keep is not None:
        obs, conds, runs = obs[keep], conds[keep], runs[keep]
    return Dataset(obs, obs_descriptors={"conds": conds, "runs": runs})


def ours_in_rsa_order(rdm, theirs):
    """Our RDM vector in the condition order of rsatoolbox's result."""
    pos = {lab: i for i, lab in enumerate(rdm.label.values)}
    order = [pos[lab] for lab in theirs.pattern_descriptors["conds"]]
    return upper_tri(rdm.values[np.ix_(order, order)])


@pytest.fixture
def patterns():
    return make_patterns()


@pytest.fixture
def precision(patterns):
    x = patterns.values
    res = (x - x.mean(axis=0)).reshape(-1, x.shape[-1])
    return prec_from_residuals(res, dof=(x.shape[0] - 1) * x.shape[1])


@pytest.mark.parametrize(
    ("ours", "ref", "needs_noise"),
    [
        ("sqeuclidean", "euclidean", False),
        ("correlation", "correlation", False),
        ("mahalanobis", "mahalanobis", True),
        ("crossnobis", "crossnobis", True),
        ("crossnobis", "crossnobis", False),
    ],
)
def test_balanced_equals_rsatoolbox(patterns, precision, ours, ref, needs_noise):
    kw = {"noise": precision} if needs_noise else {}
    theirs = calc_rdm(rsa_dataset(patterns), method=ref, descriptor="conds",
                      cv_descriptor="runs" if ref == "crossnobis" else None, **kw)
    rdm = compute_rdm(patterns, ours, **kw)
    np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0], atol=1e-8)


def test_euclidean_is_root_of_rsatoolbox_euclidean(patterns):
    theirs = calc_rdm(rsa_dataset(patterns), method="euclidean", descriptor="conds")
    rdm = compute_rdm(patterns, "euclidean")
    np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs) ** 2, theirs.get_vectors()[0],
                               atol=1e-8)


def test_poisson_equals_rsatoolbox():
    da = make_patterns(positive=True)
    theirs = calc_rdm(rsa_dataset(da), method="poisson", descriptor="conds")
    rdm = compute_rdm(da, "poisson")
    np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0], atol=1e-8)


def test_crossnobis_with_folds_equals_rsatoolbox_cv_descriptor():
    da = make_patterns(n_rep=6)
    folds = np.array([0, 0, 1, 1, 2, 2])
    ds = rsa_dataset(da)
    ds.obs_descriptors["folds"] = folds[ds.obs_descriptors["runs"]]
    theirs = calc_rdm(ds, method="crossnobis", descriptor="conds", cv_descriptor="folds")
    rdm = compute_rdm(da, "crossnobis", folds=folds)
    np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0], atol=1e-8)


def nan_patterns():
    da = make_patterns(n_rep=5)
    x = da.values.copy()
    x[1, 2] = np.nan  # a missing repetition (unbalanced)
    x[4, 5] = np.nan
    x[0, 4, 3] = np.nan  # single missing units
    x[3, 0, :2] = np.nan
    return da.copy(data=x)


@pytest.mark.parametrize(("ours", "ref", "cv"), [("crossnobis", "crossnobis", True),
                                                 ("sqeuclidean", "euclidean", False)])
def test_unbalanced_nan_equals_rsatoolbox(ours, ref, cv):
    da = nan_patterns()
    keep = ~np.isnan(da.values.reshape(-1, da.sizes["unit"])).all(axis=1)
    theirs = calc_rdm_unbalanced(rsa_dataset(da, keep), method=ref, descriptor="conds",
                                 cv_descriptor="runs" if cv else None)
    rdm = compute_rdm(da, ours)
    assert rdm.attrs["unbalanced"] == 1
    np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0], atol=1e-8)


def test_unbalanced_crossnobis_with_noise_equals_rsatoolbox(precision):
    da = make_patterns()
    x = da.values.copy()
    x[1, 2] = np.nan
    x[3, 4] = np.nan
    da = da.copy(data=x)
    keep = ~np.isnan(x.reshape(-1, x.shape[-1])).all(axis=1)
    theirs = calc_rdm_unbalanced(rsa_dataset(da, keep), method="crossnobis", descriptor="conds",
                                 cv_descriptor="runs", noise=precision)
    rdm = compute_rdm(da, "crossnobis", noise=precision)
    np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0], atol=1e-8)


def test_unbalanced_estimator_equals_balanced_on_complete_data(patterns, precision):
    a = compute_rdm(patterns, "crossnobis", noise=precision)
    b = compute_rdm(patterns, "crossnobis", noise=precision, unbalanced=True)
    np.testing.assert_allclose(a.values, b.values, atol=1e-10)


def test_crossnobis_masked_noise_equals_pairwise_loop(precision):
    """With scattered NaN and a precision, each pair uses the units both hold."""
    da = nan_patterns()
    x = da.values
    rdm = compute_rdm(da, "crossnobis", noise=precision)
    n_rep, n_cond, _ = x.shape
    g_num = np.zeros((n_cond, n_cond))
    g_den = np.zeros((n_cond, n_cond))
    for r1 in range(n_rep):
        for r2 in range(n_rep):
            if r1 == r2:
                continue
            for i in range(n_cond):
                for j in range(n_cond):
                    f = ~(np.isnan(x[r1, i]) | np.isnan(x[r2, j]))
                    if f.any():
                        g_num[i, j] += x[r1, i, f] @ precision[np.ix_(f, f)] @ x[r2, j, f]
                        g_den[i, j] += f.sum()
    g = g_num / g_den
    d = np.diag(g)[:, None] + np.diag(g)[None] - g - g.T
    np.fill_diagonal(d, 0)
    np.testing.assert_allclose(rdm.values, d, atol=1e-10)


def test_crossnobis_is_unbiased_for_identical_conditions():
    rng = np.random.default_rng(3)
    x = np.broadcast_to(rng.standard_normal((1, 1, 50)), (40, 8, 50)) + rng.standard_normal(
        (40, 8, 50))
    da = xr.DataArray(x, dims=("repetition", "condition", "unit"))
    cv = compute_rdm(da, "crossnobis")
    naive = compute_rdm(da, "sqeuclidean")
    assert abs(upper_tri(cv.values).mean()) < 0.02
    assert upper_tri(naive.values).mean() > 0.04  # 2 * noise / n_rep: positively biased
    assert (upper_tri(cv.values) < 0).any()  # crossnobis can be negative


@pytest.mark.parametrize(("ours", "ref"), [("diag", "shrinkage_diag"), ("eye", "shrinkage_eye"),
                                           ("none", "full"), ("variance", "diag")])
def test_noise_estimators_equal_rsatoolbox(ours, ref):
    res = np.random.default_rng(1).standard_normal((30, 12))
    np.testing.assert_allclose(noise_covariance(res, ours), cov_from_residuals(res, method=ref),
                               atol=1e-10)
    np.testing.assert_allclose(noise_precision(res, ours), prec_from_residuals(res, method=ref),
                               rtol=1e-8, atol=1e-8)


def test_noise_precision_from_patterns(patterns):
    x = patterns.values
    res = (x - x.mean(axis=0)).reshape(-1, x.shape[-1])
    dof = res.shape[0] - x.shape[1]
    np.testing.assert_allclose(noise_precision(patterns),
                               prec_from_residuals(res, dof=dof, method="shrinkage_diag"),
                               rtol=1e-8, atol=1e-8)


def test_labels_and_coords_travel(patterns):
    rdm = compute_rdm(patterns, "crossnobis")
    assert rdm.dims == ("condition", "condition_b")
    for name in ("label", "valence", "approach"):
        np.testing.assert_array_equal(rdm[name].values, patterns[name].values)
        np.testing.assert_array_equal(rdm[f"{name}_b"].values, patterns[name].values)
    assert rdm.attrs["method"] == "crossnobis"
    assert rdm.attrs["n_units"] == 9
    assert "neuroalign_version" in rdm.attrs


def test_rsatoolbox_round_trip(patterns):
    rdm = compute_rdm(patterns, "correlation")
    rsa = to_rsatoolbox(rdm)
    assert list(rsa.pattern_descriptors["label"]) == list(patterns.label.values)
    assert list(rsa.pattern_descriptors["valence"]) == list(patterns.valence.values)
    back = from_rsatoolbox(rsa)
    np.testing.assert_allclose(back.values, rdm.values)
    np.testing.assert_array_equal(back.label.values, rdm.label.values)
    np.testing.assert_array_equal(back.valence_b.values, rdm.valence.values)
    np.testing.assert_allclose(rdm_vector(back), rsa.get_vectors()[0])


def test_square_and_upper_tri_round_trip():
    v = np.arange(2 * 3 * 10, dtype=float).reshape(2, 3, 10)
    m = square_from_vector(v)
    assert m.shape == (2, 3, 5, 5)
    np.testing.assert_array_equal(upper_tri(m), v)
    with pytest.raises(ValidationError, match="length 7 is not n"):
        square_from_vector(np.zeros(7))


@settings(max_examples=25, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(2, 5), st.integers(2, 7), st.integers(1, 6)),
           elements=st.floats(-10, 10, allow_nan=False)),
    st.sampled_from(["euclidean", "sqeuclidean", "crossnobis", "mahalanobis"]),
)
def test_rdm_symmetric_with_zero_diagonal(x, method):
    da = xr.DataArray(x, dims=("repetition", "condition", "unit"))
    rdm = compute_rdm(da, method).values
    np.testing.assert_allclose(rdm, rdm.T, atol=1e-9)
    assert np.all(np.diag(rdm) == 0)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(3, 7), st.integers(1, 6)),
              elements=st.floats(-10, 10, allow_nan=False)))
def test_euclidean_rdm_satisfies_triangle_inequality(x):
    d = compute_rdm(xr.DataArray(x, dims=("condition", "unit")), "euclidean").values
    # d(i, k) <= d(i, j) + d(j, k) for all i, j, k
    assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9)


def test_identical_patterns_give_zero_distance(patterns):
    x = np.broadcast_to(patterns.values[:, :1], patterns.shape)
    rdm = compute_rdm(patterns.copy(data=x.copy()), "euclidean")
    np.testing.assert_allclose(rdm.values, 0.0, atol=1e-12)


# ----------------------------------------------------------------------------- bad input


def test_unknown_method_lists_valid_ones(patterns):
    with pytest.raises(ValidationError, match="method: got 'manhattan'; expected one of 'eucl"):
        compute_rdm(patterns, "manhattan")
    assert "crossnobis" in RDM_METHODS


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.zeros((3, 4)), "expected an xarray.DataArray"),
        (xr.DataArray(np.zeros((3, 4)), dims=("trial", "unit")), r"dims \('trial', 'unit'\)"),
        (xr.DataArray(np.zeros((2, 3, 4, 5)), dims=("repetition", "condition", "unit", "time")),
         "expected"),
        (xr.DataArray(np.zeros((1, 4)), dims=("condition", "unit")), "1 condition"),
    ],
)
def test_wrong_dims_and_single_condition(data, match):
    with pytest.raises(ValidationError, match=match):
        compute_rdm(data, "euclidean")


def test_zero_variance_pattern_for_correlation(patterns):
    x = patterns.values.copy()
    x[:, 1] = 2.0
    with pytest.raises(ValidationError, match=r"conditions \['reward:1'\] have zero variance"):
        compute_rdm(patterns.copy(data=x), "correlation")


def test_nan_policy(patterns):
    x = patterns.values.copy()
    x[:, 3, 0] = np.nan  # a unit missing in every repetition of one condition
    da = patterns.copy(data=x)
    with pytest.raises(ValidationError, match=r"NaN in conditions .*needs complete patterns"):
        compute_rdm(da, "correlation")
    with pytest.raises(ValidationError, match="unbalanced=False"):
        compute_rdm(da, "crossnobis", unbalanced=False)
    rdm = compute_rdm(da, "crossnobis")  # tolerated: pairwise-complete units
    assert np.isfinite(rdm.values).all()
    # a missing repetition is skipped by methods that average repetitions
    y = patterns.values.copy()
    y[2, 1] = np.nan
    rdm = compute_rdm(patterns.copy(data=y), "correlation")
    mean = np.nanmean(y, axis=0)
    r = np.corrcoef(mean)
    np.testing.assert_allclose(rdm.values, 1 - r, atol=1e-12)


def test_crossnobis_needs_repetitions_and_folds(patterns):
    with pytest.raises(ValidationError, match="crossnobis needs a 'repetition' dim"):
        compute_rdm(patterns.mean("repetition"), "crossnobis")
    with pytest.raises(ValidationError, match="at least 2 folds"):
        compute_rdm(patterns, "crossnobis", folds=np.zeros(4))
    with pytest.raises(ValidationError, match="one fold per repetition"):
        compute_rdm(patterns, "crossnobis", folds=np.zeros(3))


def test_bad_noise_and_poisson_inputs(patterns):
    with pytest.raises(ValidationError, match=r"shape \(9, 9\); got \(3, 3\)"):
        compute_rdm(patterns, "mahalanobis", noise=np.eye(3))
    with pytest.raises(ValidationError, match="negative values"):
        compute_rdm(patterns, "poisson")
    with pytest.raises(ValidationError, match="expected one of diag, eye, none, variance"):
        noise_precision(np.zeros((5, 3)), shrinkage="ledoit")


def test_duplicate_labels_refused(patterns):
    da = patterns.assign_coords(label=("condition", ["a"] * 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValidationError, match="labels are not unique"):
            compute_rdm(da, "euclidean")


@pytest.mark.parametrize("density", [0.01, 0.3])
def test_shared_unit_counts_sparse_and_dense(density):
    from neuroalign.compare._rdm_calc import _shared_counts

    missing = np.random.default_rng(0).random((30, 20)) < density
    expect = (~missing).astype(int) @ (~missing).astype(int).T
    np.testing.assert_array_equal(_shared_counts(missing), expect)


def test_equal_weighting_equals_rsatoolbox():
    from neuroalign.compare._rdm_calc import rdm_observations

    da = nan_patterns()
    x = da.values
    keep = ~np.isnan(x.reshape(-1, x.shape[-1])).all(axis=1)
    theirs = calc_rdm_unbalanced(rsa_dataset(da, keep), method="crossnobis", descriptor="conds",
                                 cv_descriptor="runs", weighting="equal")
    n_rep, n_cond, n_units = x.shape
    obs = x.reshape(-1, n_units)[keep]
    cond = np.tile(np.arange(n_cond), n_rep)[keep]
    cv = np.repeat(np.arange(n_rep), n_cond)[keep]
    vec = rdm_observations(obs, cond, n_cond, cv, weighting="equal")
    pos = {lab: i for i, lab in enumerate(da.label.values)}
    order = [pos[lab] for lab in theirs.pattern_descriptors["conds"]]
    mat = square_from_vector(vec)[np.ix_(order, order)]
    np.testing.assert_allclose(upper_tri(mat), theirs.get_vectors()[0], atol=1e-8)


@pytest.mark.parametrize("kind", ["indefinite", "asymmetric"])
def test_crossnobis_with_non_cholesky_precision_equals_rsatoolbox(patterns, kind):
    """Precisions without a Cholesky factor take the plain matrix-product path."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((9, 9))
    prec = a + a.T if kind == "indefinite" else np.eye(9) + 0.1 * a
    theirs = calc_rdm(rsa_dataset(patterns), method="crossnobis", descriptor="conds",
                      cv_descriptor="runs", noise=prec)
    rdm = compute_rdm(patterns, "crossnobis", noise=prec)
    if kind == "indefinite":
        np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0],
                                   atol=1e-8)
        unb = compute_rdm(patterns, "crossnobis", noise=prec, unbalanced=True)
        np.testing.assert_allclose(unb.values, rdm.values, atol=1e-10)
    else:  # rsatoolbox symmetrises by construction (K + K'); so do the distances
        sym = compute_rdm(patterns, "crossnobis", noise=(prec + prec.T) / 2)
        np.testing.assert_allclose(rdm.values, sym.values, atol=1e-10)
        np.testing.assert_allclose(ours_in_rsa_order(rdm, theirs), theirs.get_vectors()[0],
                                   atol=1e-8)
