"""CSV outputs that a spreadsheet cannot turn into formulas.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read by spreadsheet programs as a formula (CSV injection). Region
names, session names and other text come from input files, so every CSV file
neuroalign writes goes through :func:`write_csv`, which prefixes such cells
with an apostrophe (the usual neutral marker, shown by no spreadsheet).
Numeric columns and text that is just a number are untouched, and binary
formats (Parquet, netCDF) keep the raw text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.core.atomic import atomic_file

__all__ = ["FORMULA_PREFIXES", "neutralise_formulas", "neutralise_text", "write_csv"]

#: first characters that make a spreadsheet evaluate a cell
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text == text.strip()


def neutralise_text(value: object) -> object:
    """``"'" + value`` when ``value`` is text starting with a formula prefix, else ``value``.

    Text that is just a number (``"-0.5"``, ``"+3"``) is left alone: a
    spreadsheet reads it as that number, never as a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) \
            and not _plain_number(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and text column names) cannot start a formula."""
    out = frame.copy()
    for col in out.columns:
        if _is_text(out[col]):
            values = out[col].to_numpy(dtype=object)
            out[col] = np.asarray([neutralise_text(v) for v in values], dtype=object)
    out.columns = [neutralise_text(c) for c in out.columns]
    if _is_text(out.index):
        out.index = pd.Index([neutralise_text(v) for v in out.index], dtype=object,
                             name=out.index.name)
    return out


def _is_text(values: pd.Series | pd.Index) -> bool:
    return pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write ``frame`` as CSV atomically, with formula prefixes neutralised.

    ``kwargs`` go to :meth:`pandas.DataFrame.to_csv` (e.g. ``index=False``).
    """
    target = Path(path)
    safe = neutralise_formulas(frame)
    with atomic_file(target, suffix=".csv") as tmp:
        safe.to_csv(tmp, **kwargs)
    return target
