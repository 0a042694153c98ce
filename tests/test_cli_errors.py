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


@pytest.mark.parametrize("argv", [[], ["zoo"], ["batch"]])
def test_a_command_group_alone_prints_its_help_once_and_exits_zero(argv: list[str]) -> None:
    proc = _run(*argv)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Usage:") == 1
    assert "Commands" in proc.stdout
    assert proc.stderr == ""


def test_version() -> None:
    from neuroalign import __version__

    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"neuroalign {__version__}\n"


def test_flags_show_no_value_type() -> None:
    proc = _run("run", "--help")
    assert proc.returncode == 0
    assert "<bool>" not in proc.stdout
    assert "<int>" in proc.stdout  # options that take a value keep their type
    line = next(x for x in proc.stdout.splitlines() if "--overwrite" in x)
    assert "Replace an existing report folder." in line


def test_a_bad_value_names_its_field_once() -> None:
    proc = _run("run", "--n-perm", "10")
    assert proc.returncode == 2
    assert proc.stderr == ("error: config: n_perm: got 10; expected 0 (no p-values) or at least "
                           "19, the fewest permutations that can reach p < 0.05\n")


def test_zoo_probe_of_an_untrained_seed_asks_for_train(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "NEUROALIGN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "neuroalign.cli", "zoo", "probe", "dqn",
                           "--task", "pavlovian", "--seed", "977", "--out",
                           str(tmp_path / "a.nc")], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2
    assert "seed 977 is not trained" in proc.stderr and "pass --train" in proc.stderr
    assert not (tmp_path / "a.nc").exists() and not (tmp_path / "cache" / "zoo").exists()


def test_help_exits_zero() -> None:
    proc = _run("zoo", "--help")
    assert proc.returncode == 0
    assert "probe" in proc.stdout
