"""Atomic writes: write to a temporary sibling, then rename into place."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from neuroalign.core.errors import OutputExistsError

__all__ = ["atomic_dir", "atomic_file", "prepare_output_dir"]


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp",
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o644)  # mkstemp makes owner-only files; outputs are meant to be shared
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def prepare_output_dir(path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Check that ``path`` may be written as an output folder.

    It may not exist yet, or be empty; with ``overwrite=True`` it may hold content.

    Raises
    ------
    OutputExistsError
        If the folder exists with content and ``overwrite`` is false, or is a file.
    """
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise OutputExistsError(f"output folder {target}: exists and is a file")
        if any(target.iterdir()) and not overwrite:
            raise OutputExistsError(
                f"output folder {target}: exists and is not empty "
                f"({sorted(p.name for p in target.iterdir())[:5]}); choose a new folder "
                "or replace it with --overwrite (overwrite=True in Python)"
            )
    return target


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it to ``path`` on success.

    With ``overwrite=True`` an existing ``path`` is replaced only once the new
    content is complete. On failure the temporary folder is removed.
    """
    target = prepare_output_dir(path, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
