"""sb3-contrib's RecurrentPPO: the LSTM state carried across an episode's steps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from neuroalign.core.errors import ValidationError
from neuroalign.zoo import get_task, make_env, probe
from neuroalign.zoo.foreign import sb3_agent

sb3_contrib = pytest.importorskip("sb3_contrib")
from sb3_contrib.common.recurrent.type_aliases import RNNStates  # noqa: E402

LAYERS = ["trunk.0", "trunk.1", "action_net", "readout.pi", "readout.v"]
#: the critic's three settings: its own LSTM (default), the actor's, a linear layer
CRITICS = {"own-lstm": {}, "shared-lstm": {"shared_lstm": True, "enable_critic_lstm": False},
           "linear": {"enable_critic_lstm": False}}


def _model(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sb3_contrib.RecurrentPPO(
            "MlpLstmPolicy", make_env("contrast", seed=0), seed=0, device="cpu",
            n_steps=32, batch_size=32, n_epochs=1,
            policy_kwargs={"net_arch": [16, 16], "lstm_hidden_size": 8, **kwargs})
        model.learn(32)  # one update: weights away from their initialisation
    return model


@pytest.fixture(scope="module", params=sorted(CRITICS))
def rppo(request):
    return _model(**CRITICS[request.param])


def _episodes(n: int = 6, seed: int = 3) -> np.ndarray:
    """Whole contrast trials ``(trial, step, obs_dim)`` (outcome step included)."""
    task = get_task("contrast")
    trials = task.run_trials(lambda obs: np.zeros(obs.shape[:2], dtype=np.int64),
                             np.random.default_rng(seed).choice([0.0, 0.25, 0.5, 1.0],
                                                                size=(n, 2)),
                             np.random.default_rng(seed))
    return trials.obs


def _sb3_steps(model, obs: np.ndarray, starts: np.ndarray):
    """SB3's own step-by-step run over ``obs`` ``(env, step, dim)``: predict()'s
    deterministic actions and the policy's log-probabilities, values and actor h."""
    policy = model.policy
    n_env, n_steps, _ = obs.shape
    state = None
    zeros = torch.zeros(policy.lstm_hidden_state_shape[0], n_env,
                        policy.lstm_hidden_state_shape[2])
    rnn = RNNStates((zeros, zeros), (zeros.clone(), zeros.clone()))
    actions, logp, values, hidden = [], [], [], []
    for s in range(n_steps):
        action, state = model.predict(obs[:, s], state=state, episode_start=starts[:, s],
                                      deterministic=True)
        actions.append(action)
        hidden.append(state[0][-1])
        with torch.no_grad():
            x = torch.as_tensor(obs[:, s])
            begin = torch.as_tensor(starts[:, s], dtype=torch.float32)
            dist, _ = policy.get_distribution(x, rnn.pi, begin)
            logp.append(dist.distribution.logits.numpy())
            _, value, _, rnn = policy.forward(x, rnn, begin, deterministic=True)
            values.append(value.numpy())
    return (np.stack(actions, 1), np.stack(logp, 1), np.stack(values, 1),
            np.stack(hidden, 1))


def test_probe_equals_sb3_predict_over_episodes(rppo):
    obs = _episodes()
    agent = sb3_agent(rppo, "contrast")
    acts, actions = agent.activations_and_actions(obs, LAYERS)
    starts = np.zeros(obs.shape[:2], dtype=bool)
    starts[:, 0] = True
    want_actions, logp, values, hidden = _sb3_steps(rppo, obs, starts)
    np.testing.assert_array_equal(actions, want_actions)
    logits = torch.as_tensor(acts["action_net"])
    np.testing.assert_allclose(torch.log_softmax(logits, -1).numpy(), logp, rtol=0,
                               atol=2e-6)
    np.testing.assert_allclose(acts["readout.pi"], np.exp(logp), rtol=0, atol=2e-6)
    np.testing.assert_allclose(acts["readout.pi"].sum(-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(acts["readout.v"], values, rtol=0, atol=2e-6)
    np.testing.assert_allclose(acts["trunk.0"], hidden, rtol=0, atol=2e-6)
    assert agent.role("trunk.0") == "recurrent" and agent.role("trunk.1") == "trunk"
    assert agent.aliases["trunk.0"].module == "lstm_actor"


def test_the_state_is_reset_at_each_episode_start(rppo):
    obs = _episodes(3, seed=8)
    agent = sb3_agent(rppo, "contrast")
    acts, actions = agent.activations_and_actions(obs, ["trunk.0", "readout.pi"])
    # one environment running the three episodes back to back, reset at each start
    stream = obs.reshape(1, -1, obs.shape[-1])
    starts = np.zeros(stream.shape[:2], dtype=bool)
    starts[0, :: obs.shape[1]] = True
    want_actions, logp, _, hidden = _sb3_steps(rppo, stream, starts)
    np.testing.assert_array_equal(actions.reshape(1, -1), want_actions)
    np.testing.assert_allclose(acts["trunk.0"].reshape(1, -1, 8), hidden, rtol=0, atol=2e-6)
    np.testing.assert_allclose(acts["readout.pi"].reshape(1, -1, 3), np.exp(logp), rtol=0,
                               atol=2e-6)
    # without the resets the state is carried into the next episode: other activations
    _, _, _, carried = _sb3_steps(rppo, stream, starts & (np.arange(starts.shape[1]) == 0))
    assert np.abs(carried[0, obs.shape[1]:] - hidden[0, obs.shape[1]:]).max() > 1e-4
    # an episode probed alone or among others: the same activations
    alone, _ = agent.activations_and_actions(obs[1:2], ["trunk.0"])
    np.testing.assert_allclose(alone["trunk.0"][0], acts["trunk.0"][1], rtol=0, atol=1e-12)


def test_closed_loop_probe_on_the_contrast_grid(rppo):
    da = probe(rppo, "contrast", n_repetitions=2, probe_seed=1, levels=[1.0])
    assert list(dict.fromkeys(da["layer"].values))[:2] == ["trunk.0", "trunk.1"]
    assert set(da.sel(unit=da["layer"] == "trunk.0")["role"].values) == {"recurrent"}
    assert set(da["family"].values) == {"policy"} and set(da["agent"].values) == {
        "sb3-recurrentppo"}
    # the choices that sorted the trials are SB3's own deterministic choices
    agent = sb3_agent(rppo, "contrast")
    task = get_task("contrast")
    trials = task.probe_trials(agent.act, 2, 1, levels=[1.0])
    obs = trials["obs"].reshape(-1, *trials["obs"].shape[2:])
    go = task._env().go_step
    starts = np.zeros(obs.shape[:2], dtype=bool)
    starts[:, 0] = True
    want, _, _, _ = _sb3_steps(rppo, obs[:, : go + 1], starts[:, : go + 1])
    np.testing.assert_array_equal(trials["choice"].reshape(-1), want[:, go])


@pytest.mark.parametrize("allow_code", [False, True])
def test_saved_zip_probes_like_the_model(tmp_path, allow_code):
    model = _model(shared_lstm=True, enable_critic_lstm=False, lstm_kwargs={"bias": True})
    path = tmp_path / "rppo.zip"
    model.save(path)
    live = probe(model, "contrast", n_repetitions=2, levels=[0.5], layers=LAYERS)
    saved = probe(path, "contrast", n_repetitions=2, levels=[0.5], layers=LAYERS,
                  allow_code=allow_code)
    np.testing.assert_array_equal(saved.values, live.values)
    np.testing.assert_array_equal(saved["choice"].values, live["choice"].values)
    assert set(saved["agent"].values) == {"rppo"}
    from neuroalign.core.provenance import file_sha256

    assert saved.attrs["checkpoint_hash"] == file_sha256(path)
    assert live.attrs["checkpoint_hash"] == "untrained"


def test_a_recurrent_model_needs_episodes_and_a_sequential_task(rppo):
    with pytest.raises(ValidationError, match=r"task: got 'pavlovian' for a RecurrentPPO "
                       r"model; .* expected 'contrast'"):
        sb3_agent(rppo, "pavlovian")
    agent = sb3_agent(rppo, "contrast")
    with pytest.raises(ValidationError, match=r"obs: got shape \(4, 5\); the recurrent agent "
                       r"sb3-recurrentppo takes episodes \(trial, step, obs_dim\)"):
        agent.activations_and_actions(np.zeros((4, 5)), ["trunk.0"])
