"""A griffe extension: the Sphinx roles of numpydoc docstrings as site cross-references.

neuroalign's docstrings follow numpydoc and name other objects with Sphinx roles
(:func:`evaluate`, :data:`~neuroalign.core.vocabulary.RDM_METHODS`). mkdocstrings reads
Markdown, so this extension rewrites each role once the package is loaded:

* a name that resolves to an object of neuroalign (in the scope of the docstring's
  object, or as a full ``neuroalign.`` path) becomes an *optional* cross-reference:
  a link where the object has a page, plain code where it has none (a private helper);
* a ``neuroalign.`` name, or a short name, that resolves to nothing becomes a
  *required* cross-reference, so the build fails on it ("Could not find
  cross-reference target"): a renamed or deleted object cannot stay named in the docs;
* a name outside neuroalign (``xarray.DataArray``) stays plain code: the site is built
  offline, without other projects' inventories.

It also turns the reStructuredText literal-block marker ``::`` and ``.. math::`` into
plain Markdown code blocks.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import griffe

#: a Sphinx role with an object target, e.g. :func:`~neuroalign.io.load_responses`
ROLE = re.compile(r":(?:py:)?(?P<role>func|class|data|mod|meth|attr|exc|obj|const):"
                  r"`(?P<tilde>~?)(?P<target>[A-Za-z_][\w.]*)(?:\(\))?`")
_LITERAL = re.compile(r"(?<=\S)::[ \t]*\n(?=[ \t]*\n)")
_MATH = re.compile(r"^([ \t]*)\.\. math::[ \t]*$", re.MULTILINE)
PACKAGE = "neuroalign"


def _exists(collection: griffe.ModulesCollection, path: str) -> bool:
    try:
        collection.get_member(path)
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


def resolve_role(obj: griffe.Object | griffe.Alias, target: str,
                 collection: griffe.ModulesCollection, role: str = "obj") -> tuple[str, bool]:
    """Return ``(path, found)`` for a role's target named in ``obj``'s docstring.

    ``path`` is the full dotted path the target refers to (the name as written when it
    cannot be resolved); ``found`` says whether it names an object of the package, or
    is external (``found`` is then True and ``path`` does not start with the package).
    """
    head, _, rest = target.partition(".")
    if head == PACKAGE:
        return target, _exists(collection, target)
    try:
        base = obj.resolve(head)
    except griffe.NameResolutionError:
        base = None
    if base is None:
        if "." in target:  # e.g. np.ndarray, xarray.DataArray: outside the package
            return target, True
        if hasattr(builtins, target) or role == "mod":  # ValueError; :mod:`remfile`
            return target, True
        # a bare name: a member of an enclosing object (e.g. a class's method)
        parent = obj if obj.is_module else obj.parent
        while parent is not None:
            candidate = f"{parent.path}.{target}"
            if _exists(collection, candidate):
                return candidate, True
            parent = parent.parent
        return target, False
    path = f"{base}.{rest}" if rest else base
    if not path.startswith(PACKAGE + "."):
        return path, True
    return path, _exists(collection, path)


def rewrite(text: str, obj: griffe.Object | griffe.Alias,
            collection: griffe.ModulesCollection) -> str:
    """The docstring ``text`` of ``obj`` with its Sphinx roles as cross-references."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"]
        shown = target.rsplit(".", 1)[-1] if match["tilde"] else target
        if match["role"] in ("func", "meth"):
            shown += "()"
        path, found = resolve_role(obj, target, collection, match["role"])
        if not found:
            return f"[`{shown}`][{target}]"  # required: the build reports it
        if not path.startswith(PACKAGE + ".") and path != PACKAGE:
            return f"`{shown}`"
        return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'

    text = ROLE.sub(replace, text)
    text = _MATH.sub(r"\1", text)
    return _LITERAL.sub(":\n", text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite once the whole package is loaded, so every name can be resolved."""
        collection = pkg.modules_collection
        seen: set[int] = set()

        def walk(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, collection)
            for member in obj.members.values():
                if not member.is_alias:
                    walk(member)  # type: ignore[arg-type]

        walk(pkg)
