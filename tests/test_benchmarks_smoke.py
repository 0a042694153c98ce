"""Every benchmark script still runs: each ``benchmarks/*.py`` in its ``--smoke`` mode.

Scripts are found by glob, so a new benchmark is covered as soon as it exists (and
fails here until it has a ``--smoke`` mode). They run in subprocesses, a few at a
time; each must exit 0 within its time limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "benchmarks").glob("*.py"))
#: wall seconds a smoke run may take on a shared machine (they take a few seconds of CPU)
LIMIT_S = 240
#: scripts run at once
PARALLEL = 4


def test_benchmarks_are_discovered() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"bench_batch.py", "bench_compare.py", "bench_zoo.py"} <= names
    for path in SCRIPTS:
        assert "--smoke" in path.read_text(), f"{path.name} has no --smoke mode"


@pytest.mark.slow
def test_every_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg",
           "NEUROALIGN_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    waiting = list(SCRIPTS)
    running: dict[Path, tuple[subprocess.Popen[str], float]] = {}
    failures: list[str] = []
    while waiting or running:
        while waiting and len(running) < PARALLEL:
            script = waiting.pop(0)
            proc = subprocess.Popen([sys.executable, str(script), "--smoke"], cwd=tmp_path,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            running[script] = (proc, time.monotonic())
        for script, (proc, start) in list(running.items()):
            if proc.poll() is None and time.monotonic() - start < LIMIT_S:
                continue
            if proc.poll() is None:
                proc.kill()
            output = proc.communicate()[0]
            del running[script]
            if proc.returncode != 0:
                failures.append(f"{script.name} --smoke: exit {proc.returncode} after "
                                f"{time.monotonic() - start:.0f} s\n{output[-3000:]}")
        time.sleep(0.1)
    assert not failures, "\n\n".join(failures)
