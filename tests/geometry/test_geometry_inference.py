"""valence_geometry: intervals, permutation test, tidy output and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from geometry_helpers import wall_funnel

from neuroalign.compare import compute_rdm, noise_precision
from neuroalign.compare.inference import index_counts
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.geometry import (
    GeometryResult,
    geometry_statistics,
    step_lengths,
    valence_geometry,
    valence_grid,
)
from neuroalign.geometry.kernels import step_lengths_sq


@pytest.fixture(scope="module")
def wall_danger():
    return wall_funnel(-1, n_units=20, n_reps=30, rng=np.random.default_rng(21))[0]


@pytest.fixture(scope="module")
def result(wall_danger):
    return valence_geometry(wall_danger, n_boot=300, n_perm=300, seed=3)


def test_frame_has_every_measure_and_column(result):
    frame = result.to_frame()
    assert isinstance(result, GeometryResult)
    assert frame["measure"].tolist() == [
        "S_reward", "S_danger", "path_length_reward", "path_length_danger",
        "convergence_reward", "convergence_danger", "A", "convergence_asymmetry",
    ]
    for col in ("estimate", "ci_low", "ci_high", "p_value", "n", "seed", "distance", "w",
                "level", "n_boot", "n_perm", "method", "noise"):
        assert col in frame.columns
    assert (frame["distance"] == "crossnobis").all() and (frame["w"] == 1).all()
    assert (frame["ci_low"] <= frame["estimate"]).all()
    assert (frame["estimate"] <= frame["ci_high"]).all()
    # p-values only for the between-valence measures
    assert frame.set_index("measure")["p_value"].notna().to_dict() == {
        "S_reward": False, "S_danger": False, "path_length_reward": False,
        "path_length_danger": False, "convergence_reward": False,
        "convergence_danger": False, "A": True, "convergence_asymmetry": True,
    }
    assert frame.set_index("measure").loc["A", "n"] == 60
    assert frame.set_index("measure").loc["S_reward", "n"] == 30


def test_estimates_equal_point_measures(result, wall_danger):
    obs = geometry_statistics(wall_danger)
    assert result["A"].estimate == pytest.approx(obs["asymmetry"][0])
    assert result["S_danger"].estimate == pytest.approx(obs["sharpness_danger"][0])
    np.testing.assert_allclose(
        result.profiles["step_length"].sel(valence=-1).values[:-1],
        step_lengths(wall_danger).sel(valence=-1).values,
    )


def test_wall_danger_is_detected(result):
    a = result["A"]
    assert a.estimate > 0 and a.ci_low > 0 and a.p_value < 0.05


def test_profiles_dataset(result):
    prof = result.profiles
    assert isinstance(prof, xr.Dataset)
    assert dict(prof.sizes) == {"valence": 2, "approach": 6}
    assert prof["valence_name"].values.tolist() == ["reward", "danger"]
    np.testing.assert_allclose(prof["path_fraction"].sel(approach=0).values, 1.0)
    np.testing.assert_allclose(prof["path_fraction"].sel(approach=5).values, 0.0)
    assert np.isnan(prof["step_length"].sel(approach=5).values).all()
    low, high = prof["spread_ci_low"].values, prof["spread_ci_high"].values
    assert (low <= prof["spread"].values).all() and (prof["spread"].values <= high).all()
    assert prof.attrs["distance"] == "crossnobis" and prof.attrs["n_boot"] == 300


def test_same_seed_same_result_other_seed_differs(wall_danger, result):
    again = valence_geometry(wall_danger, n_boot=300, n_perm=300, seed=3)
    pd.testing.assert_frame_equal(again.to_frame(), result.to_frame())
    other = valence_geometry(wall_danger, n_boot=300, n_perm=300, seed=4)
    assert other["A"].ci_low != result["A"].ci_low
    assert other["A"].estimate == result["A"].estimate


def _swap_valences(da: xr.DataArray) -> xr.DataArray:
    return da.assign_coords(valence=("condition", -da["valence"].values))


def test_swapping_valence_labels_flips_a(wall_danger, result):
    swapped = valence_geometry(_swap_valences(wall_danger), n_boot=300, n_perm=300, seed=3)
    assert swapped["A"].estimate == pytest.approx(-result["A"].estimate)
    assert swapped["S_reward"].estimate == pytest.approx(result["S_danger"].estimate)


def test_permutation_null_is_centred_and_p_matches_manual_count(wall_danger):
    """Rebuild the null by hand from the same index arrays and compare the p-value."""
    from neuroalign.compare.inference import permutation_indices

    res = valence_geometry(wall_danger, n_boot=0, n_perm=200, seed=8)
    grid = valence_grid(wall_danger)
    _, perm_seq = np.random.SeedSequence(8).spawn(2)
    perms = permutation_indices(60, 200, np.random.default_rng(perm_seq)).indices
    pooled = np.concatenate([grid.trials[1], grid.trials[-1]])
    null = []
    for row in perms:  # plain loop, one permutation at a time
        groups = {}
        for name, members in (("reward", row[:30]), ("danger", row[30:])):
            sub = pooled[members]
            sq = step_lengths_sq(sub, np.ones((1, 30)), "crossnobis")[0]
            steps = np.sqrt(np.clip(sq, 0, None))
            groups[name] = steps[0] / steps.sum()
        null.append(groups["danger"] - groups["reward"])
    null = np.asarray(null)
    obs = res["A"].estimate
    upper = (1 + np.sum(null >= obs - 1e-10)) / 201
    lower = (1 + np.sum(null <= obs + 1e-10)) / 201
    assert res["A"].p_value == pytest.approx(min(1.0, 2 * min(upper, lower)))
    assert res["A"].null_mean == pytest.approx(null.mean())
    assert abs(null.mean()) < 3 * null.std() / np.sqrt(200) + 0.02
    assert np.isnan(res["A"].ci_low)


def test_bootstrap_resamples_within_valence(wall_danger):
    """The stratified bootstrap equals geometry_statistics on per-valence index arrays."""
    from neuroalign.compare.inference import bootstrap_indices

    res = valence_geometry(wall_danger, n_boot=100, n_perm=0, seed=5)
    boot_seq, _ = np.random.SeedSequence(5).spawn(2)
    pooled = bootstrap_indices(60, 100, np.random.default_rng(boot_seq),
                               groups=np.repeat([0, 1], 30))
    idx = {1: pooled[:, :30], -1: pooled[:, 30:] - 30}
    assert idx[1].max() < 30 and idx[-1].min() >= 0
    stats = geometry_statistics(wall_danger, idx)
    low, high = np.nanquantile(stats["asymmetry"], [0.025, 0.975])
    assert res["A"].ci_low == pytest.approx(low)
    assert res["A"].ci_high == pytest.approx(high)
    assert np.isnan(res["A"].p_value)
    counts = index_counts(idx[-1], 30)
    assert (counts.sum(axis=1) == 30).all()


def test_noise_precision_matches_compare_crossnobis(wall_danger):
    """With a noise precision, the steps are the crossnobis RDM's adjacent entries."""
    prec = noise_precision(valence_grid(wall_danger).residuals()[0], shrinkage="eye",
                           dof=valence_grid(wall_danger).residuals()[1])
    steps = step_lengths(wall_danger, noise=prec)
    danger = wall_danger.isel(condition=wall_danger["valence"].values == -1)
    rdm = compute_rdm(danger, "crossnobis", noise=prec).values
    order = np.argsort(danger["approach"].values)
    ref = np.sqrt(np.clip([rdm[order[a], order[a + 1]] for a in range(5)], 0, None))
    np.testing.assert_allclose(steps.sel(valence=-1).values, ref, rtol=1e-8)
    by_name = step_lengths(wall_danger, noise="eye")
    np.testing.assert_allclose(by_name.values, steps.values, rtol=1e-10)
    assert by_name.attrs["noise"] == "eye"
    res = valence_geometry(wall_danger, noise="eye", n_boot=50, n_perm=50)
    assert res.to_frame()["noise"].unique().tolist() == ["eye"]


def test_skipping_inference_and_euclidean_single_repetition():
    da = wall_funnel(1, n_units=8, n_reps=1, rng=np.random.default_rng(2))[0]
    res = valence_geometry(da, distance="euclidean", n_boot=0, n_perm=0)
    assert res["A"].estimate < 0
    assert np.isnan(res["A"].ci_low) and np.isnan(res["A"].p_value)
    # euclidean: no bootstrap interval at all (it would add the noise floor again), a note
    res = valence_geometry(da, distance="euclidean", n_boot=10, n_perm=0)
    assert np.isnan(res["A"].ci_low) and "crossnobis" in res.to_frame()["note"].iloc[0]
    with pytest.raises(InferenceError, match=r"valence 'reward' has 1 complete repetition"):
        valence_geometry(da, n_boot=10, n_perm=0)


def test_two_repetitions_give_no_interval():
    """With 2 repetitions every cross-validated resample is the observed pair or undefined:
    no cross-validated distance, and no interval (the rule of neuroalign.core.degenerate)."""
    da = wall_funnel(1, n_units=8, n_reps=2, rng=np.random.default_rng(3))[0]
    with pytest.raises(InferenceError, match=r"2 complete repetition\(s\); cross-validation "
                                             r"needs at least 3"):
        valence_geometry(da, n_boot=50, n_perm=0)
    frame = valence_geometry(da, distance="euclidean", n_boot=50, n_perm=0).to_frame()
    assert frame["ci_low"].isna().all() and frame["note"].notna().all()


def test_euclidean_bootstrap_is_refused_where_it_would_exclude_the_estimate():
    """Planted data: euclidean percentile intervals exclude their estimate; none are given."""
    da = wall_funnel(1, n_units=20, n_reps=15, rng=np.random.default_rng(4))[0]
    res = valence_geometry(da, distance="euclidean", n_boot=200, n_perm=0)
    frame = res.to_frame()
    assert frame["ci_low"].isna().all() and frame["note"].str.contains("crossnobis").all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_boot": 1}, r"n_boot: got 1; expected 0 \(skip\) or at least 2"),
        ({"n_perm": -3}, r"n_perm: got -3; expected an integer >= 0"),
        ({"level": 1.5}, r"level: got 1.5; expected a number in \(0, 1\)"),
        ({"w": 5}, r"w: got 5; expected an integer with 1 <= w < K = 5"),
        ({"distance": "manhattan"}, r"distance: got 'manhattan'"),
        ({"noise": np.eye(3)}, r"noise: precision of shape \(3, 3\); expected \(20, 20\)"),
        ({"noise": -np.eye(20)}, r"not positive definite"),
        ({"noise": "ridge"}, r"shrinkage: got 'ridge'"),
    ],
)
def test_bad_parameters(wall_danger, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        valence_geometry(wall_danger, **kwargs)


def test_zero_path_length_is_an_inference_error():
    da = wall_funnel(1, n_units=6, n_reps=5, rng=np.random.default_rng(3))[0]
    flat = xr.full_like(da, 1.0)
    with pytest.raises(InferenceError, match=r"valence 'reward': total path length is 0"):
        valence_geometry(flat, distance="euclidean", n_boot=10, n_perm=10)


def test_single_valence_is_refused():
    da = wall_funnel(1, n_units=6, n_reps=5, rng=np.random.default_rng(3))[0]
    reward_only = da.isel(condition=da["valence"].values == 1)
    with pytest.raises(ValidationError, match=r"valence\(s\) \['danger'\] missing"):
        valence_geometry(reward_only)


def test_identical_repetitions_give_exact_steps_and_undefined_convergence():
    """Deterministic probes (every repetition equal): exact S, convergence NaN, no crash."""
    from geometry_helpers import planted_means, sample_patterns

    steps = {1: np.full(5, 0.5), -1: np.r_[2.0, 0.1, 0.1, 0.1, 0.1]}
    da = sample_patterns(planted_means(steps, 10, np.random.default_rng(0)), 4,
                         np.random.default_rng(1), noise=0.0)
    res = valence_geometry(da, n_boot=20, n_perm=20)
    assert res["S_reward"].estimate == pytest.approx(0.2)
    assert res["S_danger"].estimate == pytest.approx(2.0 / 2.4)
    assert res["S_danger"].ci_low == pytest.approx(2.0 / 2.4)
    assert np.isnan(res["convergence_reward"].estimate)
    assert res["A"].p_value <= 1.0
