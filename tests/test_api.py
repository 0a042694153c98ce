"""The top-level API: every advertised name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import neuroalign


@pytest.mark.parametrize("name", sorted(neuroalign._LAZY))
def test_top_level_names_resolve_to_the_part(name: str) -> None:
    module = __import__(neuroalign._LAZY[name], fromlist=[name])
    assert getattr(neuroalign, name) is getattr(module, name)
    assert name in neuroalign.__all__


def test_unknown_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        neuroalign.nope  # noqa: B018


def test_import_does_not_load_heavy_dependencies() -> None:
    code = ("import sys, neuroalign; "
            "print(sorted(m for m in ('torch', 'pynwb', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_stub_declares_every_lazy_name_for_type_checkers() -> None:
    import ast
    from pathlib import Path

    root = Path(neuroalign.__file__).parent
    assert (root / "py.typed").is_file()
    stub = ast.parse((root / "__init__.pyi").read_text())
    declared = {alias.asname: node.module for node in stub.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert declared == {**neuroalign._LAZY, "NeuroalignError": "neuroalign.core.errors"}
    assert set(declared) | {"__version__"} == set(neuroalign.__all__)


def test_import_loads_no_part_until_a_name_is_used() -> None:
    code = ("import sys, neuroalign; "
            "print(sorted(m for m in sys.modules if m.startswith('neuroalign.') and "
            "m.split('.')[1] not in ('core',))); "
            "neuroalign.compute_rdm; print('neuroalign.compare' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


@pytest.mark.parametrize(("module", "page"), [("neuroalign.compare", "compare"),
                                              ("neuroalign.compare.inference", "compare"),
                                              ("neuroalign.geometry", "geometry")])
def test_a_subpackage_exports_what_its_page_documents(module: str, page: str) -> None:
    import importlib
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "parts" / f"{page}.md").read_text()
    names = importlib.import_module(module).__all__
    assert [n for n in names if not re.search(rf"\b{re.escape(n)}\b", text)] == []
