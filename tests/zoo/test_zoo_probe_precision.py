"""Probe activations are machine-independent: a float64 forward pass of the float32 weights.

The reference below re-implements the zoo's networks in numpy float64 from the
checkpoint file alone (``safetensors``, no torch module): MLP trunk, the GRU equations
of the torch documentation, the linear heads and the readouts. Two float64 evaluations
of the same formula differ by rounding only (~1e-16 relative per operation), so the
probe equals it to 1e-12; a float32 forward pass would differ by ~1e-6 and by CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from neuroalign.core.errors import ValidationError
from neuroalign.zoo import load_agent, probe, zoo_dir

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _weights(agent: str, task: str, seed: int) -> dict[str, np.ndarray]:
    raw = load_file(zoo_dir() / f"{agent}_{task}_s{seed}.safetensors")
    assert all(v.dtype == np.float32 for v in raw.values())
    return {k: v.astype(np.float64) for k, v in raw.items()}


def _linear(w: dict[str, np.ndarray], name: str, x: np.ndarray) -> np.ndarray:
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _reference(w: dict[str, np.ndarray], obs: np.ndarray) -> dict[str, np.ndarray]:
    """Raw outputs ``trunk.i`` and head ``q`` / ``pi`` / ``v`` for ``(trial, step, obs)``."""
    out: dict[str, np.ndarray] = {}
    h = obs.astype(np.float64)
    n_tanh = len({k.split(".")[1] for k in w if k.startswith("trunk.")})
    for i in range(n_tanh):
        h = np.tanh(_linear(w, f"trunk.{i}", h))
        out[f"trunk.{i}"] = h
    if "rnn.weight_ih_l0" in w:  # torch.nn.GRU, gates in the order r, z, n
        w_ih, w_hh = w["rnn.weight_ih_l0"], w["rnn.weight_hh_l0"]
        b_ih, b_hh = w["rnn.bias_ih_l0"], w["rnn.bias_hh_l0"]
        size = w_hh.shape[1]
        state = np.zeros((h.shape[0], size))
        steps = []
        for t in range(h.shape[1]):
            gi = h[:, t] @ w_ih.T + b_ih
            gh = state @ w_hh.T + b_hh
            r = _sigmoid(gi[:, :size] + gh[:, :size])
            z = _sigmoid(gi[:, size:2 * size] + gh[:, size:2 * size])
            n = np.tanh(gi[:, 2 * size:] + r * gh[:, 2 * size:])
            state = (1.0 - z) * n + z * state
            steps.append(state)
        h = np.stack(steps, axis=1)
        out[f"trunk.{n_tanh}"] = h
    for head in ("q", "pi", "v"):
        if f"heads.{head}.weight" in w:
            out[head] = _linear(w, f"heads.{head}", h)
    if "pi" in out:
        e = np.exp(out["pi"] - out["pi"].max(axis=-1, keepdims=True))
        out["pi"] = e / e.sum(axis=-1, keepdims=True)
    return out


@pytest.mark.parametrize(("agent", "task", "heads"),
                         [("dqn", "pavlovian", {"readout.q": "q"}),
                          ("ppo", "gridworld", {"readout.pi": "pi", "readout.v": "v"})])
def test_probe_equals_a_float64_numpy_forward_pass_of_the_checkpoint(agent, task, heads,
                                                                     tmp_path):
    da = probe(agent, task, 1, n_repetitions=3, probe_seed=5, cache_dir=tmp_path,
               train_if_missing=False)
    assert da.dtype == np.float64
    loaded = load_agent(agent, task, 1, cache_dir=tmp_path, train_if_missing=False)
    inputs = loaded.task.probe_inputs(3, 5)
    ref = _reference(_weights(agent, task, 1), inputs)
    for layer in ("trunk.0", "trunk.1", *heads):
        got = da.sel(unit=da["layer"] == layer).values
        want = ref[heads.get(layer, layer)]
        assert got.shape == want.shape, layer
        np.testing.assert_allclose(got, want, err_msg=layer, **TOL)
    # the same network as the float32 one, which is only float32-close
    with torch.no_grad():
        f32 = loaded.net(torch.as_tensor(inputs.reshape(-1, inputs.shape[-1])))["trunk.1"]
    diff = np.abs(f32.numpy().reshape(ref["trunk.1"].shape) - ref["trunk.1"]).max()
    assert 0 < diff < 1e-5
    assert all(p.dtype == torch.float32 for p in loaded.net.parameters())


def test_recurrent_agent_and_its_closed_loop_choices_follow_the_float64_network(tmp_path):
    loaded = load_agent("a2c-gru", "contrast", 0, cache_dir=tmp_path, train_if_missing=False)
    trials = loaded.task.probe_trials(loaded.act, 2, 3, levels=[0.5, -0.25], batch=64)
    obs = trials["obs"].reshape(-1, *trials["obs"].shape[2:])
    keep = np.isfinite(obs).all(axis=(1, 2))
    obs = obs[keep]
    assert len(obs) >= 4
    ref = _reference(_weights("a2c-gru", "contrast", 0), obs)
    got = loaded.activations(obs)
    for layer, key in (("trunk.0", "trunk.0"), ("trunk.1", "trunk.1"),
                       ("readout.pi", "pi"), ("readout.v", "v")):
        assert got[layer].dtype == np.float64
        np.testing.assert_allclose(got[layer], ref[key], err_msg=layer, **TOL)
    # every recorded choice is the greedy action of the float64 network at the go step
    go = loaded.task.make_env().go_step
    choice = trials["choice"].reshape(-1)[keep]
    np.testing.assert_array_equal(choice, ref["pi"][:, go].argmax(axis=-1))


def test_training_precision_is_float32_and_no_other(tmp_path):
    loaded = load_agent("dqn", "pavlovian", 0, cache_dir=tmp_path, train_if_missing=False)
    obs = loaded.task.probe_inputs(2, 0).reshape(-1, loaded.net.trunk[0].in_features)
    assert np.array_equal(loaded.act(obs, torch.float32), loaded.act(obs))
    with pytest.raises(ValidationError, match=r"dtype: got torch.float16; expected "
                                              r"torch.float64 \(probing\)"):
        loaded.act(obs, torch.float16)


_OTHER_KERNELS = {
    # the kernels another CPU would use: torch's portable (non-SIMD) ATen kernels, MKL
    # and oneDNN limited to SSE4, OpenBLAS's Haswell kernels instead of this CPU's
    "ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "ONEDNN_MAX_CPU_ISA": "SSE41", "OPENBLAS_CORETYPE": "Haswell",
}
_PROBE_CODE = """
import sys
import numpy as np
from neuroalign.zoo import probe
pav = probe("ppo", "pavlovian", 0, n_repetitions=3, train_if_missing=False)
gru = probe("a2c-gru", "contrast", 0, n_repetitions=2, levels=[-0.5, 1.0],
            train_if_missing=False)
np.savez(sys.argv[1], pav=pav.values, gru=gru.values, choice=gru["choice"].values)
"""


def test_probes_agree_under_another_cpus_kernels(tmp_path):
    """The float32 GRU differs by ~1e-7 between these kernels on an AVX-512 CPU;
    the float64 probe, the closed-loop choices included, agrees to 1e-12."""
    import os
    import subprocess
    import sys

    path = tmp_path / "other.npz"
    subprocess.run([sys.executable, "-c", _PROBE_CODE, str(path)],
                   env={**os.environ, **_OTHER_KERNELS}, check=True, capture_output=True,
                   timeout=300)
    other = np.load(path)
    pav = probe("ppo", "pavlovian", 0, n_repetitions=3, train_if_missing=False)
    gru = probe("a2c-gru", "contrast", 0, n_repetitions=2, levels=[-0.5, 1.0],
                train_if_missing=False)
    np.testing.assert_array_equal(gru["choice"].values, other["choice"])
    for key, here in (("pav", pav), ("gru", gru)):
        assert np.isfinite(here.values).any()
        np.testing.assert_allclose(here.values, other[key], equal_nan=True, err_msg=key,
                                   **TOL)


def test_a_weight_changed_in_place_is_seen_by_the_next_forward_pass(tmp_path):
    loaded = load_agent("dqn", "pavlovian", 0, cache_dir=tmp_path, train_if_missing=False)
    obs = loaded.task.probe_inputs(2, 0).reshape(-1, loaded.net.trunk[0].in_features)
    first = loaded.activations(obs)["readout.q"]
    bias = loaded.net.heads["q"].bias
    old = bias.detach().double().clone()
    with torch.no_grad():
        bias.add_(torch.tensor([0.5, -0.25]))
    shift = (bias.detach().double() - old).numpy()
    np.testing.assert_allclose(loaded.activations(obs)["readout.q"] - first,
                               np.broadcast_to(shift, first.shape), **TOL)
