"""Every notebook in notebooks/ runs top to bottom, and is stored without outputs."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_five_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01-quickstart.ipynb", "02-valence-geometry.ipynb", "03-dataset-import.ipynb",
        "04-real-mice.ipynb", "05-your-own-agent.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))  # the kernel inherits it
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend shows figures
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert figures or path.stem == "03-dataset-import"
    assert elapsed < 120  # budget 60 s on a quiet machine; slack for a busy one
