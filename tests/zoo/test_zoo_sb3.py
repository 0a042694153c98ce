"""Stable-Baselines3 / sb3-contrib models: aliases, actions, safe reading of saved zips."""

from __future__ import annotations

import base64
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import torch

from neuroalign.core.errors import CheckpointError, ValidationError
from neuroalign.zoo import get_task, make_env, probe
from neuroalign.zoo.foreign import sb3_agent

sb3 = pytest.importorskip("stable_baselines3")
sb3_contrib = pytest.importorskip("sb3_contrib")

N_REP, PROBE_SEED = 3, 4
ARCH = {"net_arch": [16, 16]}


def _model(cls, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls("MlpPolicy", make_env("pavlovian", seed=0), seed=0, device="cpu",
                   policy_kwargs={**ARCH, **kwargs})


def _obs() -> np.ndarray:
    return get_task("pavlovian").probe_inputs(N_REP, PROBE_SEED).reshape(-1, 10)


def _layer(da, name):
    return da.sel(unit=da["layer"] == name).values.reshape(-1, int((da["layer"] == name).sum()))


@pytest.fixture(scope="module")
def dqn():
    model = _model(sb3.DQN)
    model.learn(200)  # a few hundred steps: weights away from their initialisation
    return model


@pytest.fixture(scope="module")
def ppo():
    model = _model(sb3.PPO)
    return model


def test_dqn_q_readout_and_actions(dqn):
    da = probe(dqn, "pavlovian", n_repetitions=N_REP, probe_seed=PROBE_SEED)
    obs = _obs()
    with torch.no_grad():
        q = dqn.q_net(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(_layer(da, "readout.q"), q, rtol=0, atol=1e-6)
    actions, _ = dqn.predict(obs, deterministic=True)
    np.testing.assert_array_equal(da["action"].values.reshape(-1), actions)
    assert list(dict.fromkeys(da["layer"].values)) == ["trunk.0", "trunk.1", "readout.q"]
    assert set(da["family"].values) == {"value"} and set(da["role"].values) == {"trunk", "q"}
    # trunk.1 is the second ReLU's output: non-negative, and the module named directly
    named = probe(dqn, "pavlovian", layers=["q_net.q_net.3"], n_repetitions=N_REP,
                  probe_seed=PROBE_SEED)
    np.testing.assert_array_equal(_layer(named, "q_net.q_net.3"), _layer(da, "trunk.1"))
    assert (_layer(da, "trunk.1") >= 0).all()


def test_ppo_logits_probabilities_values_and_actions(ppo):
    da = probe(ppo, "pavlovian", layers=["trunk.0", "action_net", "readout.pi", "readout.v"],
               n_repetitions=N_REP, probe_seed=PROBE_SEED)
    obs = torch.as_tensor(_obs())
    with torch.no_grad():
        dist = ppo.policy.get_distribution(obs).distribution
        logits = ppo.policy.action_net(ppo.policy.mlp_extractor.forward_actor(
            ppo.policy.extract_features(obs)[0] if isinstance(
                ppo.policy.extract_features(obs), tuple) else ppo.policy.extract_features(obs)))
        values = ppo.policy.predict_values(obs).numpy()
    np.testing.assert_allclose(_layer(da, "action_net"), logits.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(_layer(da, "readout.pi"), dist.probs.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(_layer(da, "readout.v"), values, rtol=0, atol=1e-6)
    actions, _ = ppo.predict(obs.numpy(), deterministic=True)
    np.testing.assert_array_equal(da["action"].values.reshape(-1), actions)
    assert set(da["family"].values) == {"policy"}


def test_a_trained_policy_keeping_its_last_distribution_is_probed():
    model = _model(sb3.PPO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.n_steps, model.batch_size, model.n_epochs = 32, 32, 1
        model._setup_model()
        model.learn(32)  # the policy keeps a distribution with an autograd graph
    logits = model.policy.action_dist.distribution.logits
    assert logits.grad_fn is not None
    da = probe(model, "pavlovian", n_repetitions=N_REP, probe_seed=PROBE_SEED)
    assert model.policy.action_dist.distribution.logits is logits  # the model is untouched
    actions, _ = model.predict(_obs(), deterministic=True)
    np.testing.assert_array_equal(da["action"].values.reshape(-1), actions)


def test_separate_feature_extractors_and_qrdqn_quantiles():
    ppo = _model(sb3.PPO, share_features_extractor=False)
    da = probe(ppo, "pavlovian", n_repetitions=2)
    actions, _ = ppo.predict(get_task("pavlovian").probe_inputs(2, 0).reshape(-1, 10),
                             deterministic=True)
    np.testing.assert_array_equal(da["action"].values.reshape(-1), actions)
    qr = _model(sb3_contrib.QRDQN, n_quantiles=5)
    da = probe(qr, "pavlovian", n_repetitions=N_REP, probe_seed=PROBE_SEED)
    obs = torch.as_tensor(_obs())
    with torch.no_grad():
        quant = qr.policy.quantile_net(obs)  # (n, quantile, action)
    np.testing.assert_allclose(_layer(da, "readout.q"), quant.mean(1).numpy(), atol=1e-6)
    # action-major, as the zoo's: all quantiles of action 0, then of action 1
    np.testing.assert_allclose(_layer(da, "readout.quantiles"),
                               quant.transpose(1, 2).reshape(len(obs), -1).numpy(), atol=1e-6)
    np.testing.assert_array_equal(da["action"].values.reshape(-1),
                                  qr.predict(obs.numpy(), deterministic=True)[0])


def test_saved_zip_probes_like_the_model(dqn, ppo, tmp_path):
    a2c = _model(sb3.A2C, activation_fn=torch.nn.ReLU)
    for name, model in (("dqn", dqn), ("ppo", ppo), ("a2c", a2c)):
        path = tmp_path / f"{name}.zip"
        model.save(path)
        live = probe(model, "pavlovian", n_repetitions=2)
        for allow_code in (False, True):
            saved = probe(path, "pavlovian", n_repetitions=2, allow_code=allow_code)
            np.testing.assert_array_equal(saved.values, live.values)
            np.testing.assert_array_equal(saved["action"].values, live["action"].values)
        assert saved.attrs["checkpoint_hash"].startswith("sha256:") or saved.attrs[
            "checkpoint_hash"]
        assert set(saved["agent"].values) == {name}
        assert set(saved["family"].values) == {"value" if name == "dqn" else "policy"}


def test_wrong_layers_unsupported_models_and_spaces(dqn, tmp_path):
    with pytest.raises(ValidationError, match=r"layers: got unknown \['readout.pi'\]; "
                       r"sb3-dqn has aliases \['trunk.0', 'trunk.1', 'readout.q'\] and "
                       r"modules \['q_net', "):
        probe(dqn, "pavlovian", layers=["readout.pi"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trpo = sb3_contrib.TRPO("MlpPolicy", make_env("pavlovian"), device="cpu")
        sac_like = sb3.DQN("MlpPolicy", make_env("gridworld"), device="cpu")
    with pytest.raises(ValidationError, match=r"a TRPO model is not supported; supported SB3 "
                       r"models: \['A2C', 'DQN', 'PPO', 'QRDQN', 'RecurrentPPO'\]"):
        probe(trpo, "pavlovian")
    with pytest.raises(ValidationError, match=r"model: observations of shape \(\d+,\); task "
                       r"'pavlovian' has \(10,\)"):
        probe(sac_like, "pavlovian")
    with pytest.raises(ValidationError, match=r"model: got dict; expected a Stable-Baselines3"):
        sb3_agent({}, "pavlovian")


# --- safe reading ------------------------------------------------------------------------


class _WritesAFile:
    """Unpickling an instance calls ``open(target, 'w')``: the payload of the test."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _tamper(src, dst, field, value):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            raw = zin.read(info.filename)
            if info.filename == "data":
                data = json.loads(raw)
                data[field] = value
                raw = json.dumps(data).encode()
            zout.writestr(info.filename, raw)
    return dst


def _serialized(obj) -> dict:
    return {":type:": "<class 'dict'>",
            ":serialized:": base64.b64encode(pickle.dumps(obj)).decode()}


def test_a_pickle_payload_is_refused_and_never_runs(dqn, tmp_path):
    clean = tmp_path / "clean.zip"
    dqn.save(clean)
    target = tmp_path / "written-by-the-payload.txt"
    payload = {"net_arch": [16, 16], "activation_fn": _WritesAFile(str(target))}
    bad = _tamper(clean, tmp_path / "bad.zip", "policy_kwargs", _serialized(payload))
    with pytest.raises(CheckpointError, match=r"field 'policy_kwargs' asks for class "
                       r"(builtins|io).open, which is not allowed without allow_code") as info:
        probe(bad, "pavlovian")
    assert "\n" not in str(info.value)
    assert not target.exists()
    # the payload is live: SB3's own loader (allow_code) runs it
    with warnings.catch_warnings(), pytest.raises((CheckpointError, TypeError)):
        warnings.simplefilter("ignore")
        probe(bad, "pavlovian", allow_code=True)
    assert target.exists()
    bad = _tamper(clean, tmp_path / "bad2.zip", "policy_class",
                  _serialized(__import__("os").system))
    with pytest.raises(CheckpointError, match=r"field 'policy_class' asks for class "
                       r"(posix|os|nt).system"):
        probe(bad, "pavlovian")


def test_weights_are_read_as_tensors_only(dqn, tmp_path):
    clean = tmp_path / "clean.zip"
    dqn.save(clean)
    target = tmp_path / "written.txt"
    bad = tmp_path / "weights.zip"
    with zipfile.ZipFile(clean) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            raw = zin.read(info.filename)
            if info.filename == "policy.pth":
                import io
                buf = io.BytesIO()
                torch.save({"x": _WritesAFile(str(target))}, buf)
                raw = buf.getvalue()
            zout.writestr(info.filename, raw)
    with pytest.raises(CheckpointError, match=r"'policy.pth' is not a plain tensor state dict"):
        probe(bad, "pavlovian")
    assert not target.exists()


def test_archive_structure_is_checked_first(dqn, tmp_path):
    clean = tmp_path / "clean.zip"
    dqn.save(clean)
    extra = tmp_path / "extra.zip"
    with zipfile.ZipFile(clean) as zin, zipfile.ZipFile(extra, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("../evil.py", "print('x')")
    with pytest.raises(CheckpointError, match=r"holds \['../evil.py'\]; expected only the "
                       r"members of an SB3 save"):
        probe(extra, "pavlovian")
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(CheckpointError, match=r"not a zip archive"):
        probe(tmp_path / "text.zip", "pavlovian")
    broken = _tamper(clean, tmp_path / "arch.zip", "policy_kwargs", {"net_arch": [8]})
    with pytest.raises(CheckpointError, match=r"policy.pth does not fit DQNPolicy on task "
                       r"'pavlovian'"):
        probe(broken, "pavlovian")


def test_zoo_probe_command_takes_a_saved_model(dqn, tmp_path):
    from typer.testing import CliRunner

    from neuroalign.cli import app
    from neuroalign.zoo.foreign import read_activations

    path = tmp_path / "dqn.zip"
    dqn.save(path)
    out = tmp_path / "acts.nc"
    result = CliRunner().invoke(app, ["zoo", "probe", str(path), "--task", "pavlovian",
                                      "--out", str(out), "--layer", "readout.q"])
    assert result.exit_code == 0, result.output
    got = read_activations(out)
    ref = probe(dqn, "pavlovian", layers=["readout.q"])
    np.testing.assert_array_equal(got.values, ref.values)
    assert set(got["family"].values) == {"value"}
