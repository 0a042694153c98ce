"""Foreign agents (SB3 zips, activations files) side by side with zoo agents in a run."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ConfigError
from neuroalign.pipeline.config import default_data_dir, load_config
from neuroalign.pipeline.run import run_pipeline

sb3 = pytest.importorskip("stable_baselines3")

SESSION = default_data_dir() / "sessions" / "sub-synthetic-mouse-0_ses-sim-0.nwb"
LAYERS = ["trunk.0", "readout.q"]


def _files(folder: Path) -> None:
    """models/dqn.zip (an SB3 DQN), acts/jax.nc (`zoo probe --out` of the zoo's dqn) and
    acts/dqn.nwb (`zoo export-nwb` of the zoo's dqn)."""
    from neuroalign.zoo import make_env

    (folder / "models").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sb3.DQN("MlpPolicy", make_env("pavlovian", seed=0), seed=0, device="cpu",
                        policy_kwargs={"net_arch": [16, 16]})
    model.save(folder / "models" / "dqn.zip")
    (folder / "acts").mkdir()
    result = CliRunner().invoke(app, ["zoo", "probe", "dqn", "--task", "pavlovian", "--seed",
                                      "0", "--out", str(folder / "acts" / "jax.nc")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["zoo", "export-nwb", "dqn", "--task", "pavlovian",
                                      "--seed", "0", "--out", str(folder / "acts" / "dqn.nwb")])
    assert result.exit_code == 0, result.output


def _write_config(folder: Path, agents: list[dict]) -> Path:
    config = {"sources": [{"path": str(SESSION)}], "agents": agents,
              "measures": ["rsa", "geometry"], "n_boot": 8, "n_perm": 19,
              "cache_dir": str(folder / "cache")}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


AGENTS = [
    {"name": "dqn", "seeds": [0], "layers": LAYERS},
    {"name": "ppo", "seeds": [0], "layers": ["trunk.0", "readout.pi"]},
    {"name": "my-dqn", "sb3": "models/dqn.zip", "task": "pavlovian", "family": "value",
     "layers": LAYERS},
    {"name": "jax-agent", "activations": "acts/jax.nc", "family": "value", "layers": LAYERS},
    {"name": "nwb-agent", "activations": "acts/dqn.nwb", "family": "value", "layers": LAYERS},
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("foreign")
    _files(folder)
    config = load_config(_write_config(folder, AGENTS))
    return run_pipeline(config, out=folder / "report", progress=False, figures=False)


def test_rows_for_every_foreign_agent_and_layer(run):
    res = run.results
    got = {(a, f, ly) for a, f, ly in zip(res["agent"], res["family"], res["layer"],
                                          strict=True)}
    for agent, family in (("my-dqn", "value"), ("jax-agent", "value"), ("nwb-agent", "value")):
        for layer in LAYERS:
            assert (agent, family, layer) in got


@pytest.mark.parametrize("agent", ["jax-agent", "nwb-agent"])
def test_an_activations_file_gives_the_zoo_agents_estimates(run, agent):
    res = run.results
    cols = ["region", "measure", "layer"]
    zoo = res[res["agent"] == "dqn"].sort_values(cols).reset_index(drop=True)
    file = res[res["agent"] == agent].sort_values(cols).reset_index(drop=True)
    assert len(zoo) == len(file) > 0
    for col in ("estimate", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(file[col].to_numpy(float), zoo[col].to_numpy(float),
                                   rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=col)


def test_study_h1_counts_foreign_agents_in_their_declared_family(run):
    study = pd.read_csv(run.out / "study.csv")
    h1 = study[(study["hypothesis"] == "H1") & study["subject"].str.startswith("value-")]
    # value-learners at trunk.0: the zoo's dqn, my-dqn, jax-agent and nwb-agent
    trunk = h1[h1["subject"] == "value-learners, trunk.0"]
    assert trunk["n_algorithms"].tolist() == [4]
    policy = study[study["subject"] == "policy-learners, trunk.0"]
    assert policy["n_algorithms"].tolist() == [1]


def test_paths_are_relative_to_the_config_and_names_are_checked(tmp_path):
    (tmp_path / "models").mkdir()
    with pytest.raises(ConfigError, match=r"agents\[0\].sb3: '.*/models/none.zip' is not a "
                       r"file"):
        load_config(_write_config(tmp_path, [{"name": "x", "sb3": "models/none.zip",
                                              "family": "value"}]))
    (tmp_path / "models" / "m.zip").write_bytes(b"")
    clash = _write_config(tmp_path, [{"name": "dqn", "sb3": "models/m.zip", "family": "value"}])
    with pytest.raises(ConfigError, match=r"agents\[0\].name: got 'dqn', the name of a zoo "
                       r"agent"):
        run_pipeline(load_config(clash), out=tmp_path / "r", progress=False)
    twice = _write_config(tmp_path, [{"name": "a", "sb3": "models/m.zip", "family": "value"},
                                     {"name": "a", "sb3": "models/m.zip", "family": "other"}])
    with pytest.raises(ConfigError, match=r"agents\[1\].name: got 'a', already agents\[0\]; "
                       r"expected unique agent names"):
        run_pipeline(load_config(twice), out=tmp_path / "r", progress=False)
    with pytest.raises(ConfigError, match=r"family: agent 'b' needs a declared family"):
        load_config(_write_config(tmp_path, [{"name": "b", "sb3": "models/m.zip"}]))
    with pytest.raises(ConfigError, match=r"agent 'c': got both sb3 and activations"):
        load_config(_write_config(tmp_path, [{"name": "c", "sb3": "models/m.zip",
                                              "activations": "models/m.zip",
                                              "family": "value"}]))


def test_study_stages_keep_a_foreign_module_apart():
    from neuroalign.study.hypotheses import layer_stage

    assert [layer_stage(x) for x in ("trunk.1", "readout.q", "readout.pi",
                                     "mlp_extractor.value_net.1")] == [
        "trunk.1", "readout", "readout", "mlp_extractor.value_net.1"]


def test_batch_takes_foreign_agents_beside_zoo_agents(run, tmp_path):
    from neuroalign.batch import load_results

    folder = run.out.parent
    config = {
        "agents": ["dqn", {"name": "my-dqn", "sb3": "models/dqn.zip", "task": "pavlovian",
                           "family": "value"},
                   {"name": "jax-agent", "activations": "acts/jax.nc", "family": "value",
                    "layers": ["readout.q"]}],
        "tasks": ["pavlovian"], "seeds": [0], "layers": ["trunk.0"],
        "sources": [str(SESSION)], "regions": ["BLA"], "measures": ["geometry"],
        "n_boot": 8, "n_perm": 19,
    }
    path = folder / "batch.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["batch", "run", str(path), "--out",
                                      str(tmp_path / "batch"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    table = load_results(tmp_path / "batch")
    got = set(zip(table["agent"], table["family"], table["layer"], strict=True))
    assert {("dqn", "value", "trunk.0"), ("my-dqn", "value", "trunk.0"),
            ("jax-agent", "value", "readout.q")} <= got
    # the activations file's rows equal the main job's rows of the same zoo agent layer
    ours = table[(table["agent"] == "jax-agent") & (table["measure"] == "A")
                 & (table["side"] == "model")]
    main = run.results[(run.results["agent"] == "dqn") & (run.results["layer"] == "readout.q")
                       & (run.results["measure"] == "A") & (run.results["side"] == "model")]
    # one A per model side, written once (the side a column)
    assert len(ours) == 1 and len(main) == 1
    np.testing.assert_allclose(ours["estimate"].to_numpy(float),
                               main["estimate"].to_numpy(float), rtol=1e-12)


def test_allow_code_reaches_only_sb3_entries():
    from neuroalign.core.config import AgentSpec, with_code_allowed

    agents = ["dqn", AgentSpec(name="z"),
              AgentSpec(name="s", sb3="m.zip", family="value"),
              AgentSpec(name="a", activations="a.nc", family="other")]
    got = with_code_allowed(agents)
    assert got[0] == "dqn" and got[1] == agents[1] and got[3] == agents[3]
    assert got[2].allow_code and not agents[2].allow_code
    with pytest.raises(ValueError, match=r"family/allow_code: agent 'z' is a zoo agent"):
        AgentSpec(name="z", allow_code=True)
