"""Sorted units: all spike times in one read, regions resolved per unit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import h5py
import numpy as np
import pandas as pd

from neuroalign.core.errors import DataError, NWBFormatError, ValidationError
from neuroalign.core.limits import check_memory
from neuroalign.io._kernels import kernels
from neuroalign.io.regions import UNKNOWN, parse_region, pick_region
from neuroalign.io.tables import (
    attr_text,
    check_index,
    column_names,
    find_by_type,
    read_column,
    read_dataset,
    table_frame,
)

__all__ = ["RegionColumn", "SpikeUnits", "count_units", "find_units_table", "read_units",
           "spike_problems"]

#: a units column holding region names, or (units column, electrodes column) to look up
RegionColumn = str | tuple[str, str]


@dataclass
class SpikeUnits:
    """All units of a file, spikes concatenated unit after unit.

    Attributes
    ----------
    unit_id
        Unit ids from the units table, shape ``(n_units,)``.
    spike_times
        Every spike time (s), unit 0's first; each unit's times ascending.
    offsets
        ``spike_times[offsets[i]:offsets[i + 1]]`` are unit ``i``'s spikes;
        shape ``(n_units + 1,)``, ``offsets[0] == 0``.
    region, region_rule
        Region name per unit and the rule that gave it (see :mod:`neuroalign.io.regions`).
    columns
        The units table's scalar columns (``id`` included).
    n_sorted
        How many units had unsorted spike times that were sorted on reading.
    """

    unit_id: np.ndarray
    spike_times: np.ndarray
    offsets: np.ndarray
    region: np.ndarray
    region_rule: np.ndarray
    columns: pd.DataFrame = field(repr=False)
    n_sorted: int = 0

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.unit_id)

    def spikes(self, i: int) -> np.ndarray:
        """Spike times of the ``i``-th unit (a view)."""
        return self.spike_times[self.offsets[i]:self.offsets[i + 1]]

    def span(self) -> tuple[float, float]:
        """First and last spike time over all units (``(nan, nan)`` without spikes)."""
        if self.spike_times.size == 0:
            return (float("nan"), float("nan"))
        starts = self.spike_times[self.offsets[:-1][np.diff(self.offsets) > 0]]
        ends = self.spike_times[self.offsets[1:][np.diff(self.offsets) > 0] - 1]
        return float(starts.min()), float(ends.max())


def find_units_table(h5: h5py.File) -> h5py.Group | None:
    """The top-level ``units`` table, else the first ``Units`` group anywhere."""
    if "units" in h5 and isinstance(h5["units"], h5py.Group):
        return h5["units"]
    found = find_by_type(h5, {"Units"})
    return found[0] if found else None


def count_units(h5: h5py.File) -> int:
    """Rows of the units table, from dataset shapes only (nothing is read); 0 without one."""
    units = find_units_table(h5)
    if units is None:
        return 0
    for name in ("id", "spike_times_index"):
        obj = units.get(name, getlink=False)
        if isinstance(obj, h5py.Dataset) and obj.ndim == 1:
            return int(obj.shape[0])
    return 1 if "spike_times" in units else 0


def _electrodes_table(units: h5py.Group) -> h5py.Group | None:
    h5 = units.file
    if "electrodes" in units and "table" in units["electrodes"].attrs:
        ref = units["electrodes"].attrs["table"]
        if isinstance(ref, h5py.Reference) and ref:
            return h5[ref]
    path = "general/extracellular_ephys/electrodes"
    return h5[path] if path in h5 else None


def _table_rows(table: h5py.Group, label: str) -> int:
    if "id" in table and isinstance(table["id"], h5py.Dataset):
        return int(table["id"].shape[0]) if table["id"].ndim else 0
    cols = column_names(table)
    if not cols:
        raise NWBFormatError(f"{label}: electrodes table {table.name} has no id and no "
                             "columns; expected a DynamicTable")
    return int(table[cols[0]].shape[0])


def _group_locations(h5: h5py.File, paths: np.ndarray) -> list[str]:
    cache: dict[str, str] = {}
    out = []
    for p in paths:
        key = str(p)
        if key not in cache:
            cache[key] = attr_text(h5[key], "location") if key and key in h5 else ""
        out.append(cache[key])
    return out


def _find_problems(times: np.ndarray, offsets: np.ndarray) -> tuple[int, np.ndarray]:
    """Index of the first NaN (-1 if none) and the units whose spikes are out of order."""
    compiled = kernels()
    if compiled is not None:
        flags = np.zeros(len(offsets) - 1, dtype=np.bool_)
        first = int(compiled["check_units"](times, offsets, flags))
        return first, np.flatnonzero(flags)
    nan = np.isnan(times)
    if nan.any():
        return int(np.flatnonzero(nan)[0]), np.zeros(0, dtype=np.int64)
    del nan
    if times.size < 2:
        return -1, np.zeros(0, dtype=np.int64)
    drops = times[1:] < times[:-1]
    inner = offsets[1:-1]
    drops[inner[(inner > 0) & (inner < times.size)] - 1] = False  # unit boundaries
    if not drops.any():
        return -1, np.zeros(0, dtype=np.int64)
    return -1, np.unique(np.searchsorted(offsets, np.flatnonzero(drops) + 1, side="right") - 1)


def _check_spikes(
    times: np.ndarray, offsets: np.ndarray, ids: np.ndarray, label: str, unsorted: str,
    row0: int = 0,
) -> int:
    first, bad_units = _find_problems(times, offsets)
    nan_unit = -1 if first < 0 else int(np.searchsorted(offsets, first, side="right") - 1)
    return spike_problems(times, offsets, ids, label, unsorted, nan_unit, bad_units, row0=row0)


def spike_problems(
    times: np.ndarray, offsets: np.ndarray, ids: np.ndarray, label: str, unsorted: str,
    nan_unit: int, bad_units: np.ndarray, row0: int = 0, sorted_already: bool = False,
) -> int:
    """Refuse NaN (``nan_unit >= 0``) or, with ``unsorted="error"``, out-of-order units.

    Otherwise sort the out-of-order units in place (unless ``sorted_already``)
    and return how many there were.

    Raises
    ------
    DataError
        NaN spike times (naming the unit); unsorted spike times with
        ``unsorted="error"``.
    """
    if nan_unit >= 0:
        nan = np.isnan(times[offsets[nan_unit]:offsets[nan_unit + 1]])
        raise DataError(
            f"{label}: units/spike_times has NaN spike times for unit id {ids[nan_unit]} "
            f"(row {row0 + nan_unit}, {int(nan.sum())} NaN); remove them before loading"
        )
    if bad_units.size == 0:
        return 0
    if unsorted == "error":
        raise DataError(
            f"{label}: units/spike_times are not sorted for unit id {ids[bad_units[0]]} "
            f"({len(bad_units)} unit(s) unsorted); pass unsorted='sort' to sort them"
        )
    if not sorted_already:
        for u in bad_units:
            times[offsets[u]:offsets[u + 1]].sort()
    return len(bad_units)


def _names(table: h5py.Group, name: str, label: str) -> np.ndarray:
    """A column of names, one per row (a 2-D or ragged column is refused)."""
    values = read_column(table, name, label)
    arr = np.asarray(values, dtype=object) if not isinstance(values, list) else None
    if arr is None or arr.ndim != 1:
        raise NWBFormatError(f"{label}: {table.name}/{name}: got a "
                             f"{'ragged' if arr is None else f'{arr.ndim}-D'} column; "
                             "expected one name per row")
    return arr


def _integer_refs(values: np.ndarray, name: str, label: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind not in "iuf":
        raise DataError(f"{label}: {name}: got {arr.dtype} values; expected electrode rows "
                        "(integers)")
    if arr.dtype.kind == "f" and arr.size and not (np.isfinite(arr).all()
                                                    and (arr == np.round(arr)).all()):
        raise DataError(f"{label}: {name}: got non-integer values; expected electrode rows")
    return arr.astype(np.int64)


def _refs_in_range(rows: np.ndarray, n_rows: int, name: str, ids: np.ndarray,
                   owner: np.ndarray | None, label: str) -> None:
    """Refuse a reference to an electrode row that does not exist (never 'unknown')."""
    bad = np.flatnonzero((rows < 0) | (rows >= n_rows))
    if bad.size:
        unit = int(bad[0]) if owner is None else int(owner[bad[0]])
        raise DataError(
            f"{label}: {name}: unit id {ids[unit]} (row {unit}) references electrode row "
            f"{int(rows[bad[0]])}; the electrodes table has {n_rows} rows, expected 0..."
            f"{n_rows - 1} ({bad.size} bad reference(s))")


def _named_column(units: h5py.Group, electrodes: h5py.Group | None, spec: RegionColumn,
                  cols: list[str], label: str, ids: np.ndarray) -> tuple[list[str], str] | None:
    if isinstance(spec, str):
        if spec not in cols:
            return None
        values = read_column(units, spec, label)
        return [pick_region(v) if isinstance(v, np.ndarray) else parse_region(v)
                for v in values], f"units.{spec}"
    ucol, ecol = spec
    if ucol not in cols or electrodes is None or ecol not in column_names(electrodes):
        return None
    channel = np.asarray(read_column(units, ucol, label))
    elec_ids = read_dataset(electrodes["id"], label) if "id" in electrodes else None
    eloc = _names(electrodes, ecol, label)
    if elec_ids is not None and np.isin(channel, elec_ids).all():
        rows = pd.Index(elec_ids).get_indexer(channel)
    else:
        rows = _integer_refs(channel, f"units/{ucol}", label)
    _refs_in_range(np.asarray(rows), len(eloc), f"units/{ucol}", ids, None, label)
    names = [parse_region(eloc[r]) for r in rows]
    return names, f"units.{ucol}->electrodes.{ecol}"


def _resolve_regions(units: h5py.Group, label: str, ids: np.ndarray,
                     region_columns: Sequence[RegionColumn]) -> tuple[np.ndarray, np.ndarray]:
    h5 = units.file
    n = len(ids)
    cols = column_names(units)
    electrodes = _electrodes_table(units)
    region = np.full(n, "", dtype=object)
    rule = np.full(n, "none", dtype=object)

    def fill(names: Sequence[str], name: str) -> None:
        todo = (region == "") & np.asarray([bool(x) for x in names], dtype=bool)
        region[todo] = np.asarray(names, dtype=object)[todo]
        rule[todo] = name

    for spec in region_columns:
        got = _named_column(units, electrodes, spec, cols, label, ids)
        if got is not None:
            fill(*got)
    if "location" in cols and (region == "").any():
        fill([parse_region(v) for v in read_column(units, "location", label)], "units.location")
    elec_rows: list[np.ndarray] | None = None
    if "electrodes" in cols and electrodes is not None:
        raw = read_column(units, "electrodes", label)
        parts = raw if isinstance(raw, list) else list(np.asarray(raw))
        sizes = [np.size(r) for r in parts]
        flat = _integer_refs(np.concatenate([np.ravel(r) for r in parts]) if parts
                             else np.zeros(0, dtype=np.int64), "units/electrodes", label)
        if len(parts) != n:
            raise NWBFormatError(f"{label}: units/electrodes has {len(parts)} rows; "
                                 f"expected {n}, one per unit")
        n_elec = _table_rows(electrodes, label)
        _refs_in_range(flat, n_elec, "units/electrodes", ids,
                       np.repeat(np.arange(n), sizes), label)
        elec_rows = np.split(flat, np.cumsum(sizes)[:-1]) if parts else []
    ecols = column_names(electrodes) if electrodes is not None else []
    if elec_rows is not None and "location" in ecols and (region == "").any():
        eloc = _names(electrodes, "location", label)
        fill([pick_region(eloc[r[(r >= 0) & (r < len(eloc))]]) for r in elec_rows],
             "electrodes.location")
    if (region == "").any():
        paths = None
        if "electrode_group" in cols:
            paths = [[p] for p in read_column(units, "electrode_group", label)]
        elif elec_rows is not None and "group" in ecols:
            egroup = np.asarray(read_column(electrodes, "group", label), dtype=object)
            paths = [list(egroup[r[(r >= 0) & (r < len(egroup))]]) for r in elec_rows]
        if paths is not None:
            fill([pick_region(_group_locations(h5, np.asarray(p, dtype=object)))
                  for p in paths], "electrode_group.location")
    region[region == ""] = UNKNOWN
    return region.astype(str), rule.astype(str)


def _unit_ids(units: h5py.Group, label: str) -> np.ndarray | None:
    """The units' ids: integers, one per unit, each once."""
    if "id" not in units:
        return None
    ds = _numeric_dataset(units, "id", label, kinds="iu")
    ids = read_dataset(ds, label).astype(np.int64)
    order = np.sort(ids, kind="stable")
    dup = order[1:][order[1:] == order[:-1]]
    if dup.size:
        raise DataError(
            f"{label}: units/id holds duplicate unit ids {np.unique(dup)[:5].tolist()} "
            f"({dup.size} repeat(s) among {ids.size} units); expected each id once")
    return ids


def _numeric_dataset(units: h5py.Group, name: str, label: str,
                     kinds: str = "iuf") -> h5py.Dataset:
    """``units/<name>`` if it is a 1-D numeric dataset, else a clear NWBFormatError."""
    obj = units.get(name, getlink=False)
    expected = "integers" if kinds == "iu" else "numbers"
    if not isinstance(obj, h5py.Dataset):
        raise NWBFormatError(f"{label}: units/{name} is a {type(obj).__name__}; expected a "
                             f"1-D dataset of {expected}")
    if obj.dtype.kind not in kinds or obj.ndim != 1:
        raise NWBFormatError(f"{label}: units/{name}: got dtype {obj.dtype} with shape "
                             f"{obj.shape}; expected a 1-D dataset of {expected}")
    return obj


def _refuse_infinite(times: np.ndarray, offsets: np.ndarray, ids: np.ndarray, label: str,
                     row0: int) -> None:
    """Refuse infinite spike times (one reduction; the NaN check comes later)."""
    total = np.add.reduce(times) if times.size else 0.0
    if np.isfinite(total) or not np.isinf(times).any():
        return
    first = int(np.flatnonzero(np.isinf(times))[0])
    unit = int(np.searchsorted(offsets, first, side="right") - 1)
    raise DataError(
        f"{label}: units/spike_times has infinite spike times for unit id {ids[unit]} "
        f"(row {row0 + unit}); expected finite times in seconds")


def _read_into(data: h5py.Dataset, out: np.ndarray, a: int, b: int, label: str) -> None:
    try:
        data.read_direct(out, np.s_[a:b], np.s_[a:b])
    except (OSError, RuntimeError) as err:
        raise NWBFormatError(
            f"{label}: cannot read {data.name} (truncated or corrupt HDF5: {err})"
        ) from None


def read_units(
    h5: h5py.File,
    label: str = "",
    region_columns: Sequence[RegionColumn] = (),
    unsorted: str = "sort",
    on_block: Callable[[np.ndarray, np.ndarray, int, int], None] | None = None,
    n_blocks: int = 8,
    check: bool = True,
    max_memory: int | str | None = None,
) -> SpikeUnits | None:
    """Read every unit's spike times in bulk and resolve its region.

    Parameters
    ----------
    h5
        An open NWB file (see :func:`neuroalign.io.open_nwb`).
    label
        Name of the source used in error messages.
    region_columns
        Region columns to try first, in order: a units column name, or
        ``(units column, electrodes column)`` to look a channel up in the
        electrodes table (by electrode id, else by row).
    unsorted
        ``"sort"`` (default): sort a unit's spike times when they are out of
        order (counted in ``n_sorted``); ``"error"``: refuse with DataError.
    on_block
        Called as ``on_block(spike_times, offsets, u0, u1)`` as soon as the
        spikes of units ``u0..u1-1`` are read and checked, so that work on them
        (binning) can start while the next block is read. The spike times are
        then read in ``n_blocks`` blocks of units; without ``on_block``, in one.
    check
        Look for NaN and out-of-order spike times (see ``unsorted``). ``False``
        leaves that to ``on_block`` (which then also sorts and sets
        ``n_sorted``, see :func:`spike_problems`).
    max_memory
        Refuse (``ResourceError``) more spike times than fit this limit
        (see :func:`neuroalign.core.limits.max_memory`), before reading them.

    Returns
    -------
    SpikeUnits or None
        ``None`` when the file has no units table.

    Raises
    ------
    NWBFormatError
        ``spike_times``, ``spike_times_index`` or ``id`` that is not a 1-D
        numeric dataset; an index that decreases, leaves the data or does not
        end at the last spike; ragged electrode references with a broken index.
    DataError
        A units table without ``spike_times``; NaN or infinite spike times
        (naming the unit); unsorted spike times with ``unsorted="error"``;
        duplicate unit ids; a reference to an electrode row that does not exist.
    ResourceError
        More spike times than the memory limit allows.
    """
    if unsorted not in ("sort", "error"):
        raise ValidationError(f"unsorted: got {unsorted!r}; expected 'sort' or 'error'")
    label = label or h5.filename
    units = find_units_table(h5)
    if units is None:
        return None
    ids = _unit_ids(units, label)
    if "spike_times" not in units:
        raise DataError(
            f"{label}: units table {units.name} has no spike_times column "
            f"(columns: {column_names(units)}); expected spike times per unit"
        )
    data = _numeric_dataset(units, "spike_times", label)
    if "spike_times_index" in units:
        index = _numeric_dataset(units, "spike_times_index", label, kinds="iu")
        raw_ends = read_dataset(index, label)
        if ids is not None and len(raw_ends) != len(ids):
            raise DataError(
                f"{label}: units/spike_times_index does not match the units table "
                f"({len(raw_ends)} index entries for {len(ids)} units)")
        ends = check_index(raw_ends, data.shape[0], "units/spike_times_index", label)
    else:  # a single unit written without index
        ends = np.asarray([data.shape[0]], dtype=np.int64)
    offsets = np.concatenate([[0], ends])
    if ids is None:
        ids = np.arange(len(ends), dtype=np.int64)
    if len(ids) != len(ends):
        raise DataError(
            f"{label}: units/spike_times_index does not match the units table "
            f"({len(ends)} index entries for {len(ids)} units)")
    check_memory(8.0 * data.shape[0], f"{label}: units/spike_times holds {data.shape[0]} "
                                      "spike times (8 bytes each)", max_memory)
    times = np.empty(data.shape[0], dtype=np.float64)
    n_sorted = 0
    blocks = 1 if on_block is None else max(1, min(int(n_blocks), len(ids)))
    bounds = np.linspace(0, len(ids), blocks + 1).astype(np.int64)
    for u0, u1 in pairwise(bounds.tolist()):
        a, b = int(offsets[u0]), int(offsets[u1])
        if b > a:
            _read_into(data, times, a, b, label)
            _refuse_infinite(times[a:b], offsets[u0:u1 + 1] - a, ids[u0:u1], label, u0)
        if check:
            n_sorted += _check_spikes(times[a:b], offsets[u0:u1 + 1] - a, ids[u0:u1], label,
                                      unsorted, row0=u0)
        if on_block is not None:
            on_block(times, offsets, u0, u1)
    region, rule = _resolve_regions(units, label, ids, region_columns)
    frame = table_frame(units, label, exclude=("spike_times",))
    return SpikeUnits(ids, times, offsets, region, rule, frame, n_sorted)
