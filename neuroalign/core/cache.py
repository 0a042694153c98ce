"""Where neuroalign keeps what it caches on disk (imported responses, streamed chunks,
checkpoints trained on demand)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The on-disk cache folder.

    In order: ``cache_dir`` when given, ``$NEUROALIGN_CACHE``, then
    ``$XDG_CACHE_HOME/neuroalign``, then ``~/.cache/neuroalign``. Each part keeps its
    files in a sub-folder (``responses/``, ``chunks/``, ``zoo/``).
    """
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("NEUROALIGN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neuroalign"
