"""The stubs tell type checkers what the lazily imported names are.

``neuroalign/__init__.pyi`` (the top-level names) and ``neuroalign/zoo/__init__.pyi``
are read as a type checker reads them (``ast``, nothing executed): every name they
declare must lead, through explicit imports, to a ``def``, a ``class`` or a variable
(not to a module, and not to a module ``__getattr__``, which a checker types as
``Any``), and a function's definition must have the signature of the object the
package gives at run time.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import math
import sys
from pathlib import Path
from typing import Any

import pytest

import neuroalign
import neuroalign.zoo

STUB = Path(neuroalign.__file__).with_suffix(".pyi")
#: package -> (its stub, the names it exports lazily)
PACKAGES = {
    "neuroalign": (STUB, set(neuroalign._LAZY)),
    "neuroalign.zoo": (Path(neuroalign.zoo.__file__).with_suffix(".pyi"),
                       set(neuroalign.zoo._EXPORTS)),
    # the parts whose names are imported on first use (``neuroalign.core.lazy``)
    **{name: (Path(module.__file__).with_suffix(".pyi"), set(module._EXPORTS))
       for name, module in ((n, importlib.import_module(n)) for n in (
           "neuroalign.core", "neuroalign.io", "neuroalign.batch", "neuroalign.pipeline",
           "neuroalign.simulate", "neuroalign.study"))},
}

_KINDS = {
    "posonly": inspect.Parameter.POSITIONAL_ONLY,
    "arg": inspect.Parameter.POSITIONAL_OR_KEYWORD,
    "vararg": inspect.Parameter.VAR_POSITIONAL,
    "kwonly": inspect.Parameter.KEYWORD_ONLY,
    "kwarg": inspect.Parameter.VAR_KEYWORD,
}


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """Module statements, with those under ``if TYPE_CHECKING:`` (a checker reads them)."""
    out: list[ast.stmt] = []
    for node in tree.body:
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            out.extend(node.body)
        else:
            out.append(node)
    return out


def _stub_names(stub: Path = STUB) -> dict[str, ast.stmt]:
    """Public name -> the stub statement that declares it."""
    names: dict[str, ast.stmt] = {}
    for node in _top_level(ast.parse(stub.read_text())):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                # only ``import x as x`` re-exports a name from a stub (PEP 484)
                assert alias.asname == alias.name, (
                    f"{stub}: 'from {node.module} import {alias.name}' without "
                    f"'as {alias.name}' is private to the stub")
                names[alias.name] = node
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def _source(module: str) -> tuple[Path, bool]:
    """The file a type checker reads for ``module`` (a ``.pyi`` beside it wins) and
    whether ``module`` is a package. Only the parent packages are imported."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"no module {module}"
    path = Path(spec.origin)
    if path.with_suffix(".pyi").is_file():
        path = path.with_suffix(".pyi")
    return path, spec.submodule_search_locations is not None


Definition = ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign


def _binds(node: ast.stmt, name: str) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name == name
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    return False


def _resolve(module: str, name: str) -> tuple[str, Definition]:
    """The definition ``from module import name`` leads a type checker to."""
    path, is_package = _source(module)
    for node in _top_level(ast.parse(path.read_text())):
        if _binds(node, name):
            assert isinstance(node, Definition)
            return module, node
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    package = module if is_package else module.rpartition(".")[0]
                    source = importlib.util.resolve_name("." * node.level + (node.module or ""),
                                                         package)
                    return _resolve(source, alias.name)
    if is_package and importlib.util.find_spec(f"{module}.{name}") is not None:
        raise AssertionError(f"{name}: a type checker resolves it to the module "
                             f"{module}.{name}, not to the object neuroalign.{name} is")
    raise AssertionError(f"{name}: {path} binds no {name!r} a type checker can see (a module "
                         "__getattr__ makes it Any); import it from its defining module")


def _ast_parameters(fn: ast.FunctionDef) -> list[tuple[str, inspect._ParameterKind,
                                                         ast.expr | None]]:
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    out = [(a.arg, _KINDS["posonly" if i < len(args.posonlyargs) else "arg"], d)
           for i, (a, d) in enumerate(zip(positional, defaults, strict=True))]
    if args.vararg is not None:
        out.append((args.vararg.arg, _KINDS["vararg"], None))
    out += [(a.arg, _KINDS["kwonly"], d)
            for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        out.append((args.kwarg.arg, _KINDS["kwarg"], None))
    return out


def _default_value(node: ast.expr, module: str) -> Any:
    """A default as written in the source, evaluated in its module (constants, names)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        code = compile(ast.Expression(node), f"<default in {module}>", "eval")
        return eval(code, vars(sys.modules[module]))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _runtime(package: str = "neuroalign") -> dict[str, Any]:
    # resolved first, through the package as a user does, before anything else imports
    # the defining modules
    pkg = sys.modules[package]
    return {name: getattr(pkg, name) for name in pkg.__all__}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_the_stub_declares_exactly_the_public_names(package: str) -> None:
    stub, lazy = PACKAGES[package]
    assert (STUB.parent / "py.typed").is_file()
    declared = set(_stub_names(stub))
    assert declared - {"__all__"} == set(sys.modules[package].__all__)
    assert lazy <= declared
    assert isinstance(neuroalign.__version__, str)


def _check(name: str, node: ast.stmt, obj: Any) -> None:
    """``node`` (a stub statement declaring ``name``) describes ``obj``."""
    if isinstance(node, ast.ImportFrom):
        assert node.module is not None
        module, definition = _resolve(node.module, name)
    else:  # written in the stub itself: it describes the object wherever that lives
        assert isinstance(node, (ast.FunctionDef, ast.ClassDef)), ast.dump(node)
        module, definition = obj.__module__, node
    if isinstance(definition, (ast.Assign, ast.AnnAssign)):
        assert not inspect.isfunction(obj) and not inspect.ismodule(obj), f"{name}: {obj!r}"
        assert getattr(sys.modules[module], name) is obj, (
            f"{name}: the stub resolves to the variable {module}.{name}, not the run-time "
            "object")
        return
    if isinstance(definition, ast.ClassDef):
        assert inspect.isclass(obj), f"{name}: the stub has a class, run time {obj!r}"
        assert (obj.__module__, obj.__qualname__) == (module, definition.name)
        return
    obj = inspect.unwrap(obj)  # a cached function (functools.lru_cache) is the function
    assert inspect.isfunction(obj), f"{name}: the stub has a function, run time {obj!r}"
    assert obj.__module__ == module, (
        f"{name}: the stub resolves to {module}.{definition.name}; the run-time object "
        f"is defined in {obj.__module__}")
    written = _ast_parameters(definition)
    actual = list(inspect.signature(obj).parameters.values())
    assert [(n, k) for n, k, _ in written] == [(p.name, p.kind) for p in actual], name
    for (pname, _, default), param in zip(written, actual, strict=True):
        if default is None:
            assert param.default is inspect.Parameter.empty, f"{name}({pname}=...)"
        elif not (isinstance(default, ast.Constant) and default.value is Ellipsis):
            value = _default_value(default, module)
            assert _same(value, param.default), (
                f"{name}({pname}): the stub says {ast.unparse(default)} = {value!r}, "
                f"run time {param.default!r}")


@pytest.mark.parametrize(("package", "name"), [
    (package, name) for package, (_, lazy) in sorted(PACKAGES.items())
    for name in sorted(lazy | ({"NeuroalignError"} if package == "neuroalign" else set()))])
def test_each_stub_name_has_the_signature_of_the_runtime_object(package: str,
                                                                name: str) -> None:
    obj = _runtime(package)[name]
    _check(name, _stub_names(PACKAGES[package][0])[name], obj)


def test_a_stub_def_with_the_same_signature_passes() -> None:
    text = "def cka(x, y, kernel='linear', debiased=True, *, sigma=None, form='auto'): ..."
    _check("cka", ast.parse(text).body[0], neuroalign.cka)
    _check("cka", ast.parse(text.replace("'auto'", "...")).body[0], neuroalign.cka)


@pytest.mark.parametrize(("text", "match"), [
    ("def cka(x, y, kernel='rbf', debiased=True, *, sigma=None, form='auto'): ...",
     r"cka\(kernel\): the stub says 'rbf'"),
    ("def cka(x, y, kernel='linear', debiased=True, *, sigma=None): ...", "cka"),
    ("def cka(x, y, /, kernel='linear', debiased=True, *, sigma=None, form='auto'): ...",
     "cka"),
    ("class cka: ...", "the stub has a class"),
])
def test_a_signature_that_differs_is_reported(text: str, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        _check("cka", ast.parse(text).body[0], neuroalign.cka)


def test_a_name_behind_a_module_getattr_is_refused(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # the check above must see what a type checker sees: a lazily exported name, or a
    # name that is also a submodule, does not count as declared
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("def __getattr__(name):\n    raise AttributeError(name)\n")
    (pkg / "probe.py").write_text("def probe(x, y=1):\n    return x\n")
    (pkg / "direct.py").write_text("from lazypkg.probe import probe as probe\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in ("lazypkg", "lazypkg.probe", "lazypkg.direct"):
        monkeypatch.delitem(sys.modules, mod, raising=False)  # restored afterwards
    with pytest.raises(AssertionError, match=r"resolves it to the module lazypkg\.probe"):
        _resolve("lazypkg", "probe")
    with pytest.raises(AssertionError, match="binds no 'other'"):
        _resolve("lazypkg", "other")
    module, definition = _resolve("lazypkg.direct", "probe")
    assert module == "lazypkg.probe"
    assert isinstance(definition, ast.FunctionDef)
    assert [(n, k) for n, k, _ in _ast_parameters(definition)] == [
        ("x", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ("y", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
