"""Read NWB dynamic tables straight from HDF5, in bulk.

Reading at the h5py level (rather than building pynwb objects) keeps remote
streaming to the few datasets a call needs and works on every NWB 2.x layout:
column names come from the ``colnames`` attribute, ragged columns from their
``<name>_index`` VectorIndex, table regions from ``DynamicTableRegion`` columns.
Strings (fixed or variable length, bytes or str) come back as Python ``str``.
"""

from __future__ import annotations

from collections.abc import Iterable

import h5py
import numpy as np
import pandas as pd

from neuroalign.core.errors import NWBFormatError

__all__ = [
    "attr_text",
    "check_index",
    "column_names",
    "find_by_type",
    "groups_by_type",
    "neurodata_type",
    "read_column",
    "read_dataset",
    "table_frame",
    "text",
]


def text(value: object) -> str:
    """``value`` as a stripped ``str`` (bytes decoded as UTF-8, ``None`` -> ``""``)."""
    if value is None:
        return ""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace").strip()
    if isinstance(value, np.ndarray) and value.shape == ():
        return text(value[()])
    return str(value).strip()


def attr_text(obj: h5py.HLObject, name: str, default: str = "") -> str:
    """An HDF5 attribute as text, or ``default`` when absent."""
    if name not in obj.attrs:
        return default
    return text(obj.attrs[name])


def neurodata_type(obj: h5py.HLObject) -> str:
    """The NWB ``neurodata_type`` of an HDF5 object, ``""`` when it has none."""
    return attr_text(obj, "neurodata_type")


def read_dataset(ds: h5py.Dataset, label: str = "") -> np.ndarray:
    """Read a whole dataset in one request; corrupt storage becomes NWBFormatError.

    A group where a dataset is expected is an NWBFormatError too.
    """
    if not isinstance(ds, h5py.Dataset):
        where = label or getattr(getattr(ds, "file", None), "filename", "file")
        raise NWBFormatError(f"{where}: {getattr(ds, 'name', ds)} is a {type(ds).__name__}; "
                             "expected a dataset")
    try:
        data = ds[()]
    except (OSError, RuntimeError) as err:
        raise NWBFormatError(
            f"{label or ds.file.filename}: cannot read {ds.name} (truncated or corrupt HDF5: "
            f"{err})"
        ) from None
    if isinstance(data, np.ndarray) and data.dtype.kind in "OS" and data.size:
        if h5py.check_string_dtype(ds.dtype) is not None or isinstance(
            data.flat[0], (bytes, str)
        ):
            return np.asarray([text(v) for v in data.ravel()], dtype=object).reshape(data.shape)
    return np.asarray(data)


def check_index(ends: np.ndarray, n_data: int, name: str, label: str = "") -> np.ndarray:
    """A VectorIndex as ``int64`` ends, checked in one vectorised pass.

    Row ``i`` of a ragged column is ``data[ends[i - 1]:ends[i]]`` (``ends[-1] = 0``
    before the first row), so the ends must be integers, non-decreasing, at least 0
    and end at ``n_data``. A crafted entry beyond the data would otherwise make the
    compiled kernels read out of bounds; a decreasing entry would hand one row's
    values to its neighbours.

    Raises
    ------
    NWBFormatError
        Not a 1-D integer array, an entry that decreases or lies outside
        ``0..n_data``, a last entry other than ``n_data``.
    """
    arr = np.asarray(ends)
    where = f"{label}: {name}" if label else name
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise NWBFormatError(f"{where}: got dtype {arr.dtype} with shape {arr.shape}; "
                             "expected a 1-D integer index")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise NWBFormatError(f"{where}: entry {int(arr.argmax())} is {arr.max()}; expected "
                             f"ends within 0..{n_data}")
    out = arr.astype(np.int64)
    if out.size == 0:
        if n_data:
            raise NWBFormatError(f"{where}: empty, but the data hold {n_data} values; "
                                 "expected one end per row")
        return out
    steps = np.diff(out, prepend=0)
    bad = np.flatnonzero((steps < 0) | (out > n_data))
    if bad.size:
        i = int(bad[0])
        before = f" after {int(out[i - 1])}" if i else ""
        raise NWBFormatError(
            f"{where}: entry {i} is {int(out[i])}{before}; expected non-decreasing ends "
            f"within 0..{n_data} ({bad.size} bad entr{'y' if bad.size == 1 else 'ies'})")
    if out[-1] != n_data:
        raise NWBFormatError(f"{where}: last entry is {int(out[-1])}; expected {n_data}, "
                             "the length of the data it indexes")
    return out


def find_by_type(h5: h5py.File, types: Iterable[str]) -> list[h5py.Group]:
    """All groups whose ``neurodata_type`` is in ``types`` (hard links only, no specs)."""
    return [g for groups in groups_by_type(h5, types).values() for g in groups]


def groups_by_type(h5: h5py.File, types: Iterable[str]) -> dict[str, list[h5py.Group]]:
    """Groups of each wanted ``neurodata_type``, found in one walk of the file."""
    wanted = list(types)
    found: dict[str, list[h5py.Group]] = {t: [] for t in wanted}

    def visit(name: str, obj: h5py.HLObject) -> None:
        if name.startswith("specifications") or not isinstance(obj, h5py.Group):
            return
        kind = neurodata_type(obj)
        if kind in found:
            found[kind].append(obj)

    h5.visititems(visit)
    return found


def column_names(group: h5py.Group) -> list[str]:
    """Column names of a DynamicTable, in file order (``colnames`` attribute)."""
    if "colnames" in group.attrs:
        names = [text(n) for n in np.atleast_1d(group.attrs["colnames"])]
        return [n for n in names if n in group]
    skip = {"id"}
    return [k for k in group if k not in skip and not k.endswith("_index")
            and isinstance(group[k], h5py.Dataset)]


def _index(group: h5py.Group, name: str) -> h5py.Dataset | None:
    key = f"{name}_index"
    return group[key] if key in group else None


def read_column(
    group: h5py.Group, name: str, label: str = "", resolve_refs: bool = True
) -> np.ndarray | list[np.ndarray]:
    """One column of a DynamicTable.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        A flat array for a plain column; a list with one array per row for a
        ragged column (split on its VectorIndex in one pass). Object references
        are returned as the referenced object's path when ``resolve_refs``.
    """
    ds = group[name]
    data = read_dataset(ds, label)
    if data.ndim == 0:
        raise NWBFormatError(f"{label or group.file.filename}: {ds.name}: got a single value "
                             "(a scalar dataset); expected a column, one value per row")
    if data.dtype == object and data.size and isinstance(data.flat[0], h5py.Reference):
        if resolve_refs:
            data = np.asarray(
                [ds.file[r].name if r else "" for r in data.ravel()], dtype=object
            ).reshape(data.shape)
    idx = _index(group, name)
    if idx is None:
        return data
    where = label or group.file.filename
    offsets = check_index(read_dataset(idx, label), len(data), f"{group.name}/{name}_index",
                          where)
    outer = _index(group, f"{name}_index")
    if outer is not None:  # doubly ragged: each row gets its inner lists flattened
        outer_off = check_index(read_dataset(outer, label), len(offsets),
                                f"{group.name}/{name}_index_index", where)
        offsets = np.where(outer_off > 0, offsets[np.maximum(outer_off - 1, 0)], 0)
    return np.split(data, offsets[:-1]) if offsets.size else []


def table_frame(
    group: h5py.Group, label: str = "", exclude: Iterable[str] = ()
) -> pd.DataFrame:
    """A DynamicTable as a DataFrame of its scalar columns.

    Ragged string columns (e.g. ``tags``) are joined with ``","``; other ragged
    columns, compound columns (TimeSeries references) and multi-dimensional
    columns are left out. The table's ``id`` becomes a column named ``id``.
    Columns in ``exclude`` and ragged numeric columns are never read.
    """
    skip = set(exclude)
    columns: dict[str, object] = {}
    n_rows = None
    if "id" in group:
        ids = read_dataset(group["id"], label)
        if ids.ndim != 1:
            raise NWBFormatError(f"{label or group.file.filename}: {group.name}/id: got shape "
                                 f"{ids.shape}; expected one id per row (1-D)")
        columns["id"] = ids
        n_rows = len(ids)
    for name in column_names(group):
        if name in skip:
            continue
        ds = group[name]
        if not isinstance(ds, h5py.Dataset):
            raise NWBFormatError(f"{label or group.file.filename}: {group.name}/{name} is a "
                                 f"{type(ds).__name__}; expected a dataset column")
        if ds.dtype.names is not None or ds.ndim != 1:
            continue
        if _index(group, name) is not None and h5py.check_string_dtype(ds.dtype) is None:
            continue
        value = read_column(group, name, label)
        if isinstance(value, list):
            if all(v.dtype == object for v in value if v.size):
                value = np.asarray([",".join(map(str, v)) for v in value], dtype=object)
            else:
                continue
        if n_rows is not None and len(value) != n_rows:
            continue
        columns[name] = value
        n_rows = len(value)
    return pd.DataFrame(columns)
