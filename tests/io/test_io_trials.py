"""No trial is lost without a word: outcome labels, explicit outcome times, trial counts."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from io_builders import poisson_spikes
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ProfileError
from neuroalign.io import (
    REGION_GROUPS,
    TrialAccount,
    group_regions,
    inspect_source,
    load_responses,
)
from neuroalign.io.profiles import DEFAULT_LABELS, normalise_value

runner = CliRunner()
KINDS = ["reward", "shock", "airpuff", "odor", "reward", "Air_Puff", "shock", "odor", "reward",
         "shock", "footshock", "white_noise"]


def _imaging_like_trials(kinds: list[str], gap: float = 10.0) -> dict[str, list[Any]]:
    """An event_type table whose start_time is 6 s before the outcome (the real layout)."""
    t0 = 5.0 + gap * np.arange(len(kinds))
    return {"start_time": list(t0), "stop_time": list(t0 + 8.0),
            "outcome_time": list(t0 + 6.0), "event_type": list(kinds)}


@pytest.fixture
def valence_file(ephys_file: Callable[..., Path]) -> Path:
    rng = np.random.default_rng(11)
    return ephys_file(spikes=poisson_spikes(rng, 3, 140.0), trials=_imaging_like_trials(KINDS))


def test_outcome_time_column_wins_and_no_aversive_trial_is_lost(valence_file: Path) -> None:
    resp = load_responses(valence_file, window=(-1.0, 1.0), bin_size=0.5)
    assert resp.attrs["profile"] == "photometry"
    assert resp.attrs["align_column"] == "outcome_time"  # not start_time, 6 s earlier
    assert resp.sizes["trial"] == len(KINDS)
    expected = [DEFAULT_LABELS[normalise_value(k)] for k in KINDS]
    assert resp["valence"].values.tolist() == expected
    assert (resp["valence"].values == -1).sum() == 7 and (resp["valence"].values == 1).sum() == 3
    counts = json.loads(resp.attrs["trial_counts"])
    assert sum(r["read"] for r in counts.values()) == len(KINDS)
    assert all(r["kept"] == r["read"] and not r["dropped"] for r in counts.values())
    info = inspect_source(valence_file)
    cols = info["profile_columns"]
    assert cols["outcome_time_column"] == "outcome_time" and cols["valence_column"] == (
        "event_type")
    assert cols["labels"]["shock"] == -1 and cols["labels"]["odor"] == 0


def test_unmapped_labels_stop_the_import_and_say_how_to_map(
        ephys_file: Callable[..., Path]) -> None:
    kinds = ["reward", "shock", "tone", "tone", "laser", "reward"]
    path = ephys_file(spikes=poisson_spikes(np.random.default_rng(1), 2, 70.0),
                      trials=_imaging_like_trials(kinds))
    with pytest.raises(ProfileError, match=r"trials\.event_type: got values that no mapping of "
                                           r"profile 'photometry' covers: \{'laser': 1, "
                                           r"'tone': 2\} .*mapping=\{'event_type': "
                                           r"\{'tone': .*'exclude'"):
        load_responses(path, window=(-1.0, 1.0), bin_size=0.5)
    with pytest.warns(RuntimeWarning, match=r"3 trial\(s\) left out"):
        resp = load_responses(path, window=(-1.0, 1.0), bin_size=0.5, cache=False, mapping={
            "event_type": {"tone": "exclude", "laser": "exclude"}})
    assert resp["outcome"].values.tolist() == ["reward", "shock", "reward"]
    counts = json.loads(resp.attrs["trial_counts"])
    assert counts["tone"] == {"read": 2, "kept": 0, "dropped": {"excluded by mapping": 2}}


def _labels_in_source(kinds: list[str]) -> Counter[str]:
    """Label per row as the photometry profile names it (written independently of io)."""
    names = {"air puff": "air_puff", "airpuff": "air_puff"}
    return Counter(names.get(str(normalise_value(k)), str(normalise_value(k))) if k
                   else "<missing>" for k in kinds)


# every way an import can leave trials out: (description, trials edit, load kwargs)
PATHS = [
    ("plain outcome", None, {}),
    ("cue alignment", None, {"align": "cue"}),
    ("NaN outcome time", ("outcome_time", 2, float("nan")), {}),
    ("outside the recording", ("outcome_time", 5, 5000.0), {"outside": "drop"}),
    ("blank label", ("event_type", 7, ""), {}),
    ("excluded label", None, {"mapping": {"event_type": {"odor": "exclude"}}}),
    ("invalid_times", "invalid", {"outside": "drop"}),
]


@pytest.mark.parametrize(("what", "edit", "kwargs"), PATHS, ids=[p[0] for p in PATHS])
def test_no_import_path_drops_a_label_without_reporting_it(
        ephys_file: Callable[..., Path], what: str, edit: Any, kwargs: dict[str, Any]) -> None:
    trials = _imaging_like_trials(KINDS)
    trials["cue_time"] = [t + 1.0 for t in trials["start_time"]]
    intervals = None
    if isinstance(edit, tuple):
        trials[edit[0]][edit[1]] = edit[2]
    elif edit == "invalid":  # nothing recorded around trial 3's outcome
        out = trials["outcome_time"][3]
        intervals = {"invalid_times": {"start_time": [out - 0.5], "stop_time": [out + 0.5]}}
    path = ephys_file(spikes=poisson_spikes(np.random.default_rng(2), 2, 140.0), trials=trials,
                      intervals=intervals)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resp = load_responses(path, window=(-1.0, 1.0), bin_size=0.5, cache=False, **kwargs)
    acc = TrialAccount.from_json(resp.attrs["trial_counts"])
    read = {k: v["read"] for k, v in acc.to_dict().items()}
    assert read == dict(_labels_in_source(trials["event_type"]))  # every row is counted
    kept_in_data = Counter(resp["outcome"].values.tolist())
    assert {k: v for k, v in acc.kept().items() if v} == dict(kept_in_data)
    n_lost = len(KINDS) - resp.sizes["trial"]
    assert acc.n_dropped() == n_lost
    assert (n_lost > 0) == (what != "plain outcome" and what != "cue alignment")
    if n_lost:  # and a warning said so, naming the reason
        assert any("left out" in str(w.message) for w in caught)


def test_region_groups_keep_the_acronym(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=poisson_spikes(np.random.default_rng(3), 4, 140.0),
                      trials=_imaging_like_trials(KINDS),
                      unit_columns={"location": ["ACB", "PL", "ILA", "XYZ"]})
    fine = load_responses(path, window=(-1.0, 1.0), bin_size=0.5)
    coarse = load_responses(path, window=(-1.0, 1.0), bin_size=0.5, region_groups=True)
    assert coarse["region"].values.tolist() == ["STRv", "mPFC", "mPFC", "XYZ"]
    assert coarse["acronym"].values.tolist() == fine["region"].values.tolist()
    np.testing.assert_array_equal(coarse.values, fine.values)
    own = group_regions(fine, {"PL": "prelimbic+", "ILA": "prelimbic+"})
    assert own["region"].values.tolist() == ["ACB", "prelimbic+", "prelimbic+", "XYZ"]
    assert group_regions(coarse)["acronym"].values.tolist() == ["ACB", "PL", "ILA", "XYZ"]
    assert REGION_GROUPS["ACB"] == "STRv" and REGION_GROUPS["BLA"] == "AMY"
    xr.testing.assert_identical(group_regions(fine, False), fine)


def test_import_prints_the_trial_counts(valence_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(valence_file), "--window", "-1", "1", "--bin",
                                 "0.5", "--out", str(tmp_path / "o"),
                                 "--cache-dir", str(tmp_path / "c"), "--mapping",
                                 '{"event_type": {"odor": "exclude"}}'])
    assert result.exit_code == 0, result.output
    assert "odor: 0 of 2 kept (2 excluded by mapping)" in result.output
    assert "shock: 3 of 3 kept" in result.output
    shown = runner.invoke(app, ["inspect", str(valence_file)])
    assert "--align outcome uses outcome_time" in " ".join(shown.output.split())


def test_align_offset_shifts_the_alignment_time(amygdala_file: Path) -> None:
    # in this layout the outcome comes 1.5 s after the cue
    outcome = load_responses(amygdala_file, align="outcome", window=(-1.0, 0.5), bin_size=0.25)
    shifted = load_responses(amygdala_file, align="cue", align_offset=1.5, window=(-1.0, 0.5),
                             bin_size=0.25)
    np.testing.assert_array_equal(shifted.values, outcome.values)
    assert shifted.attrs["align_offset"] == 1.5 and "approach_unit" not in outcome.attrs
    assert shifted.attrs["approach_unit"].startswith("0.25 s bins counted back from cue_time "
                                                     "+ 1.5 s")
