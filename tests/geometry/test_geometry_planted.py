"""Proven on planted ground truth: neuroalign.simulate sessions at the default size.

Small versions of benchmarks/bench_geometry.py (which runs >= 200 sessions).
"""

from __future__ import annotations

import numpy as np
import pytest
from geometry_helpers import planted_means, sample_patterns

from neuroalign.geometry import geometry_statistics, sharpness, valence_geometry
from neuroalign.simulate import (
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    expected_patterns,
    make_region_model,
    planted_sharpness,
    sample_condition_patterns,
)

# the default dataset's size per region (one definition, in neuroalign.simulate)
N_UNITS, N_TRIALS = DEFAULT_UNITS_PER_REGION, DEFAULT_TRIALS_PER_VALENCE


def _sessions(planting: str, n: int, offset: int, **kwargs) -> list:
    out = []
    for s in range(n):
        da = sample_condition_patterns(planting, n_units=N_UNITS, n_repetitions=N_TRIALS,
                                       seed=offset + s)
        out.append(valence_geometry(da, seed=s, **kwargs))
    return out


@pytest.mark.parametrize("planting", ["wall_danger", "wall_reward", "symmetric"])
def test_definition_matches_the_planted_sharpness_on_noise_free_means(planting):
    """On the generative model's expected rates, S equals the planted S exactly."""
    model = make_region_model(planting, N_UNITS, 5, np.random.default_rng(1))
    mean = expected_patterns(model).expand_dims("repetition")
    s = sharpness(mean, distance="euclidean", w=1)
    for v in (1, -1):
        assert s.sel(valence=v).item() == pytest.approx(planted_sharpness(planting, v))
    s2 = sharpness(mean, distance="euclidean", w=2)
    assert s2.sel(valence=1).item() == pytest.approx(planted_sharpness(planting, 1, window=2))


@pytest.mark.parametrize(("planting", "sign"), [("wall_danger", 1), ("wall_reward", -1)])
def test_planted_wall_gives_a_with_interval_excluding_zero(planting, sign):
    results = _sessions(planting, 20, 100 if sign > 0 else 200, n_boot=300, n_perm=0)
    a = [r["A"] for r in results]
    assert all(sign * x.estimate > 0 for x in a)
    detected = np.mean([x.ci_low > 0 if sign > 0 else x.ci_high < 0 for x in a])
    assert detected >= 0.95, detected  # the target rate of the full benchmark


def test_symmetric_planting_is_calibrated():
    results = _sessions("symmetric", 40, 300, n_boot=0, n_perm=200)
    p = np.array([r["A"].p_value for r in results])
    assert (p < 0.05).mean() <= 0.15
    # p-values of a valid test are not piled up near 0 and span the unit interval
    assert np.median(p) > 0.25 and p.max() > 0.8


def test_crossnobis_recovers_planted_sharpness_euclidean_is_biased():
    """Mean S over sessions: crossnobis near the planted values, euclidean pulled to the middle."""
    cv, eu = [], []
    for s in range(15):
        da = sample_condition_patterns("wall_danger", n_units=N_UNITS, n_repetitions=N_TRIALS,
                                       seed=400 + s)
        for dist, out in (("crossnobis", cv), ("euclidean", eu)):
            st = geometry_statistics(da, distance=dist)
            out.append((st["sharpness_reward"][0], st["sharpness_danger"][0]))
    cv, eu = np.mean(cv, axis=0), np.mean(eu, axis=0)
    planted = np.array([0.2, 1.0])
    assert abs(cv[0] - planted[0]) < 0.05
    assert cv[1] > 0.8  # a small downward bias from clipping noisy flat steps at 0
    # euclidean: every step carries a noise floor, so the wall looks much less sharp
    assert eu[1] < 0.7
    assert np.abs(eu - planted).sum() > 2 * np.abs(cv - planted).sum()


def test_unequal_trial_counts_bias_euclidean_not_crossnobis():
    """Equal planted sharpness, 40 vs 10 trials: the euclidean noise floor fakes an A."""
    a_cv, a_eu = [], []
    for s in range(30):
        rng = np.random.default_rng(500 + s)
        steps = {v: np.r_[0.9, 0.15, 0.15, 0.15, 0.15] for v in (1, -1)}  # S = 0.6 both
        da = sample_patterns(planted_means(steps, 20, rng), 40, rng, noise=1.0)
        da = da.copy()
        da[10:, da["valence"].values == -1, :] = np.nan  # danger: only 10 trials
        a_cv.append(geometry_statistics(da, distance="crossnobis")["asymmetry"][0])
        a_eu.append(geometry_statistics(da, distance="euclidean")["asymmetry"][0])
    a_cv, a_eu = np.array(a_cv), np.array(a_eu)
    se_cv = a_cv.std(ddof=1) / np.sqrt(a_cv.size)
    assert abs(a_cv.mean()) < 3 * se_cv + 0.01
    assert a_eu.mean() < -0.08  # fewer danger trials -> higher floor -> flatter danger path
