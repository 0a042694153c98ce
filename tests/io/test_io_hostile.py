"""Malformed and hostile NWB files: each is a valid file with one thing broken.

Every case ends in a one-line NeuroalignError naming what is wrong, in a
flagged result, or in the correct result; never in a traceback, a hang or a
crash. Cases that crashed the process before (a crafted index read out of
bounds by the compiled kernel; a FIFO that blocked forever) run through the
command line in a subprocess with a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_builders import amygdala_trials, poisson_spikes, write_ephys, write_imaging

from neuroalign.core.errors import (
    DataError,
    NeuroalignError,
    NWBFormatError,
    ProfileError,
    ResourceError,
    SourceError,
    ValidationError,
)
from neuroalign.io import load_responses


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid session: 5 units on 4 electrodes (BLA, CeA), 12 trials."""
    rng = np.random.default_rng(7)
    return write_ephys(
        tmp_path_factory.mktemp("hostile") / "base.nwb", spikes=poisson_spikes(rng, 5, 90.0),
        trials=amygdala_trials(), electrode_locations=["BLA", "BLA", "CeA", "CeA"],
        unit_electrodes=[[0], [1], [2], [3], [2, 3]],
    )


@pytest.fixture(scope="module")
def reference(base: Path) -> Any:
    """The responses of the valid file."""
    return load_responses(base, cache=False)


def _replace(f: h5py.File, path: str, data: Any) -> None:
    """Replace a dataset by ``data``, keeping its attributes (neurodata type, table refs)."""
    attrs = dict(f[path].attrs)
    del f[path]
    f[path] = data
    for key, value in attrs.items():
        f[path].attrs[key] = value


def _variant(base: Path, folder: Path, mutate: Callable[[h5py.File], None],
             name: str = "case.nwb") -> Path:
    path = folder / name
    shutil.copy(base, path)
    with h5py.File(path, "a") as f:
        mutate(f)
    return path


def _n_spikes(f: h5py.File) -> int:
    return int(f["units/spike_times"].shape[0])


def _index_with(entry: int, value: Callable[[h5py.File], int]) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        ends = f["units/spike_times_index"][:].astype(np.int64)
        ends[entry] = value(f)
        _replace(f, "units/spike_times_index", ends)
    return mutate


def _spikes_with(change: Callable[[np.ndarray], np.ndarray]) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        _replace(f, "units/spike_times", change(f["units/spike_times"][:]))
    return mutate


def _set_at(i: int, value: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(t: np.ndarray) -> np.ndarray:
        t = t.copy()
        t[i] = value
        return t
    return change


def _group_instead(path: str) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        del f[path]
        f.create_group(path)
    return mutate


def _electrode_refs(values: list[int]) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        _replace(f, "units/electrodes", np.asarray(values, dtype=np.int64))
    return mutate


def _trials_column(name: str, values: Callable[[h5py.File], Any]) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        _replace(f, f"intervals/trials/{name}", values(f))
    return mutate


def _no_spikes(f: h5py.File) -> None:
    _replace(f, "units/spike_times", np.zeros(0))
    _replace(f, "units/spike_times_index", np.zeros(5, dtype=np.int64))


_ERRORS: list[tuple[str, Callable[[h5py.File], None], type[NeuroalignError], str]] = [
    # index arrays
    ("index-entry-beyond-data", _index_with(1, lambda f: 10**12), NWBFormatError,
     r"units/spike_times_index: entry 1 is 1000000000000 after \d+; expected non-decreasing"),
    ("index-decreasing", _index_with(2, lambda f: 3), NWBFormatError,
     r"spike_times_index: entry 2 is 3 after \d+; expected non-decreasing ends"),
    ("index-negative", _index_with(0, lambda f: -5), NWBFormatError,
     r"entry 0 is -5; expected non-decreasing ends within 0\.\.\d+"),
    ("index-last-short", _index_with(4, lambda f: _n_spikes(f) - 1), NWBFormatError,
     r"spike_times_index: entry 4 is \d+ after \d+; expected|last entry is \d+; expected \d+"),
    ("index-float", lambda f: _replace(f, "units/spike_times_index",
                                       f["units/spike_times_index"][:].astype(float)),
     NWBFormatError, r"units/spike_times_index: got dtype float64 with shape \(5,\); expected a "
                     "1-D dataset of integers"),
    ("index-2d", lambda f: _replace(f, "units/spike_times_index",
                                    np.tile(f["units/spike_times_index"][:], (2, 1))),
     NWBFormatError, r"spike_times_index: got dtype uint\d+ with shape \(2, 5\); expected"),
    ("index-uint64-huge", lambda f: _replace(
        f, "units/spike_times_index",
        np.asarray([1, 2, 3, 2**64 - 1, _n_spikes(f)], dtype=np.uint64)),
     NWBFormatError, "entry 3 is 18446744073709551615"),
    ("index-too-few-entries", lambda f: _replace(
        f, "units/spike_times_index", f["units/spike_times_index"][1:]),
     DataError, r"4 index entries for 5 units"),
    ("index-group", _group_instead("units/spike_times_index"), NWBFormatError,
     "units/spike_times_index is a Group; expected a 1-D dataset of integers"),
    # spike times
    ("spikes-strings", _spikes_with(lambda t: np.asarray([b"x"] * t.size)), NWBFormatError,
     r"units/spike_times: got dtype \|S1 .*expected a 1-D dataset of numbers"),
    ("spikes-group", _group_instead("units/spike_times"), NWBFormatError,
     "units/spike_times is a Group; expected a 1-D dataset"),
    ("spikes-2d", _spikes_with(lambda t: np.stack([t, t], axis=1)), NWBFormatError,
     r"units/spike_times: got dtype float64 with shape \(\d+, 2\)"),
    ("spikes-inf", _spikes_with(_set_at(5, np.inf)), DataError,
     r"infinite spike times for unit id 0 \(row 0\)"),
    ("spikes-minus-inf", _spikes_with(_set_at(-1, -np.inf)), DataError,
     r"infinite spike times for unit id 4 \(row 4\)"),
    ("spikes-nan", _spikes_with(_set_at(3, np.nan)), DataError,
     r"NaN spike times for unit id 0 \(row 0, 1 NaN\)"),
    ("no-spikes-at-all", _no_spikes, DataError,
     "none of the 5 units has a spike"),
    ("no-spike-times-column", lambda f: (f["units/spike_times_index"].__class__,
                                         f.__delitem__("units/spike_times")),
     DataError, "has no spike_times column"),
    # unit ids
    ("ids-duplicate", lambda f: _replace(f, "units/id", np.asarray([0, 1, 1, 3, 3])),
     DataError, r"duplicate unit ids \[1, 3\] \(2 repeat\(s\) among 5 units\)"),
    ("ids-strings", lambda f: _replace(f, "units/id", np.asarray([b"a", b"b", b"c", b"d", b"e"])),
     NWBFormatError, "units/id: got dtype |S1 .*expected a 1-D dataset of integers"),
    # electrode references
    ("electrode-ref-beyond-table", _electrode_refs([0, 1, 2, 3, 57, 3]), DataError,
     r"units/electrodes: unit id 4 \(row 4\) references electrode row 57; the electrodes "
     r"table has 4 rows"),
    ("electrode-ref-negative", _electrode_refs([0, -1, 2, 3, 2, 3]), DataError,
     r"unit id 1 \(row 1\) references electrode row -1"),
    ("electrode-index-beyond", lambda f: _replace(
        f, "units/electrodes_index", np.asarray([1, 2, 3, 99, 6])), NWBFormatError,
     r"/units/electrodes_index: entry 3 is 99 after 3"),
    ("electrode-refs-strings", lambda f: _replace(
        f, "units/electrodes", np.asarray([b"a"] * 6)), DataError,
     "units/electrodes: got object values; expected electrode rows"),
    # events
    ("align-all-nan", _trials_column("outcome_time", lambda f: np.full(12, np.nan)), DataError,
     "no valid alignment times: all 12 'outcome_time' times are missing"),
    ("align-all-inf", _trials_column("outcome_time", lambda f: np.full(12, np.inf)), DataError,
     "no valid alignment times"),
    ("align-strings", _trials_column("outcome_time", lambda f: np.asarray([b"soon"] * 12)),
     DataError, r"trials.outcome_time: got .* values \(e.g. 'soon'\); expected times"),
    ("align-group", _group_instead("intervals/trials/outcome_time"), NWBFormatError,
     "/intervals/trials/outcome_time is a Group; expected a dataset column"),
    ("events-far-outside", _trials_column("outcome_time",
                                          lambda f: f["intervals/trials/outcome_time"][:] + 1e5),
     DataError, "events outside the recording: 12 of 12"),
    ("no-valence-values", _trials_column("trial_type", lambda f: np.asarray([b"odd"] * 12)),
     ProfileError, "cannot choose a profile|no value of trials.trial_type maps to a valence"),
]


@pytest.mark.parametrize(("mutate", "error", "match"),
                         [pytest.param(*case[1:], id=case[0]) for case in _ERRORS])
def test_broken_file_is_one_clear_error(base: Path, tmp_path: Path,
                                        mutate: Callable[[h5py.File], None],
                                        error: type[NeuroalignError], match: str) -> None:
    path = _variant(base, tmp_path, mutate)
    with pytest.raises(error, match=match) as info:
        load_responses(path, cache=False)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value) or "case.nwb" in str(info.value)


def _series(f: h5py.File) -> str:
    """Path of the ROI series (the mock container's name depends on the test order)."""
    found: list[str] = []
    f["processing/ophys"].visit(lambda name: found.append(name) if name.endswith("/signal")
                                else None)
    return f"processing/ophys/{found[0]}"


def _starting_time(rate: Any) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        series = _series(f)
        del f[f"{series}/timestamps"]
        f[f"{series}/starting_time"] = 0.0
        f[f"{series}/starting_time"].attrs["rate"] = rate
    return mutate


def _timestamps_with(change: Callable[[np.ndarray], np.ndarray]) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        path = f"{_series(f)}/timestamps"
        _replace(f, path, change(f[path][:]))
    return mutate


_IMAGING_ERRORS: list[tuple[str, Callable[[h5py.File], None], type[NeuroalignError], str]] = [
    ("imaging-data-strings", lambda f: _replace(f, f"{_series(f)}/data",
                                                np.full((600, 3), b"x")),
     NWBFormatError, r"signal/data: got dtype \|S1 with shape \(600, 3\); expected a numeric"),
    ("imaging-data-3d", lambda f: _replace(f, f"{_series(f)}/data", np.zeros((600, 3, 2))),
     NWBFormatError, r"signal/data: got dtype float64 with shape \(600, 3, 2\)"),
    ("imaging-data-group", lambda f: _group_instead(f"{_series(f)}/data")(f), NWBFormatError,
     "signal/data: got a Group"),
    ("imaging-timestamps-nan", _timestamps_with(_set_at(10, np.nan)), DataError,
     r"signal/timestamps: 1 sample time\(s\) are NaN or infinite"),
    ("imaging-timestamps-decreasing", _timestamps_with(_set_at(300, 1.0)), DataError,
     r"signal/timestamps: sample 300 at 1 s comes before sample 299 at 14.95 s"),
    ("imaging-timestamps-short", _timestamps_with(lambda t: t[:-1]), NWBFormatError,
     "has 599 timestamps for 600 samples"),
    ("imaging-rois-beyond", lambda f: _replace(f, f"{_series(f)}/rois", np.asarray([0, 1, 9])),
     DataError, r"signal/rois: references row 9; the table has 3 rows"),
    ("imaging-rate-nan", _starting_time(np.nan), DataError,
     "starting_time rate: got nan; expected a finite sampling rate"),
    ("imaging-rate-text", _starting_time("fast"), DataError,
     "starting_time rate: got 'fast'"),
]


@pytest.fixture(scope="module")
def imaging_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid imaging session: 3 ROIs at 20 Hz, 8 trials."""
    return write_imaging(tmp_path_factory.mktemp("hostile_img") / "img.nwb")


_IMAGING_ARGS = {"profile": "amygdala", "window": (-0.5, 0.5), "bin_size": 0.25, "cache": False}


@pytest.mark.parametrize(("mutate", "error", "match"),
                         [pytest.param(*case[1:], id=case[0]) for case in _IMAGING_ERRORS])
def test_broken_imaging_is_one_clear_error(imaging_base: Path, tmp_path: Path,
                                           mutate: Callable[[h5py.File], None],
                                           error: type[NeuroalignError], match: str) -> None:
    path = _variant(imaging_base, tmp_path, mutate)
    with pytest.raises(error, match=match) as info:
        load_responses(path, **_IMAGING_ARGS)
    assert "\n" not in str(info.value) and "case.nwb" in str(info.value)


def test_imaging_memory_is_checked_before_reading(imaging_base: Path) -> None:
    with pytest.raises(ResourceError, match=r"signal/data holds \(600, 3\) samples \(8 bytes "
                                            r"each\): needs 14\.1 KiB"):
        load_responses(imaging_base, max_memory="10KiB", **_IMAGING_ARGS)
    assert load_responses(imaging_base, **_IMAGING_ARGS).shape == (8, 3, 4)


def test_unsorted_unit_gives_the_correct_result_and_says_so(base: Path, tmp_path: Path,
                                                            reference: Any) -> None:
    def reverse_unit_2(f: h5py.File) -> None:
        ends = f["units/spike_times_index"][:]
        t = f["units/spike_times"][:]
        t[ends[1]:ends[2]] = t[ends[1]:ends[2]][::-1].copy()
        _replace(f, "units/spike_times", t)

    got = load_responses(_variant(base, tmp_path, reverse_unit_2), cache=False)
    np.testing.assert_array_equal(got.values, reference.values)
    assert got.attrs["n_unsorted_units_sorted"] == 1
    with pytest.raises(DataError, match=r"not sorted for unit id 2 \(1 unit\(s\) unsorted\)"):
        load_responses(tmp_path / "case.nwb", unsorted="error", cache=False)


def test_some_missing_align_times_are_dropped_and_counted(base: Path, tmp_path: Path,
                                                          reference: Any) -> None:
    def blank(f: h5py.File) -> None:
        t = f["intervals/trials/outcome_time"][:]
        t[[0, 5, 7]] = np.nan
        _replace(f, "intervals/trials/outcome_time", t)

    with pytest.warns(RuntimeWarning, match=r"3 trial\(s\) left out: shock: 4 of 6 kept "
                                            r"\(2 'outcome_time' is NaN\)"):
        got = load_responses(_variant(base, tmp_path, blank), cache=False)
    keep = np.setdiff1d(np.arange(12), [0, 5, 7])
    assert got.attrs["n_dropped_nan_align"] == 3
    np.testing.assert_array_equal(got["trial_id"].values, reference["trial_id"].values[keep])
    np.testing.assert_array_equal(got.values, reference.values[keep])


def test_one_event_outside_is_dropped_on_request(base: Path, tmp_path: Path,
                                                 reference: Any) -> None:
    path = _variant(base, tmp_path, _trials_column(
        "outcome_time", lambda f: np.r_[f["intervals/trials/outcome_time"][:11], 5e4]))
    with pytest.raises(DataError, match="1 of 12 'outcome_time' times lie outside"):
        load_responses(path, cache=False)
    with pytest.warns(RuntimeWarning, match=r"1 trial\(s\) left out: shock: 5 of 6 kept "
                                            r"\(1 outside the recording\)"):
        got = load_responses(path, outside="drop", cache=False)
    assert got.attrs["n_dropped_outside"] == 1
    np.testing.assert_array_equal(got.values, reference.values[:11])


def test_formula_region_names_are_kept_raw_in_the_responses(base: Path, tmp_path: Path) -> None:
    def hostile_names(f: h5py.File) -> None:
        f["general/extracellular_ephys/electrodes/location"][...] = np.asarray(
            ["=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0", "@SUM(A1)", "@SUM(A1)"],
            dtype=object)

    got = load_responses(_variant(base, tmp_path, hostile_names), cache=False)
    assert set(got["region"].values.tolist()) == {"=cmd|' /C calc'!A0", "@SUM(A1)"}


@pytest.mark.parametrize(("content", "match"), [
    (b"", "not an HDF5 file"),
    (b"\x89HDF\r\n\x1a\n" + b"\x00" * 40, "truncated or corrupt HDF5"),
    (bytes(range(256)) * 8, "not an HDF5 file"),
], ids=["empty-file", "signature-only", "random-bytes"])
def test_not_hdf5(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "x.nwb"
    path.write_bytes(content)
    with pytest.raises(NWBFormatError, match=match):
        load_responses(path, cache=False)


def test_truncated_file(base: Path, tmp_path: Path) -> None:
    path = tmp_path / "half.nwb"
    path.write_bytes(base.read_bytes()[: base.stat().st_size // 2])
    with pytest.raises(NWBFormatError, match="truncated or corrupt"):
        load_responses(path, cache=False)


def test_hdf5_that_is_not_nwb(tmp_path: Path) -> None:
    path = tmp_path / "plain.nwb"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(NWBFormatError, match="HDF5 but not NWB"):
        load_responses(path, cache=False)


def test_special_and_missing_sources(tmp_path: Path) -> None:
    loop = tmp_path / "loop.nwb"
    os.symlink(loop, loop)
    dangling = tmp_path / "dangling.nwb"
    os.symlink(tmp_path / "gone.nwb", dangling)
    with pytest.raises(SourceError, match="cannot be read"):
        load_responses(loop, cache=False)
    with pytest.raises(SourceError, match="no such file"):
        load_responses(dangling, cache=False)
    with pytest.raises(SourceError, match="is a device, not a regular file"):
        load_responses("/dev/null", cache=False)
    with pytest.raises(SourceError, match="is a folder"):
        load_responses(tmp_path, cache=False)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"bin_size": 2.5e-6, "max_memory": "100MB"}, ResourceError,
     r"binning 12 trials x 5 units x 600000 bins \(4 bytes each\): needs 137\.3 MiB; the "
     r"memory limit is 95\.4 MiB.*--max-memory"),
    ({"bin_size": 1e-15}, ResourceError, r"1\.5e\+15 bin edges \(8 bytes each\): needs 10\.7 PiB"),
    ({"max_memory": "lots"}, ValidationError, "max_memory: got 'lots'; expected a size"),
    ({"bin_size": float("nan")}, ValidationError, "bin_size: got nan"),
], ids=["bins-over-limit", "bin-femtoseconds", "limit-not-a-size", "bin-nan"])
def test_resource_requests_refused_before_allocating(base: Path, kwargs: dict[str, Any],
                                                     error: type[NeuroalignError],
                                                     match: str) -> None:
    with pytest.raises(error, match=match):
        load_responses(base, cache=False, **kwargs)


def test_memory_limit_from_the_environment(base: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROALIGN_MAX_MEMORY", "1KiB")
    with pytest.raises(ResourceError, match=r"needs 1\.4 KiB; the memory limit is 1\.0 KiB"):
        load_responses(base, cache=False)
    assert load_responses(base, cache=False, max_memory="1MiB").shape == (12, 5, 6)


def test_partial_cache_files_are_swept_and_never_read(base: Path, tmp_path: Path,
                                                      reference: Any) -> None:
    from neuroalign.core import atomic

    folder = tmp_path / "cache" / "responses"  # the io tests' isolated cache
    folder.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    partial = folder / f".abc.nc.natmp-{atomic._HOST}-{dead.pid}-x.nc"
    partial.write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    np.testing.assert_array_equal(load_responses(base).values, reference.values)
    assert not partial.exists()
    [entry] = folder.glob("*.nc")
    entry.write_bytes(b"garbage")  # a damaged final entry is recomputed, not trusted
    np.testing.assert_array_equal(load_responses(base).values, reference.values)
    from neuroalign.io.store import load_store

    np.testing.assert_array_equal(load_store(entry).values, reference.values)  # rewritten


# --- through the command line, in a subprocess: a crash or a hang fails the test, not pytest


def test_crafted_index_never_crashes_the_import(base: Path, tmp_path: Path, cli: Any) -> None:
    """The entry that made the compiled kernel read out of bounds (SIGSEGV) before."""
    path = _variant(base, tmp_path, _index_with(1, lambda f: 10**9))
    proc = cli.run("import", str(path), "--out", str(tmp_path / "out"))
    cli.assert_one_line_error(proc, "units/spike_times_index: entry 1 is 1000000000 after")
    assert not (tmp_path / "out").exists()


def test_fifo_named_nwb_is_refused_without_blocking(tmp_path: Path, cli: Any) -> None:
    fifo = tmp_path / "x.nwb"
    os.mkfifo(fifo)
    proc = cli.run("import", str(fifo), "--out", str(tmp_path / "out"), timeout=30)
    cli.assert_one_line_error(proc, "is a FIFO, not a regular file")


def _naive_index_ok(ends: list[int], n_data: int) -> bool:
    """The VectorIndex rule written out entry by entry."""
    previous = 0
    for end in ends:
        if end < previous or end > n_data:
            return False
        previous = end
    return (ends[-1] == n_data) if ends else n_data == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-3, 40), max_size=12), st.integers(0, 40))
def test_check_index_agrees_with_the_naive_rule(ends: list[int], n_data: int) -> None:
    from neuroalign.io.tables import check_index

    arr = np.asarray(ends, dtype=np.int64)
    if _naive_index_ok(ends, n_data):
        np.testing.assert_array_equal(check_index(arr, n_data, "x"), arr)
    else:
        with pytest.raises(NWBFormatError, match=r"^x: "):
            check_index(arr, n_data, "x")


_BIN_SCRIPT = """
import numpy as np
from neuroalign.core.errors import ValidationError
from neuroalign.io import bin_edges, bin_spikes
spikes = np.sort(np.random.default_rng(0).uniform(0, 10, 50))
rel = bin_edges((-1.0, 1.0), 0.5)
cases = {
    "beyond": np.array([0, 10**9, 50]), "decreasing": np.array([0, 30, 20, 50]),
    "short": np.array([0, 20, 40]), "not-from-zero": np.array([5, 20, 50]),
}
for name, offsets in cases.items():
    for engine in ("numba", "numpy"):
        try:
            bin_spikes(spikes, offsets, np.array([5.0]), rel, engine=engine)
            print(name, engine, "accepted")
        except ValidationError as err:
            print(name, engine, str(err).split(";")[1].strip())
try:
    bin_spikes(spikes, np.array([0, 50]), np.array([5.0, np.nan]), rel)
except ValidationError as err:
    print("nan-align", str(err).split(";")[0])
"""


def test_bin_spikes_refuses_layouts_the_kernel_would_overrun() -> None:
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _BIN_SCRIPT], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 9 and not [line for line in lines if "accepted" in line]
    assert all(line.endswith("expected non-decreasing bounds from 0 to 50, the number of spike "
                             "times") for line in lines[:8])
    assert lines[8] == "nan-align align_times: got non-finite or non-1-D values"


_SWEPT_PATHS = ["units/id", "units/spike_times", "units/spike_times_index", "units/electrodes",
                "units/electrodes_index", "intervals/trials/id", "intervals/trials/start_time",
                "intervals/trials/outcome_time", "intervals/trials/trial_type",
                "general/extracellular_ephys/electrodes/location"]


def _reshape(kind: str, path: str) -> Callable[[h5py.File], None]:
    def mutate(f: h5py.File) -> None:
        old = f[path][()]
        if kind == "group":
            del f[path]
            f.create_group(path)
        elif kind == "scalar":
            _replace(f, path, 3)
        elif kind == "2d":
            _replace(f, path, np.stack([old, old], axis=-1))
        else:  # strings, one per row
            _replace(f, path, np.asarray([b"zz"] * len(old)))
    return mutate


@pytest.mark.parametrize("kind", ["group", "scalar", "2d", "strings"])
@pytest.mark.parametrize("path", _SWEPT_PATHS)
def test_any_table_dataset_reshaped_is_an_error_or_a_result(base: Path, tmp_path: Path,
                                                            reference: Any, path: str,
                                                            kind: str) -> None:
    """Each dataset of the tables replaced by a group, a scalar, a 2-D array or strings:
    loading and inspecting end in a one-line NeuroalignError or in the correct result
    (the datasets a load does not need), never a traceback."""
    from neuroalign.io import inspect_source

    case = _variant(base, tmp_path, _reshape(kind, path))
    try:
        got = load_responses(case, cache=False)
    except NeuroalignError as err:
        assert "\n" not in str(err)
    else:
        np.testing.assert_array_equal(got.values, reference.values)
        assert all(name.isalnum() for name in got["region"].values.tolist())
    try:
        inspect_source(case)
    except NeuroalignError as err:
        assert "\n" not in str(err)


def _two_silent_units(f: h5py.File) -> None:
    """Units 1 and 3 lose their spikes (their index entries close empty ranges)."""
    ends = f["units/spike_times_index"][:]
    times = f["units/spike_times"][:]
    keep = np.ones(times.size, bool)
    starts = np.concatenate([[0], ends[:-1]])
    for unit in (1, 3):
        keep[starts[unit]:ends[unit]] = False
    counts = np.diff(np.concatenate([[0], ends]))
    counts[[1, 3]] = 0
    _replace(f, "units/spike_times", times[keep])
    _replace(f, "units/spike_times_index", np.cumsum(counts))


@pytest.mark.parametrize(("mutate", "warning"), [
    (_no_spikes, "none of the 5 units has a spike (unit ids [0, 1, 2, 3, 4]); import will "
                 "refuse the file"),
    (_two_silent_units, "2 of the 5 units have no spikes (unit ids [1, 3]); they add only "
                        "zeros to their region"),
    (_trials_column("outcome_time", lambda f: np.full(12, np.nan)),
     "trials.outcome_time: all 12 times are missing (NaN); import with --align outcome will "
     "refuse the file"),
], ids=["no-spikes-at-all", "two-silent-units", "align-all-nan"])
def test_inspect_warns_what_import_refuses_or_ignores(base: Path, tmp_path: Path,
                                                      mutate: Callable[[h5py.File], None],
                                                      warning: str) -> None:
    from typer.testing import CliRunner

    from neuroalign.cli import app
    from neuroalign.io import inspect_source

    path = _variant(base, tmp_path, mutate)
    assert inspect_source(path)["warnings"] == [warning]
    shown = CliRunner().invoke(app, ["inspect", str(path)], terminal_width=300)
    assert shown.exit_code == 0, shown.output
    assert f"warning: {warning}" in " ".join(shown.output.split())
    assert inspect_source(base)["warnings"] == []
