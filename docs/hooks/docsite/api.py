"""The API reference: one page per sub-package, listing every name of its ``__all__``.

The public names are read from the source (each sub-package's literal ``__all__``, the
top level's lazy-export table ``_LAZY``) without importing anything, so the page list
is exactly what ``from neuroalign.X import *`` gives.
"""

from __future__ import annotations

import ast
from pathlib import Path

#: the documented sub-packages, in the order of the site's navigation (the parts)
SUBPACKAGES: tuple[str, ...] = (
    "io", "simulate", "zoo", "compare", "compare.inference", "geometry", "pipeline",
    "study", "report", "batch", "core",
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


def page(root: Path, module: str) -> str:
    """The Markdown of one reference page: an mkdocstrings block with explicit members."""
    dotted = f"neuroalign.{module}" if module else "neuroalign"
    names = public_names(root, module)
    members = "\n".join(f"        - {name}" for name in names)
    intro = ("The names a notebook needs, importable from the top level "
             "(``import neuroalign as na``); each is documented where it is defined too.\n\n"
             if not module else "")
    return (f"# `{dotted}`\n\n{intro}::: {dotted}\n    options:\n      members:\n{members}\n")


def pages(root: Path) -> dict[str, str]:
    """Every reference page, page path -> Markdown (the top level first)."""
    return {page_uri(m): page(root, m) for m in ("", *SUBPACKAGES)}
