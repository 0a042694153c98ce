"""The ``neuroalign zoo`` commands."""

from __future__ import annotations

import json

import xarray as xr
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import OutputExistsError, ValidationError
from neuroalign.zoo import AGENTS, shipped_seeds

runner = CliRunner()


def test_list_json_content():
    result = runner.invoke(app, ["zoo", "list", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    agents = {a["name"]: a for a in payload["agents"]}
    assert list(agents) == list(AGENTS)
    families = {"dqn": "value", "qrdqn": "value", "reinforce": "policy", "a2c": "policy",
                "ppo": "policy"}
    policy = [n for n, f in families.items() if f == "policy"]
    assert {n: a["family"] for n, a in agents.items()} == {
        **families, **{f"{n}-gru": f for n, f in families.items()},
        **{f"{n}-sep": "policy" for n in policy}, **{f"{n}-gru-sep": "policy" for n in policy}}
    for name, record in agents.items():
        recurrent = "-gru" in name
        assert record["trunk"] == ("gru" if recurrent else "mlp")
        assert record["layout"] == ("separate" if name.endswith("-sep") else "shared")
        expected = ["contrast"] if recurrent else ["pavlovian", "gridworld", "contrast"]
        assert record["tasks"] == expected
        for task, seeds in record["shipped_seeds"].items():
            assert seeds == shipped_seeds(name, task)
            assert seeds == [] or task in expected
    assert [t["name"] for t in payload["tasks"]] == ["pavlovian", "gridworld", "contrast"]


def test_list_table():
    result = runner.invoke(app, ["zoo", "list"])
    assert result.exit_code == 0 and "reinforce" in result.output and "policy" in result.output
    assert "separate" in result.output and "shared" in result.output


def test_train_and_probe_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_ZOO", str(tmp_path / "no_zoo"))
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(app, ["zoo", "train", "reinforce", "--task", "pavlovian", "--seed",
                                 "4", "--budget", "60", "--full-budget", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cache" / "zoo" / "reinforce_pavlovian_s4.safetensors").is_file()
    out = tmp_path / "acts.nc"
    result = runner.invoke(app, ["zoo", "probe", "reinforce", "--task", "pavlovian", "--seed",
                                 "4", "--out", str(out), "--layer", "readout.v", "--average"])
    assert result.exit_code == 0, result.output
    da = xr.load_dataarray(out, engine="h5netcdf")
    assert da.dims == ("condition", "unit") and da.sizes["unit"] == 1
    assert da.attrs["agent"] == "reinforce" and da.attrs["seed"] == 4
    result = runner.invoke(app, ["zoo", "probe", "reinforce", "--task", "pavlovian", "--seed",
                                 "4", "--out", str(out)])
    assert isinstance(result.exception, OutputExistsError)


def test_unknown_agent_is_a_validation_error(tmp_path):
    result = runner.invoke(app, ["zoo", "probe", "sarsa", "--task", "pavlovian",
                                 "--out", str(tmp_path / "x.nc")])
    assert isinstance(result.exception, ValidationError)
    assert "expected one of ['dqn', 'qrdqn', 'reinforce', 'a2c', 'ppo', 'dqn-gru'" in str(
        result.exception)


def test_probe_output_must_be_netcdf(tmp_path):
    out = tmp_path / "acts.csv"
    result = runner.invoke(app, ["zoo", "probe", "dqn", "--task", "pavlovian", "--out", str(out)])
    assert isinstance(result.exception, ValidationError)
    assert "expected a netCDF file name ending in .nc" in str(result.exception)
    assert not out.exists()


def test_evaluate_command_on_a_valence_task():
    result = runner.invoke(app, ["zoo", "evaluate", "ppo", "--task", "pavlovian", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    low, high = payload["success_ci"]
    assert low <= payload["criterion"]["success_rate"] <= high and payload["trunk"] == "mlp"
