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


#: modules a start of the command line must not import before a command runs
HEAVY = ("torch", "xarray", "pandas", "scipy.stats", "dask", "pynwb", "matplotlib", "h5py")

_PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["neuroalign", *ARGS]
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        runpy.run_module("neuroalign.cli", run_name="__main__")
except SystemExit as err:
    code = err.code
else:
    code = 0
print(json.dumps({"code": code, "out": out.getvalue(),
                  "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_command_line_start_imports_no_heavy_module(args: list[str]) -> None:
    import json

    code = _PROBE.replace("ARGS", repr(args)).replace("HEAVY", repr(HEAVY))
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    result = json.loads(got.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None)
    assert result["heavy"] == []
    if args == ["--version"]:
        assert result["out"].strip() == f"neuroalign {neuroalign.__version__}"
    else:  # the help lists every part's commands without importing the parts
        for command in ("run", "batch", "study", "simulate", "zoo"):
            assert command in result["out"]


@pytest.mark.parametrize("package", ["neuroalign.core", "neuroalign.io", "neuroalign.batch",
                                     "neuroalign.pipeline", "neuroalign.simulate",
                                     "neuroalign.study"])
def test_lazy_packages_resolve_every_public_name(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert not isinstance(getattr(module, name), type(importlib)), name
        if name in module._EXPORTS:
            sub = importlib.import_module(f"{package}.{module._EXPORTS[name]}")
            assert getattr(module, name) is getattr(sub, name)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        module.nope  # noqa: B018


_EVERY_SUBMODULE_THEN_EVERY_EXPORT = """
import importlib, pkgutil, types
import neuroalign, neuroalign.zoo
for info in pkgutil.walk_packages(neuroalign.__path__, 'neuroalign.'):
    if info.name.rsplit('.', 1)[-1] != '__main__':
        importlib.import_module(info.name)
bad = []
for package, exports in ((neuroalign, neuroalign._LAZY),
                         (neuroalign.zoo, neuroalign.zoo.__lazy_exports__)):
    for name, module in exports.items():
        value = getattr(package, name)
        if isinstance(value, types.ModuleType) or (
                value is not getattr(importlib.import_module(module), name)):
            bad.append(package.__name__ + '.' + name)
from neuroalign.zoo import build_agent, probe_agent
agent = build_agent('dqn', 'pavlovian', 0)
acts = neuroalign.probe(agent, layers=['trunk.0'], n_repetitions=2)
same = probe_agent(agent, layers=['trunk.0'], n_repetitions=2)
print(bad, acts.dims, bool((acts == same).all()), callable(neuroalign.zoo.probe))
"""


def test_submodule_imports_never_shadow_a_lazily_exported_function() -> None:
    # importing neuroalign.zoo.probe (the module) must leave neuroalign.zoo.probe and
    # neuroalign.probe the function, in a clean interpreter
    out = subprocess.run([sys.executable, "-c", _EVERY_SUBMODULE_THEN_EVERY_EXPORT],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] ('repetition', 'condition', 'unit') True True"


def test_from_import_of_the_same_named_submodule_still_works() -> None:
    code = ("from neuroalign.zoo.probe import probe_agent; import neuroalign.zoo as z; "
            "print(z.probe.__module__, probe_agent.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "neuroalign.zoo.probe probe_agent"
