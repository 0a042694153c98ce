"""The generative model: planted profiles, sharpness, bounds and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroalign.core.errors import ValidationError
from neuroalign.simulate import (
    PLANTINGS,
    make_region_model,
    planted_asymmetry,
    planted_sharpness,
    step_profile,
)


@pytest.mark.parametrize(
    ("planting", "s_reward", "s_danger", "asym"),
    [
        ("wall_danger", 0.2, 1.0, 0.8),
        ("wall_reward", 1.0, 0.2, -0.8),
        ("symmetric", 0.6, 0.6, 0.0),
    ],
)
def test_planted_sharpness_values(planting, s_reward, s_danger, asym):
    assert planted_sharpness(planting, 1) == pytest.approx(s_reward)
    assert planted_sharpness(planting, "danger") == pytest.approx(s_danger)
    assert planted_asymmetry(planting) == pytest.approx(asym)


def test_sharpness_window_formula():
    # wall: 1 for every window; funnel: w / K
    for w in range(1, 6):
        assert planted_sharpness("wall_danger", -1, window=w) == pytest.approx(1.0)
        assert planted_sharpness("wall_danger", 1, window=w) == pytest.approx(w / 5)
        assert planted_sharpness("symmetric", 1, window=w) == pytest.approx(0.5 + 0.5 * w / 5)


def test_none_and_neutral_have_no_path():
    assert math.isnan(planted_sharpness("none", 1))
    assert planted_asymmetry("none") == 0.0
    assert math.isnan(planted_sharpness("wall_danger", 0))
    assert not step_profile("none", -1).any()


@pytest.mark.parametrize("planting", sorted(PLANTINGS))
def test_trajectory_steps_match_profile_and_equal_length(planting):
    model = make_region_model(planting, 40, 5, seed=3)
    lengths = {}
    for v in (1, -1):
        traj = model.trajectory(v)  # rows a = 5..0
        assert traj.shape == (6, 40)
        np.testing.assert_allclose(traj[0], model.baseline)  # path starts at baseline
        steps = np.linalg.norm(np.diff(traj, axis=0), axis=1)[::-1]  # a = 0..4
        np.testing.assert_allclose(steps, model.path_length * step_profile(planting, v),
                                   atol=1e-9)
        lengths[v] = steps.sum()
    assert lengths[1] == pytest.approx(lengths[-1])
    np.testing.assert_allclose(model.trajectory(0), np.tile(model.baseline, (6, 1)))


def test_rates_stay_within_bounds_and_baselines_realistic():
    model = make_region_model("symmetric", 500, seed=0, excite=2.0, inhibit=0.8)
    assert model.baseline.min() >= 1.0 and model.baseline.max() <= 20.0
    assert 3.0 < np.median(model.baseline) < 8.0
    for v in (1, -1):
        ratio = model.trajectory(v) / model.baseline
        assert ratio.min() >= 0.2 - 1e-9 and ratio.max() <= 3.0 + 1e-9


def test_gain_spread_narrows_like_the_path():
    model = make_region_model("wall_danger", 10, seed=0, sigma_max=0.3, sigma_min=0.1)
    funnel = model.gain_sd(1)  # a = 5..0
    wall = model.gain_sd(-1)
    np.testing.assert_allclose(funnel, np.linspace(0.3, 0.1, 6))
    np.testing.assert_allclose(wall, [0.3] * 5 + [0.1])


def test_model_is_seeded():
    a = make_region_model("wall_reward", 20, seed=11)
    b = make_region_model("wall_reward", 20, seed=11)
    c = make_region_model("wall_reward", 20, seed=12)
    np.testing.assert_array_equal(a.trajectory(1), b.trajectory(1))
    assert not np.allclose(a.baseline, c.baseline)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"planting": "funnel"}, r"planting: got 'funnel'; expected one of \['none', "
                                 r"'symmetric', 'wall_danger', 'wall_reward'\]"),
        ({"n_units": 0}, r"n_units: got 0; expected a positive integer"),
        ({"n_units": -3}, r"n_units: got -3; expected a positive integer"),
        ({"n_units": 2.5}, r"n_units: got 2.5; expected a positive integer"),
        ({"n_approach": 0}, r"n_approach: got 0; expected a positive integer"),
        ({"modulation": 2.0}, r"modulation: got 2.0; expected a value in \(0, 1\]"),
        ({"inhibit": 1.0}, r"inhibit: got 1.0; expected a value in \(0, 1\)"),
        ({"seed": "seed"}, r"seed: got str; expected a numpy Generator"),
    ],
)
def test_model_bad_parameters(kwargs, match):
    args = {"planting": "symmetric", "n_units": 5, **kwargs}
    with pytest.raises(ValidationError, match=match):
        make_region_model(**args)


def test_window_larger_than_approach_is_refused():
    with pytest.raises(ValidationError, match=r"window: got 6; expected at most n_approach=5"):
        planted_sharpness("symmetric", 1, window=6)
