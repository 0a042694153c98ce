"""Compiled inner loops (numba), used when numba is installed.

Each kernel has a numpy twin in :mod:`neuroalign.io.binning` /
:mod:`neuroalign.io.units` that gives identical results; the tests check both
against a plain loop. Kernels release the GIL so that blocks of units can run
on several threads. Compiled code is cached on disk by numba (the kernels live
at module level in :mod:`neuroalign.io._numba_kernels`, so the cache is reused
across processes).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["kernels"]


@lru_cache(maxsize=1)
def kernels() -> dict[str, Any] | None:
    """The compiled kernels, or ``None`` when numba is not installed."""
    try:
        from neuroalign.io import _numba_kernels
    except ImportError:
        return None
    return {"bin_units": _numba_kernels.bin_units, "check_units": _numba_kernels.check_units,
            "check_bin_units": _numba_kernels.check_bin_units}
