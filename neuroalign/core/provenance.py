"""Provenance attributes attached to every array and result neuroalign makes."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["file_sha256", "neuroalign_version", "provenance_attrs"]


@lru_cache(maxsize=1)
def neuroalign_version() -> str:
    """The installed neuroalign version (``"0+unknown"`` when run from a bare tree).

    Read once per process from the package metadata (a metadata read costs milliseconds,
    and every array neuroalign makes records the version).
    """
    try:
        return version("neuroalign")
    except PackageNotFoundError:  # pragma: no cover - only without installation
        return "0+unknown"


def provenance_attrs(**extra: Any) -> dict[str, Any]:
    """Base provenance ``attrs``: version, creation time, Python; plus ``extra``.

    Values of ``None`` are dropped; booleans are stored as ints so the attrs
    survive netCDF round trips (``synthetic=True`` becomes ``1``).
    """
    attrs: dict[str, Any] = {
        "neuroalign_version": neuroalign_version(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    for key, value in extra.items():
        if value is None:
            continue
        attrs[key] = int(value) if isinstance(value, bool) else value
    return attrs


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's whole content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
