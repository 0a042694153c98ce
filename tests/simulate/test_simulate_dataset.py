"""The default dataset in neuroalign/data/sessions and the ``neuroalign simulate`` command."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest
from pynwb import NWBHDF5IO
from typer.testing import CliRunner

from neuroalign.cli import app, main
from neuroalign.core.errors import OutputExistsError, ValidationError
from neuroalign.simulate import (
    DEFAULT_DATASET,
    DEFAULT_NEUTRAL_TRIALS,
    DEFAULT_REGIONS,
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    make_dataset,
    session_file_name,
    simulate_session,
)


@pytest.fixture(scope="module")
def sessions():
    from neuroalign.core.resources import package_data

    return package_data("sessions")


def test_default_dataset_matches_its_manifest(sessions):
    manifest = json.loads((sessions / "manifest.json").read_text())
    assert manifest["synthetic"] is True
    assert manifest["seed"] == DEFAULT_DATASET["seed"]
    assert manifest["regions"] == dict(DEFAULT_REGIONS)
    assert manifest["session_options"] == {
        k: v for k, v in DEFAULT_DATASET.items() if k not in ("n_sessions", "seed")}
    files = sorted(p.name for p in sessions.glob("*.nwb"))
    assert files == sorted(manifest["sha256"]) and len(files) == 3
    total = 0
    for name, digest in manifest["sha256"].items():
        data = (sessions / name).read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == digest
    assert total < 8e6


def test_default_dataset_regenerates_bit_for_bit(sessions, tmp_path):
    # regenerate session 1 with the shipped parameters; if this fails after a version
    # bump, rerun `python data/make_default_dataset.py`
    params = {k: v for k, v in DEFAULT_DATASET.items() if k not in ("n_sessions", "seed")}
    fresh = simulate_session(tmp_path / "s.nwb", seed=DEFAULT_DATASET["seed"],
                             session_index=1, **params)
    assert fresh.read_bytes() == (sessions / session_file_name(1)).read_bytes()


def test_default_sessions_are_synthetic_and_complete(sessions):
    for i in range(3):
        with NWBHDF5IO(str(sessions / session_file_name(i)), "r") as io:
            nwb = io.read()
            assert nwb.session_description.startswith("SYNTHETIC")
            assert len(nwb.units) == len(DEFAULT_REGIONS) * DEFAULT_UNITS_PER_REGION
            assert len(nwb.trials) == 2 * DEFAULT_TRIALS_PER_VALENCE + DEFAULT_NEUTRAL_TRIALS
            assert json.loads(nwb.notes)["session_index"] == i


def test_make_dataset_refuses_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        make_dataset(tmp_path, 1, seed=0, n_units_per_region=2, n_trials_per_valence=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_make_dataset_leaves_nothing_on_bad_parameters(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(ValidationError, match="n_units_per_region: got 0"):
        make_dataset(out, 2, seed=0, n_units_per_region=0)
    with pytest.raises(ValidationError, match="n_sessions: got 0; expected a positive integer"):
        make_dataset(out, 0, seed=0)
    assert not list(tmp_path.iterdir())


def test_cli_simulate_writes_sessions(tmp_path):
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "--out", str(out), "--sessions", "2",
                                      "--seed", "5", "--units", "3", "--trials", "4"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([session_file_name(0), session_file_name(1), "manifest.json"])
    assert "wrote 2 synthetic sessions" in result.output
    with NWBHDF5IO(str(out / session_file_name(1)), "r") as io:
        nwb = io.read()
        assert len(nwb.units) == 9 and len(nwb.trials) == 28
        assert json.loads(nwb.notes)["seed"] == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_simulate_refuses_non_empty_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "other.txt").write_text("x")
    monkeypatch.setattr(sys, "argv", ["neuroalign", "simulate", "--out", str(tmp_path),
                                      "--sessions", "1"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output folder") and "exists and is not empty" in err
    assert "--overwrite" in err  # the message names an option the command has
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]


def test_cli_simulate_overwrite_replaces_folder(tmp_path):
    (tmp_path / "other.txt").write_text("x")
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--sessions", "1",
                                      "--units", "5", "--trials", "4", "--overwrite"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "other.txt" not in names and "manifest.json" in names


def test_cli_simulate_bad_count():
    result = CliRunner().invoke(app, ["simulate", "--out", "unused-dir", "--sessions", "0"])
    assert isinstance(result.exception, ValidationError)
    assert "n_sessions: got 0; expected a positive integer" in str(result.exception)


def test_default_size_is_one_definition():
    # the shipped dataset, the session writer, the sampler and the CLI share one size
    import inspect

    from neuroalign.simulate import sample_condition_patterns

    assert (DEFAULT_UNITS_PER_REGION, DEFAULT_TRIALS_PER_VALENCE) == (40, 60)
    assert DEFAULT_DATASET["n_units_per_region"] == DEFAULT_UNITS_PER_REGION
    assert DEFAULT_DATASET["n_trials_per_valence"] == DEFAULT_TRIALS_PER_VALENCE
    assert DEFAULT_DATASET["n_neutral_trials"] == DEFAULT_NEUTRAL_TRIALS
    for fn, units, trials in ((simulate_session, "n_units_per_region", "n_trials_per_valence"),
                              (sample_condition_patterns, "n_units", "n_repetitions")):
        params = inspect.signature(fn).parameters
        assert params[units].default == DEFAULT_UNITS_PER_REGION
        assert params[trials].default == DEFAULT_TRIALS_PER_VALENCE
    da = sample_condition_patterns("symmetric", seed=0)
    assert da.sizes["unit"] == DEFAULT_UNITS_PER_REGION
    assert da.sizes["repetition"] == DEFAULT_TRIALS_PER_VALENCE


def test_cli_defaults_are_the_dataset_size(tmp_path, monkeypatch):
    seen = {}

    def fake_make_dataset(out, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr("neuroalign.simulate.dataset.make_dataset", fake_make_dataset)
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert seen["n_units_per_region"] == DEFAULT_UNITS_PER_REGION
    assert seen["n_trials_per_valence"] == DEFAULT_TRIALS_PER_VALENCE
