"""The contrast x outcome x time grid of a stimulus-aligned two-choice session."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neuroalign.core.errors import DataError, ValidationError
from neuroalign.io.grid import contrast_grid


def _session(n_trials=60, n_units=3, window=0.4, bin_size=0.01, seed=0):
    rng = np.random.default_rng(seed)
    cl = rng.choice([0.0, 0.25, 0.5, 1.0], n_trials)
    cr = rng.choice([0.0, 0.25, 0.5, 1.0], n_trials)
    cl[:4], cr[:4] = [1, 0, 0, 1], [0, 1, 1, 0]  # every side with both outcomes
    fb = np.where(rng.random(n_trials) < 0.7, 1, -1)
    fb[:4] = [1, 1, -1, -1]
    fb[4:8], cl[4:8], cr[4:8] = [1, -1, 1, -1], [0, 0, 0.5, 0.5], [0, 0, 0.5, 0.5]
    n_bins = round(window / bin_size)
    data = rng.poisson(5.0, (n_trials, n_units, n_bins)).astype(np.float64)
    return xr.DataArray(
        data, dims=("trial", "unit", "time"),
        coords={"time": (np.arange(n_bins) + 0.5) * bin_size,
                "contrast_left": ("trial", cl), "contrast_right": ("trial", cr),
                "feedback_type": ("trial", fb), "trial_id": ("trial", np.arange(n_trials) + 100),
                "region": ("unit", ["VISp", "VISp", "MOs"]), "session": "s0"},
        attrs={"bin_size": bin_size})


def test_values_are_step_means_of_the_right_trials():
    resp = _session()
    grid = contrast_grid(resp, by="side", balance="pad")
    assert grid.sizes["condition"] == 3 * 2 * 4
    assert grid["label"].values[0] == "side-1.00:reward:0s"
    assert grid["session"].values.tolist() == ["s0"] * 3
    side = np.sign(resp["contrast_right"].values - resp["contrast_left"].values)
    fb = resp["feedback_type"].values
    for c in range(grid.sizes["condition"]):
        level, val = grid["contrast"].values[c], grid["valence"].values[c]
        k = round(grid["time_s"].values[c] / 0.1)
        members = np.flatnonzero((side == level) & (fb == val))
        ids = grid["trial_id"].values[: len(members), c]
        assert ids.tolist() == (members + 100).tolist()
        expected = resp.values[members][:, :, 10 * k:10 * (k + 1)].mean(axis=2)
        assert np.allclose(grid.values[: len(members), c], expected)
        assert np.isnan(grid.values[len(members):, c]).all()


def test_balance_min_and_steps():
    resp = _session()
    grid = contrast_grid(resp, by="side", n_steps=2)
    assert grid.sizes["condition"] == 3 * 2 * 2 and not np.isnan(grid.values).any()
    with pytest.raises(ValidationError, match=r"time step 4 \(\[0.4, 0.5\) s"):
        contrast_grid(resp, by="side", n_steps=5)


def test_empty_cells_and_missing_coords_are_reported():
    resp = _session()
    with pytest.raises(DataError, match=r"contrast cells \[.*\] have zero trials"):
        contrast_grid(resp.isel(trial=slice(0, 20)), by="diff")
    with pytest.raises(ValidationError, match="no 'contrast_left' coord"):
        contrast_grid(resp.drop_vars("contrast_left"))
    with pytest.raises(ValidationError, match="by: got 'pair'"):
        contrast_grid(resp, by="pair")
