"""Binning equals a plain loop; imaging; the condition grid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from io_builders import write_imaging
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals

from neuroalign.core.errors import DataError, NWBFormatError, ValidationError
from neuroalign.io import (
    bin_centres,
    bin_edges,
    bin_signals,
    bin_spikes,
    condition_grid,
    event_edges,
    inspect_source,
    load_responses,
)
from neuroalign.io._kernels import kernels


def _naive_counts(spikes: list[np.ndarray], align: np.ndarray, rel: np.ndarray) -> np.ndarray:
    edges = event_edges(align, rel)
    out = np.zeros((len(align), len(spikes), len(rel) - 1), dtype=np.int64)
    for j in range(len(align)):
        for u, s in enumerate(spikes):
            for k in range(len(rel) - 1):
                out[j, u, k] = np.count_nonzero((s >= edges[j, k]) & (s < edges[j, k + 1]))
    return out


ENGINES = ["numpy"] + (["numba"] if kernels() is not None else [])

times = st.floats(min_value=-5.0, max_value=25.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    spikes=st.lists(st.lists(times, max_size=40), min_size=1, max_size=5),
    align=st.lists(times, min_size=1, max_size=6),
    start=st.sampled_from([-2.0, -1.0, -0.3, 0.0]),
    bin_size=st.sampled_from([0.1, 0.25, 0.5, 1.0]),
    n_bins=st.integers(1, 8),
    on_edges=st.booleans(),
)
def test_bin_spikes_equals_naive_loop(spikes: list[list[float]], align: list[float],
                                      start: float, bin_size: float, n_bins: int,
                                      on_edges: bool) -> None:
    rel = bin_edges((start, start + n_bins * bin_size), bin_size)
    arrays = [np.sort(np.asarray(s, dtype=float)) for s in spikes]
    align_arr = np.asarray(align)
    if on_edges:  # put spikes exactly on bin edges, the case floor() gets wrong
        edges = event_edges(align_arr, rel).ravel()
        arrays = [np.sort(np.concatenate([a, edges[:: (i + 2)]])) for i, a in enumerate(arrays)]
    concat = np.concatenate(arrays) if arrays else np.zeros(0)
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])])
    expected = _naive_counts(arrays, align_arr, rel)
    for engine in ENGINES:
        got = bin_spikes(concat, offsets, align_arr, rel, engine=engine)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected, err_msg=engine)


@settings(max_examples=30, deadline=None)
@given(n_samples=st.integers(1, 60), n_rois=st.integers(1, 3),
       align=st.lists(st.floats(0, 6, allow_nan=False), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_bin_signals_equals_naive_mean(n_samples: int, n_rois: int, align: list[float],
                                       seed: int) -> None:
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.uniform(0, 6, n_samples))
    data = rng.normal(size=(n_samples, n_rois))
    rel = bin_edges((-1.0, 1.0), 0.5)
    got = bin_signals(ts, data, np.asarray(align), rel)
    edges = event_edges(np.asarray(align), rel)
    for j in range(len(align)):
        for k in range(len(rel) - 1):
            inside = (ts >= edges[j, k]) & (ts < edges[j, k + 1])
            expected = data[inside].mean(axis=0) if inside.any() else np.full(n_rois, np.nan)
            np.testing.assert_allclose(got[j, :, k], expected, atol=1e-9)


@pytest.mark.parametrize(
    ("window", "bin_size", "match"),
    [
        ((-1, 1), 0, r"bin_size: got 0; expected a positive number of seconds"),
        ((-1, 1), -0.25, r"bin_size: got -0.25; expected a positive"),
        ((-1, 1), float("nan"), r"bin_size: got nan"),
        ((1, -1), 0.25, r"window: got \(1.0, -1.0\); expected start < stop"),
        ((-1, 1), 0.3, r"is 6.66667 bins of 0.3 s; expected a whole number of bins"),
    ],
)
def test_bin_edges_refuses(window: tuple[float, float], bin_size: float, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        bin_edges(window, bin_size)


def test_bin_spikes_engines_agree_on_a_larger_session() -> None:
    rng = np.random.default_rng(11)
    spikes = [np.sort(rng.uniform(0, 300, rng.integers(0, 3000))) for _ in range(30)]
    concat = np.concatenate(spikes)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in spikes])])
    align = rng.permutation(np.sort(rng.uniform(0, 300, 80)))  # unsorted events too
    rel = bin_edges((-1.5, 1.5), 0.05)
    results = [bin_spikes(concat, offsets, align, rel, engine=e, n_threads=2) for e in ENGINES]
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])
    assert int(results[0].sum()) == sum(
        int(np.count_nonzero((s >= a + rel[0]) & (s < a + rel[-1]))) for s in spikes
        for a in align)
    with pytest.raises(ValidationError, match=r"engine: got 'cuda'"):
        bin_spikes(concat, offsets, align, rel, engine="cuda")


def test_bin_edges_and_centres() -> None:
    rel = bin_edges((-1.25, 0.25), 0.25)
    np.testing.assert_allclose(rel, [-1.25, -1.0, -0.75, -0.5, -0.25, 0.0, 0.25])
    np.testing.assert_allclose(bin_centres(rel), [-1.125, -0.875, -0.625, -0.375, -0.125, 0.125])


def _responses(valence: list[int], n_units: int = 2, window: tuple[float, float] = (-2.0, 1.0),
               b: float = 0.25) -> xr.DataArray:
    rel = bin_edges(window, b)
    n_t, n_b = len(valence), len(rel) - 1
    values = np.arange(n_t * n_units * n_b, dtype=float).reshape(n_t, n_units, n_b)
    return xr.DataArray(
        values, dims=("trial", "unit", "time"),
        coords={"time": bin_centres(rel), "valence": ("trial", valence),
                "trial_id": ("trial", np.arange(n_t) + 100), "unit_id": ("unit", [7, 9]),
                "region": ("unit", ["BLA", "CeA"]), "session": "s1"},
        attrs={"bin_size": b},
    )


def test_condition_grid_picks_the_approach_bins() -> None:
    resp = _responses([1, -1, 1, -1, -1])
    grid = condition_grid(resp, n_approach=5)
    assert grid.dims == ("repetition", "condition", "unit")
    assert grid["label"].values.tolist()[:2] == ["reward:5", "reward:4"]
    assert grid["label"].values.tolist()[-1] == "danger:0"
    assert grid.sizes["repetition"] == 2  # balanced to the rarer valence
    time = resp["time"].values
    for a in range(6):  # approach a is the bin [-a b, -(a-1) b)
        k = int(np.flatnonzero(np.isclose(time, -a * 0.25 + 0.125))[0])
        cell = grid.sel(condition=(grid["valence"] == -1) & (grid["approach"] == a))
        np.testing.assert_array_equal(cell.values[:, 0, :], resp.values[[1, 3], :, k])
    np.testing.assert_array_equal(grid["trial_id"].values[:, 0], [100, 102])
    assert grid["session"].values.tolist() == ["s1", "s1"]
    assert grid["region"].values.tolist() == ["BLA", "CeA"]


def test_condition_grid_pad_and_random_subset() -> None:
    resp = _responses([1, -1, -1, -1])
    padded = condition_grid(resp, balance="pad")
    assert padded.sizes["repetition"] == 3
    reward = padded.sel(condition=padded["valence"] == 1)
    assert np.isnan(reward.values[1:]).all() and not np.isnan(reward.values[0]).any()
    assert (padded["trial_id"].values[1:, :6] == -1).all()
    a = condition_grid(resp, seed=np.random.default_rng(0))
    b = condition_grid(resp, seed=np.random.default_rng(0))
    xr.testing.assert_identical(a, b)


def test_condition_grid_refuses() -> None:
    with pytest.raises(DataError, match=r"valence danger \(-1\) has zero trials"):
        condition_grid(_responses([1, 1]))
    with pytest.raises(ValidationError, match=r"no bin centred at -1.125 s for approach 5"):
        condition_grid(_responses([1, -1], window=(-1.0, 1.0)))
    with pytest.raises(ValidationError, match=r"balance: got 'max'"):
        condition_grid(_responses([1, -1]), balance="max")


@pytest.mark.parametrize(("container", "with_timestamps"),
                         [("Fluorescence", False), ("DfOverF", True)])
def test_imaging_responses(tmp_path: Path, container: str, with_timestamps: bool) -> None:
    path = write_imaging(tmp_path / "img.nwb", container, with_timestamps)
    resp = load_responses(path, profile="amygdala", window=(-0.5, 0.5), bin_size=0.25)
    assert resp.sizes["unit"] == 3
    assert resp["region"].values.tolist() == ["NAc"] * 3
    assert set(resp["region_rule"].values) == {"imaging_plane.location"}
    # samples at 20 Hz: bin [t-0.5, t-0.25) holds samples 20(t-0.5) .. +4, value = sample index
    first = 20 * (3.0 - 0.5)
    np.testing.assert_allclose(resp.values[0, :, 0], np.mean(np.arange(first, first + 5))
                               * np.array([1.0, 2.0, -1.0]))
    assert resp.attrs["series"].endswith("/signal")


def test_unknown_imaging_series_lists_the_series_found(tmp_path: Path) -> None:
    path = write_imaging(tmp_path / "img.nwb", "DfOverF", True)
    with pytest.raises(NWBFormatError, match=r"imaging series: got '/absent'; expected one of "
                                             r"\['/processing/ophys/DfOverF\w*/signal'\]"):
        load_responses(path, profile="amygdala", window=(-0.5, 0.5), bin_size=0.25,
                       imaging_series="/absent", cache=False)


def test_fiber_photometry_with_photometry_profile(tmp_path: Path) -> None:
    """001038-style: reward / air puff events in a behaviour table, signals from fibers."""
    nwb = NWBFile(session_description="photometry", identifier="fp",
                  session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    events = TimeIntervals(name="Events", description="outcomes")
    events.add_column("event_type", "kind")
    for i, t in enumerate(3.0 + 4.0 * np.arange(6)):
        events.add_row(start_time=t, stop_time=t + 0.2, event_type=["reward", "air puff"][i % 2])
    nwb.create_processing_module("behavior", "behaviour").add(events)
    path = tmp_path / "fp.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    n = 30 * 40
    with h5py.File(path, "a") as f:  # the ndx-fiber-photometry layout, written by hand
        table = f.create_group("general/fiber_photometry/fiber_photometry_table")
        table["id"] = np.array([10, 11])
        table["location"] = np.array([b"DMS", b"brain_region: NAc; hemisphere: left"])
        series = f.create_group("acquisition/dff")
        series.attrs["neurodata_type"] = "FiberPhotometryResponseSeries"
        series["data"] = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(float)
        series["timestamps"] = np.arange(n) / 40.0
        region = series.create_dataset("fiber_photometry_table_region", data=np.array([1, 0]))
        region.attrs["table"] = table.ref
    resp = load_responses(path, window=(-0.5, 0.5), bin_size=0.25)
    assert resp.attrs["profile"] == "photometry"
    assert resp["unit_id"].values.tolist() == [11, 10]
    assert resp["region"].values.tolist() == ["NAc", "DMS"]
    assert set(resp["region_rule"].values) == {"fiber.location"}
    assert resp["valence"].values.tolist() == [1, -1] * 3
    first = 40 * (3.0 - 0.5)  # samples 100..109 in bin [2.5, 2.75)
    np.testing.assert_allclose(resp.values[0, :, 0], [np.mean(np.arange(first, first + 10)),
                                                      -np.mean(np.arange(first, first + 10))])
    info = inspect_source(path)
    assert info["kind"] == "imaging" and info["regions"] == {"NAc": 1, "DMS": 1}
