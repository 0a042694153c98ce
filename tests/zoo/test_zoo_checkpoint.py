"""Checkpoints: round trip, and every way a checkpoint can be refused."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from neuroalign.core.errors import CheckpointError, SourceError, ValidationError
from neuroalign.zoo import (
    FORMAT_VERSION,
    DQNConfig,
    load_agent,
    load_checkpoint,
    probe,
    read_metadata,
)
from neuroalign.zoo.checkpoint import METADATA_KEY, file_hash


def test_round_trip_keeps_weights_config_and_metrics(tiny_checkpoints):
    path = tiny_checkpoints["dqn"]
    agent = load_checkpoint(path, agent="dqn", task="pavlovian", seed=5)
    raw = load_file(str(path))
    state = agent.net.state_dict()
    assert set(raw) == set(state)
    assert all(torch.equal(raw[k], state[k]) for k in raw)
    assert agent.config == DQNConfig(learning_starts=32, batch_size=16)
    meta = read_metadata(path)
    assert meta["format_version"] == FORMAT_VERSION
    assert (meta["agent"], meta["family"], meta["task"], meta["seed"]) == (
        "dqn", "value", "pavlovian", 5)
    assert meta["metrics"]["steps"] == 150 and agent.metrics["budget"] == 150
    assert meta["neuroalign_version"]
    assert agent.checkpoint_hash == file_hash(path) and agent.checkpoint_hash.startswith("sha256:")


def test_truncated_checkpoint(tiny_checkpoints, tmp_path):
    bad = tmp_path / "cut.safetensors"
    data = tiny_checkpoints["dqn"].read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(bad)


def test_corrupted_checkpoint(tmp_path):
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json at all")
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(bad)


def test_safetensors_without_zoo_metadata(tmp_path):
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(CheckpointError, match="not a neuroalign zoo checkpoint"):
        load_checkpoint(other)


def _rewrite_meta(src, dst, **changes):
    tensors = load_file(str(src))
    meta = read_metadata(src)
    meta.update(changes)
    save_file(tensors, str(dst), metadata={METADATA_KEY: json.dumps(meta)})
    return dst


def test_incompatible_format_version(tiny_checkpoints, tmp_path):
    path = _rewrite_meta(tiny_checkpoints["dqn"], tmp_path / "v99.safetensors",
                         format_version=99, neuroalign_version="9.0")
    with pytest.raises(CheckpointError, match=r"format version 99 \(written by neuroalign 9\.0\)"
                                              r".*reads format version 1"):
        load_checkpoint(path)


def test_checkpoint_for_another_task_or_agent(tiny_checkpoints, tmp_path):
    with pytest.raises(CheckpointError, match="holds task 'pavlovian'; expected 'gridworld'"):
        load_checkpoint(tiny_checkpoints["dqn"], task="gridworld")
    with pytest.raises(CheckpointError, match="holds agent 'dqn'; expected 'ppo'"):
        load_checkpoint(tiny_checkpoints["dqn"], agent="ppo")
    # a file renamed to another agent's name in the zoo folder is refused by the registry
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    shutil.copy(tiny_checkpoints["dqn"], zoo / "ppo_pavlovian_s5.safetensors")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEUROALIGN_ZOO", str(zoo))
        with pytest.raises(CheckpointError, match="holds agent 'dqn'; expected 'ppo'"):
            load_agent("ppo", "pavlovian", 5, cache_dir=tmp_path / "cache")


def test_weights_that_do_not_fit(tiny_checkpoints, tmp_path):
    path = _rewrite_meta(tiny_checkpoints["dqn"], tmp_path / "wide.safetensors",
                         config={"hidden": 32})
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        load_checkpoint(tmp_path / "nothing.safetensors")


def test_unknown_agent_or_task_lists_valid_ones(tmp_path):
    with pytest.raises(ValidationError,
                       match=r"agent: got 'sarsa'; expected one of \['dqn', 'qrdqn', 'reinforce', "
                             r"'a2c', 'ppo', 'dqn-gru', 'qrdqn-gru', 'reinforce-gru', 'a2c-gru', "
                             r"'ppo-gru', 'reinforce-sep', 'a2c-sep', 'ppo-sep', "
                             r"'reinforce-gru-sep', 'a2c-gru-sep', 'ppo-gru-sep'\]"):
        load_agent("sarsa", "pavlovian", 0, cache_dir=tmp_path)
    with pytest.raises(ValidationError,
                       match=r"task: got 'maze'; expected one of \['pavlovian', 'gridworld', "
                             r"'contrast'\]"):
        load_agent("dqn", "maze", 0, cache_dir=tmp_path)


def test_missing_checkpoint_without_training(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_ZOO", str(tmp_path / "empty"))
    with pytest.raises(SourceError, match=r"no checkpoint for agent 'dqn' on task 'pavlovian' "
                                          r"seed 7.*shipped seeds are \[\]"):
        load_agent("dqn", "pavlovian", 7, cache_dir=tmp_path / "cache", train_if_missing=False)


def test_probe_layer_that_does_not_exist(tiny_checkpoints):
    agent = load_checkpoint(tiny_checkpoints["ppo"])
    with pytest.raises(ValidationError,
                       match=r"layers: got \['readout\.q'\]; ppo has layers \['trunk\.0', "
                             r"'trunk\.1', 'readout\.pi', 'readout\.v'\]"):
        probe(agent, layers=["readout.q"])
