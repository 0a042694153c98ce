"""Fixtures of the zoo tests: tiny trained agents saved as checkpoints."""

from __future__ import annotations

import pytest

from neuroalign.zoo import DQNConfig, PPOConfig, save_checkpoint, train


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """``{"dqn": path, "ppo": path}``: quickly trained Pavlovian agents on disk."""
    folder = tmp_path_factory.mktemp("zoo_ckpt")
    configs = {"dqn": DQNConfig(learning_starts=32, batch_size=16),
               "ppo": PPOConfig(n_steps=64, minibatch_size=32, n_epochs=1)}
    out = {}
    for name, cfg in configs.items():
        agent = train(name, "pavlovian", 5, config=cfg, budget=150, eval_every=150,
                      progress=False)
        out[name] = save_checkpoint(agent, folder / f"{name}_pavlovian_s5.safetensors")
    return out
