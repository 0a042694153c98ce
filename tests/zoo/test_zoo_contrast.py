"""The two-choice contrast task, the recurrent agents, behaviour and the mice's grid."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import xarray as xr
from gymnasium.utils.env_checker import check_env

from neuroalign.core.errors import CheckpointError, ValidationError
from neuroalign.zoo import (
    A2CConfig,
    DQNConfig,
    PPOConfig,
    QRDQNConfig,
    ReinforceConfig,
    get_task,
    load_checkpoint,
    probe,
    read_metadata,
    save_checkpoint,
    train,
)
from neuroalign.zoo.contrast import ContrastEnv, contrast_pairs, correct_choice

TINY = {
    "dqn-gru": DQNConfig(learning_starts=60, batch_size=24, hidden=16),
    "qrdqn-gru": QRDQNConfig(learning_starts=60, batch_size=24, hidden=16, n_quantiles=4),
    "reinforce-gru": ReinforceConfig(episodes_per_update=4, hidden=16),
    "a2c-gru": A2CConfig(n_steps=24, hidden=16),
    "ppo-gru": PPOConfig(n_steps=48, minibatch_size=24, n_epochs=2, hidden=16),
}
BUDGET = 240


def test_env_checker_passes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(ContrastEnv(), skip_render_check=True)


def _trial(contrast, action, seed=0):
    env = ContrastEnv()
    obs, info = env.reset(seed=seed, options={"contrast": contrast})
    rows, rewards = [obs], []
    for _ in range(env.go_step):
        obs, r, term, trunc, info = env.step(2 - action)  # before the go cue: no effect
        rows.append(obs)
        rewards.append(r)
        assert not term and not trunc
    obs, r, term, trunc, info = env.step(action)
    rows.append(obs)
    rewards.append(r)
    assert term and not trunc
    return np.stack(rows), rewards, info


@pytest.mark.parametrize(("contrast", "action", "reward"), [
    ((1.0, 0.0), 1, 1.0), ((1.0, 0.0), 2, -1.5), ((1.0, 0.0), 0, -1.5),
    ((0.25, 0.5), 2, 1.0), ((0.25, 0.5), 1, -1.5),
    ((0.0, 0.0), 0, 1.0), ((0.0, 0.0), 1, -1.5), ((0.5, 0.5), 0, -1.5),
])
def test_trial_structure_and_rewards(contrast, action, reward):
    obs, rewards, info = _trial(contrast, action)
    assert rewards == [0.0] * 5 + [reward]
    assert obs.shape == (7, 5)
    # go cue only at step 5, the outcome flags only in the last observation
    assert obs[:, 2].tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert obs[-1, 3] == (reward > 0) and obs[-1, 4] == (reward < 0)
    assert not obs[:-1, 3:].any()
    assert info["valence"] == (1 if reward > 0 else -1) and info["time_s"] == pytest.approx(0.6)


def test_equal_nonzero_contrasts_are_rewarded_at_random():
    rewards = [_trial((0.5, 0.5), 1, seed)[1][-1] for seed in range(200)]
    share = np.mean(np.asarray(rewards) > 0)
    assert 0.35 < share < 0.65


def test_noise_has_a_trial_part_and_a_step_part():
    rng = np.random.default_rng(0)
    contrast = np.tile([[0.5, 0.0]], (4000, 1))
    only_trial = ContrastEnv(trial_noise=0.3, step_noise=0.0).observations(
        contrast, np.ones(4000), rng)
    assert np.allclose(only_trial[:, :, 0], only_trial[:, :1, 0])  # constant within a trial
    assert only_trial[:, 0, 0].std() == pytest.approx(0.3, rel=0.05)
    only_step = ContrastEnv(trial_noise=0.0, step_noise=0.3).observations(
        contrast, np.ones(4000), rng)
    assert only_step[:, :, 0].mean() == pytest.approx(0.5, abs=0.01)
    assert abs(np.corrcoef(only_step[:, 0, 0], only_step[:, 1, 0])[0, 1]) < 0.05


def test_evaluate_scores_a_scripted_policy_exactly():
    task = get_task("contrast")

    def always_left(obs):
        return np.ones(obs.shape[:2], dtype=np.int64)

    result = task.evaluate(always_left)
    pairs = contrast_pairs()
    target = correct_choice(pairs[:, 0], pairs[:, 1])
    assert result["success_rate"] == pytest.approx(np.mean(target[target >= 0] == 1))
    assert result["accuracy_max"] == 0.5 and result["criterion_met"] == 0.0
    assert result["n_episodes"] == 16 * task.n_eval


@pytest.mark.parametrize("name", list(TINY))
def test_recurrent_same_seed_same_weights_and_probes(name):
    def run():
        return train(name, "contrast", 3, config=TINY[name], budget=BUDGET,
                     eval_every=BUDGET, progress=False)

    a, b = run(), run()
    init = train(name, "contrast", 3, config=TINY[name], budget=1, eval_every=1,
                 progress=False)
    wa, wb, w0 = (x.net.state_dict() for x in (a, b, init))
    assert any(k.startswith("rnn.") for k in wa)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], w0[k]) for k in wa)  # training changed the weights
    pa = probe(a, n_repetitions=2, levels=[-1.0, 0.0])
    pb = probe(b, n_repetitions=2, levels=[-1.0, 0.0])
    xr.testing.assert_identical(pa.drop_attrs(), pb.drop_attrs())


def test_feedforward_agents_learn_the_contrast_task_too():
    a = train("a2c", "contrast", 0, config=A2CConfig(n_steps=24), budget=BUDGET,
              eval_every=BUDGET, progress=False)
    assert a.trunk == "mlp" and a.layers[:2] == ["trunk.0", "trunk.1"]
    assert a.act(np.zeros((3, 7, 5), dtype=np.float32)).shape == (3, 7)


def test_recurrent_agents_learn_only_the_contrast_task():
    with pytest.raises(ValidationError, match=r"'ppo-gru' .*learns only \['contrast'\]"):
        train("ppo-gru", "pavlovian", 0, budget=10, progress=False)


def test_gru_checkpoint_round_trip(tmp_path):
    agent = train("ppo-gru", "contrast", 4, config=TINY["ppo-gru"], budget=BUDGET,
                  eval_every=BUDGET, progress=False)
    path = save_checkpoint(agent, tmp_path / "ppo-gru_contrast_s4.safetensors")
    assert read_metadata(path)["trunk"] == "gru"
    loaded = load_checkpoint(path, agent="ppo-gru", task="contrast", seed=4)
    obs = get_task("contrast").make_env().observations(
        contrast_pairs(), np.ones(16), np.random.default_rng(0))
    a, b = agent.activations(obs), loaded.activations(obs)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert loaded.role("trunk.1") == "recurrent" and loaded.role("trunk.0") == "trunk"
    with pytest.raises(CheckpointError, match="holds agent 'ppo-gru'; expected 'ppo'"):
        load_checkpoint(path, agent="ppo")


def test_recurrent_agent_refuses_single_observations():
    agent = train("dqn-gru", "contrast", 0, config=TINY["dqn-gru"], budget=1, progress=False)
    with pytest.raises(ValidationError, match=r"obs: got shape \(4, 5\); the recurrent"):
        agent.activations(np.zeros((4, 5)))


def test_nwb_export_refuses_contrast_agents(tmp_path):
    from neuroalign.zoo import export_nwb

    agent = train("ppo", "contrast", 0, config=PPOConfig(n_steps=32), budget=1, progress=False)
    with pytest.raises(ValidationError, match="learned 'contrast'; NWB export"):
        export_nwb(agent, tmp_path / "x.nwb")
