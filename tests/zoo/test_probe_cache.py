"""The zoo's table of agents without torch, and the on-disk cache of probe activations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from neuroalign.core.errors import SourceError, ValidationError
from neuroalign.zoo.probe_cache import cached_probe, probe_cache_path

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, cache: Path, **env: str) -> str:
    """Run ``code`` in a fresh interpreter of this tree with ``cache`` as the cache root."""
    full = {**os.environ, "PYTHONPATH": str(REPO), "NEUROALIGN_CACHE": str(cache),
            "MPLBACKEND": "Agg", **env}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=full, cwd=REPO, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def test_the_table_of_agents_matches_the_learners() -> None:
    from neuroalign.zoo.agents import AGENT_TABLE, AGENTS

    assert list(AGENT_TABLE) == list(AGENTS)
    for name, info in AGENT_TABLE.items():
        spec = AGENTS[name]
        assert info.fields() == {k: getattr(spec, k) for k in info.fields()}, name


def test_the_table_of_agents_and_checkpoint_lookup_import_no_torch(tmp_path: Path) -> None:
    code = ("import sys\n"
            "from neuroalign.zoo import list_agents, agent_name, checkpoint_path, TRUNKS\n"
            "from neuroalign.zoo.agents import get_agent_info\n"
            "from neuroalign.pipeline.run import resolve_agents\n"
            "from neuroalign.pipeline.config import RunConfig\n"
            "rows = list_agents(); n = len(resolve_agents(RunConfig()))\n"
            "assert agent_name('ppo', 'gru', 'separate') == 'ppo-gru-sep'\n"
            "assert get_agent_info('qrdqn').family == 'value'\n"
            "assert checkpoint_path('dqn', 'pavlovian', 0) is not None\n"
            "print(len(rows), n, 'torch' in sys.modules)")
    assert _python(code, tmp_path) == "16 15 False"


_LOAD = ("import sys, json\n"
         "from neuroalign.pipeline.config import RunConfig\n"
         "from neuroalign.pipeline.run import load_inputs\n"
         "config = RunConfig.model_validate({'agents': [{'name': 'dqn', 'seeds': [0]},"
         " {'name': 'a2c', 'seeds': [1]}]})\n"
         "inputs = load_inputs(config)\n"
         "digest = {'/'.join(map(str, k)): float(abs(v.values).sum())"
         " for k, v in inputs.models.items()}\n"
         "print(json.dumps({'torch': 'torch' in sys.modules, 'sums': digest}))")


def test_a_run_with_a_warm_probe_cache_imports_no_torch(tmp_path: Path) -> None:
    cold = json.loads(_python(_LOAD, tmp_path))
    assert cold["torch"] is True  # probed: the cache was empty
    assert len(list((tmp_path / "probes").glob("*.nc"))) == 2
    warm = json.loads(_python(_LOAD, tmp_path))
    assert warm["torch"] is False
    assert warm["sums"] == cold["sums"]
    assert len(warm["sums"]) == 3 + 4  # dqn: trunk.0, trunk.1, readout.q; a2c: + pi, v


@pytest.mark.parametrize(("agent", "task", "seed", "options"), [
    ("a2c", "pavlovian", 0, {"include_neutral": True}),
    ("dqn-gru", "contrast", 1, {"by": "side", "steps": [0, 2]}),
])
def test_cached_activations_equal_a_fresh_probe(tmp_path: Path, agent: str, task: str,
                                                seed: int, options: dict) -> None:
    from neuroalign.zoo import probe

    first = cached_probe(agent, task, seed, cache_dir=tmp_path, **options)
    path = probe_cache_path(agent, task, seed, cache_dir=tmp_path, **options)
    assert path.is_file() and path.parent == tmp_path / "probes"
    again = cached_probe(agent, task, seed, cache_dir=tmp_path, **options)
    fresh = probe(agent, task, seed, train_if_missing=False, **options)
    for got in (first, again):
        xr.testing.assert_identical(got.drop_attrs(), fresh.drop_attrs())
        assert {k: v for k, v in got.attrs.items() if k != "created"} == \
            {k: v for k, v in fresh.attrs.items() if k != "created"}
        np.testing.assert_array_equal(got.values, fresh.values)


def test_the_key_follows_the_options_and_the_checkpoint(tmp_path: Path, monkeypatch) -> None:
    base = probe_cache_path("dqn", "pavlovian", 0, cache_dir=tmp_path)
    assert probe_cache_path("dqn", "pavlovian", 0, cache_dir=tmp_path) == base
    others = {probe_cache_path("dqn", "pavlovian", 0, cache_dir=tmp_path, layers=["trunk.0"]),
              probe_cache_path("dqn", "pavlovian", 0, cache_dir=tmp_path,
                               include_neutral=True),
              probe_cache_path("dqn", "pavlovian", 1, cache_dir=tmp_path)}
    assert base not in others and len(others) == 3
    # another checkpoint under the same name (a retrained zoo) is another key
    from neuroalign.zoo.registry import zoo_dir

    zoo = tmp_path / "zoo"
    zoo.mkdir()
    shutil.copy(zoo_dir() / "dqn_pavlovian_s0.safetensors", zoo)
    monkeypatch.setenv("NEUROALIGN_ZOO", str(zoo))
    assert probe_cache_path("dqn", "pavlovian", 0, cache_dir=tmp_path) == base
    with open(zoo / "dqn_pavlovian_s0.safetensors", "ab") as fh:
        fh.write(b" ")
    assert probe_cache_path("dqn", "pavlovian", 0, cache_dir=tmp_path) != base


def test_no_checkpoint_and_unknown_names_are_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEUROALIGN_ZOO", str(tmp_path / "empty"))
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SourceError, match=r"no checkpoint for agent 'dqn' on task 'pavlovian' "
                                          r"seed 7"):
        cached_probe("dqn", "pavlovian", 7, cache_dir=tmp_path)
    with pytest.raises(ValidationError, match=r"agent: got 'dqnn'; expected one of"):
        cached_probe("dqnn", "pavlovian", 0, cache_dir=tmp_path)
    assert not (tmp_path / "probes").exists()
