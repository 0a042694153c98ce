"""load_responses end to end, bad events, the store and the cache."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from io_builders import amygdala_trials, poisson_spikes

from neuroalign.core.errors import DataError, ValidationError
from neuroalign.io import bin_edges, event_edges, load_responses, load_store, save_store
from neuroalign.io import load as load_mod


def test_responses_follow_the_contract(amygdala_file: Path) -> None:
    resp = load_responses(amygdala_file, window=(-2.0, 1.0), bin_size=0.25)
    assert resp.dims == ("trial", "unit", "time")
    assert resp.shape == (12, 5, 12)
    for name in ("trial_id", "event", "valence", "outcome"):
        assert resp[name].dims == ("trial",)
    for name in ("unit_id", "region", "region_rule"):
        assert resp[name].dims == ("unit",)
    assert resp["session"].values.item() == "amygdala"
    np.testing.assert_allclose(resp["time"].values, -2.0 + 0.125 + 0.25 * np.arange(12))
    attrs = resp.attrs
    assert attrs["profile"] == "amygdala" and attrs["align"] == "outcome"
    assert attrs["align_column"] == "outcome_time" and attrs["bin_size"] == 0.25
    assert list(attrs["window"]) == [-2.0, 1.0] and attrs["synthetic"] == 0
    assert attrs["value_units"] == "spikes per bin" and "neuroalign_version" in attrs
    # independent count for one trial and unit
    with h5py.File(amygdala_file) as f:
        idx = f["units/spike_times_index"][()]
        spikes = f["units/spike_times"][idx[0]:idx[1]]  # unit 1
        outcome = f["intervals/trials/outcome_time"][()]
    edges = event_edges(outcome, bin_edges((-2.0, 1.0), 0.25))[3]
    expected = [np.count_nonzero((spikes >= a) & (spikes < b)) for a, b in pairwise(edges)]
    np.testing.assert_array_equal(resp.values[3, 1], expected)


def test_events_outside_the_recording(ephys_file: Callable[..., Path]) -> None:
    trials = amygdala_trials(n_per=6)  # trials 5 .. 75 s, outcomes at 7.5 .. 73.5 s
    for i in (9, 10, 11):
        trials["outcome_time"][i] = 500.0 + i  # past the trials table and every spike
    spikes = [np.array([1.0, 30.0, 60.0]), np.array([2.0, 40.0])]
    path = ephys_file(spikes=spikes, trials=trials)
    with pytest.raises(DataError, match=r"events outside the recording: 3 of 12 'outcome_time' "
                                        r"times lie outside \[1\.000, 75\.000\] s"):
        load_responses(path, profile="amygdala")
    with pytest.warns(RuntimeWarning, match=r"3 trial\(s\) left out: shock: 4 of 6 kept "
                                            r"\(2 outside the recording\)"):
        kept = load_responses(path, profile="amygdala", outside="drop")
    assert kept.sizes["trial"] == 9 and kept.attrs["n_dropped_outside"] == 3
    counts = json.loads(kept.attrs["trial_counts"])
    assert counts == {"shock": {"read": 6, "kept": 4, "dropped": {"outside the recording": 2}},
                      "sucrose": {"read": 6, "kept": 5,
                                  "dropped": {"outside the recording": 1}}}


def test_span_comes_from_the_trials_table_not_the_first_spike(
        ephys_file: Callable[..., Path]) -> None:
    trials = amygdala_trials(n_per=3)  # trial 0 starts at 5 s, its cue at 6 s
    spikes = [np.array([6.005, 20.0, 30.0]), np.array([6.5, 40.0])]  # first spike 5 ms later
    path = ephys_file(spikes=spikes, trials=trials)
    cue = load_responses(path, profile="amygdala", align="cue", window=(0.0, 0.4),
                         bin_size=0.01, cache=False)
    assert cue.sizes["trial"] == 6 and cue["trial_id"].values[0] == 0
    assert cue.attrs["n_dropped_outside"] == 0
    assert cue.values[0, 0].sum() == 1 and cue.values[0, 0, 0] == 1  # the spike at 6.005 s
    silent = ephys_file("silent.nwb", spikes=[np.zeros(0), np.zeros(0)], trials=trials)
    with pytest.raises(DataError, match="none of the 2 units has a spike"):
        load_responses(silent, profile="amygdala", cache=False)  # all zeros would mislead
    trials["outcome_time"][5] = 1e4  # far past the trials table: the span is still judged
    silent = ephys_file("silent2.nwb", spikes=[np.array([6.005])], trials=trials)
    with pytest.raises(DataError, match=r"1 of 6 'outcome_time' times lie outside "
                                        r"\[5\.000, 39\.000\] s"):
        load_responses(silent, profile="amygdala", cache=False)


def test_window_that_misses_the_recording(ephys_file: Callable[..., Path]) -> None:
    trials = amygdala_trials(n_per=3)
    path = ephys_file(spikes=poisson_spikes(np.random.default_rng(0), 1, 60.0), trials=trials)
    with pytest.raises(DataError, match=r"window \[-100000, -90000\) s misses the recording "
                                        r"around every one of the 6 events"):
        load_responses(path, profile="amygdala", window=(-1e5, -9e4), cache=False)


def test_nan_alignment_times_are_left_out(ephys_file: Callable[..., Path]) -> None:
    trials = amygdala_trials(n_per=3)
    trials["outcome_time"][2] = float("nan")
    path = ephys_file(spikes=poisson_spikes(np.random.default_rng(0), 1, 60.0), trials=trials)
    with pytest.warns(RuntimeWarning, match=r"sucrose: 2 of 3 kept \(1 'outcome_time' is NaN\)"):
        resp = load_responses(path, profile="amygdala")
    assert resp.sizes["trial"] == 5 and resp.attrs["n_dropped_nan_align"] == 1
    assert 2 not in resp["trial_id"].values


def test_window_longer_than_trial_gap_is_allowed_with_warning(amygdala_file: Path) -> None:
    with pytest.warns(RuntimeWarning, match=r"window length 8 s is longer than the gap to the "
                                            r"next trial for 11 trial\(s\)"):
        resp = load_responses(amygdala_file, window=(-4.0, 4.0), bin_size=0.5)
    assert resp.attrs["n_overlapping_windows"] == 11
    # overlapping windows count the same spike in both trials: trial 1's early bins are
    # trial 0's late bins (trials are 6 s apart)
    np.testing.assert_array_equal(resp.values[0, :, 12:16], resp.values[1, :, 0:4])


@pytest.mark.parametrize("bin_size", [0, -0.1])
def test_non_positive_bin_size(amygdala_file: Path, bin_size: float) -> None:
    with pytest.raises(ValidationError, match=rf"bin_size: got {bin_size}; expected a positive"):
        load_responses(amygdala_file, bin_size=bin_size)


def test_bad_options(amygdala_file: Path) -> None:
    with pytest.raises(ValidationError, match=r"outside: got 'keep'; expected 'error' or 'drop'"):
        load_responses(amygdala_file, outside="keep")
    with pytest.raises(ValidationError, match=r"unsorted: got 'fix'"):
        load_responses(amygdala_file, unsorted="fix")


def test_store_round_trip(amygdala_file: Path, tmp_path: Path) -> None:
    resp = load_responses(amygdala_file, cache=False)
    path = save_store(resp, tmp_path / "out" / "responses.nc")
    back = load_store(path)
    xr.testing.assert_identical(back, resp)
    assert back.dtype == np.int32


def test_store_write_is_atomic(amygdala_file: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    resp = load_responses(amygdala_file, cache=False)

    def broken(self: xr.DataArray, path: str, **kwargs: object) -> None:
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataArray, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        save_store(resp, tmp_path / "out" / "responses.nc")
    assert list((tmp_path / "out").iterdir()) == []


def test_second_import_comes_from_the_cache(amygdala_file: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = load_mod._compute

    def counting(*args: object, **kwargs: object) -> xr.DataArray:
        calls.append("compute")
        return real(*args, **kwargs)

    monkeypatch.setattr(load_mod, "_compute", counting)
    first = load_responses(amygdala_file, cache_dir=tmp_path / "c")
    second = load_responses(amygdala_file, cache_dir=tmp_path / "c")
    assert calls == ["compute"]
    xr.testing.assert_identical(first, second)
    assert len(list((tmp_path / "c" / "responses").glob("*.nc"))) == 1
    load_responses(amygdala_file, cache_dir=tmp_path / "c", bin_size=0.5)
    assert len(calls) == 2  # other parameters, other entry
    stat = amygdala_file.stat()
    os.utime(amygdala_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    load_responses(amygdala_file, cache_dir=tmp_path / "c")
    assert len(calls) == 3  # the file changed
    load_responses(amygdala_file, cache_dir=tmp_path / "c", cache=False)
    assert len(calls) == 4
    for entry in (tmp_path / "c" / "responses").glob("*.nc"):
        entry.write_bytes(b"damaged")  # a damaged entry is recomputed, not an error
    again = load_responses(amygdala_file, cache_dir=tmp_path / "c")
    assert len(calls) == 5
    assert again.sizes == first.sizes


def test_files_that_say_they_are_synthetic_are_marked(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=poisson_spikes(np.random.default_rng(2), 1, 90.0),
                      trials=amygdala_trials(n_per=2))
    assert load_responses(path, profile="amygdala").attrs["synthetic"] == 0
    with h5py.File(path, "a") as f:
        f["general"].create_dataset("notes", data="Synthetic data; planted geometry")
    assert load_responses(path, profile="amygdala").attrs["synthetic"] == 1


def test_streamed_compiled_path_equals_numpy_path(ephys_file: Callable[..., Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    spikes = poisson_spikes(rng, 19, 90.0)
    spikes[4] = spikes[4][::-1].copy()  # one unit stored out of order
    trials = amygdala_trials(n_per=6)
    trials["outcome_time"][3] = 200.0  # outside the recording: dropped
    path = ephys_file(spikes=spikes, trials=trials)
    with pytest.warns(RuntimeWarning, match="1 outside the recording"):
        fast = load_responses(path, profile="amygdala", outside="drop", cache=False)
    from neuroalign.io import binning as binning_mod
    from neuroalign.io import units as units_mod

    monkeypatch.setattr(binning_mod, "kernels", lambda: None)
    monkeypatch.setattr(load_mod, "kernels", lambda: None)
    monkeypatch.setattr(units_mod, "kernels", lambda: None)
    with pytest.warns(RuntimeWarning, match="1 outside the recording"):
        slow = load_responses(path, profile="amygdala", outside="drop", cache=False)
    assert fast.attrs["n_unsorted_units_sorted"] == slow.attrs["n_unsorted_units_sorted"] == 1
    assert fast.sizes["trial"] == 11 and 3 not in fast["trial_id"].values
    np.testing.assert_array_equal(fast.values, slow.values)
