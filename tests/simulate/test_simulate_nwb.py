"""Synthetic NWB sessions: contents, realism, ground truth, reproducibility."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO

from neuroalign.core.errors import OutputExistsError, ValidationError
from neuroalign.simulate import (
    DEFAULT_NEUTRAL_TRIALS,
    DEFAULT_REGIONS,
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    planted_sharpness,
    simulate_session,
)

SMALL = {"regions": {"LA": "wall_danger", "CeA": "none"}, "n_units_per_region": 6,
         "n_trials_per_valence": 8, "n_neutral_trials": 4}


@pytest.fixture(scope="module")
def default_session(tmp_path_factory):
    return simulate_session(tmp_path_factory.mktemp("nwb") / "s.nwb", seed=3)


def _ragged(path, name):
    with h5py.File(path, "r") as f:
        data = f[f"units/{name}"][:]
        index = f[f"units/{name}_index"][:]
    return np.split(data, index[:-1])


def test_file_opens_with_pynwb_and_holds_the_layout(default_session):
    with NWBHDF5IO(str(default_session), "r") as io:
        nwb = io.read()
        assert nwb.session_description.startswith("SYNTHETIC")
        assert "synthetic" in list(nwb.keywords[:])
        assert nwb.subject.species == "Mus musculus"
        units = nwb.units.to_dataframe()
        trials = nwb.trials.to_dataframe()
        electrodes = nwb.electrodes.to_dataframe()
        assert set(nwb.electrode_groups) == {f"shank_{r}" for r in DEFAULT_REGIONS}
        unit_elec = nwb.units["electrodes"][:]
    assert len(units) == len(DEFAULT_REGIONS) * DEFAULT_UNITS_PER_REGION
    # every unit's electrode lies in the region of its planting
    region = np.asarray([e["location"].iloc[0] for e in unit_elec])
    assert set(electrodes["location"]) == set(DEFAULT_REGIONS)
    for reg, planting in DEFAULT_REGIONS.items():
        assert set(units["planted_geometry"][region == reg]) == {planting}
        assert (units["electrode_group"][region == reg].map(lambda g: g.location) == reg).all()
    # amygdala trials layout
    assert {"start_time", "stop_time", "cue_time", "outcome_time", "trial_type"} <= set(trials)
    counts = trials["trial_type"].value_counts().to_dict()
    assert counts == {"sucrose": DEFAULT_TRIALS_PER_VALENCE, "shock": DEFAULT_TRIALS_PER_VALENCE,
                      "neutral": DEFAULT_NEUTRAL_TRIALS}
    np.testing.assert_allclose(trials["outcome_time"] - trials["cue_time"], 1.5)
    assert (trials["start_time"] < trials["cue_time"]).all()
    assert (trials["outcome_time"] < trials["stop_time"]).all()
    gaps = trials["start_time"].to_numpy()[1:] - trials["stop_time"].to_numpy()[:-1]
    assert gaps.min() >= 2.0 and gaps.max() <= 4.0
    # randomised order: not blocked by type
    types = trials["trial_type"].to_numpy()
    assert (types[1:] != types[:-1]).sum() > 30


def test_spike_rates_are_realistic(default_session):
    trains = _ragged(default_session, "spike_times")
    with NWBHDF5IO(str(default_session), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        trials = nwb.trials.to_dataframe()
    duration = trials["stop_time"].iloc[-1] + 5
    rates = np.asarray([t.size for t in trains]) / duration
    assert 1.0 < np.median(rates) < 15.0 and rates.min() > 0.5 and rates.max() < 40.0
    for t in trains:
        assert np.all(np.diff(t) > 0) and t.min() >= 0
    # inter-trial firing matches the planted baseline (Poisson with a few hundred s)
    starts, stops = trials["start_time"].to_numpy(), trials["stop_time"].to_numpy()
    iti = np.concatenate([[0.0, starts[0]], np.column_stack([stops[:-1], starts[1:]]).ravel()])
    iti = iti.reshape(-1, 2)
    iti_len = (iti[:, 1] - iti[:, 0]).sum()
    for t, base in zip(trains, units["baseline_rate"], strict=True):
        n = sum(np.searchsorted(t, hi) - np.searchsorted(t, lo) for lo, hi in iti)
        assert abs(n - base * iti_len) < 5 * np.sqrt(base * iti_len) + 2


def test_ground_truth_round_trips(default_session):
    with NWBHDF5IO(str(default_session), "r") as io:
        nwb = io.read()
        params = json.loads(nwb.notes)
        table = nwb.processing["ground_truth"]["planted_regions"].to_dataframe()
        units = nwb.units.to_dataframe()
    assert params["seed"] == 3 and params["regions"] == dict(DEFAULT_REGIONS)
    assert params["n_units_per_region"] == DEFAULT_UNITS_PER_REGION
    assert params["n_trials_per_valence"] == DEFAULT_TRIALS_PER_VALENCE
    assert params["bin_size"] == 0.25
    assert list(table["region"]) == list(DEFAULT_REGIONS)
    for _, row in table.iterrows():
        assert row["planting"] == DEFAULT_REGIONS[row["region"]]
        assert row["sharpness_danger"] == pytest.approx(planted_sharpness(row["planting"], -1))
        assert row["sharpness_reward"] == pytest.approx(planted_sharpness(row["planting"], 1))
        assert row["asymmetry"] == pytest.approx(params["planted"][row["region"]]["asymmetry"])
    # planted per-unit trajectories: start at baseline, path length per region as stored
    reward = np.stack(units["planted_rate_reward"].to_numpy())
    danger = np.stack(units["planted_rate_danger"].to_numpy())
    np.testing.assert_allclose(reward[:, 0], units["baseline_rate"])
    for i, region in enumerate(DEFAULT_REGIONS):
        sl = slice(DEFAULT_UNITS_PER_REGION * i, DEFAULT_UNITS_PER_REGION * (i + 1))
        for traj in (reward[sl], danger[sl]):
            path = np.linalg.norm(np.diff(traj, axis=1), axis=0).sum()  # traj: (unit, a)
            assert path == pytest.approx(table["path_length_hz"].iloc[i])
        assert region in params["planted"]


def test_spikes_carry_the_planted_geometry(tmp_path):
    path = simulate_session(tmp_path / "big.nwb", regions={"A": "wall_danger",
                            "B": "wall_reward"}, n_units_per_region=40,
                            n_trials_per_valence=150, n_neutral_trials=0, seed=1,
                            baseline_median_hz=10.0)
    trains = _ragged(path, "spike_times")
    with NWBHDF5IO(str(path), "r") as io:
        trials = io.read().trials.to_dataframe()
    outcome = trials["outcome_time"].to_numpy()
    valence = trials["trial_type"].map({"sucrose": 1, "shock": -1}).to_numpy()
    edges = outcome[:, None] + 0.25 * np.arange(-5, 2)[None, :]  # bins a = 5..0
    counts = np.stack([np.diff(np.searchsorted(t, edges), axis=1) for t in trains], axis=2)
    for sl, planting in ((slice(0, 40), "wall_danger"), (slice(40, 80), "wall_reward")):
        for v in (1, -1):
            x = counts[valence == v][:, :, sl]
            d1 = np.diff(x[0::2].mean(0), axis=0)
            d2 = np.diff(x[1::2].mean(0), axis=0)
            steps = np.sqrt(np.clip((d1 * d2).sum(1), 0, None))
            assert steps[-1] / steps.sum() == pytest.approx(
                planted_sharpness(planting, v), abs=0.2)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = simulate_session(tmp_path / "a.nwb", seed=7, **SMALL)
    b = simulate_session(tmp_path / "b.nwb", seed=7, **SMALL)
    c = simulate_session(tmp_path / "c.nwb", seed=8, **SMALL)
    assert a.read_bytes() == b.read_bytes()
    with h5py.File(a, "r") as fa, h5py.File(c, "r") as fc:
        assert fa["units/spike_times"].shape != fc["units/spike_times"].shape or not \
            np.array_equal(fa["units/spike_times"][:], fc["units/spike_times"][:])
        assert not np.array_equal(fa["intervals/trials/cue_time"][:],
                                  fc["intervals/trials/cue_time"][:])
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert fa.attrs["object_id"] == fb.attrs["object_id"]
        np.testing.assert_array_equal(fa["units/spike_times"][:], fb["units/spike_times"][:])


def test_existing_file_is_refused(tmp_path):
    path = simulate_session(tmp_path / "a.nwb", seed=0, **SMALL)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match=r"a\.nwb: exists; pass overwrite=True"):
        simulate_session(path, seed=1, **SMALL)
    assert path.read_bytes() == before
    simulate_session(path, seed=1, overwrite=True, **SMALL)
    assert path.read_bytes() != before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"regions": {"LA": "wall"}}, r"regions\['LA'\]: planting: got 'wall'; expected one "
                                      r"of \['none', 'symmetric', 'wall_danger', 'wall_reward'\]"),
        ({"regions": {}}, r"regions: got an empty mapping"),
        ({"n_units_per_region": 0}, r"n_units_per_region: got 0; expected a positive integer"),
        ({"n_trials_per_valence": -2}, r"n_trials_per_valence: got -2; expected a positive"),
        ({"n_neutral_trials": -1}, r"n_neutral_trials: got -1; expected a non-negative"),
        ({"seed": -1}, r"seed: got -1; expected a non-negative integer"),
        ({"cue_to_outcome": 1.0}, r"cue_to_outcome: got 1.0; expected at least "
                                  r"n_approach \* bin_size = 1.25"),
    ],
)
def test_bad_session_parameters(tmp_path, kwargs, match):
    args = {**SMALL, **kwargs}
    with pytest.raises(ValidationError, match=match):
        simulate_session(tmp_path / "x.nwb", **args)
    assert not list(tmp_path.iterdir())


def test_small_session_passes_the_nwb_validator(tmp_path):
    from pynwb import validate

    path = simulate_session(tmp_path / "v.nwb", seed=2, **SMALL)
    assert validate(path=str(path)) == []
