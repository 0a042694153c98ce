"""Stable-Baselines3 twins of the zoo agents: trunks, seeding, content names, sidecars, probes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neuroalign.core.errors import ValidationError
from neuroalign.zoo import build_agent, get_task, make_env, probe

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")

from neuroalign.zoo.foreign import load_sb3_policy
from neuroalign.zoo.foreign.sb3_train import (
    read_sb3_metrics,
    sb3_checkpoint_name,
    sb3_content_key,
    sb3_settings,
    train_sb3,
)
from neuroalign.zoo.foreign.sb3_trunk import ZooTrunk
from neuroalign.zoo.foreign.sb3_zip import read_sb3_zip

BUDGET = 600


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """One tiny twin per algorithm on the Pavlovian task, seed 3."""
    out = tmp_path_factory.mktemp("sb3_twins")
    return {algo: train_sb3(algo, "pavlovian", 3, out, budget=BUDGET)
            for algo in ("dqn", "qrdqn", "a2c", "ppo")}


def _linear_shapes(module: torch.nn.Module) -> list[tuple[int, int]]:
    return [tuple(m.weight.shape) for m in module.modules() if isinstance(m, torch.nn.Linear)]


def _zoo_trunk_shapes(algo: str) -> list[tuple[int, int]]:
    net = build_agent(algo, "pavlovian", 0).net
    return [tuple(layer.weight.shape) for layer in net.trunk]


@pytest.mark.parametrize("algo", ["dqn", "qrdqn"])
def test_value_twin_has_the_zoo_trunk(twins, algo):
    policy, name = load_sb3_policy(twins[algo], "pavlovian")
    assert name == {"dqn": "DQN", "qrdqn": "QRDQN"}[algo]
    body = policy.q_net.q_net if algo == "dqn" else policy.quantile_net.quantile_net
    shapes = _linear_shapes(body)
    n_actions = int(make_env("pavlovian").action_space.n)
    assert shapes[:-1] == _zoo_trunk_shapes(algo)
    out = n_actions * (16 if algo == "qrdqn" else 1)
    assert shapes[-1] == (out, 64)
    acts = [type(m).__name__ for m in body if not isinstance(m, torch.nn.Linear)]
    assert acts == ["Tanh", "Tanh"]


@pytest.mark.parametrize("algo", ["a2c", "ppo"])
def test_actor_critic_twin_shares_the_zoo_trunk(twins, algo):
    policy, _ = load_sb3_policy(twins[algo], "pavlovian")
    assert policy.share_features_extractor
    assert isinstance(policy.features_extractor, ZooTrunk)
    assert policy.pi_features_extractor is policy.vf_features_extractor \
        is policy.features_extractor
    assert _linear_shapes(policy.features_extractor) == _zoo_trunk_shapes(algo)
    assert [type(m).__name__ for m in policy.features_extractor.trunk][1::2] == ["Tanh"] * 2
    # linear heads on the trunk: no actor or critic layers of their own
    assert _linear_shapes(policy.mlp_extractor) == []
    n_actions = int(make_env("pavlovian").action_space.n)
    assert tuple(policy.action_net.weight.shape) == (n_actions, 64)
    assert tuple(policy.value_net.weight.shape) == (1, 64)


def test_settings_carry_the_zoo_config():
    from neuroalign.zoo import A2CConfig, DQNConfig, PPOConfig

    dqn, ppo, a2c = (sb3_settings(a, "gridworld") for a in ("dqn", "ppo", "a2c"))
    cfg = DQNConfig()
    assert dqn["hyperparameters"]["target_update_interval"] == cfg.target_update
    assert dqn["hyperparameters"]["train_freq"] == cfg.train_every
    assert dqn["hyperparameters"]["exploration_fraction"] == cfg.eps_fraction
    assert ppo["hyperparameters"]["batch_size"] == PPOConfig().minibatch_size
    assert ppo["hyperparameters"]["clip_range"] == PPOConfig().clip
    assert a2c["hyperparameters"]["n_steps"] == A2CConfig().n_steps
    assert a2c["hyperparameters"]["use_rms_prop"] is False  # Adam, as the zoo
    assert dqn["budget"] == get_task("gridworld").budget
    assert dqn["eval_every"] == get_task("gridworld").budget // 20
    assert dqn["patience"] == 2


def test_same_seed_gives_identical_weights(tmp_path, twins):
    again = train_sb3("ppo", "pavlovian", 3, tmp_path, budget=BUDGET)
    assert again.name == twins["ppo"].name
    first, second = read_sb3_zip(twins["ppo"]).state_dict, read_sb3_zip(again).state_dict
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = train_sb3("ppo", "pavlovian", 4, tmp_path, budget=BUDGET)
    third = read_sb3_zip(other).state_dict
    assert not all(torch.equal(first[k], third[k]) for k in first)


def test_caller_global_random_state_is_left_alone(tmp_path):
    """SB3's seed sets the global generators; the caller's states come back unchanged."""
    import random

    before = (random.getstate(), np.random.get_state()[1].copy(),  # noqa: NPY002
              torch.random.get_rng_state())
    train_sb3("a2c", "pavlovian", 0, tmp_path, budget=100)
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), before[2])


def test_content_name_changes_with_settings():
    base = sb3_checkpoint_name("dqn", "pavlovian", 0)
    assert base.startswith("sb3-dqn_pavlovian_s0_") and base.endswith(".zip")
    assert sb3_checkpoint_name("DQN", "pavlovian", 0) == base
    others = {sb3_checkpoint_name("dqn", "pavlovian", 0, budget=500),
              sb3_checkpoint_name("dqn", "pavlovian", 1),
              sb3_checkpoint_name("dqn", "gridworld", 0),
              sb3_checkpoint_name("qrdqn", "pavlovian", 0)}
    assert base not in others and len(others) == 4
    assert sb3_content_key("dqn", "pavlovian", 0) == sb3_content_key("dqn", "pavlovian", 0)


def test_sidecar_records_the_criterion(twins):
    for algo, path in twins.items():
        m = read_sb3_metrics(path)
        assert json.loads(path.with_suffix(".json").read_text())["task"] == "pavlovian"
        assert isinstance(m["criterion_met"], bool)
        assert 0 < m["steps"] <= BUDGET
        assert m["wall_time_s"] > 0
        assert m["eval_every"] == BUDGET // 20
        steps = [h["step"] for h in m["history"]]
        assert steps == [BUDGET // 20 * (i + 1) for i in range(len(steps))]
        # stopped at the criterion: two successes in a row end the run (the zoo's rule)
        crit = [h["criterion_met"] for h in m["history"]]
        if m["steps"] < BUDGET:
            assert crit[-2:] == [1.0, 1.0] and crit[:-2].count(1.0) <= len(crit) - 2
        assert m["algorithm"] == algo and m["versions"]["stable-baselines3"]


def test_existing_twin_is_not_trained_again(twins):
    before = twins["a2c"].stat().st_mtime_ns
    assert train_sb3("a2c", "pavlovian", 3, twins["a2c"].parent, budget=BUDGET) == twins["a2c"]
    assert twins["a2c"].stat().st_mtime_ns == before


@pytest.mark.parametrize(("algo", "layers"), [
    ("dqn", {"trunk.0", "trunk.1", "readout.q"}),
    ("qrdqn", {"trunk.0", "trunk.1", "readout.q", "readout.quantiles"}),
    ("ppo", {"trunk.0", "trunk.1", "readout.pi", "readout.v"}),
])
def test_probe_of_the_twin(twins, algo, layers):
    acts = probe(str(twins[algo]), "pavlovian", 0, n_repetitions=2)
    assert set(acts["layer"].values.tolist()) == layers
    assert int((acts["layer"] == "trunk.0").sum()) == 64


def test_probe_trunk_is_the_shared_extractor(twins):
    """trunk.0 of an actor-critic twin is tanh(W x + b) of the extractor's first layer."""
    policy, _ = load_sb3_policy(twins["ppo"], "pavlovian")
    obs = get_task("pavlovian").probe_inputs(2, 0)
    acts = probe(str(twins["ppo"]), "pavlovian", 0, n_repetitions=2, layers=["trunk.0"],
                 average=False)
    first = policy.features_extractor.trunk[0]
    w, b = first.weight.detach().double().numpy(), first.bias.detach().double().numpy()
    expected = np.tanh(obs.astype(np.float64) @ w.T + b)
    got = acts.transpose("repetition", "condition", "unit").values
    assert np.allclose(got, expected, atol=1e-9)


def test_contrast_twin_trains_and_evaluates_step_by_step(tmp_path):
    path = train_sb3("a2c", "contrast", 0, tmp_path, budget=200)
    m = read_sb3_metrics(path)
    assert m["history"] and m["history"][0]["n_episodes"] == 16 * get_task("contrast").n_eval


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"algorithm": "sac"}, r"algorithm: got 'sac'; expected one of 'dqn', 'qrdqn'"),
    ({"task": "maze"}, r"task: got 'maze'; expected one of 'pavlovian'"),
    ({"seed": -1}, r"seed: got -1; expected a non-negative integer"),
    ({"budget": 0}, r"budget"),
])
def test_bad_input(tmp_path, kwargs, match):
    args = {"algorithm": "dqn", "task": "pavlovian", "seed": 0, **kwargs}
    with pytest.raises(ValidationError, match=match):
        train_sb3(args["algorithm"], args["task"], args["seed"], tmp_path,
                  budget=kwargs.get("budget", 100))


def test_separate_layout_twin_has_the_zoo_actor_and_critic(tmp_path):
    path = train_sb3("a2c", "pavlovian", 0, tmp_path, budget=200, layout="separate")
    assert path.name.startswith("sb3-a2c-sep_pavlovian_s0_")
    assert read_sb3_metrics(path)["layout"] == "separate"
    policy, _ = load_sb3_policy(path, "pavlovian")
    zoo = build_agent("a2c-sep", "pavlovian", 0).net
    zoo_actor = [tuple(m.weight.shape) for name, m in zoo.named_modules()
                 if name.startswith("actor.") and isinstance(m, torch.nn.Linear)]
    assert _linear_shapes(policy.mlp_extractor.policy_net) == zoo_actor
    assert _linear_shapes(policy.mlp_extractor.value_net) == zoo_actor
    assert not isinstance(policy.features_extractor, ZooTrunk)
    assert sb3_checkpoint_name("a2c", "pavlovian", 0) != \
        sb3_checkpoint_name("a2c", "pavlovian", 0, layout="separate")
    with pytest.raises(ValidationError, match="layout: got 'separate' for dqn"):
        sb3_settings("dqn", "pavlovian", layout="separate")
    with pytest.raises(ValidationError, match="layout: got 'split'"):
        sb3_settings("ppo", "pavlovian", layout="split")


def test_sb3_jobs_train_through_the_sweep_and_resume(tmp_path):
    import dataclasses

    from neuroalign.zoo.foreign.sb3_train import plan_sb3_sweep
    from neuroalign.zoo.sweep import job_kinds, run_sweep

    assert "sb3" in job_kinds()
    plan = plan_sb3_sweep("a2c,dqn", "pavlovian", "0", ["shared", "separate"], budget=200)
    assert [(j.agent, j.kind) for j in plan.jobs] == [("a2c", "sb3"), ("a2c-sep", "sb3"),
                                                      ("dqn", "sb3")]
    assert [s.algorithm for s in plan.skipped] == ["dqn"]  # no separate value-learner
    first = run_sweep(plan, tmp_path, workers=1, progress=False)
    assert [r.status for r in first.jobs] == ["trained"] * 3
    direct = train_sb3("a2c", "pavlovian", 0, tmp_path, budget=200)  # the same file
    assert first.jobs[0].path == str(direct)
    again = run_sweep(plan, tmp_path, workers=1, progress=False)
    assert [r.status for r in again.jobs] == ["existing"] * 3
    assert [r.criterion_met for r in again.jobs] == [r.criterion_met for r in first.jobs]
    with pytest.raises(ValidationError, match="the twins take the zoo agent's default"):
        _ = dataclasses.replace(plan.jobs[0], config={"lr": 0.1}).key
    with pytest.raises(ValidationError, match="tasks: got 'maze'"):
        plan_sb3_sweep("a2c", "maze", "0")
