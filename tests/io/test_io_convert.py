"""Binned counts (.npz) to NWB and back: the seven shipped Steinmetz sessions, and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import (
    DataError,
    NWBFormatError,
    OutputExistsError,
    ProfileError,
    ValidationError,
)
from neuroalign.io import inspect_source, load_responses, load_store
from neuroalign.io.convert import (
    BinnedLayout,
    convert_binned,
    get_layout,
    read_binned,
    read_binned_arrays,
)
from neuroalign.pipeline.config import default_data_dir

runner = CliRunner()
STEINMETZ = default_data_dir() / "steinmetz"
SESSIONS = sorted((STEINMETZ / "npz").glob("*.npz"))
#: sha256 of the seven .npz files as taken from the reference data (PROVENANCE.md)
SHA256 = {
    "steinmetz_s02_Cori_2016-12-17.npz":
        "7854b58955eb099c0d9d63911fc14d2ff6a5331123124228ee84e79e5894ab56",
    "steinmetz_s04_Forssmann_2017-11-01.npz":
        "d0e1d0b19370f21f22fdcf5e0cdb133ccfddba81280f7cc0b02c425cb7df2429",
    "steinmetz_s08_Hench_2017-06-15.npz":
        "f585763be437fb4966a9b450fb1dcc3c113b2590f9d08ef1f6fab3e2cc81768e",
    "steinmetz_s11_Hench_2017-06-18.npz":
        "c1b5b9291486bde314dd5775d6ce611bb025a9984c3b607a229ceb8845bf4dd1",
    "steinmetz_s13_Lederberg_2017-12-06.npz":
        "7b29f9c92218a33c77fa694fbb4f10ab53c726903002a1a2f1a1c11f05e9e2b7",
    "steinmetz_s15_Lederberg_2017-12-08.npz":
        "b720c35a65ac029c18715483964be70632bb4942943910bdf71f0de0de9353b4",
    "steinmetz_s18_Lederberg_2017-12-11.npz":
        "4c264769a923b18bfe6d398e60c8618b9b923ba99ec984be967d766365d67b96",
}


def test_the_seven_sessions_are_shipped_unchanged() -> None:
    # fails (never skips) when the shipped data are missing: CI has only the repository
    assert [p.name for p in SESSIONS] == sorted(SHA256)
    for path in SESSIONS:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[path.name], path.name
    assert "CC-BY 4.0" in (STEINMETZ / "PROVENANCE.md").read_text()


@pytest.mark.parametrize("src", SESSIONS, ids=lambda p: p.stem.split("_")[1])
def test_round_trip_gives_back_the_counts(src: Path, tmp_path: Path) -> None:
    raw = np.load(src, allow_pickle=False)
    out = convert_binned(src, tmp_path / "session.nwb")
    resp = load_responses(out, profile="steinmetz", align="cue", window=(0.0, 0.4),
                          bin_size=0.01, cache=False)
    # exactly the original counts, every neuron, trial and bin
    np.testing.assert_array_equal(resp.values, raw["spks"].transpose(1, 0, 2))
    np.testing.assert_array_equal(resp["region"].values, raw["brain_area"])
    np.testing.assert_array_equal(resp["valence"].values, raw["feedback_type"])
    np.testing.assert_array_equal(resp["trial_id"].values, np.arange(raw["spks"].shape[1]))
    assert resp.attrs["subject"] == str(raw["mouse_name"])
    assert resp.attrs["align_column"] == "visual_stimulus_time"
    counts = json.loads(resp.attrs["trial_counts"])
    n_water = int((raw["feedback_type"] == 1).sum())
    assert counts["water"] == {"read": n_water, "kept": n_water, "dropped": {}}
    # the direct reader gives the same array, coords and labels without the NWB file
    direct = read_binned(src)
    assert set(direct["region_rule"].values) == {"npz.brain_area"}
    xr.testing.assert_identical(resp.drop_attrs().drop_vars("region_rule"),
                                direct.drop_attrs().drop_vars("region_rule"))
    assert direct.attrs["trial_counts"] == resp.attrs["trial_counts"]


def test_written_file_is_valid_nwb_and_says_its_resolution(tmp_path: Path) -> None:
    from pynwb import NWBHDF5IO, validate

    src = SESSIONS[-1]
    out = convert_binned(src, tmp_path / "s18.nwb", regions=["ACB", "SNr"])
    assert validate(path=str(out)) == []
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert nwb.subject.subject_id == "Lederberg" and nwb.session_id == src.stem
        assert nwb.units.resolution == pytest.approx(0.01)
        assert "bin resolution" in nwb.units.description
        assert "bin's centre" in nwb.notes and "anticipatory" in nwb.data_collection
        trials = nwb.trials.to_dataframe()
        assert {"visual_stimulus_time", "feedback_type", "contrast_left",
                "contrast_right"} <= set(trials.columns)
        raw = np.load(src)
        np.testing.assert_array_equal(trials["start_time"], raw["time"][:, 0])
        np.testing.assert_allclose(trials["stop_time"], raw["time"][:, -1] + 0.01)
        assert len(nwb.invalid_times) == len(trials) + 1  # before, between and after
    info = inspect_source(out)
    assert info["regions"] == {"ACB": 155, "SNr": 130} and info["profile"] == "steinmetz"
    assert info["profile_columns"]["cue_time_column"] == "visual_stimulus_time"
    assert info["profile_columns"]["outcome_time_column"] is None


def test_shipped_nwb_files_hold_the_npz_counts_of_their_areas() -> None:
    from pynwb import validate

    manifest = json.loads((STEINMETZ / "nwb" / "manifest.json").read_text())
    assert len(manifest["files"]) == 6
    mice = set()
    for name, rec in manifest["files"].items():
        path = STEINMETZ / "nwb" / name
        assert validate(path=str(path)) == [], name
        resp = load_responses(path, profile="steinmetz", align="cue", window=(0.0, 0.4),
                              bin_size=0.01, cache=False)
        ref = read_binned(STEINMETZ / "npz" / f"{path.stem}.npz", regions=list(rec["units"]))
        np.testing.assert_array_equal(resp.values, ref.values)
        np.testing.assert_array_equal(resp["unit_id"].values, ref["unit_id"].values)
        assert resp.sizes["trial"] == rec["trials"]
        mice.add(resp.attrs["subject"])
    assert mice == {"Forssmann", "Hench", "Lederberg"}


def test_windows_outside_the_binned_intervals_are_refused(tmp_path: Path) -> None:
    out = convert_binned(SESSIONS[0], tmp_path / "s.nwb", regions=["CA1"])
    with pytest.raises(DataError, match=r"window \[-0\.1, 0\.4\) s overlaps the file's "
                                        r"invalid_times .* around 251 of 251 events"):
        load_responses(out, profile="steinmetz", align="cue", window=(-0.1, 0.4),
                       bin_size=0.01, cache=False)
    with pytest.raises(DataError, match=r"bin_size: got 0\.005 s; expected at least the "
                                        r"spike-time resolution the file states \(0\.01 s"):
        load_responses(out, profile="steinmetz", align="cue", window=(0.0, 0.4),
                       bin_size=0.005, cache=False)
    coarse = load_responses(out, profile="steinmetz", align="cue", window=(0.0, 0.4),
                            bin_size=0.08, cache=False)  # coarser bins sum the fine ones
    fine = np.load(SESSIONS[0])["spks"][np.load(SESSIONS[0])["brain_area"] == "CA1"]
    np.testing.assert_array_equal(
        coarse.values, fine.reshape(*fine.shape[:2], 5, 8).sum(-1).transpose(1, 0, 2))
    # the outcome is not in the file: aligning to it says so
    with pytest.raises(ProfileError, match=r"no outcome-time column feedback_time or "
                                        r"feedback_times .*align='cue'"):
        load_responses(out, profile="steinmetz", cache=False)


def test_an_npz_given_as_nwb_points_to_convert() -> None:
    with pytest.raises(NWBFormatError, match=r"not an HDF5 file .*binned counts in a \.npz are "
                                             r"converted with `neuroalign convert`"):
        inspect_source(SESSIONS[0])


def test_cli_convert_then_import(tmp_path: Path) -> None:
    out = tmp_path / "s15.nwb"
    result = runner.invoke(app, ["convert", str(SESSIONS[5]), "--out", str(out),
                                 "--regions", "BLA"])
    assert result.exit_code == 0, result.output
    assert "132 units in 1 area(s), 404 trials" in result.output
    assert "water: 309, white_noise: 95" in result.output
    again = runner.invoke(app, ["convert", str(SESSIONS[5]), "--out", str(out)])
    assert again.exit_code != 0 and isinstance(again.exception, OutputExistsError)
    result = runner.invoke(app, [
        "import", str(out), "--profile", "steinmetz", "--align", "cue", "--window", "0",
        "0.4", "--bin", "0.01", "--out", str(tmp_path / "imp"),
        "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "trials per label: water: 309 of 309 kept; white_noise: 95 of 95 kept" in (
        result.output)
    resp = load_store(tmp_path / "imp" / "responses.nc")
    raw = np.load(SESSIONS[5])
    np.testing.assert_array_equal(resp.values,
                                  raw["spks"][raw["brain_area"] == "BLA"].transpose(1, 0, 2))
    manifest = json.loads((tmp_path / "imp" / "manifest.json").read_text())
    assert manifest["trial_counts"]["white_noise"]["kept"] == 95


def _own_layout_file(path: Path, n_units: int = 4, n_trials: int = 6, n_bins: int = 5,
                     **extra: object) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    arrays = {
        "counts": rng.integers(0, 4, (n_units, n_trials, n_bins)).astype(np.int16),
        "area": np.asarray(["BLA", "BLA", "CeA", "NAc"][:n_units]),
        "onset": 10.0 + 3.0 * np.arange(n_trials),
        "outcome": np.asarray(["sucrose", "shock"] * (n_trials // 2)),
        "depth": np.linspace(100, 400, n_units),
    }
    arrays.update(extra)  # type: ignore[arg-type]
    np.savez(path, **arrays)
    return arrays


OWN_LAYOUT = {"counts": "counts", "region": "area", "bin_times": None, "event_times": "onset",
              "bin_size": 0.05, "window_start": -0.1, "valence": "outcome",
              "profile": "amygdala", "subject": None, "date": None}


def test_other_key_names_through_a_layout_file(tmp_path: Path) -> None:
    src = tmp_path / "own.npz"
    arrays = _own_layout_file(src)
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps(OWN_LAYOUT))
    out = tmp_path / "own.nwb"
    result = runner.invoke(app, ["convert", str(src), "--out", str(out), "--layout",
                                 str(layout)])
    assert result.exit_code == 0, result.output
    resp = load_responses(out, profile="generic", mapping={"outcome": {"sucrose": 1,
                                                                       "shock": -1}},
                          align="visual_stimulus_time", window=(-0.1, 0.15), bin_size=0.05,
                          cache=False)
    np.testing.assert_array_equal(resp.values, arrays["counts"].transpose(1, 0, 2))
    assert resp["valence"].values.tolist() == [1, -1] * 3
    np.testing.assert_allclose(resp["time"].values, [-0.075, -0.025, 0.025, 0.075, 0.125])
    direct = read_binned(src, get_layout(layout))
    np.testing.assert_array_equal(direct.values, resp.values)
    for name in ("valence", "outcome", "time", "region", "unit_id", "trial_id"):
        np.testing.assert_array_equal(direct[name].values, resp[name].values)


def test_pickled_objects_are_refused_before_loading(tmp_path: Path) -> None:
    src = tmp_path / "pickled.npz"
    _own_layout_file(src, extra_obj=np.asarray([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match=r"keys \['extra_obj'\] hold pickled Python objects"):
        read_binned_arrays(src, OWN_LAYOUT)


@pytest.mark.parametrize(("change", "match"), [
    ({"counts": "spks"}, r"layout counts: got key 'spks', which the file lacks; expected one "
                         r"of its keys \['area', 'counts', 'depth', 'onset', 'outcome'\] "
                         r".*--layout layout\.json"),
    ({"region": "depth"}, None),  # a per-neuron numeric field is a valid region column
    ({"bin_size": None}, r"layout without bin_times: bin_size: got None"),
    ({"weird": 1}, r"layout: unknown field\(s\) \['weird'\]"),
])
def test_layout_errors(tmp_path: Path, change: dict[str, object], match: str | None) -> None:
    src = tmp_path / "own.npz"
    _own_layout_file(src)
    layout = {**OWN_LAYOUT, **change}
    if match is None:
        assert read_binned_arrays(src, layout).region.tolist()[0] == "100.0"
        return
    with pytest.raises((DataError, ValidationError), match=match):
        read_binned_arrays(src, layout)


def test_bad_arrays_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "own.npz"
    arrays = _own_layout_file(src)
    np.savez(src, **{**arrays, "area": np.asarray(["BLA", "CeA"])})
    with pytest.raises(DataError, match=r"area: got shape \(2,\); expected \(4,\), one per "
                                        r"neuron of counts"):
        read_binned_arrays(src, OWN_LAYOUT)
    np.savez(src, **{**arrays, "counts": -arrays["counts"] - 1})
    with pytest.raises(DataError, match=r"counts: holds negative values"):
        read_binned_arrays(src, OWN_LAYOUT)
    np.savez(src, **{**arrays, "onset": np.full(6, 10.0)})
    with pytest.raises(DataError, match=r"trial windows overlap"):
        read_binned_arrays(src, OWN_LAYOUT)
    src.write_bytes(b"not a zip")
    with pytest.raises(NWBFormatError, match=r"not a readable \.npz file"):
        read_binned_arrays(src, OWN_LAYOUT)
    with pytest.raises(ValidationError, match=r"layout: got 'allen'; expected one of "
                                              r"\['steinmetz'\]"):
        get_layout("allen")
    assert isinstance(get_layout(None), BinnedLayout)


def test_a_json_mapping_can_exclude_a_numeric_label(tmp_path: Path) -> None:
    src = SESSIONS[6]
    with pytest.warns(RuntimeWarning, match=r"white_noise: 0 of 42 kept \(42 excluded by "
                                            r"mapping\)"):
        resp = load_responses(convert_binned(src, tmp_path / "s.nwb", regions=["SNr"]),
                              profile="steinmetz", align="cue", window=(0.0, 0.4),
                              bin_size=0.01, cache=False,
                              mapping=json.loads('{"feedback_type": {"-1": "exclude"}}'))
    assert set(resp["valence"].values.tolist()) == {1} and resp.sizes["trial"] == 174
    direct = read_binned(src, regions=["SNr"], mapping={"feedback_type": {-1: "exclude"}})
    assert direct.attrs["trial_counts"] == resp.attrs["trial_counts"]
