"""Atomic writes: write to a temporary sibling, then rename into place.

Temporary siblings are named ``.<target>.natmp-<host>-<pid>-<random><suffix>``. A
process killed while writing leaves its temporary behind; the next atomic write
into the same folder (a later run of the same kind, or the response cache's
next store) removes every such leftover whose process, on this host, is gone
(:func:`sweep_stale`). Leftovers are never read as results: results are only
ever the final, renamed names.

Output locations are checked before any work starts (:func:`check_output_path`):
not below a file, not on ``/proc``, ``/sys`` or ``/dev``, in a writable folder.
Inputs that are not regular files (a FIFO, a device) are refused before they are
opened (:func:`check_regular_file`), so that reading never blocks.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from neuroalign.core.errors import OutputError, OutputExistsError, SourceError

__all__ = [
    "atomic_dir",
    "atomic_file",
    "check_output_path",
    "check_regular_file",
    "prepare_output_dir",
    "sweep_stale",
]

#: special filesystems no output may be written to
_SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
#: ... except these ordinary folders below them
_ORDINARY_BELOW_SPECIAL = (Path("/dev/shm"),)
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_TMP_RE = re.compile(r"^\..*\.natmp-(?P<host>[A-Za-z0-9]+)-(?P<pid>[0-9]+)-")
_swept: set[str] = set()


def _tmp_prefix(name: str) -> str:
    return f".{name}.natmp-{_HOST}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def sweep_stale(folder: str | os.PathLike[str], force: bool = False) -> list[Path]:
    """Remove the temporaries of atomic writes into ``folder`` whose process died.

    Only names made by this module on this host are touched (see the module
    docstring); the temporaries of running processes are left alone. Each
    folder is swept once per process unless ``force``.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    where = Path(folder)
    key = str(where.resolve()) if where.exists() else str(where)
    if (key in _swept and not force) or not where.is_dir():
        return []
    _swept.add(key)
    removed = []
    try:
        entries = list(os.scandir(where))
    except OSError:
        return []
    for entry in entries:
        match = _TMP_RE.match(entry.name)
        if match is None or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def _special_root(path: Path) -> Path | None:
    for ok in _ORDINARY_BELOW_SPECIAL:
        if path == ok or ok in path.parents:
            return None
    for root in _SPECIAL_ROOTS:
        if path == root or root in path.parents:
            return root
    return None


def check_output_path(path: str | os.PathLike[str], kind: str = "folder",
                      what: str = "output") -> Path:
    """Refuse an output location that cannot be written, before any work starts.

    Parameters
    ----------
    path
        The output folder (``kind="folder"``) or file (``kind="file"``).
    what
        Names the output in the message, e.g. ``"--out"``.

    Raises
    ------
    OutputError
        ``path`` lies on ``/proc``, ``/sys`` or ``/dev``; below a file; in a
        folder that is not writable; is a folder where a file is expected (or
        a FIFO, device or socket).
    """
    target = Path(path).expanduser()
    full = Path(os.path.abspath(target))
    with contextlib.suppress(OSError, RuntimeError):
        full = full.resolve()
    root = _special_root(full)
    if root is not None:
        raise OutputError(f"{what} {target}: lies on the special filesystem {root}; "
                          "expected a folder on an ordinary disk")
    if full.exists() or full.is_symlink():
        mode = full.lstat().st_mode if full.is_symlink() else full.stat().st_mode
        if kind == "file" and stat.S_ISDIR(mode):
            raise OutputError(f"{what} {target}: is a folder; expected a file name")
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            raise OutputError(f"{what} {target}: exists and is not a regular file or folder "
                              "(a FIFO, device or socket); expected a new name")
    ancestor = full.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{what} {target}: lies below {ancestor}, which is a file; "
                          "expected a path inside a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {target}: the folder {ancestor} is not writable; "
                          "expected a writable location")
    return target


def check_regular_file(path: str | os.PathLike[str], what: str = "input") -> Path:
    """Refuse anything but an existing regular file (FIFO, device, socket, folder).

    Opening a FIFO blocks until someone writes to it; this check runs on the
    file's status only, so it never blocks.

    Raises
    ------
    SourceError
        No such file, a folder, or not a regular file.
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        raise SourceError(f"{what} {str(target)!r}: no such file") from None
    except OSError as err:
        raise SourceError(f"{what} {str(target)!r}: cannot be read ({err.strerror})") from None
    if stat.S_ISDIR(mode):
        raise SourceError(f"{what} {str(target)!r}: is a folder; expected a file")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode)
                or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "special")
        raise SourceError(f"{what} {str(target)!r}: is {kind}, not a regular file; "
                          "expected a regular file")
    return target


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    target = check_output_path(path, kind="file")
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(target.name), suffix=suffix or ".tmp",
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
    OutputError
        If the folder cannot be written (see :func:`check_output_path`).
    """
    target = check_output_path(path, kind="folder", what="output folder")
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
    sweep_stale(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target.name), suffix=".tmp",
                                dir=target.parent))
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
