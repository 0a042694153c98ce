"""The API reference: one page per sub-package, listing every name of its ``__all__``.

The public names are read from the source (each sub-package's literal ``__all__``, the
top level's lazy-export table ``_LAZY``), so the page lists exactly what
``from neuroalign.X import *`` gives; each name is then rendered by mkdocstrings.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

#: the documented sub-packages, in the order of the site's navigation (the parts)
SUBPACKAGES: tuple[str, ...] = (
    "io", "simulate", "zoo", "zoo.agents", "zoo.foreign", "compare", "compare.inference",
    "geometry", "pipeline", "study", "report", "batch", "core",
)


def _assigned(tree: ast.Module, name: str) -> ast.expr | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and node.target.id == name):
            return node.value
    return None


def public_names(root: Path, module: str) -> list[str]:
    """The public names of ``neuroalign`` (``module == ""``) or ``neuroalign.<module>``.

    Raises
    ------
    ValueError
        If the sub-package has no literal ``__all__`` (or the top level no ``_LAZY``).
    """
    folder = root / "neuroalign" / module.replace(".", "/")
    init = folder / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
    if not module:
        lazy = _assigned(tree, "_LAZY")
        if lazy is None:
            raise ValueError(f"{init}: no _LAZY table of top-level exports")
        return ["NeuroalignError", "__version__", *sorted(ast.literal_eval(lazy))]
    names = _assigned(tree, "__all__")
    if names is None:
        raise ValueError(f"{init}: no literal __all__")
    try:
        return list(ast.literal_eval(names))
    except ValueError as err:
        raise ValueError(f"{init}: __all__ is not a literal list of names") from err


def page_uri(module: str) -> str:
    """The page of ``neuroalign.<module>`` (``""``: the top level)."""
    return f"reference/{module or 'index'}.md"


def identifier(module: str, name: str) -> str:
    """The path the reference documents public ``name`` of ``neuroalign.<module>`` under.

    That is ``neuroalign.<module>.<name>``, except for a function or class named like the
    submodule that defines it (``neuroalign.compare.cka``, ``neuroalign.zoo.probe``):
    the static analysis behind the site sees the submodule at that path, so the object
    is documented at its own path (``neuroalign.compare.cka.cka``).
    """
    dotted = f"neuroalign.{module}" if module else "neuroalign"
    obj = getattr(importlib.import_module(dotted), name)
    defined_in = getattr(obj, "__module__", None)
    if (isinstance(obj, type) or callable(obj)) and isinstance(defined_in, str) \
            and defined_in.rsplit(".", 1)[-1] == name:
        return f"{defined_in}.{obj.__qualname__}"
    return f"{dotted}.{name}"


def owner(path: str) -> str:
    """The documented sub-package that defines the object at ``path`` (the deepest)."""
    found = [m for m in SUBPACKAGES if path.startswith(f"neuroalign.{m}.")]
    return max(found, key=len) if found else ""


def page(root: Path, module: str) -> str:
    """The Markdown of one reference page: the module's docs, then each public name."""
    dotted = f"neuroalign.{module}" if module else "neuroalign"
    intro = ("The names a notebook needs, importable from the top level "
             "(`import neuroalign as na`); each is documented in its part's page too.\n\n"
             if not module else "")
    out = [f"# `{dotted}`\n\n{intro}::: {dotted}\n    options:\n      members: false\n"]
    for name in public_names(root, module):
        path = identifier(module, name)
        if path != f"{dotted}.{name}" and owner(path) != module:
            # documented once, on its own sub-package's page: here an anchor and a link
            out.append(f"## `{name}` {{ #{dotted}.{name} }}\n\n`{dotted}.{name}` is "
                       f"[`{path.rsplit('.', 1)[0]}`][{path}], imported on first use.\n")
            continue
        out.append(f"::: {path}\n    options:\n      show_root_heading: true"
                   f"\n      show_root_full_path: false\n")
    return "\n".join(out)


def pages(root: Path) -> dict[str, str]:
    """Every reference page, page path -> Markdown (the top level first)."""
    return {page_uri(m): page(root, m) for m in ("", *SUBPACKAGES)}
