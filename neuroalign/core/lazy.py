"""Packages whose public names are imported on first use, safe from same-named submodules.

A package ``__init__`` that imports every submodule makes ``import neuroalign.io``
(and so ``neuroalign --help``, which registers the ``io`` commands) pay for xarray,
h5py or pandas before any command runs. With :func:`lazy_exports` the package lists
its public names and the module defining each; a name is imported when first read
(``from neuroalign.io import load_responses`` works as before).

A package that exports a function under the name of one of its submodules
(``neuroalign.zoo.probe``, the function, in ``neuroalign/zoo/probe.py``) would lose the
function the moment anything imports the submodule: Python's import system binds the
submodule as an attribute of its parent package. :func:`lazy_exports` installs a module
class that keeps that binding out, so the exported name always means the function,
while ``from package.sub import x`` (which reads ``sys.modules``) keeps working.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
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


def _module_name(package: str, module: str) -> str:
    """The absolute name of ``module``: as given when inside ``package``, else relative."""
    return module if module.startswith(f"{package}.") or module == package \
        else f"{package}.{module}"


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Make ``exports`` the lazily imported public names of ``package`` (PEP 562).

    Parameters
    ----------
    package
        The package's ``__name__`` (the package must already be in ``sys.modules``,
        as it is while its ``__init__`` runs).
    exports
        Public name -> module that defines it: an absolute name inside ``package``
        (``neuroalign.zoo.probe``) or a name relative to it (``load``). Imported on
        the name's first use, then kept in the package.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign at the package's module level.
        ``__getattr__`` imports the module of an exported name, or a submodule of that
        name (``neuroalign.io.load``), and raises ``AttributeError`` otherwise.
    """
    module = sys.modules[package]
    module.__class__ = LazyExportModule
    targets = {name: _module_name(package, mod) for name, mod in exports.items()}
    module.__dict__["__lazy_exports__"] = targets

    def __getattr__(name: str) -> Any:
        if name in targets:
            value = getattr(importlib.import_module(targets[name]), name)
            module.__dict__[name] = value
            return value
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}"):
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(module.__dict__) | set(targets))

    return __getattr__, __dir__
