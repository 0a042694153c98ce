"""The ``neuroalign`` entry point: usage errors are one line, never a box or a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neuroalign.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "error: No such command 'bogus'. (see '"),
        (["zoo", "probe", "dqn", "--layers", "x"],
         "error: No such option: --layers (Possible options: --layer) (see '"),
        (["simulate", "--out", "unused", "--sessions", "abc"],
         "error: Invalid value for '--sessions': "),
        (["batch", "status"], "error: Missing argument 'out'."),
    ],
)
def test_usage_errors_are_one_line(argv: list[str], message: str) -> None:
    proc = _run(*argv)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "╭" not in proc.stderr


def test_no_arguments_prints_help() -> None:
    proc = _run()
    assert proc.returncode == 2
    assert "Commands" in proc.stdout + proc.stderr
    assert "error:" not in proc.stderr


def test_help_exits_zero() -> None:
    proc = _run("zoo", "--help")
    assert proc.returncode == 0
    assert "probe" in proc.stdout
