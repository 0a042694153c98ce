"""The in-memory sampler and the brain-like mixture of model activations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neuroalign.core.contracts import condition_coords
from neuroalign.core.errors import ValidationError
from neuroalign.simulate import (
    make_region_model,
    patterns_from_activations,
    sample_condition_patterns,
    sample_from_model,
)


def _empirical_sharpness(counts: np.ndarray, valence: np.ndarray, window: int = 1) -> dict:
    """Plain numpy: split-half cross-validated step lengths of trial-averaged patterns."""
    out = {}
    for v in (1, -1):
        x = counts[:, valence == v]  # (rep, a = K..0, unit)
        half1, half2 = x[0::2].mean(axis=0), x[1::2].mean(axis=0)
        d1, d2 = np.diff(half1, axis=0), np.diff(half2, axis=0)  # steps K->K-1, ..., 1->0
        lengths = np.sqrt(np.clip((d1 * d2).sum(axis=1), 0.0, None))
        out[v] = lengths[-window:].sum() / lengths.sum()
    return out


def test_layout_coords_and_attrs():
    da = sample_condition_patterns("wall_danger", n_units=7, n_repetitions=5, seed=0)
    assert da.dims == ("repetition", "condition", "unit")
    assert da.shape == (5, 12, 7)
    expected = condition_coords((1, -1), range(6))
    for name, (_, values) in expected.items():
        np.testing.assert_array_equal(da[name].values, values)
    assert da["label"].values[0] == "reward:5" and da["label"].values[-1] == "danger:0"
    assert list(da["unit_id"].values[:2]) == ["wall_danger-u000", "wall_danger-u001"]
    assert set(da["region"].values) == {"wall_danger"}
    assert da.attrs["synthetic"] == 1
    assert da.attrs["planting"] == "wall_danger"
    assert da.attrs["planted_sharpness_danger"] == pytest.approx(1.0)
    assert da.attrs["planted_sharpness_reward"] == pytest.approx(0.2)
    assert da.attrs["planted_asymmetry"] == pytest.approx(0.8)
    assert da.attrs["seed"] == 0
    assert "neuroalign_version" in da.attrs
    values = da.values
    assert (values >= 0).all() and np.array_equal(values, np.round(values))


def test_neutral_valence_and_region_label():
    da = sample_condition_patterns("symmetric", 4, 3, valences=(1, 0, -1), seed=1,
                                   region="BLA")
    assert list(np.unique(da["valence"].values)) == [-1, 0, 1]
    assert da.sizes["condition"] == 18
    assert set(da["region"].values) == {"BLA"}


@pytest.mark.parametrize("planting", ["wall_danger", "wall_reward", "symmetric"])
def test_empirical_sharpness_matches_planted(planting):
    da = sample_condition_patterns(planting, n_units=40, n_repetitions=6000, seed=5)
    got = _empirical_sharpness(da.values, da["valence"].values)
    assert got[1] == pytest.approx(da.attrs["planted_sharpness_reward"], abs=0.06)
    assert got[-1] == pytest.approx(da.attrs["planted_sharpness_danger"], abs=0.06)
    asym = got[-1] - got[1]
    assert asym == pytest.approx(da.attrs["planted_asymmetry"], abs=0.1)


def test_trial_average_converges_to_expected_rates():
    model = make_region_model("wall_reward", 25, seed=2)
    da = sample_from_model(model, 8000, bin_size=0.5, seed=3)
    mean = da.mean("repetition").values
    expected = np.vstack([model.trajectory(1), model.trajectory(-1)]) * 0.5
    sem = np.sqrt(expected * 1.2 / 8000)  # Poisson plus gain variance, generous
    assert np.abs(mean - expected).max() < 6 * sem.max()


def test_single_trial_spread_narrows_toward_outcome_for_funnel():
    # funnel (reward in wall_danger): relative spread shrinks gradually; wall only at 0
    model = make_region_model("wall_danger", 60, seed=4, baseline_median_hz=40.0,
                              baseline_range_hz=(20.0, 80.0))
    da = sample_from_model(model, 4000, bin_size=1.0, seed=5)
    for v, monotone in ((1, True), (-1, False)):
        x = da.values[:, da["valence"].values == v]  # (rep, a = 5..0, unit)
        total = x.sum(axis=2)  # population count per repetition
        cv = total.std(axis=0) / total.mean(axis=0)
        assert cv[-1] < cv[0] - 0.1
        if monotone:
            assert np.all(np.diff(cv) < 0.02) and cv[2] < cv[0] - 0.03
        else:
            assert abs(cv[3] - cv[0]) < 0.03  # flat until the wall


def test_seed_reproduces_and_differs():
    a = sample_condition_patterns("symmetric", 10, 8, seed=42)
    b = sample_condition_patterns("symmetric", 10, 8, seed=42)
    c = sample_condition_patterns("symmetric", 10, 8, seed=43)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    gen = np.random.default_rng(0)
    d = sample_condition_patterns("symmetric", 10, 8, seed=gen)
    e = sample_condition_patterns("symmetric", 10, 8, seed=gen)
    assert not np.array_equal(d.values, e.values)
    assert "seed" not in d.attrs


def test_none_planting_has_no_valence_signal():
    da = sample_condition_patterns("none", 30, 4000, seed=9)
    mean = da.mean("repetition").values
    model_rates = mean.mean(axis=0)
    # every condition's mean equals the common baseline within Poisson error
    assert np.abs(mean - model_rates).max() < 6 * np.sqrt(model_rates.max() * 1.1 / 4000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"planting": "walls"}, r"planting: got 'walls'; expected one of \['none', 'symmetric',"),
        ({"n_repetitions": 0}, r"n_repetitions: got 0; expected a positive integer"),
        ({"n_units": -1}, r"n_units: got -1; expected a positive integer"),
        ({"bin_size": 0}, r"bin_size: got 0; expected a finite positive number"),
        ({"valences": (1, 1)}, r"valences: got \(1, 1\); expected distinct valences"),
        ({"valences": (2,)}, r"valence: got 2; expected one of \[-1, 0, 1\]"),
    ],
)
def test_sampler_bad_parameters(kwargs, match):
    args = {"planting": "symmetric", "n_units": 3, "n_repetitions": 2, **kwargs}
    with pytest.raises(ValidationError, match=match):
        sample_condition_patterns(**args)


def _rdm(x: np.ndarray) -> np.ndarray:
    c = x.shape[0]
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return d[np.triu_indices(c, 1)]


def test_patterns_from_activations_keep_the_model_geometry():
    rng = np.random.default_rng(0)
    coords = condition_coords((1, -1), range(6))
    agent = xr.DataArray(rng.standard_normal((12, 16)), dims=("condition", "unit"),
                         coords=coords, attrs={"source": "zoo:dqn"})
    other = rng.standard_normal((12, 16))
    brain = patterns_from_activations(agent, n_units=60, n_repetitions=50, noise=0.3, seed=1)
    assert brain.dims == ("repetition", "condition", "unit")
    assert brain.shape == (50, 12, 60)
    np.testing.assert_array_equal(brain["label"].values, coords["label"][1])
    assert brain.attrs["synthetic"] == 1 and brain.attrs["model_source"] == "zoo:dqn"
    values = brain.values
    assert (values >= 0).all() and np.array_equal(values, np.round(values))
    brain_rdm = _rdm(brain.mean("repetition").values)
    r_agent = np.corrcoef(brain_rdm, _rdm(agent.values))[0, 1]
    r_other = np.corrcoef(brain_rdm, _rdm(other))[0, 1]
    assert r_agent > 0.5 and r_agent > r_other + 0.3


def test_patterns_from_activations_with_repetitions_and_arrays():
    rng = np.random.default_rng(1)
    acts = rng.random((4, 6, 5))
    a = patterns_from_activations(acts, n_units=8, n_repetitions=3, seed=7)
    b = patterns_from_activations(acts, n_units=8, n_repetitions=3, seed=7)
    assert a.shape == (3, 6, 8)
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.parametrize(
    ("patterns", "kwargs", "match"),
    [
        (np.ones(5), {}, r"model_patterns: shape \(5,\); expected a non-empty"),
        (np.full((3, 2), np.nan), {}, r"model_patterns: contains NaN"),
        (np.ones((3, 2)), {"noise": -1}, r"noise: got -1; expected a finite non-negative"),
        (np.ones((3, 2)), {"n_units": 0}, r"n_units: got 0; expected a positive integer"),
        (xr.DataArray(np.ones((3, 2)), dims=("unit", "condition")), {},
         r"model_patterns: dims \('unit', 'condition'\); expected"),
    ],
)
def test_patterns_from_activations_bad_input(patterns, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        patterns_from_activations(patterns, **kwargs)


def test_expected_patterns_are_the_trajectories_times_bin():
    from neuroalign.simulate import expected_patterns

    model = make_region_model("wall_danger", 6, seed=0)
    da = expected_patterns(model, valences=(-1, 0), bin_size=0.1, region="BLA")
    assert da.dims == ("condition", "unit") and da.attrs["synthetic"] == 1
    np.testing.assert_allclose(da.values[:6], model.trajectory(-1) * 0.1)
    np.testing.assert_allclose(da.values[6:], np.tile(model.baseline * 0.1, (6, 1)))
    assert list(da["label"].values[[0, 11]]) == ["danger:5", "neutral:0"]
