"""The actor-critic layouts: a shared trunk, or separate actor and critic networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from neuroalign.core.errors import CheckpointError, ValidationError
from neuroalign.study.hypotheses import layer_stage
from neuroalign.zoo import (
    AGENTS,
    LAYOUTS,
    PPOConfig,
    agent_name,
    agent_parts,
    build_agent,
    list_agents,
    load_agent,
    load_checkpoint,
    probe,
    read_metadata,
    save_checkpoint,
    train,
)

SEPARATE = ["reinforce-sep", "a2c-sep", "ppo-sep",
            "reinforce-gru-sep", "a2c-gru-sep", "ppo-gru-sep"]
SEP_LAYERS = ["actor.0", "actor.1", "critic.0", "critic.1", "readout.pi", "readout.v"]
TINY_PPO = PPOConfig(n_steps=64, minibatch_size=32, n_epochs=1)


def test_new_agents_are_listed_with_their_layout():
    rows = {r["name"]: r for r in list_agents()}
    assert [n for n, r in rows.items() if r["layout"] == "separate"] == SEPARATE
    assert {r["layout"] for r in rows.values()} == set(LAYOUTS)
    for name in SEPARATE:
        assert rows[name]["family"] == "policy"
        assert rows[name]["trunk"] == ("gru" if "-gru" in name else "mlp")
        assert rows[name]["tasks"] == (["contrast"] if "-gru" in name
                                       else ["pavlovian", "gridworld", "contrast"])
        assert not any(rows[name]["shipped_seeds"].values())  # trained on demand
    # every value-learner and every agent without the suffix keeps the shared trunk
    assert all(r["layout"] == "shared" for n, r in rows.items() if not n.endswith("-sep"))


def test_agent_name_and_parts_round_trip_every_agent():
    for name in AGENTS:
        parts = agent_parts(name)
        assert agent_name(*parts) == name
        assert AGENTS[name].trunk == parts[1] and AGENTS[name].layout == parts[2]
    assert agent_name("ppo", "gru", "separate") == "ppo-gru-sep"
    assert agent_name("a2c") == "a2c"
    assert agent_parts("reinforce-sep") == ("reinforce", "mlp", "separate")
    assert agent_parts("qrdqn-gru") == ("qrdqn", "gru", "shared")


def test_agent_name_refuses_impossible_combinations():
    with pytest.raises(ValidationError, match=(
            r"^layout: got 'separate' for algorithm 'dqn' \(gru trunk\); it has layouts "
            r"\['shared'\]; the algorithms with layout 'separate' are "
            r"\['reinforce', 'a2c', 'ppo'\]$")):
        agent_name("dqn", "gru", "separate")
    with pytest.raises(ValidationError, match=r"^layout: got 'split'; expected one of "
                                              r"\['shared', 'separate'\]$"):
        agent_name("ppo", layout="split")
    with pytest.raises(ValidationError, match=r"^trunk: got 'lstm'; expected one of "):
        agent_name("ppo", "lstm")
    with pytest.raises(ValidationError, match=r"^algorithm: got 'sac'; expected one of "
                                              r"\['dqn', 'qrdqn', 'reinforce', 'a2c', 'ppo'\]"):
        agent_name("sac")
    with pytest.raises(ValidationError, match="agent: got 'ppo-lstm'"):
        agent_parts("ppo-lstm")


def test_separate_agent_trains_on_pavlovian_to_criterion():
    agent = train("ppo-sep", "pavlovian", 0, stop_at_criterion=True, progress=False)
    m = agent.metrics
    assert m["criterion_met"] and m["steps"] < agent.task.budget
    assert agent.evaluate()["criterion_met"] == 1.0  # the float64 probe pass agrees


@pytest.mark.parametrize(("name", "task"), [("a2c-sep", "gridworld"),
                                            ("reinforce-gru-sep", "contrast")])
def test_probe_returns_the_separate_layer_names_and_sizes(name, task):
    agent = build_agent(name, task, 0)
    da = probe(agent, n_repetitions=2, **({"steps": [0, 1]} if task == "contrast" else {}))
    assert list(dict.fromkeys(da["layer"].values)) == SEP_LAYERS
    n_actions = agent.net.heads["pi"].out_features
    sizes = {ly: int((da["layer"].values == ly).sum()) for ly in SEP_LAYERS}
    assert sizes == {"actor.0": 64, "actor.1": 64, "critic.0": 64, "critic.1": 64,
                     "readout.pi": n_actions, "readout.v": 1}
    roles = dict(zip(da["layer"].values, da["role"].values, strict=True))
    hidden = "recurrent" if task == "contrast" else "trunk"
    assert roles == {"actor.0": "trunk", "actor.1": hidden, "critic.0": "trunk",
                     "critic.1": hidden, "readout.pi": "actor", "readout.v": "critic"}
    with pytest.raises(ValidationError, match=r"ppo-sep has layers \['actor.0'"):
        build_agent("ppo-sep", "pavlovian", 0).check_layers(["trunk.0"])


@pytest.mark.parametrize("name", ["ppo-sep", "ppo-gru-sep"])
def test_actor_and_critic_share_no_parameters(name):
    task = "contrast" if "-gru" in name else "pavlovian"
    agent = build_agent(name, task, 0)
    actor = {id(p) for n, p in agent.net.named_parameters()
             if n.startswith(("actor", "heads.pi"))}
    critic = {id(p) for n, p in agent.net.named_parameters()
              if n.startswith(("critic", "heads.v"))}
    assert actor and critic and not actor & critic
    assert len(actor) + len(critic) == len(list(agent.net.parameters()))
    rng = np.random.default_rng(0)
    obs_dim = agent.net.critic[0].in_features
    obs = rng.normal(size=(3, 4, obs_dim)).astype(np.float32)  # sequences serve both trunks
    before = agent.activations(obs)
    with torch.no_grad():
        agent.net.critic[0].weight.add_(0.5)
    after = agent.activations(obs)
    for layer in ("actor.0", "actor.1", "readout.pi"):
        np.testing.assert_array_equal(after[layer], before[layer])
    for layer in ("critic.0", "critic.1", "readout.v"):
        assert not np.allclose(after[layer], before[layer])


def test_shared_twin_keeps_its_trunk_and_parameter_names():
    shared = build_agent("ppo-gru", "contrast", 0)
    assert shared.layers == ["trunk.0", "trunk.1", "readout.pi", "readout.v"]
    assert [n.split(".")[0] for n, _ in shared.net.named_parameters()] == [
        "trunk", "trunk", "rnn", "rnn", "rnn", "rnn", "heads", "heads", "heads", "heads"]
    sep = build_agent("ppo-gru-sep", "contrast", 0)
    n_shared = sum(p.numel() for n, p in shared.net.named_parameters()
                   if n.startswith(("trunk", "rnn")))
    n_actor = sum(p.numel() for n, p in sep.net.named_parameters()
                  if n.startswith("actor"))
    n_critic = sum(p.numel() for n, p in sep.net.named_parameters()
                   if n.startswith("critic"))
    assert n_actor == n_critic == n_shared  # each network the size of the shared trunk


def test_checkpoint_round_trip_is_bit_for_bit(tmp_path):
    agent = train("ppo-sep", "pavlovian", 5, config=TINY_PPO, budget=150, eval_every=150,
                  progress=False)
    path = save_checkpoint(agent, tmp_path / "ppo-sep_pavlovian_s5.safetensors")
    meta = read_metadata(path)
    assert meta["layout"] == "separate" and meta["agent"] == "ppo-sep"
    loaded = load_checkpoint(path, agent="ppo-sep", task="pavlovian", seed=5)
    raw, state = load_file(str(path)), loaded.net.state_dict()
    original = agent.net.state_dict()
    assert set(raw) == set(state) == set(original)
    assert all(torch.equal(original[k], state[k]) and torch.equal(raw[k], state[k])
               for k in raw)
    obs = agent.task.probe_inputs(2, 0).reshape(-1, agent.net.actor[0].in_features)
    for layer, values in agent.activations(obs).items():
        np.testing.assert_array_equal(loaded.activations(obs)[layer], values)
    # a shared-layout checkpoint never carries the layout key (shipped files unchanged)
    shared = train("ppo", "pavlovian", 5, config=TINY_PPO, budget=64, eval_every=64,
                   progress=False)
    assert "layout" not in read_metadata(save_checkpoint(shared, tmp_path / "s.safetensors"))


def test_checkpoint_of_the_other_layout_is_refused(tmp_path):
    agent = train("ppo", "pavlovian", 5, config=TINY_PPO, budget=64, eval_every=64,
                  progress=False)
    path = save_checkpoint(agent, tmp_path / "ppo-sep_pavlovian_s5.safetensors")
    # the same weights presented as the separate-layout agent: metadata agent name swapped
    import json

    from safetensors.torch import save_file

    from neuroalign.zoo.checkpoint import METADATA_KEY

    meta = read_metadata(path)
    meta["agent"] = "ppo-sep"
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(path)), str(bad), metadata={METADATA_KEY: json.dumps(meta)})
    with pytest.raises(CheckpointError, match="holds the 'shared' layout; agent 'ppo-sep' "
                                              "has the 'separate' layout"):
        load_checkpoint(bad)
    meta["layout"] = "separate"
    save_file(load_file(str(path)), str(bad), metadata={METADATA_KEY: json.dumps(meta)})
    with pytest.raises(CheckpointError, match="the weights hold 0 actor layer"):
        load_checkpoint(bad)


def test_load_agent_trains_a_missing_separate_agent_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_ZOO", str(tmp_path / "empty_zoo"))
    first = load_agent("a2c-sep", "pavlovian", 0, cache_dir=tmp_path / "cache")
    from neuroalign.zoo.addressing import addressed_name, checkpoint_key

    # saved under its content-addressed name (the one a default sweep writes)
    key = checkpoint_key("a2c-sep", "pavlovian", 0)
    assert first.path == tmp_path / "cache" / addressed_name("a2c-sep", "pavlovian", 0, key)
    assert first.metrics["criterion_met"]
    again = load_agent("a2c-sep", "pavlovian", 0, cache_dir=tmp_path / "cache",
                       train_if_missing=False)
    assert again.checkpoint_hash == first.checkpoint_hash


def test_same_seed_gives_identical_weights_on_the_gru_separate_layout():
    kw = {"budget": 120, "eval_every": 120, "progress": False}
    a = train("a2c-gru-sep", "contrast", 2, **kw)
    b = train("a2c-gru-sep", "contrast", 2, **kw)
    init = train("a2c-gru-sep", "contrast", 2, budget=1, eval_every=1, progress=False)
    wa, wb = a.net.state_dict(), b.net.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the weights did change during training (so the equality above is not trivial)
    assert any(not torch.equal(wa[k], v) for k, v in init.net.state_dict().items())
    assert a.metrics["history"] == b.metrics["history"]


def test_h1_stages_of_the_separate_layout():
    assert [layer_stage(x) for x in SEP_LAYERS] == [
        "actor.0", "actor.1", "critic.0", "critic.1", "readout", "readout"]
    assert [layer_stage(x) for x in ("trunk.0", "trunk.1", "readout.q")] == [
        "trunk.0", "trunk.1", "readout"]


def test_cli_trains_and_probes_a_separate_agent_by_layer(tmp_path, monkeypatch):
    import xarray as xr
    from typer.testing import CliRunner

    from neuroalign.cli import app

    monkeypatch.setenv("NEUROALIGN_ZOO", str(tmp_path / "no_zoo"))
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    result = runner.invoke(app, ["zoo", "train", "reinforce-sep", "--task", "pavlovian",
                                 "--seed", "4", "--budget", "60", "--full-budget",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "acts.nc"
    result = runner.invoke(app, ["zoo", "probe", "reinforce-sep", "--task", "pavlovian",
                                 "--seed", "4", "--out", str(out), "--layer", "actor.1",
                                 "--layer", "critic.0", "--average"])
    assert result.exit_code == 0, result.output
    da = xr.load_dataarray(out, engine="h5netcdf")
    assert list(dict.fromkeys(da["layer"].values)) == ["actor.1", "critic.0"]
    assert da.sizes["unit"] == 128
    result = runner.invoke(app, ["zoo", "probe", "reinforce-sep", "--task", "pavlovian",
                                 "--seed", "4", "--out", str(tmp_path / "b.nc"),
                                 "--layer", "trunk.1"])
    assert isinstance(result.exception, ValidationError)
    assert "reinforce-sep has layers ['actor.0', 'actor.1', 'critic.0'" in str(
        result.exception)
