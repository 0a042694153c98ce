"""Lazily imported public names of a package, safe from same-named submodules.

A package that exports a function on first use (module-level ``__getattr__``) and
also holds a submodule of the same name (``neuroalign.zoo.probe``, the function, in
``neuroalign/zoo/probe.py``) would lose the function the moment anything imports the
submodule: Python's import system binds the submodule as an attribute of its parent
package. :func:`lazy_exports` installs a module class that keeps that binding out,
so the exported name always means the function, while ``from package.sub import x``
(which reads ``sys.modules``) keeps working.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ["LazyExportModule", "lazy_exports"]


class LazyExportModule(ModuleType):
    """A package module whose lazily exported names submodules cannot overwrite."""

    __lazy_exports__: Mapping[str, str]

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("__lazy_exports__", {})
        if (name in exports and isinstance(value, ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            return  # the import system binding a submodule: the export keeps the name
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Make ``exports`` the lazily imported public names of ``package``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    exports
        Public name -> absolute name of the module that defines it (imported on the
        name's first use, then cached in the package).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign at the package's module level.
    """
    module = sys.modules[package]
    module.__class__ = LazyExportModule
    module.__dict__["__lazy_exports__"] = dict(exports)

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(import_module(exports[name]), name)
            module.__dict__[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(module.__dict__) | set(exports))

    return __getattr__, __dir__
