"""Geometry measures: exact values, references, invariances and batch-vs-loop equality."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import rsatoolbox
import xarray as xr
from geometry_helpers import planted_means, sample_patterns, true_sharpness, wall_funnel

from neuroalign.compare.inference import index_counts
from neuroalign.core.contracts import condition_coords
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.geometry import (
    approach_profile,
    convergence,
    geometry_statistics,
    sharpness,
    step_lengths,
    valence_asymmetry,
    valence_grid,
)
from neuroalign.geometry.kernels import step_lengths_sq


def _noise_free(steps: dict[int, np.ndarray], n_units: int = 12, n_reps: int = 3):
    means = planted_means(steps, n_units, np.random.default_rng(3))
    return sample_patterns(means, n_reps, np.random.default_rng(4), noise=0.0)


@pytest.mark.parametrize("distance", ["crossnobis", "euclidean"])
def test_noise_free_funnel_and_wall_have_exact_sharpness(distance):
    k = 5
    steps = {1: np.ones(k), -1: np.r_[4.0, 0.0, 0.0, 0.0, 0.0]}
    da = _noise_free(steps)
    s = sharpness(da, distance=distance, w=1)
    assert s.sel(valence=1).item() == pytest.approx(1 / k)
    assert s.sel(valence=-1).item() == pytest.approx(1.0)
    assert valence_asymmetry(da, distance=distance) == pytest.approx(1 - 1 / k)
    s2 = sharpness(da, distance=distance, w=2)
    assert s2.sel(valence=1).item() == pytest.approx(2 / k)
    lengths = step_lengths(da, distance=distance)
    np.testing.assert_allclose(lengths.sel(valence=1).values, np.ones(k), atol=1e-12)
    np.testing.assert_allclose(lengths.sel(valence=-1).values, steps[-1], atol=1e-6)
    assert lengths["approach"].values.tolist() == [0, 1, 2, 3, 4]
    assert lengths["approach_from"].values.tolist() == [1, 2, 3, 4, 5]


def test_sharpness_of_unequal_steps_matches_definition():
    steps = {1: np.array([0.5, 1.0, 2.0, 0.25]), -1: np.array([3.0, 1.0, 0.5, 0.5])}
    da = _noise_free(steps)
    for w in (1, 2, 3):
        s = sharpness(da, distance="euclidean", w=w)
        assert s.sel(valence=1).item() == pytest.approx(true_sharpness(steps[1], w))
        assert s.sel(valence=-1).item() == pytest.approx(true_sharpness(steps[-1], w))


def test_crossnobis_equals_rsatoolbox_leave_one_trial_out():
    rng = np.random.default_rng(0)
    m, k1, p = 6, 4, 7
    x = rng.normal(size=(m, k1, p))
    ds = rsatoolbox.data.Dataset(
        x.reshape(m * k1, p),
        obs_descriptors={"cond": np.tile(np.arange(k1), m), "rep": np.repeat(np.arange(m), k1)},
    )
    with np.errstate(all="ignore"):
        rdm = rsatoolbox.rdm.calc_rdm(ds, method="crossnobis", descriptor="cond",
                                      cv_descriptor="rep")
    mat = rdm.get_matrices()[0]
    ref = [mat[a, a + 1] for a in range(k1 - 1)]
    np.testing.assert_allclose(step_lengths_sq(x, np.ones((1, m)), "crossnobis")[0], ref,
                               rtol=1e-10, atol=1e-12)


def test_weighted_crossnobis_pairs_only_distinct_trials():
    """Bootstrap weights: equal to a loop over position pairs holding different trials."""
    rng = np.random.default_rng(1)
    m, k1, p = 7, 3, 5
    x = rng.normal(size=(m, k1, p))
    idx = rng.integers(0, m, size=(4, m))
    got = step_lengths_sq(x, index_counts(idx, m), "crossnobis")
    for b in range(idx.shape[0]):
        for a in range(k1 - 1):
            delta = x[idx[b], a + 1] - x[idx[b], a]
            terms = [delta[i] @ delta[j] for i, j in itertools.permutations(range(m), 2)
                     if idx[b, i] != idx[b, j]]
            assert got[b, a] == pytest.approx(np.mean(terms) / p, rel=1e-10)


def test_crossnobis_is_unbiased_and_euclidean_is_not():
    """Pure noise: the mean crossnobis estimate is ~0, the euclidean one 2 sigma^2 / n."""
    rng = np.random.default_rng(2)
    m, p = 10, 50
    x = rng.normal(size=(400, m, 2, p))
    cv = np.array([step_lengths_sq(xi, np.ones((1, m)), "crossnobis")[0, 0] for xi in x])
    eu = np.array([step_lengths_sq(xi, np.ones((1, m)), "euclidean")[0, 0] for xi in x])
    assert abs(cv.mean()) < 4 * cv.std() / np.sqrt(len(cv))
    assert eu.mean() == pytest.approx(2 / m, rel=0.05)


@pytest.mark.parametrize("distance", ["crossnobis", "euclidean"])
def test_batch_equals_loop_over_resamples(distance):
    da, _ = wall_funnel(-1, n_units=8, n_reps=6, rng=np.random.default_rng(5))
    grid = valence_grid(da)
    idx = np.random.default_rng(6).integers(0, 6, size=(5, 6))
    batch = geometry_statistics(grid, idx, distance=distance, w=2)
    for b in range(5):
        if distance == "euclidean":  # resampling rows then averaging = weighted means
            one = geometry_statistics(da.isel(repetition=idx[b]), distance=distance, w=2)
        else:  # crossnobis on the distinct trials with their multiplicities as weights
            one = geometry_statistics(grid, idx[b][None], distance=distance, w=2)
        for key in ("asymmetry", "sharpness_reward", "step_length_danger", "spread_reward"):
            np.testing.assert_allclose(batch[key][b], one[key][0], rtol=1e-10)
    # a permutation row (no repeats) equals the plain estimate on those trials
    perm = np.random.default_rng(7).permutation(6)[None]
    np.testing.assert_allclose(
        geometry_statistics(grid, perm, distance=distance)["asymmetry"],
        geometry_statistics(da.isel(repetition=perm[0]), distance=distance)["asymmetry"],
    )


def test_invariances_scale_shift_rotation_unit_order():
    da, _ = wall_funnel(-1, n_units=10, n_reps=8, rng=np.random.default_rng(8))
    ref = sharpness(da).values
    q, _ = np.linalg.qr(np.random.default_rng(9).normal(size=(10, 10)))
    rotated = xr.DataArray(da.values @ q, dims=da.dims, coords=da.coords)
    for other in (3.0 * da + 7.0, da.isel(unit=np.random.default_rng(1).permutation(10)),
                  rotated):
        np.testing.assert_allclose(sharpness(other).values, ref, rtol=1e-9)


def test_condition_order_does_not_matter():
    da, _ = wall_funnel(1, n_units=6, n_reps=5, rng=np.random.default_rng(10))
    shuffled = da.isel(condition=np.random.default_rng(0).permutation(da.sizes["condition"]))
    np.testing.assert_allclose(sharpness(shuffled).values, sharpness(da).values)


def test_path_fraction_profile():
    steps = {1: np.array([1.0, 2.0, 3.0]), -1: np.array([6.0, 0.0, 0.0])}
    prof = approach_profile(_noise_free(steps), distance="euclidean")
    np.testing.assert_allclose(prof.sel(valence=1).values, [1.0, 5 / 6, 3 / 6, 0.0])
    np.testing.assert_allclose(prof.sel(valence=-1).values, [1.0, 0.0, 0.0, 0.0], atol=1e-7)
    s = sharpness(_noise_free(steps), distance="euclidean", w=1)
    np.testing.assert_allclose(s.values, 1 - prof.sel(approach=1).values)


def test_spread_is_mean_unbiased_variance():
    da, _ = wall_funnel(1, n_units=6, n_reps=9, rng=np.random.default_rng(11))
    spr = convergence(da)
    for v in (1, -1):
        sub = da.where(da["valence"] == v, drop=True).sortby("approach")
        ref = sub.var("repetition", ddof=1).mean("unit").values
        np.testing.assert_allclose(spr.sel(valence=v).values, ref, rtol=1e-10)


def test_nan_padded_repetitions_are_dropped_per_valence():
    da, _ = wall_funnel(-1, n_units=6, n_reps=10, rng=np.random.default_rng(12))
    padded = da.copy()
    danger = np.flatnonzero(da["valence"].values == -1)
    padded[8:, danger, :] = np.nan
    grid = valence_grid(padded)
    assert grid.n_reps(1) == 10 and grid.n_reps(-1) == 8
    expected = sharpness(da.isel(repetition=slice(0, 8))).sel(valence=-1).item()
    assert sharpness(padded).sel(valence=-1).item() == pytest.approx(expected)


def _grid_da(valences=(1, -1), approaches=range(6), n_reps=4, n_units=5, seed=0):
    coords = condition_coords(valences, approaches)
    n_cond = coords["valence"][1].size
    data = np.random.default_rng(seed).normal(size=(n_reps, n_cond, n_units))
    return xr.DataArray(data, dims=("repetition", "condition", "unit")).assign_coords(coords)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: _grid_da().drop_vars("valence"), ValidationError,
         r"lacks a 'valence' coord"),
        (lambda: _grid_da(approaches=[0]), ValidationError,
         r"1 approach step\(s\) \[0.0\]; at least 2"),
        (lambda: _grid_da(valences=(1,)), ValidationError,
         r"valence\(s\) \['danger'\] missing"),
        (lambda: _grid_da(n_reps=1), InferenceError,
         r"valence 'reward' has 1 complete repetition\(s\); cross-validation needs at least 3"),
        (lambda: _grid_da().rename(unit="neuron"), ValidationError,
         r"lack \('unit',\)"),
        (lambda: _grid_da().isel(condition=[0, 0, 1, 6, 7]), ValidationError,
         r"repeats approach values"),
    ],
)
def test_bad_patterns_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        sharpness(make())


def test_w_out_of_range_and_unknown_distance():
    da = _grid_da()
    with pytest.raises(ValidationError, match=r"w: got 5; expected an integer with 1 <= w < K = 5"):
        sharpness(da, w=5)
    with pytest.raises(ValidationError, match=r"w: got 0"):
        sharpness(da, w=0)
    with pytest.raises(ValidationError, match=r"distance: got 'cosine'; expected one of 'crossnob"):
        sharpness(da, distance="cosine")
    assert sharpness(da, distance="Crossvalidated Euclidean").attrs["distance"] == "crossnobis"


def test_zero_path_length_raises():
    da = _grid_da(n_reps=3)
    flat = xr.full_like(da, 2.0)
    with pytest.raises(InferenceError, match=r"valence 'reward': the total path length is 0"):
        sharpness(flat, distance="euclidean")
    with pytest.raises(InferenceError, match=r"total path length is 0"):
        valence_asymmetry(flat)


def test_neutral_conditions_are_measured_but_optional():
    da = _grid_da(valences=(1, -1, 0), n_reps=5)
    s = sharpness(da, distance="euclidean")
    assert s["valence"].values.tolist() == [1, -1, 0]
    assert s["valence_name"].values.tolist() == ["reward", "danger", "neutral"]


def test_chunked_batches_equal_one_batch(monkeypatch):
    import neuroalign.geometry.measures as measures

    da, _ = wall_funnel(-1, n_units=7, n_reps=9, rng=np.random.default_rng(13))
    idx = np.random.default_rng(14).integers(0, 9, size=(23, 9))
    whole = geometry_statistics(da, idx)
    monkeypatch.setattr(measures, "_CHUNK_ELEMENTS", 6 * 7 * 4)  # 4 resamples per chunk
    chunked = geometry_statistics(da, idx)
    for key, value in whole.items():
        np.testing.assert_allclose(chunked[key], value, rtol=1e-12)
