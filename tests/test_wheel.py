"""A wheel built from this tree installs into a fresh environment and runs from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ["run", "--out", "report", "--n-boot", "0", "--n-perm", "0", "--no-figures", "--quiet"]


def _env() -> dict[str, str]:
    """The environment without this checkout on the path (the wheel must stand alone)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEUROALIGN_ZOO")}
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NEUROALIGN_TEST_WHEEL") != "1",
                    reason="builds a wheel and runs the default job twice (1-2 min); "
                    ".ci/run sets NEUROALIGN_TEST_WHEEL=1")
def test_wheel_runs_the_default_job_like_the_source_tree(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "neuroalign", src / "neuroalign",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True, env=_env(), cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("neuroalign-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--force-reinstall", str(wheel)], check=True, capture_output=True,
                   env=_env())

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import neuroalign; print(neuroalign.__file__)"],
                           check=True, capture_output=True, text=True, env=_env(), cwd=elsewhere)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    installed = subprocess.run([str(venv / "bin" / "neuroalign"), *RUN], capture_output=True,
                               text=True, env=_env(), cwd=elsewhere)
    assert installed.returncode == 0, installed.stderr[-2000:]

    source = tmp_path / "source"
    source.mkdir()
    from_tree = subprocess.run([sys.executable, "-m", "neuroalign.cli", *RUN],
                               capture_output=True, text=True, cwd=source,
                               env={**_env(), "PYTHONPATH": str(ROOT)})
    assert from_tree.returncode == 0, from_tree.stderr[-2000:]

    a = pd.read_csv(elsewhere / "report" / "results.csv")
    b = pd.read_csv(source / "report" / "results.csv")
    assert len(a) > 100 and a["estimate"].notna().sum() > 100
    pd.testing.assert_frame_equal(a, b)
