"""Shared pytest fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests explore new examples on every local run; under CI they replay a fixed
# sequence so that a landing never depends on the luck of the draw.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The folder of small real files kept for the tests (see its PROVENANCE.md)."""
    return TEST_DATA


class Cli:
    """Runs ``python -m neuroalign.cli`` of this tree in a subprocess (a crash or a hang
    then fails one test, not the test run)."""

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the command line with ``args``; stdout and stderr captured as text."""
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.run([sys.executable, "-m", "neuroalign.cli", *args], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=timeout)

    def assert_one_line_error(self, proc: subprocess.CompletedProcess[str],
                              message: str) -> None:
        """Exit status 2, one ``error: ...`` line holding ``message``, no traceback."""
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="session")
def cli() -> Cli:
    """The command line in a subprocess, see :class:`Cli`."""
    return Cli()
