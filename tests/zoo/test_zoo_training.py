"""Training: one seeding point, determinism, configs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from neuroalign.core.errors import ConfigError, ValidationError
from neuroalign.zoo import (
    AGENTS,
    A2CConfig,
    DQNConfig,
    PPOConfig,
    QRDQNConfig,
    ReinforceConfig,
    agent_parts,
    describe,
    seeded,
    train,
)
from neuroalign.zoo.configs import config_from_dict

# small configs so that a few hundred steps include many updates
TINY = {
    "dqn": DQNConfig(learning_starts=32, batch_size=16, target_update=50),
    "qrdqn": QRDQNConfig(learning_starts=32, batch_size=16, target_update=50, n_quantiles=4),
    "reinforce": ReinforceConfig(episodes_per_update=2),
    "a2c": A2CConfig(n_steps=16),
    "ppo": PPOConfig(n_steps=64, minibatch_size=32, n_epochs=2),
}
BUDGET = 240


def _weights(agent):
    return {k: v.clone() for k, v in agent.net.state_dict().items()}


@pytest.mark.parametrize("name", [n for n, s in AGENTS.items() if s.trunk == "mlp"])
def test_same_seed_gives_identical_weights(name):
    cfg = TINY[agent_parts(name)[0]]
    a = train(name, "pavlovian", 3, config=cfg, budget=BUDGET, eval_every=BUDGET // 2,
              progress=False)
    b = train(name, "pavlovian", 3, config=cfg, budget=BUDGET, eval_every=BUDGET // 2,
              progress=False)
    init = train(name, "pavlovian", 3, config=cfg, budget=1, eval_every=1, progress=False)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the weights did change during training (so the equality above is not trivial)
    assert any(not torch.equal(wa[k], _weights(init)[k]) for k in wa)
    assert a.metrics["steps"] == BUDGET and a.metrics["history"] == b.metrics["history"]


@pytest.mark.parametrize("name", ["dqn", "ppo"])
def test_different_seeds_differ(name):
    a = train(name, "gridworld", 0, config=TINY[name], budget=BUDGET, eval_every=BUDGET,
              progress=False)
    b = train(name, "gridworld", 1, config=TINY[name], budget=BUDGET, eval_every=BUDGET,
              progress=False)
    assert not torch.equal(a.net.trunk[0].weight, b.net.trunk[0].weight)


def test_seeded_restores_global_torch_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7) as rng:
        inside = torch.rand(1)
        assert isinstance(rng, np.random.Generator)
    assert torch.equal(torch.rand(3), expected)
    with seeded(7):
        assert torch.equal(torch.rand(1), inside)


def test_metrics_and_families():
    agent = train("reinforce", "pavlovian", 0, config=TINY["reinforce"], budget=120,
                  eval_every=60, progress=False)
    m = agent.metrics
    assert m["budget"] == 120 and m["steps"] == 120 and m["episodes"] == 20
    assert [h["step"] for h in m["history"]] == [60.0, 120.0]
    assert {s.family for s in AGENTS.values()} == {"value", "policy"}
    assert [n for n, s in AGENTS.items() if s.family == "value"] == [
        "dqn", "qrdqn", "dqn-gru", "qrdqn-gru"]


def test_stop_at_criterion_stops_early():
    # PPO learns the Pavlovian task within a few thousand steps; the budget is an upper bound
    agent = train("ppo", "pavlovian", 0, budget=12_000, eval_every=600,
                  stop_at_criterion=True, patience=1, progress=False)
    m = agent.metrics
    assert m["criterion_met"] and m["steps"] < 12_000
    assert m["steps"] == m["steps_to_criterion"]


def test_bad_budget_and_config():
    with pytest.raises(ValidationError, match="budget: got 0"):
        train("dqn", "pavlovian", 0, budget=0, progress=False)
    with pytest.raises(ValidationError, match="agent 'dqn' takes DQNConfig"):
        train("dqn", "pavlovian", 0, config=PPOConfig(), budget=10, progress=False)
    with pytest.raises(ValidationError, match=r"agent: got 'sarsa'; expected one of \['dqn'"):
        train("sarsa", "pavlovian", 0, progress=False)
    with pytest.raises(ConfigError, match=r"DQNConfig: unknown fields \['clip'\]"):
        config_from_dict(DQNConfig, {"clip": 0.2})


@pytest.mark.parametrize("cls", [DQNConfig, QRDQNConfig, ReinforceConfig, A2CConfig, PPOConfig])
def test_every_config_field_is_documented(cls):
    rows = describe(cls)
    assert {r[0] for r in rows} == {f.name for f in dataclasses.fields(cls)}
    assert all(r[3] for r in rows)
    assert ("hidden", "int", 64) in [r[:3] for r in rows]


def test_epsilon_falls_linearly_then_stays_at_its_floor():
    from neuroalign.zoo.agents.value import epsilon

    cfg = DQNConfig(eps_start=1.0, eps_end=0.1, eps_fraction=0.5)
    # decays over the first half of a 200-step budget: 100 steps
    assert epsilon(cfg, 0, 200) == pytest.approx(1.0)
    assert epsilon(cfg, 50, 200) == pytest.approx(0.55)
    assert [epsilon(cfg, s, 200) for s in (100, 150, 10_000)] == pytest.approx([0.1] * 3)
    # a budget too short to decay over still reaches the floor after one step
    assert epsilon(cfg, 1, 1) == pytest.approx(0.1)


def test_gae_matches_returns_at_lambda_one_and_td_errors_at_zero():
    from neuroalign.zoo.agents.policy import gae_advantages

    rng = np.random.default_rng(0)
    rew, val = rng.normal(size=6).tolist(), rng.normal(size=6).tolist()
    boot, gamma = 0.7, 0.9
    nxt = [*val[1:], boot]
    # the episode ends after step 2 (nothing carried across), the rollout is cut after step 5
    mask = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    ret, g = np.zeros(6), 0.0
    for t in (5, 4, 3):
        g = rew[t] + gamma * (boot if t == 5 else g)
        ret[t] = g
    g = 0.0
    for t in (2, 1, 0):
        g = rew[t] + gamma * g
        ret[t] = g
    adv = gae_advantages(rew, val, nxt, mask, gamma, 1.0)
    np.testing.assert_allclose(adv, ret - np.asarray(val), rtol=1e-6, atol=1e-6)
    td = [rew[t] + gamma * nxt[t] * mask[t] - val[t] for t in range(6)]
    np.testing.assert_allclose(gae_advantages(rew, val, nxt, mask, gamma, 0.0), td, rtol=1e-6)
