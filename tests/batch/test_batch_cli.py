"""The ``neuroalign batch`` command: both spellings, status, exit codes, a SIGKILLed client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import batch_cells as bc
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from neuroalign.batch import BatchStore, load_config, load_results, run_serial
from neuroalign.cli import app
from neuroalign.core.errors import ConfigError, SourceError

REPO = Path(__file__).resolve().parents[2]


def _write_config(folder: Path, cell: str = "cell", **kw: object) -> Path:
    raw = dict(agents=["dqn", "ppo"], tasks=["pav"], seeds=[0, 1, 2], layers=["l1"],
               sources=["src/*.npz"], regions=["A", "B"], measures=["plain", "squared"],
               n_boot=5, engine=bc.engine(cell))
    raw.update(kw)
    path = folder / "batch.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _sources(folder: Path) -> None:
    (folder / "src").mkdir()
    bc.write_source(folder / "src" / "s1.npz", {"A": 5, "B": 4}, seed=1)
    bc.write_source(folder / "src" / "s2.npz", {"A": 3, "B": 6}, seed=2)


def test_help_lists_commands_and_config_fields() -> None:
    runner = CliRunner()
    for argv in (["batch", "--help"], ["batch"]):
        top = runner.invoke(app, argv)
        assert top.exit_code == 0
        assert "run" in top.output and "status" in top.output
    run_help = runner.invoke(app, ["batch", "run", "--help"])
    assert run_help.exit_code == 0
    for text in ("--out", "--scheduler", "--workers", "--retry-failed", "--fail-fast",
                 "n_boot", "sources[].path"):
        assert text in run_help.output


def test_run_by_default_status_and_exit_codes(tmp_path: Path) -> None:
    _sources(tmp_path)
    cfg = _write_config(tmp_path, sources=["src/s1.npz", "src/gone.npz"], agents=["dqn"],
                        seeds=[0], regions=["A"], measures=["plain"])
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(cfg), "--out", str(out), "--workers", "1",
                                 "--allow-code"])
    assert result.exit_code == 1, result.output
    assert "failed" in result.output and "file not found" in result.output
    status = runner.invoke(app, ["batch", "status", str(out), "--json"])
    assert json.loads(status.output) == {"total": 2, "done": 1, "failed": 1, "pending": 0,
                                         "unplanned": 0, "corrupt": 0}
    text = runner.invoke(app, ["batch", "status", str(out)]).output
    assert "done 1, failed 1, pending 0" in text and "SourceError" in text
    bad = runner.invoke(app, ["batch", str(tmp_path / "nope.yaml"), "--out", str(out)])
    assert isinstance(bad.exception, ConfigError)
    assert "nope.yaml: does not exist" in str(bad.exception)
    foreign = runner.invoke(app, ["batch", "status", str(tmp_path / "src")])
    assert isinstance(foreign.exception, SourceError)
    assert "no batch.json; not a batch folder" in str(foreign.exception)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "neuroalign.cli", "batch", *args]


def test_client_sigkilled_mid_batch_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    _sources(tmp_path)
    cfg = _write_config(tmp_path, cell="slow_cell", measures=["plain"])  # 24 cells
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli(str(cfg), "--out", str(out), "--workers", "1", "--allow-code",
                                 "--chunk-size", "2"),
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            parts = list((out / "results").glob("chunk-*.json")) if out.exists() else []
            if len(parts) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the batch finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        # the worker processes exit when their parent dies; make sure of it
        time.sleep(0.5)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    n_before = len(BatchStore(out).done_keys())
    assert 6 <= n_before < 24 and n_before % 2 == 0  # whole chunks of 2 cells
    rerun = subprocess.run(_cli("run", str(cfg), "--out", str(out), "--workers", "1",
                                "--allow-code"),
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"│    24 │ {24 - n_before:>4} │ {n_before:>7} │" in rerun.stdout
    table = load_results(out)
    assert not table.duplicated(["cell_key", "cell_row"]).any()
    pd.testing.assert_frame_equal(table, run_serial(load_config(cfg), allow_code=True))
    assert not [p for p in (out / "results").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("argv", [["batch", "status"], ["batch", "run"]])
def test_missing_arguments_are_usage_errors(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_foreign_code_needs_allow_code_and_status_survives_damage(tmp_path: Path) -> None:
    _sources(tmp_path)
    cfg = _write_config(tmp_path, agents=["dqn"], seeds=[0])  # 8 cells
    runner = CliRunner()
    out = tmp_path / "out"
    refused = runner.invoke(app, ["batch", str(cfg), "--out", str(out)])
    assert isinstance(refused.exception, ConfigError)
    assert "engine.cell: got" in str(refused.exception)
    assert "--allow-code" in str(refused.exception) and not out.exists()
    ran = runner.invoke(app, ["batch", str(cfg), "--out", str(out), "--workers", "1",
                              "--allow-code", "--chunk-size", "3", "--dashboard", "none"])
    assert ran.exit_code == 0, ran.output
    store = BatchStore(out)
    parts = sorted(store.results_dir.glob("chunk-*.parquet"))
    assert len(parts) == 3
    n_lost = next(len(p.keys) for p in store.parts() if p.path == parts[0])
    parts[0].write_bytes(parts[0].read_bytes()[:100])
    text = runner.invoke(app, ["batch", "status", str(out)]).output
    assert "corrupt 1" in text and f"corrupt {parts[0].name}: size 100 bytes" in text
    assert "cells are pending" in text
    merged = runner.invoke(app, ["batch", "compact", str(out)])
    assert merged.exit_code == 0 and "2 parts -> 1" in merged.output
    counts = json.loads(runner.invoke(app, ["batch", "status", str(out), "--json"]).output)
    assert (counts["done"], counts["pending"], counts["corrupt"]) == (8 - n_lost, n_lost, 1)
    store.plan_path.write_text("{ not json")
    broken = runner.invoke(app, ["batch", "status", str(out)])
    assert isinstance(broken.exception, SourceError)
    assert "batch.json is not readable JSON" in str(broken.exception)


def test_two_concurrent_runs_into_one_folder_exactly_one_proceeds(tmp_path: Path) -> None:
    _sources(tmp_path)
    cfg = _write_config(tmp_path, cell="slow_cell", measures=["plain"])  # 24 cells, 0.1 s each
    out = tmp_path / "out"
    argv = _cli(str(cfg), "--out", str(out), "--workers", "1", "--allow-code",
                "--dashboard", "none")
    procs = [subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=240) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], [r[1][-2000:] for r in results]
    refused = next(err for p, (_, err) in zip(procs, results, strict=True) if p.returncode == 2)
    assert refused.startswith("error: batch folder ") and refused.count("\n") == 1, refused
    assert "another run is writing into it (pid " in refused and "Traceback" not in refused
    assert BatchStore(out).status().done == 24
