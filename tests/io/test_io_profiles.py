"""Event tables, canonical events and dataset profiles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from io_builders import amygdala_trials, poisson_spikes

from neuroalign.core.errors import DataError, ProfileError
from neuroalign.io import (
    apply_profile,
    canonical_events,
    detect_profile,
    generic_profile,
    get_profile,
    load_responses,
    open_nwb,
    read_event_tables,
)


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    with open_nwb(path) as h5:
        return read_event_tables(h5)


def _ibl_trials(test_data: Path) -> dict[str, list[object]]:
    csv = pd.read_csv(test_data / "ibl_trials_500.csv")
    start = csv["goCue_times"].to_numpy() - 0.5
    return {
        "start_time": list(start), "stop_time": list(csv["feedback_times"].to_numpy() + 1.0),
        "stimOn_times": list(csv["stimOn_times"]), "feedback_times": list(csv["feedback_times"]),
        "feedbackType": [int(v) for v in csv["feedbackType"]],
        "choice": [int(v) for v in csv["choice"]],
    }


def test_ibl_profile_on_real_trials(ephys_file: Callable[..., Path], test_data: Path) -> None:
    trials = _ibl_trials(test_data)
    duration = float(np.nanmax(trials["stop_time"])) + 5
    rng = np.random.default_rng(1)
    path = ephys_file(spikes=poisson_spikes(rng, 3, duration, rate=5.0), trials=trials,
                      unit_columns={"beryl_location": ["MOs", "CP", "VISp"],
                                    "allen_location": ["MOs5", "CP", "VISp2/3"]})
    tables = _tables(path)
    profile, reason = detect_profile(tables)
    assert profile is not None and profile.name == "ibl"
    assert reason == "trials.feedbackType holds +1/-1 feedback (IBL layout)"
    events = apply_profile(tables, profile)
    assert (events["valence"] == 1).sum() == 415 and (events["valence"] == -1).sum() == 85
    np.testing.assert_array_equal(events["time"], trials["feedback_times"])
    assert set(events["outcome"]) == {"water", "white_noise"}
    resp = load_responses(path, profile="auto", align="cue", window=(-0.5, 1.0), bin_size=0.25)
    assert resp.sizes["trial"] == 500 and resp.attrs["align_column"] == "stimOn_times"
    assert resp["region"].values.tolist() == ["MOs", "CP", "VISp"]
    assert set(resp["region_rule"].values) == {"units.beryl_location"}


def test_steinmetz_profile(ephys_file: Callable[..., Path]) -> None:
    t0 = 2.0 + 4.0 * np.arange(8)
    trials = {"start_time": list(t0), "stop_time": list(t0 + 3),
              "visual_stimulus_time": list(t0 + 0.5), "feedback_time": list(t0 + 1.5),
              "feedback_type": [1, -1, 1, 1, -1, 1, -1, 1]}
    rng = np.random.default_rng(2)
    path = ephys_file(spikes=poisson_spikes(rng, 2, 40.0), trials=trials,
                      unit_columns={"peak_channel": [1, 2]},
                      electrode_locations=["MOs", "ACA", "CA1", "LS"])
    profile, reason = detect_profile(_tables(path), ["peak_channel"])
    assert profile is not None and profile.name == "steinmetz"
    assert "visual_stimulus_time" in reason
    resp = load_responses(path, window=(-1.0, 0.5))
    assert resp.attrs["profile"] == "steinmetz"
    assert resp["region"].values.tolist() == ["ACA", "CA1"]
    assert resp["valence"].values.tolist() == trials["feedback_type"]


def test_amygdala_profile_with_neutral(ephys_file: Callable[..., Path]) -> None:
    rng = np.random.default_rng(4)
    trials = amygdala_trials(n_per=3, neutral=2)
    path = ephys_file(spikes=poisson_spikes(rng, 2, 60.0), trials=trials)
    events = apply_profile(_tables(path), get_profile("amygdala"))
    assert events["valence"].tolist() == [1, -1] * 3 + [0, 0]
    assert events["outcome"].tolist() == ["sucrose", "shock"] * 3 + ["neutral"] * 2
    np.testing.assert_allclose(events["time"], trials["outcome_time"])
    assert list(events.columns[:6]) == ["time", "event", "valence", "outcome", "trial", "source"]
    assert {"cue_time", "trial_type", "start_time"} <= set(events.columns)


def test_photometry_profile_in_behavior_table(ephys_file: Callable[..., Path]) -> None:
    kinds = ["reward", "Air_Puff", "reward", "air puff", "reward", "Air_Puff"]
    t = list(3.0 + 3.0 * np.arange(len(kinds)))
    rng = np.random.default_rng(5)
    path = ephys_file(spikes=poisson_spikes(rng, 2, 30.0), behavior_intervals={
        "Events": {"start_time": t, "stop_time": [x + 0.1 for x in t], "event_type": kinds}})
    tables = _tables(path)
    assert "processing/behavior/Events" in tables
    profile, reason = detect_profile(tables)
    assert profile is not None and profile.name == "photometry"
    assert reason.startswith("processing/behavior/Events.event_type holds")
    events = apply_profile(tables, profile)
    assert events["valence"].tolist() == [1, -1, 1, -1, 1, -1]
    assert events["outcome"].tolist() == ["reward", "air_puff"] * 3


def test_generic_profile_on_behavioral_events(ephys_file: Callable[..., Path]) -> None:
    rng = np.random.default_rng(6)
    path = ephys_file(spikes=poisson_spikes(rng, 2, 30.0), behavioral_events={
        "water_port": np.array([2.0, 9.0, 15.0]), "airpuff_valve": np.array([5.0, 12.0])})
    tables = _tables(path)
    profile = generic_profile({"event": {"water_port": 1, "airpuff_valve": "danger"}})
    events = apply_profile(tables, profile)
    assert events["time"].tolist() == [2.0, 5.0, 9.0, 12.0, 15.0]
    assert events["valence"].tolist() == [1, -1, 1, -1, 1]
    assert events["source"].unique().tolist() == ["acquisition/events"]
    resp = load_responses(path, profile="generic", mapping={
        "event": {"water_port": 1, "airpuff_valve": -1}}, window=(-1, 1))
    assert resp["valence"].values.tolist() == [1, -1, 1, -1, 1]


def test_canonical_events_merge_every_source(ephys_file: Callable[..., Path]) -> None:
    rng = np.random.default_rng(7)
    path = ephys_file(spikes=poisson_spikes(rng, 1, 90.0), trials=amygdala_trials(n_per=2),
                      behavioral_events={"lick": np.array([1.0, 1.5, 2.0])},
                      intervals={"epochs_extra": {"start_time": [0.0], "stop_time": [90.0],
                                                  "label": ["session"]}})
    tables = _tables(path)
    valenced = apply_profile(tables, get_profile("amygdala"))
    events = canonical_events(tables, valenced)
    assert events["source"].tolist() == ["trials"] * 4 + ["acquisition/events"] * 3 + [
        "epochs_extra"]
    assert events["event"].tolist()[4:] == ["lick"] * 3 + ["epochs_extra"]
    assert events["valence"].isna().sum() == 4
    assert events["valence"].dropna().tolist() == [1, -1, 1, -1]


def test_no_valence_lists_candidate_columns(test_data: Path) -> None:
    path = test_data / "janelia_alm_sub-anm369963_ses-20170228.nwb"
    with pytest.raises(ProfileError, match=r"cannot choose a profile: .*candidate columns: "
                                           r".*trials\.type \(lick left, lick right\)"):
        load_responses(path)


def test_missing_profile_column(amygdala_file: Path) -> None:
    with pytest.raises(ProfileError, match=r"profile 'ibl' needs a column feedback_type or "
                                           r"feedbackType in one of the tables \['trials'\]"):
        load_responses(amygdala_file, profile="ibl")


def test_missing_outcome_time_column(ephys_file: Callable[..., Path]) -> None:
    trials = amygdala_trials(n_per=2)
    del trials["outcome_time"]
    path = ephys_file(spikes=[np.array([1.0, 30.0])], trials=trials)
    with pytest.raises(ProfileError, match=r"table 'trials' has no outcome-time column "
                                           r"outcome_time or us_time"):
        load_responses(path, profile="amygdala")


def test_valence_with_zero_trials(ephys_file: Callable[..., Path]) -> None:
    trials = amygdala_trials(n_per=2)
    trials["trial_type"] = ["sucrose"] * 4
    path = ephys_file(spikes=[np.array([1.0, 30.0])], trials=trials)
    with pytest.raises(DataError, match=r"valence danger \(-1\) has zero trials in "
                                        r"trials\.trial_type under profile 'amygdala'"):
        load_responses(path, profile="amygdala")


def test_unknown_profile_and_bad_align(amygdala_file: Path) -> None:
    with pytest.raises(ProfileError, match=r"profile: got 'allen'; expected one of"):
        load_responses(amygdala_file, profile="allen")
    with pytest.raises(ProfileError, match=r"align: got 'lick'; expected 'outcome', 'cue' or "
                                           r"a time column"):
        load_responses(amygdala_file, align="lick")


def test_cue_alignment_is_a_shift_of_outcome_alignment(amygdala_file: Path) -> None:
    out = load_responses(amygdala_file, align="outcome", window=(-1.5, 0.5))
    cue = load_responses(amygdala_file, align="cue", window=(0.0, 2.0))
    assert cue.attrs["align_column"] == "cue_time" and set(cue["event"].values) == {"cue"}
    np.testing.assert_array_equal(out.values, cue.values)
