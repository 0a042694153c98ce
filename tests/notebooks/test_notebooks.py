"""Every notebook in notebooks/ runs top to bottom, and is stored without outputs.

A notebook that passes is kept, with its outputs and a fingerprint of what they depend
on, as the documentation site's tutorial (docs/hooks/docsite/notebooks.py): the site
then shows outputs this test has checked, and a build after a test run need not execute
the notebooks again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "hooks"))
from docsite import notebooks as site_notebooks  # noqa: E402  (the one way to execute them)

NOTEBOOKS = site_notebooks.notebooks(ROOT)


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
def test_notebook_executes(path, tmp_path):
    stamp = site_notebooks.fingerprint(path, ROOT)
    nb, elapsed = site_notebooks.execute(path, tmp_path, ROOT)  # a failing cell raises
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "image/png" in o.get("data", {})]
    assert figures or path.stem == "03-dataset-import"
    assert elapsed < 120  # budget 60 s on a quiet machine; slack for a busy one
    copy = site_notebooks.save_executed(nb, path, ROOT, stamp)
    assert site_notebooks.is_fresh(path, ROOT, stamp)
    assert nbformat.read(copy, as_version=4).cells == nb.cells
