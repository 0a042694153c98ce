"""Seed sweeps: plans, content keys, parallel training, resumption after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuroalign.core.errors import ConfigError, ValidationError
from neuroalign.core.validation import parse_int_ranges
from neuroalign.zoo import load_agent, read_metadata
from neuroalign.zoo.addressing import (
    TrainSettings,
    addressed_name,
    checkpoint_key,
    code_version,
)
from neuroalign.zoo.sweep import plan_sweep, run_sweep, sweep_checkpoint

REPO = Path(__file__).resolve().parents[2]
#: the small sweep every heavy test shares: 4 cheap jobs (seconds each, to criterion)
AGENTS, TASK, SEEDS = "reinforce,a2c", "pavlovian", "3-4"


def _checkpoints(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.safetensors"))
            if not p.name.startswith(".")}


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sweep, uninterrupted, on 2 local workers."""
    out = tmp_path_factory.mktemp("sweep")
    summary = run_sweep(plan_sweep(AGENTS, TASK, SEEDS), out, workers=2, progress=False)
    assert [j.status for j in summary.jobs] == ["trained"] * 4
    assert summary.workers == 2
    return out


# -- plans --------------------------------------------------------------------------------

def test_seed_ranges_parse_lists_and_ranges() -> None:
    assert parse_int_ranges("0-4,7", "--seeds") == [0, 1, 2, 3, 4, 7]
    assert parse_int_ranges(" 5 , 2-3,3", "--seeds") == [2, 3, 5]
    with pytest.raises(ValidationError, match=r"--seeds: got the range '4-1'; expected its "
                                              r"end to be >= its start"):
        parse_int_ranges("4-1", "--seeds")
    with pytest.raises(ValidationError, match=r"--seeds: got 'x' in '0,x'; expected an "
                                              r"integer or a range"):
        parse_int_ranges("0,x", "--seeds")
    with pytest.raises(ValidationError, match=r"--seeds: got ''; expected integers and "
                                              r"ranges such as '0-4,7'"):
        parse_int_ranges("", "--seeds")
    with pytest.raises(ValidationError, match=r"expands to more than 100000"):
        parse_int_ranges("0-999999999", "--seeds")


def test_plan_expands_and_says_why_it_skips() -> None:
    plan = plan_sweep(["ppo", "dqn"], "pavlovian,contrast", "0-1", trunks=("mlp", "gru"),
                      layouts=("shared", "separate"))
    combos = sorted({(j.agent, j.task) for j in plan.jobs})
    # value-learners only have the shared layout; GRU agents learn only contrast
    assert ("dqn", "pavlovian") in combos and ("dqn-gru", "contrast") in combos
    assert ("ppo-gru", "contrast") in combos and ("ppo-gru-sep", "contrast") in combos
    assert ("ppo-sep", "pavlovian") in combos and ("ppo-sep", "contrast") in combos
    assert not any(a.startswith("dqn") and a.endswith("-sep") for a, _ in combos)
    assert not any("-gru" in a and t != "contrast" for a, t in combos)
    assert all(sorted(j.seed for j in plan.jobs if (j.agent, j.task) == c) == [0, 1]
               for c in combos)
    lines = plan.describe_skipped()
    assert ("skipped dqn (trunk mlp, layout separate) on pavlovian: a value-learner has one "
            "Q network and no critic to separate; only layout shared exists") in lines
    assert ("skipped dqn (trunk gru, layout shared) on pavlovian: dqn-gru learns only "
            "['contrast']") in lines
    assert len(lines) == 2 * 2 * 2 * 2 - len(combos)  # every combination planned or skipped


def test_plan_errors_name_the_bad_input() -> None:
    with pytest.raises(ValidationError, match=r"agents: got 'sac'; expected algorithms from "
                                              r"\['dqn', 'qrdqn', 'reinforce', 'a2c', 'ppo'"):
        plan_sweep("dqn,sac", "pavlovian", 0)
    with pytest.raises(ValidationError, match=r"agents: got 'ppo-gru'.*the trunk and layout "
                                              r"come from"):
        plan_sweep("ppo-gru", "contrast", 0)
    with pytest.raises(ValidationError, match=r"tasks: got 'maze'; expected one of "
                                              r"\['pavlovian', 'gridworld', 'contrast'\]"):
        plan_sweep("dqn", "pavlovian,maze", 0)
    with pytest.raises(ValidationError, match=r"trunks: got 'lstm'; expected one of"):
        plan_sweep("dqn", "pavlovian", 0, trunks="lstm")
    with pytest.raises(ValidationError, match=r"layouts: got 'split'; expected one of"):
        plan_sweep("ppo", "pavlovian", 0, layouts="split")
    with pytest.raises(ValidationError, match=r"seeds: got -1; expected non-negative"):
        plan_sweep("dqn", "pavlovian", [0, -1])
    with pytest.raises(ValidationError, match=r"seeds: got the range '3-0'"):
        plan_sweep("dqn", "pavlovian", "3-0")
    with pytest.raises(ValidationError, match=r"sweep: no agent x task combination exists in "
                                              r"the zoo \(skipped dqn \(trunk gru, layout "
                                              r"shared\) on pavlovian: dqn-gru learns only"):
        plan_sweep("dqn", "pavlovian", 0, trunks="gru")
    with pytest.raises(ConfigError, match=r"unknown fields \['n_epochs'\]"):
        plan_sweep("dqn", "pavlovian", 0, config={"n_epochs": 3})


# -- content keys -------------------------------------------------------------------------

def test_key_changes_with_what_determines_the_weights_and_only_with_it() -> None:
    base = checkpoint_key("ppo", "pavlovian", 3)
    # the same training spelt out (defaults explicit) has the same key
    assert checkpoint_key("ppo", "pavlovian", 3, {"lr": 3e-3, "clip": 0.2}) == base
    assert checkpoint_key("ppo", "pavlovian", 3, settings=TrainSettings(budget=12000)) == base
    assert checkpoint_key("ppo", "pavlovian", 3) == base  # stable within a process
    changed = {
        checkpoint_key("ppo", "pavlovian", 4),
        checkpoint_key("ppo", "gridworld", 3),
        checkpoint_key("a2c", "pavlovian", 3),
        checkpoint_key("ppo", "pavlovian", 3, {"lr": 5e-4}),
        checkpoint_key("ppo", "pavlovian", 3, settings=TrainSettings(budget=600)),
        checkpoint_key("ppo", "pavlovian", 3, settings=TrainSettings(stop_at_criterion=False)),
        checkpoint_key("ppo", "pavlovian", 3, settings=TrainSettings(patience=3)),
    }
    assert base not in changed and len(changed) == 7
    assert len(base) == 64 and code_version().startswith("0.") and "+src." in code_version()
    path = sweep_checkpoint("ppo", "pavlovian", 3, out="/x")
    assert path == Path("/x") / addressed_name("ppo", "pavlovian", 3, base)
    assert path.name == f"ppo_pavlovian_s3-{base[:12]}.safetensors"


def test_code_version_follows_the_training_sources(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from neuroalign.zoo import addressing

    copy = tmp_path / "neuroalign"
    shutil.copytree(REPO / "neuroalign" / "zoo", copy / "zoo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(addressing, "_package_root", lambda: copy)
    addressing.code_version.cache_clear()
    try:
        same = addressing.code_version()
        (copy / "zoo" / "probe.py").write_text("# not a training source\n")
        addressing.code_version.cache_clear()
        assert addressing.code_version() == same
        with open(copy / "zoo" / "agents" / "policy.py", "a") as handle:
            handle.write("\n# edited\n")
        addressing.code_version.cache_clear()
        assert addressing.code_version() != same
    finally:
        addressing.code_version.cache_clear()


# -- running ------------------------------------------------------------------------------

def test_sweep_checkpoints_load_through_the_registry(swept: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEUROALIGN_ZOO", str(swept / "no_shipped_zoo"))
    for agent in AGENTS.split(","):
        for seed in (3, 4):
            loaded = load_agent(agent, TASK, seed, cache_dir=swept, train_if_missing=False)
            assert loaded.path == sweep_checkpoint(agent, TASK, seed, out=swept)
            meta = read_metadata(loaded.path)
            assert "created" not in meta and "wall_time_s" not in meta["metrics"]
            assert meta["metrics"]["criterion_met"] is True
    summary = json.loads((swept / "sweep.json").read_text())
    assert summary["totals"]["jobs"] == 4 and summary["code_version"] == code_version()
    assert {(r["agent"], r["checkpoints"], r["criterion_met"])
            for r in summary["by_agent_task"]} == {("reinforce", 2, 2), ("a2c", 2, 2)}


def test_rerun_trains_nothing(swept: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in swept.glob("*.safetensors")}
    summary = run_sweep(plan_sweep(AGENTS, TASK, SEEDS), swept, workers=2, progress=False)
    assert [j.status for j in summary.jobs] == ["existing"] * 4
    assert summary.workers == 0  # no cluster was even started
    assert all(j.criterion_met for j in summary.jobs)
    assert {p.name: p.stat().st_mtime_ns for p in swept.glob("*.safetensors")} == before


def test_failures_are_recorded_and_retried_only_when_asked(tmp_path: Path) -> None:
    from distributed import Client

    plan = plan_sweep("reinforce", TASK, 3, config={"lr": -1.0})  # Adam refuses it
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=None) as client:
        first = run_sweep(plan, tmp_path, client=client, progress=False)
        assert [j.status for j in first.jobs] == ["failed"]
        assert first.jobs[0].error == "ValueError: Invalid learning rate: -1.0"
        records = [json.loads(x) for x in (tmp_path / "failures.jsonl").read_text().splitlines()]
        assert [(r["agent"], r["task"], r["seed"], r["error"]) for r in records] == [
            ("reinforce", TASK, 3, "ValueError: Invalid learning rate: -1.0")]
        again = run_sweep(plan, tmp_path, client=client, progress=False)
        assert again.failed_before == 1 and again.workers == 0  # not retried
        retried = run_sweep(plan, tmp_path, client=client, progress=False, retry_failed=True)
        assert retried.failed_before == 0 and retried.workers == 1
    assert len((tmp_path / "failures.jsonl").read_text().splitlines()) == 2
    assert not list(tmp_path.glob("*.safetensors"))


def test_workers_and_scheduler_exclude_each_other(tmp_path: Path) -> None:
    plan = plan_sweep("reinforce", TASK, 3)
    with pytest.raises(ValidationError, match=r"workers: give the number of local workers "
                                              r"or a scheduler"):
        run_sweep(plan, tmp_path, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValidationError, match=r"workers: got 0; expected a positive"):
        run_sweep(plan, tmp_path, workers=0)


def test_cli_says_what_it_skips_and_refuses_an_empty_sweep(swept: Path) -> None:
    from typer.testing import CliRunner

    from neuroalign.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["zoo", "sweep", "--agents", "dqn", "--tasks", "pavlovian",
                                 "--seeds", "0", "--trunk", "gru"])
    assert isinstance(result.exception, ValidationError)
    assert "sweep: no agent x task combination exists in the zoo" in str(result.exception)
    result = runner.invoke(app, ["zoo", "sweep", "--agents", "dqn", "--tasks", "pavlovian",
                                 "--seeds", "0", "--workers", "2", "--scheduler", "tcp://x:1"])
    assert isinstance(result.exception, ValidationError)
    assert "--workers, --scheduler: got both" in str(result.exception)
    # a sweep with nothing to train: skipped lines, then the summary of existing files
    result = runner.invoke(app, ["zoo", "sweep", "--agents", AGENTS, "--tasks", TASK,
                                 "--seeds", SEEDS, "--trunk", "mlp,gru", "--out", str(swept),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert ("skipped reinforce (trunk gru, layout shared) on pavlovian: reinforce-gru learns "
            "only ['contrast']") in result.output
    assert result.output.count("│ 2/2 ") == 2  # per agent: both checkpoints met the criterion


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "neuroalign.cli", "zoo", "sweep", "--agents", AGENTS,
            "--tasks", TASK, "--seeds", SEEDS, "--no-progress", *args]


@pytest.mark.slow
def test_sigkilled_sweep_resumes_without_retraining_and_equals_uninterrupted(
        swept: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_cli("--out", str(out), "--workers", "1"), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and _checkpoints(out):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its workers at once
        proc.wait(10)
    done = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in out.glob("*.safetensors") if not p.name.startswith(".")}
    assert 1 <= len(done) < 4
    rerun = subprocess.run(_cli("--out", str(out), "--workers", "1", "--json"), cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    statuses = {Path(j["path"]).name: j["status"] for j in summary["jobs"]}
    assert {statuses[name] for name in done} == {"existing"}
    assert list(statuses.values()).count("trained") == 4 - len(done)
    # (a) what was finished before the kill was not touched
    assert {name: (out / name).stat().st_mtime_ns for name in done} == \
        {name: mtime for name, (mtime, _) in done.items()}
    # (b) every checkpoint is byte-identical to the uninterrupted sweep's
    assert _checkpoints(out) == _checkpoints(swept)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half file left
