"""The documentation site: every public name documented, every command paged, and the
site built offline with warnings as errors (mkdocs.yml, docs/hooks/).

This folder sorts after tests/notebooks, whose passing notebooks become the site's
tutorials; run alone, the build executes the notebooks itself (see
docs/contributing.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import griffe
import pytest
import typer
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "hooks"))
from docsite import api, cli, notebooks, roles  # noqa: E402

import neuroalign  # noqa: E402

#: every sub-package with a public API (checked against the folders below)
SUBPACKAGES = sorted(api.SUBPACKAGES)


def _runtime_all(module: str) -> list[str]:
    return list(importlib.import_module(f"neuroalign.{module}" if module else "neuroalign")
                .__all__)


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    """neuroalign as the site's API pages see it (static analysis, the same extensions)."""
    return griffe.load("neuroalign", search_paths=[str(ROOT)], docstring_parser="numpy",
                       extensions=griffe.load_extensions("griffe_sphinx", roles.SphinxRoles),
                       resolve_aliases=True, resolve_external=False)


def _documented(obj: griffe.Object | griffe.Alias) -> bool:
    return obj.docstring is not None and obj.docstring.value.strip() != ""


def test_every_subpackage_with_a_public_api_has_a_page():
    found = sorted(str(p.parent.relative_to(ROOT / "neuroalign")).replace("/", ".")
                   for p in (ROOT / "neuroalign").glob("**/__init__.py")
                   if "__all__" in p.read_text(encoding="utf-8")
                   and p.parent != ROOT / "neuroalign")
    assert found == SUBPACKAGES


@pytest.mark.parametrize("module", ["", *SUBPACKAGES])
def test_the_reference_lists_exactly_the_public_names(module):
    assert api.public_names(ROOT, module) == _runtime_all(module)
    text = api.pages(ROOT)[api.page_uri(module)]
    exported = importlib.import_module(f"neuroalign.{module}" if module else "neuroalign")
    for name in _runtime_all(module):
        path = api.identifier(module, name)
        assert f"::: {path}\n" in text or (api.owner(path) != module and f"][{path}]" in text)
        # the documented path names the very object the public name gives
        owner, _, attr = path.rpartition(".")
        assert getattr(importlib.import_module(owner), attr) is getattr(exported, name)


@pytest.mark.parametrize("module", ["", *SUBPACKAGES])
def test_every_public_name_and_method_has_a_docstring(package, module):
    mod = package[module] if module else package
    missing = []
    exported = importlib.import_module(f"neuroalign.{module}" if module else "neuroalign")
    for name in _runtime_all(module):
        assert name in mod.members, f"neuroalign.{module}: {name} not visible to the docs"
        obj = package.modules_collection.get_member(api.identifier(module, name))
        target = obj.final_target if obj.is_alias else obj
        runtime = getattr(exported, name)
        if isinstance(runtime, type):
            assert target.is_class, target.path
        elif callable(runtime):
            assert target.is_function, target.path
        if not _documented(target):
            missing.append(target.path)
        if target.is_class:  # its public methods and properties (fields are in its docs)
            for member_name, member in target.members.items():
                member = member.final_target if member.is_alias else member
                if not member_name.startswith("_") and member.is_function \
                        and not _documented(member):
                    missing.append(member.path)
    assert missing == []


def test_a_name_without_a_docstring_is_caught(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(
        '"""A package."""\n__all__ = ["f", "LIMIT"]\n\n#: the limit\nLIMIT = 3\n\n'
        'def f():\n    return 1\n')
    pkg = griffe.load("pkg", search_paths=[str(tmp_path)],
                      extensions=griffe.load_extensions("griffe_sphinx"))
    assert _documented(pkg["LIMIT"]) and not _documented(pkg["f"])


# --- cross-references in docstrings ---------------------------------------------------

def test_roles_resolve_in_the_scope_of_the_docstring(package):
    collection = package.modules_collection
    evaluate = package["compare.inference.evaluate.evaluate"]  # imports RESULT_COLUMNS...
    text = roles.rewrite(":data:`RDM_METHODS` and :func:`~neuroalign.io.load_responses`",
                         package["compare.rdm.compute_rdm"], collection)
    assert 'identifier="neuroalign.core.vocabulary.RDM_METHODS"' in text
    assert ('<autoref identifier="neuroalign.io.load_responses" optional>'
            "<code>load_responses()</code></autoref>") in text
    assert roles.rewrite(":class:`xarray.DataArray`", evaluate, collection) == \
        "`xarray.DataArray`"
    assert roles.rewrite(":class:`ValueError`", evaluate, collection) == "`ValueError`"


def test_a_role_to_a_missing_name_becomes_a_required_reference(package):
    collection = package.modules_collection
    obj = package["compare.rdm.compute_rdm"]
    assert roles.rewrite(":func:`no_such_function`", obj, collection) == \
        "[`no_such_function()`][no_such_function]"
    assert roles.rewrite(":func:`neuroalign.io.no_such`", obj, collection) == \
        "[`neuroalign.io.no_such()`][neuroalign.io.no_such]"


# --- the tutorials ------------------------------------------------------------------

def test_an_executed_notebook_is_stale_once_the_notebook_or_the_package_changes(tmp_path):
    import nbformat

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "neuroalign" / "data").mkdir(parents=True)
    source = tmp_path / "notebooks" / "01-x.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(nb, source)
    code = tmp_path / "neuroalign" / "a.py"
    code.write_text("A = 1\n")
    data = tmp_path / "neuroalign" / "data" / "x.bin"
    data.write_bytes(b"\0")
    stamp = notebooks.fingerprint(source, tmp_path)
    assert not notebooks.is_fresh(source, tmp_path, stamp)  # never executed
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    copy = notebooks.save_executed(nb, source, tmp_path, stamp)
    assert copy == tmp_path / "build" / "notebooks" / "tutorials" / "01-x.ipynb"
    assert notebooks.is_fresh(source, tmp_path, notebooks.fingerprint(source, tmp_path))
    for path, change in ((code, b"A = 2\n"), (data, b"\1"), (source, None)):
        before = path.read_bytes()
        path.write_bytes(change if change is not None else before.replace(b"1 + 1", b"1 + 2"))
        assert not notebooks.is_fresh(source, tmp_path, notebooks.fingerprint(source, tmp_path))
        path.write_bytes(before)
        assert notebooks.is_fresh(source, tmp_path, notebooks.fingerprint(source, tmp_path))
    (tmp_path / "neuroalign" / "__pycache__").mkdir()  # byte code is not an input
    (tmp_path / "neuroalign" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"x")
    assert notebooks.is_fresh(source, tmp_path, notebooks.fingerprint(source, tmp_path))


def test_the_kernel_imports_the_documented_checkout(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # not the checkout
    source = tmp_path / "where.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, neuroalign\nprint(neuroalign.__file__, os.environ['NEUROALIGN_CACHE'])")]),
        source)
    nb, _ = notebooks.execute(source, tmp_path / "work", ROOT)
    printed = nb.cells[0].outputs[0]["text"].split()
    assert printed == [str(ROOT / "neuroalign" / "__init__.py"), str(tmp_path / "work" / "cache")]


# --- the command line -----------------------------------------------------------------

def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_has_a_page_with_its_current_options():
    from neuroalign.cli import app

    pages = cli.pages()
    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) >= 15
    assert sorted(pages) == sorted(cli.page_uri(path) for path, _ in commands)
    for path, command in commands:
        text = pages[cli.page_uri(path)]
        assert text.startswith(f"# {' '.join(('neuroalign', *path))}\n")
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else []:
                assert opt in text, (path, opt)
        for name in getattr(command, "commands", {}):
            assert f"({cli.page_uri((*path, name)).removeprefix('cli/')})" in text


def test_a_hand_written_page_in_a_generated_folder_stops_the_build(tmp_path):
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File, Files

    spec = importlib.util.spec_from_file_location("docs_site_hook",
                                                  ROOT / "docs" / "hooks" / "site.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "run.md").write_text("# neuroalign run\n")
    files = Files([File("cli/run.md", str(tmp_path), str(tmp_path / "site"), False)])
    with pytest.raises(PluginError, match=r"docs/cli/run\.md: the cli/ pages are generated"):
        hook.on_files(files, {})


# --- building the site ----------------------------------------------------------------

def _mkdocs(config: Path, site: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(config),
                           "-d", str(site)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_site_builds_offline_without_warnings(tmp_path):
    site = tmp_path / "site"
    start = time.perf_counter()
    proc = _mkdocs(ROOT / "mkdocs.yml", site, timeout=900)
    elapsed = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert not re.search(r"^WARNING\s+-", log, re.M), log[-4000:]  # mkdocs' own warnings
    print(f"site built in {elapsed:.1f} s")

    from neuroalign.cli import app

    for path, command in _commands(typer.main.get_command(app)):
        page = (site / cli.page_uri(path)).with_suffix(".html").read_text(encoding="utf-8")
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else []:
                assert opt in page, (path, opt)
    for module in ["", *SUBPACKAGES]:
        page = (site / api.page_uri(module)).with_suffix(".html").read_text(encoding="utf-8")
        for name in _runtime_all(module):
            path = api.identifier(module, name)
            prefix = f"neuroalign.{module}" if module else "neuroalign"
            anchor = path if api.owner(path) == module else f"{prefix}.{name}"
            assert f'id="{anchor}"' in page, (module, name)
    for source in notebooks.notebooks(ROOT):
        page = (site / "tutorials" / source.name).with_suffix(".html").read_text(
            encoding="utf-8")
        assert 'data-jp-cell-type' in page or "jp-Cell" in page
        if source.stem != "03-dataset-import":
            assert "data:image/png;base64," in page, source.name
        assert "Traceback" not in page and "CellExecutionError" not in page
    assert "neuroalign run" in (site / "getting-started.html").read_text(encoding="utf-8")
    assert neuroalign.__version__  # the version the API page documents


def _tiny_site(tmp_path: Path, page: str, module: str) -> Path:
    """A site with the project's strictness, Markdown and API settings, one page and one
    module: the control for the broken-reference test."""
    project = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    plugins = {}
    for entry in project["plugins"]:
        if isinstance(entry, dict) and "mkdocstrings" in entry:
            plugins = entry["mkdocstrings"]
    python = plugins["handlers"]["python"]
    python["paths"] = [str(tmp_path)]
    python["options"]["extensions"] = [
        e if not str(e).endswith(".py") else str(ROOT / e)
        for e in python["options"]["extensions"]]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(page)
    (docs / "other.md").write_text("# Other\n\n## A section\n")
    (tmp_path / "tinypkg").mkdir()
    (tmp_path / "tinypkg" / "__init__.py").write_text(module)
    config = {
        "site_name": "tiny", "docs_dir": str(docs), "strict": project["strict"],
        "validation": project["validation"],
        "markdown_extensions": project["markdown_extensions"],
        "plugins": [{"mkdocstrings": plugins}],
        "nav": ["index.md", "other.md"],
    }
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config))
    return path


GOOD_PAGE = ("# Tiny\n\n[other](other.md#a-section), [f][tinypkg.f]\n\n::: tinypkg\n")
GOOD_MODULE = ('"""A module: see :func:`f`."""\n\n\ndef f():\n    """Return one."""\n'
               '    return 1\n')


def test_a_tiny_site_with_the_project_settings_builds(tmp_path):
    proc = _mkdocs(_tiny_site(tmp_path, GOOD_PAGE, GOOD_MODULE), tmp_path / "site", 120)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_broken_references_fail_the_build(tmp_path):
    page = GOOD_PAGE + ("\n[gone](missing.md), [anchor](other.md#no-such-section), "
                        "[api][tinypkg.no_such_name]\n")
    module = GOOD_MODULE.replace(":func:`f`", ":func:`f` and :func:`renamed_function`")
    proc = _mkdocs(_tiny_site(tmp_path, page, module), tmp_path / "site", 120)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Aborted with" in log and "in strict mode" in log
    assert re.search(r"WARNING.*missing\.md", log), log[-3000:]
    assert re.search(r"WARNING.*no-such-section", log), log[-3000:]
    assert re.search(r"WARNING.*tinypkg\.no_such_name", log), log[-3000:]
    assert re.search(r"WARNING.*renamed_function", log), log[-3000:]


def test_the_zoo_stub_declares_every_lazy_name():
    """neuroalign.zoo imports its names on first use; its stub shows them to the docs
    (and to type checkers)."""
    import ast

    import neuroalign.zoo as zoo

    stub = ast.parse((ROOT / "neuroalign" / "zoo" / "__init__.pyi").read_text())
    declared = {alias.asname: node.module for node in stub.body
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert declared == {name: f"neuroalign.zoo.{module}"
                        for name, module in zoo._EXPORTS.items()}
    assert set(declared) == set(zoo.__all__)
