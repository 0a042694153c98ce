"""The shipped zoo: complete, loadable, and meeting its criteria."""

from __future__ import annotations

import time

import pytest

from neuroalign.zoo import AGENTS, list_agents, load_agent, probe, read_metadata, zoo_dir


def test_shipped_zoo_is_complete_and_small():
    folder = zoo_dir()
    files = sorted(folder.glob("*.safetensors"))
    records = {a["name"]: a for a in list_agents()}
    for name, spec in AGENTS.items():
        if spec.layout != "shared":  # the separate layout is trained on demand
            assert not any(records[name]["shipped_seeds"].values()), name
            continue
        for task in ("pavlovian", "gridworld", "contrast"):
            if spec.tasks is None or task in spec.tasks:
                assert records[name]["shipped_seeds"][task] == [0, 1, 2], (name, task)
    assert sum(f.stat().st_size for f in files) < 5_000_000
    for path in files:
        meta = read_metadata(path)
        assert meta["metrics"]["criterion_met"], path.name


@pytest.mark.parametrize(("agent", "task", "seed"),
                         [("dqn", "pavlovian", 1), ("qrdqn", "gridworld", 0),
                          ("a2c", "pavlovian", 2), ("ppo", "gridworld", 2)])
def test_shipped_agent_meets_its_criterion(agent, task, seed, tmp_path):
    loaded = load_agent(agent, task, seed, cache_dir=tmp_path, train_if_missing=False)
    assert loaded.path.parent == zoo_dir()
    result = loaded.evaluate()
    assert result["criterion_met"] == 1.0, result
    assert result["success_rate"] >= 0.9


def test_probe_a_shipped_agent_quickly(tmp_path):
    probe("qrdqn", "gridworld", 0, cache_dir=tmp_path, train_if_missing=False)  # warm imports
    start = time.perf_counter()
    da = probe("qrdqn", "gridworld", 0, cache_dir=tmp_path, train_if_missing=False)
    elapsed = time.perf_counter() - start
    assert set(da["layer"].values) == {"trunk.0", "trunk.1", "readout.q", "readout.quantiles"}
    assert da.sizes["unit"] == 64 + 64 + 4 + 4 * 16
    assert elapsed < 5.0  # generous: typically ~0.05 s; the benchmark reports real numbers


def test_missing_agent_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_ZOO", str(tmp_path / "empty_zoo"))
    first = load_agent("ppo", "pavlovian", 7, cache_dir=tmp_path / "cache")
    from neuroalign.zoo.addressing import addressed_name, checkpoint_key

    # saved under its content-addressed name (the one a default sweep writes)
    key = checkpoint_key("ppo", "pavlovian", 7)
    assert first.path == tmp_path / "cache" / addressed_name("ppo", "pavlovian", 7, key)
    assert first.metrics["criterion_met"] and first.metrics["stop_at_criterion"]
    again = load_agent("ppo", "pavlovian", 7, cache_dir=tmp_path / "cache",
                       train_if_missing=False)
    assert again.checkpoint_hash == first.checkpoint_hash


def test_importing_the_zoo_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, neuroalign.zoo; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
