"""Where the data that ship inside the package are: the one lookup of every part.

The default synthetic sessions (``sessions/``), the trained zoo (``zoo/``) and
the example configs (``configs/``) are package data of ``neuroalign`` (the
``neuroalign/data`` folder), found through :mod:`importlib.resources`, so an
installed wheel finds them as a source checkout does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from neuroalign.core.errors import DataError

__all__ = ["package_data"]


def package_data(*parts: str) -> Path:
    """Path of the shipped data, ``package_data("sessions")`` or ``package_data()`` for all.

    Raises
    ------
    DataError
        When the package is not installed as files on disk (e.g. imported from a zip).
    """
    root = resources.files("neuroalign") / "data"
    path = Path(str(root))
    if not isinstance(root, Path) and not path.is_dir():
        raise DataError(f"package data: got {root!r}; expected neuroalign installed as files "
                        "on disk (not in a zip archive)")
    return path.joinpath(*parts)
