"""Predictivity: planted encoding models, ceilings, reproducibility, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neuroalign.compare import predictivity
from neuroalign.compare.predictivity import split_half_reliability
from neuroalign.core import InferenceError, ValidationError


def make_data(n_cond=40, n_model=6, n_neurons=10, n_rep=8, noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(n_cond)]
    x = rng.standard_normal((n_cond, n_model))
    signal = x @ rng.standard_normal((n_model, n_neurons))
    reps = signal[None] + noise * rng.standard_normal((n_rep, n_cond, n_neurons))
    brain = xr.DataArray(
        reps, dims=("repetition", "condition", "unit"),
        coords={"label": ("condition", labels), "unit_id": ("unit", np.arange(n_neurons)),
                "region": ("unit", np.where(np.arange(n_neurons) < 5, "BLA", "NAc"))},
    )
    model = xr.DataArray(x, dims=("condition", "unit"), coords={"label": ("condition", labels)})
    return brain, model


def test_planted_linear_code_is_recovered_and_ceiled():
    brain, model = make_data()
    res = predictivity(model, brain, seed=1)
    assert list(res.per_unit.columns) == ["unit_id", "region", "r", "reliability", "ceiling",
                                          "ceiled", "alpha"]
    assert (res.per_unit["r"] > 0.8).all()
    # the ceiled score corrects for trial noise: close to 1 for a perfect linear code
    assert res.per_unit["ceiled"].median() == pytest.approx(1.0, abs=0.1)
    assert (res.per_unit["ceiled"] >= res.per_unit["r"]).all()
    assert list(res.per_region["region"]) == ["BLA", "NAc"]
    assert list(res.per_region["n_units"]) == [5, 5]


def test_unrelated_model_scores_near_zero():
    brain, _ = make_data()
    _, other = make_data(seed=7)
    res = predictivity(other, brain, seed=1)
    assert abs(res.per_unit["r"].median()) < 0.25


def test_model_aligned_by_label_and_seed_reproducible():
    brain, model = make_data()
    shuffled = model.isel(condition=np.random.default_rng(0).permutation(40))
    a = predictivity(model, brain, seed=3)
    b = predictivity(shuffled, brain, seed=3)
    np.testing.assert_allclose(a.per_unit["ceiling"], b.per_unit["ceiling"])
    c = predictivity(model, brain, seed=3)
    np.testing.assert_array_equal(a.per_unit["r"], c.per_unit["r"])
    assert a.seed == 3


def test_split_half_reliability_matches_spearman_brown():
    brain, _ = make_data(noise=0.0)
    np.testing.assert_allclose(split_half_reliability(brain.values), 1.0)
    rng = np.random.default_rng(0)
    pure_noise = rng.standard_normal((10, 30, 4))
    rel = split_half_reliability(pure_noise, n_splits=50, seed=0)
    assert np.all(np.abs(rel) < 0.5)


def test_bad_input():
    brain, model = make_data()
    with pytest.raises(ValidationError, match=r"brain: expected a DataArray with dims"):
        predictivity(model, brain.mean("repetition"))
    with pytest.raises(ValidationError, match=r"model: expected a DataArray with dims"):
        predictivity(brain, brain)
    # the arguments are (model, brain) as everywhere; the old order is named
    with pytest.raises(ValidationError, match=r"brain: expected .*; the arguments are "
                                              r"\(model, brain\)"):
        predictivity(brain, model)
    other = model.assign_coords(label=("condition", [f"z{i}" for i in range(40)]))
    with pytest.raises(ValidationError, match=r"share no condition label: brain has \['c0'"):
        predictivity(other, brain)
    with pytest.raises(ValidationError, match="need at least 4"):
        predictivity(model, brain.isel(condition=slice(0, 3)))
    # the degenerate rules (neuroalign.core.degenerate): repetitions, units, values
    with pytest.raises(InferenceError, match=r"brain has 1 repetition\(s\) of condition 0; "
                                             r"cross-validated RDMs and intervals need at "
                                             r"least 3"):
        predictivity(model, brain.isel(repetition=slice(0, 2)).isel(repetition=[0]))
    with pytest.raises(InferenceError, match=r"model has 1 unit\(s\); every measure needs "
                                             r"at least 2"):
        predictivity(model.isel(unit=[0]), brain)
    with pytest.raises(InferenceError, match=r"brain holds 1 infinite value"):
        predictivity(model, brain.copy(data=_one_inf(brain.values)))


def _one_inf(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[0, 0, 0] = np.inf
    return out


def test_huge_values_give_the_same_predictivity():
    """Values near 1e300 overflow squares; r is scale-invariant, so it is unchanged."""
    brain, model = make_data()
    small = predictivity(model, brain, seed=1).per_unit["r"].to_numpy()
    huge = predictivity(model * 1e300, brain * 1e300, seed=1).per_unit["r"].to_numpy()
    np.testing.assert_allclose(huge, small, rtol=1e-9, atol=1e-12)
