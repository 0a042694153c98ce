"""The tutorials: the notebooks of ``notebooks/``, executed, with their outputs.

The notebooks are stored without outputs (``tests/notebooks`` checks it). Executing
all four takes longer than the site's build budget, so each executed copy is kept in
``build/notebooks/`` with a *fingerprint* of everything its outputs depend on: the
notebook itself, every file of the ``neuroalign`` package (code and shipped data) and
the versions of Python and the numerical libraries. The site uses a copy only while
its fingerprint matches; a missing or stale copy is executed again during the build.
The notebook test (``tests/notebooks``) executes every notebook with :func:`execute`
and saves the copies it has checked, so after a test run the build only renders them.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

#: the distributions whose versions can change a notebook's outputs
LIBRARIES: tuple[str, ...] = ("numpy", "scipy", "scikit-learn", "pandas", "xarray", "torch",
                              "matplotlib", "pynwb", "h5py", "rsatoolbox", "numba")
#: the folder the site reads its tutorials from, relative to the repository root (git
#: ignores build/); the executed copies are its ``tutorials/*.ipynb``
BUILD_DIR = Path("build") / "notebooks"
#: the site's folder of tutorials
SECTION = "tutorials"
#: the notebook metadata key that holds the fingerprint of an executed copy
KEY = "neuroalign_docs"
#: seconds one cell may run
CELL_TIMEOUT = 120


def notebooks(root: Path) -> list[Path]:
    """The tutorial notebooks, in order."""
    return sorted((root / "notebooks").glob("*.ipynb"))


def _package_digest(root: Path) -> str:
    digest = hashlib.sha256()
    package = root / "neuroalign"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _versions() -> str:
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return f"python {platform.python_version()}; " + "; ".join(found)


def fingerprint(path: Path, root: Path, package: str | None = None) -> str:
    """The fingerprint of notebook ``path``'s outputs.

    ``package`` is the package's digest when already computed for another notebook.
    """
    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    digest.update((package or _package_digest(root)).encode())
    digest.update(_versions().encode())
    return digest.hexdigest()


def executed_path(path: Path, root: Path) -> Path:
    """Where the executed copy of notebook ``path`` is kept."""
    return root / BUILD_DIR / SECTION / path.name


def execute(path: Path, workdir: Path, root: Path) -> tuple[Any, float]:
    """Execute notebook ``path`` top to bottom; return it with outputs, and the seconds.

    The kernel runs in ``workdir`` with its own neuroalign cache there, imports the
    package of the checkout ``root`` (first on its ``PYTHONPATH``, whatever else is
    installed) and uses the inline matplotlib backend (figures become outputs). A cell
    that raises stops it with ``nbclient.exceptions.CellExecutionError``.
    """
    import nbformat
    from nbclient import NotebookClient

    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env["NEUROALIGN_CACHE"] = str(workdir / "cache")
    env.pop("MPLBACKEND", None)  # the kernel's inline backend shows figures
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env)
    return notebook, time.perf_counter() - start


def save_executed(notebook: Any, path: Path, root: Path, stamp: str) -> Path:
    """Keep the executed ``notebook`` (of source ``path``) with fingerprint ``stamp``."""
    import nbformat

    from neuroalign.core.atomic import atomic_file

    notebook.metadata[KEY] = {"fingerprint": stamp}
    target = executed_path(path, root)
    with atomic_file(target, suffix=".ipynb") as tmp:
        nbformat.write(notebook, tmp)
    return target


def is_fresh(path: Path, root: Path, stamp: str) -> bool:
    """Whether the executed copy of ``path`` exists and carries fingerprint ``stamp``."""
    import nbformat

    copy = executed_path(path, root)
    if not copy.is_file():
        return False
    try:
        notebook = nbformat.read(copy, as_version=4)
    except (OSError, ValueError):
        return False
    return notebook.metadata.get(KEY, {}).get("fingerprint") == stamp


def ensure_executed(paths: Sequence[Path], root: Path,
                    jobs: int | None = None) -> tuple[list[Path], list[str]]:
    """Executed copies of ``paths``, running only the missing or stale ones.

    Returns the copies (in the order of ``paths``) and the names that were executed.
    The stale notebooks run in parallel, ``jobs`` at a time (default: one per CPU).
    """
    package = _package_digest(root)
    stamps = {path: fingerprint(path, root, package) for path in paths}
    stale = [path for path in paths if not is_fresh(path, root, stamps[path])]

    def run(path: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="neuroalign-docs-") as work:
            notebook, _ = execute(path, Path(work), root)
        save_executed(notebook, path, root, stamps[path])

    if stale:
        workers = max(1, min(len(stale), jobs or os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, stale))
    return [executed_path(path, root) for path in paths], [path.name for path in stale]
