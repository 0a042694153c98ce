"""Packages whose public names are imported on first use.

A package ``__init__`` that imports every submodule makes ``import neuroalign.io``
(and so ``neuroalign --help``, which registers the ``io`` commands) pay for xarray,
h5py or pandas before any command runs. With :func:`lazy_exports` the package lists
its public names and the submodule defining each; a name is imported when first
read (``from neuroalign.io import load_responses`` works as before).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for a package (PEP 562).

    Parameters
    ----------
    package
        The package's ``__name__``.
    exports
        Public name -> submodule (relative to ``package``) that defines it.
    namespace
        The package's ``globals()``; a name read once is kept there.

    Returns
    -------
    (__getattr__, __dir__)
        ``__getattr__`` imports the submodule of an exported name, or a submodule
        of that name (``neuroalign.io.load``), and raises ``AttributeError`` otherwise.
    """

    clash = sorted(name for name, module in exports.items() if name == module)
    if clash:  # importing the submodule would bind the module over the name
        raise ValueError(f"{package}: {clash} share their submodule's name; import them "
                         "eagerly instead")

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
            namespace[name] = value
            return value
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}"):
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
