"""The inspect/import commands and the real recordings in tests/data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO
from typer.testing import CliRunner

from neuroalign.cli import app, main
from neuroalign.core.errors import DataError, OutputExistsError, ProfileError
from neuroalign.io import (
    inspect_source,
    load_responses,
    load_store,
    open_nwb,
    read_event_tables,
    read_units,
)

JANELIA = ["janelia_alm_sub-anm369963_ses-20170228.nwb",
           "janelia_alm_sub-anm372793_ses-20170508.nwb"]
PEYRACHE = "peyrache_A8604-211122.nwb"
runner = CliRunner()


@pytest.mark.parametrize(("name", "regions", "n_spikes"),
                         [(JANELIA[0], {"ALM": 1}, [1679]), (JANELIA[1], {"ALM": 1}, [2434]),
                          (PEYRACHE, {"unknown": 3}, [11020, 4690, 5644])])
def test_inspect_json_on_real_files(test_data: Path, name: str, regions: dict[str, int],
                                    n_spikes: list[int]) -> None:
    result = runner.invoke(app, ["inspect", str(test_data / name), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["regions"] == regions
    assert info["n_units"] == sum(regions.values())
    assert info["profile"] is None
    with open_nwb(test_data / name) as h5:
        units = read_units(h5)
    assert np.diff(units.offsets).tolist() == n_spikes


def test_real_janelia_reading_matches_pynwb(test_data: Path) -> None:
    path = test_data / JANELIA[0]
    info = inspect_source(path)
    assert info["region_rules"] == {"electrodes.location": 1}
    assert info["tables"]["trials"][:4] == ["id", "start_time", "stop_time", "type"]
    assert set(info["tables"]) == {"trials", "acquisition/lick_times"}
    with open_nwb(path) as h5:
        units = read_units(h5)
        tables = read_event_tables(h5)
    with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwb = io.read()
        raw = np.asarray(nwb.units.get_unit_spike_times(0))
        # this real file stores its spike times out of order; the reader sorts them
        assert units.n_sorted == 1 and (np.diff(raw) < 0).any()
        np.testing.assert_array_equal(units.spikes(0), np.sort(raw))
        assert len(tables["trials"]) == len(nwb.trials) == 178
        licks = tables["acquisition/lick_times"]
        assert (licks["event"] == "lick_left_times").sum() == 782
        assert (licks["event"] == "lick_right_times").sum() == 1016


def test_real_janelia_with_a_generic_mapping(test_data: Path, tmp_path: Path) -> None:
    """The lick task has no valence; a user mapping can still bin it (left vs right)."""
    mapping = {"type": {"lick left": 1, "lick right": -1}}
    # this file's cue times count from the trial start, not the session: all outside the
    # span, which runs from the first trial's start (302.371 s; first spike 372.760 s)
    with pytest.raises(DataError, match=r"none of the 178 'cue_start_time' times lies inside "
                                        r"\[302\.371, 1460\.724\] s"):
        load_responses(test_data / JANELIA[0], profile="generic", mapping=mapping,
                       align="cue_start_time", outside="drop")
    out = tmp_path / "janelia"
    result = runner.invoke(app, [
        "import", str(test_data / JANELIA[0]), "--profile", "generic", "--align",
        "start_time", "--window", "-1", "2", "--bin", "0.5", "--out", str(out), "--mapping",
        '{"type": {"lick left": 1, "lick right": -1}}', "--cache-dir", str(tmp_path / "c"),
        "--outside", "drop"])
    assert result.exit_code == 0, result.output
    resp = load_store(out / "responses.nc")
    assert resp.sizes["unit"] == 1 and resp["region"].values.tolist() == ["ALM"]
    assert set(np.unique(resp["valence"].values)) == {1, -1}


def test_import_writes_store_and_manifest(amygdala_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["import", str(amygdala_file), "--profile", "amygdala",
                                 "--align", "outcome", "--window", "-2", "1", "--bin", "0.25",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "responses.nc"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dims"] == ["trial", "unit", "time"] and manifest["shape"] == [12, 5, 12]
    assert manifest["attrs"]["profile"] == "amygdala"
    assert manifest["valences"] == {"-1": 6, "1": 6}
    resp = load_store(out / "responses.nc")
    assert resp["valence"].dims == ("trial",)


def test_import_refuses_non_empty_folder(amygdala_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["import", str(amygdala_file), "--profile", "amygdala",
                                 "--align", "outcome", "--window", "-2", "1", "--bin", "0.25",
                                 "--out", str(out)])
    assert isinstance(result.exception, OutputExistsError)
    assert "exists and is not empty (['keep.txt'])" in str(result.exception)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_import_overwrite_replaces_a_folder(amygdala_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    result = runner.invoke(app, ["import", str(amygdala_file), "--profile", "amygdala",
                                 "--window", "-2", "1", "--bin", "0.25", "--out", str(out),
                                 "--overwrite"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "responses.nc"]


def test_failed_import_leaves_nothing(test_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    result = runner.invoke(app, ["import", str(test_data / PEYRACHE), "--profile", "auto",
                                 "--align", "outcome", "--window", "-1", "1", "--bin", "0.5",
                                 "--out", str(out)])
    assert isinstance(result.exception, ProfileError)
    assert "candidate columns: ['epochs.tags (wake)']" in str(result.exception)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]


def test_cli_exit_status_and_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["neuroalign", "inspect", str(tmp_path / "nope.nwb")])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: source ") and err.rstrip().endswith("nope.nwb': no such file")
