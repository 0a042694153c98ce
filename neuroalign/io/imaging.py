"""Optical physiology: ROI and fiber signals as units.

A series is a ``RoiResponseSeries`` under a ``DfOverF`` or ``Fluorescence``
container (``DfOverF`` preferred), else a ``FiberPhotometryResponseSeries``
(ndx-fiber-photometry). Its sample times come from ``timestamps`` or from
``starting_time`` and its ``rate`` attribute. Each ROI (or fiber channel)
becomes a unit. ROI ids are the plane segmentation's row ids and their region
is the location of the segmentation's imaging plane (rule
``imaging_plane.location``); a fiber's region is the ``location`` of its row in
the fiber photometry table (rule ``fiber.location``).
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from neuroalign.core.errors import DataError, NWBFormatError
from neuroalign.core.limits import check_memory
from neuroalign.io.regions import UNKNOWN, parse_region
from neuroalign.io.tables import attr_text, find_by_type, read_dataset, text

__all__ = ["RoiSignals", "find_roi_series", "read_imaging"]


@dataclass
class RoiSignals:
    """Sampled ROI signals.

    Attributes
    ----------
    unit_id, region, region_rule
        Per ROI.
    timestamps
        Sample times (s), ``(n_samples,)``.
    data
        ``(n_samples, n_rois)``.
    name
        Path of the series in the file.
    unit
        Unit of the values (the series' ``unit`` attribute).
    """

    unit_id: np.ndarray
    region: np.ndarray
    region_rule: np.ndarray
    timestamps: np.ndarray
    data: np.ndarray
    name: str
    unit: str

    @property
    def n_units(self) -> int:
        """Number of ROIs."""
        return len(self.unit_id)

    def span(self) -> tuple[float, float]:
        """First and last sample time."""
        if self.timestamps.size == 0:
            return (float("nan"), float("nan"))
        return float(self.timestamps[0]), float(self.timestamps[-1])


def find_roi_series(h5: h5py.File) -> list[h5py.Group]:
    """RoiResponseSeries inside DfOverF, then Fluorescence; then fiber photometry series."""
    found = []
    for kind in ("DfOverF", "Fluorescence"):
        for container in find_by_type(h5, {kind}):
            for child in container.values():
                if isinstance(child, h5py.Group) and attr_text(
                        child, "neurodata_type") == "RoiResponseSeries":
                    found.append(child)
    found.extend(find_by_type(h5, {"FiberPhotometryResponseSeries"}))
    return found


def _fiber_locations(series: h5py.Group, n: int) -> tuple[np.ndarray | None, list[str]]:
    """Ids and locations of the fibers behind a fiber photometry series (ndx-fiber-photometry)."""
    region = next((series[k] for k in series if k.startswith("fiber_photometry_table_region")
                   and "table" in series[k].attrs), None)
    if region is None:
        return None, [""] * n
    table = series.file[region.attrs["table"]]
    rows = read_dataset(region).astype(np.int64)
    locations = (read_dataset(table["location"]) if "location" in table
                 else np.full(len(rows), "", dtype=object))
    ids = read_dataset(table["id"]).astype(np.int64) if "id" in table else rows
    rows = _checked_rows(rows, min(len(ids), len(locations)), region.name, series.file.filename)
    return ids[rows], [parse_region(locations[r]) for r in rows]


def _rate(starting_time: h5py.Dataset, label: str) -> float:
    """The sampling rate (Hz); 0 when absent; refused when not a finite positive number."""
    raw = starting_time.attrs.get("rate", 0)
    try:
        rate = float(raw)
    except (TypeError, ValueError):
        rate = float("nan")
    if not np.isfinite(rate) or rate < 0:
        shown = raw.item() if isinstance(raw, np.generic) else raw
        raise DataError(f"{label}: {starting_time.name} rate: got {shown!r}; expected a finite "
                        "sampling rate in Hz")
    return rate


def _plane_location(series: h5py.Group) -> tuple[np.ndarray | None, str]:
    if "rois" not in series or "table" not in series["rois"].attrs:
        return None, ""
    seg = series.file[series["rois"].attrs["table"]]
    ids = (read_dataset(_series_dataset(seg, "id", seg.file.filename, (1,)))
           .astype(np.int64) if "id" in seg else None)
    location = ""
    if "imaging_plane" in seg:
        plane = seg["imaging_plane"]
        if "location" in plane:
            location = parse_region(text(read_dataset(plane["location"])))
        else:
            location = parse_region(attr_text(plane, "location"))
    return ids, location


def _series_dataset(group: h5py.Group, name: str, label: str, ndims: tuple[int, ...]
                    ) -> h5py.Dataset:
    obj = group.get(name, getlink=False)
    if not isinstance(obj, h5py.Dataset) or obj.dtype.kind not in "iuf" \
            or obj.ndim not in ndims:
        found = (f"dtype {obj.dtype} with shape {obj.shape}" if isinstance(obj, h5py.Dataset)
                 else f"a {type(obj).__name__}")
        raise NWBFormatError(f"{label}: {group.name}/{name}: got {found}; expected a numeric "
                             f"dataset with {' or '.join(map(str, ndims))} dimension(s)")
    return obj


def _check_times(ts: np.ndarray, where: str, label: str) -> None:
    """Sample times must be finite and ascending (binning searches them)."""
    if not np.isfinite(ts).all():
        raise DataError(f"{label}: {where}: {int((~np.isfinite(ts)).sum())} sample time(s) are "
                        "NaN or infinite; expected finite times in seconds")
    drops = np.flatnonzero(ts[1:] < ts[:-1])
    if drops.size:
        i = int(drops[0]) + 1
        raise DataError(f"{label}: {where}: sample {i} at {ts[i]:g} s comes before sample "
                        f"{i - 1} at {ts[i - 1]:g} s; expected ascending sample times")


def _checked_rows(rows: np.ndarray, n: int, where: str, label: str) -> np.ndarray:
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise DataError(f"{label}: {where}: references row {int(rows[(rows < 0) | (rows >= n)][0])}"
                        f"; the table has {n} rows, expected 0...{n - 1}")
    return rows


def read_imaging(h5: h5py.File, label: str = "", series: str | None = None,
                 max_memory: int | str | None = None) -> RoiSignals | None:
    """Read one RoiResponseSeries (``series``: a path or a unique name; else the first one).

    Returns
    -------
    RoiSignals or None
        ``None`` when the file has no ROI series.

    Raises
    ------
    NWBFormatError
        ``series`` is not in the file (the message lists the series found), the
        series has neither timestamps nor starting_time with a rate, or its time
        axis does not match its data; ``data``, ``timestamps`` or ``rois`` that
        are not numeric datasets of the expected dimensions.
    DataError
        Sample times that are not finite or not ascending; a rate that is not a
        finite positive number; ROI or fiber rows outside their table.
    ResourceError
        Data larger than the memory limit (``max_memory``).
    """
    label = label or h5.filename
    if series is not None:
        found = find_roi_series(h5)
        # a full path, or the name of one series (e.g. an exported agent's layer)
        named = [g for g in found if g.name.rsplit("/", 1)[-1] == series]
        if series in h5:
            group = h5[series]
        elif len(named) == 1:
            group = named[0]
        else:
            raise NWBFormatError(
                f"{label}: imaging series: got {series!r}; expected one of "
                f"{[g.name for g in found] or 'none'} (a path, or a name that is unique)"
            )
    else:
        candidates = find_roi_series(h5)
        if not candidates:
            return None
        group = candidates[0]
    data_ds = _series_dataset(group, "data", label, (1, 2))
    check_memory(8.0 * data_ds.size, f"{label}: {group.name}/data holds {data_ds.shape} "
                                     "samples (8 bytes each)", max_memory)
    data = read_dataset(data_ds, label).astype(np.float64)
    if data.ndim == 1:
        data = data[:, None]
    n = data.shape[0]
    if "timestamps" in group:
        ts = read_dataset(_series_dataset(group, "timestamps", label, (1,)),
                          label).astype(np.float64)
        _check_times(ts, f"{group.name}/timestamps", label)
    elif "starting_time" in group and _rate(group["starting_time"], label) > 0:
        rate = _rate(group["starting_time"], label)
        start = read_dataset(_series_dataset(group, "starting_time", label, (0,)), label)
        if not np.isfinite(start):
            raise DataError(f"{label}: {group.name}/starting_time: got {float(start)}; "
                            "expected a finite time in seconds")
        ts = float(start) + np.arange(n) / rate
    else:
        raise NWBFormatError(
            f"{label}: imaging series {group.name} has no timestamps and no "
            "starting_time with a rate"
        )
    if len(ts) != n:
        raise NWBFormatError(
            f"{label}: imaging series {group.name} has {len(ts)} timestamps for {n} samples"
        )
    n_roi = data.shape[1]
    if attr_text(group, "neurodata_type") == "FiberPhotometryResponseSeries":
        ids, names = _fiber_locations(group, n_roi)
        rule_name = "fiber.location"
    else:
        ids, location = _plane_location(group)
        names = [location] * n_roi
        rule_name = "imaging_plane.location"
        if ids is not None and len(ids) >= n_roi and "rois" in group:
            rows = read_dataset(_series_dataset(group, "rois", label, (1,)),
                                label).astype(np.int64)
            rows = _checked_rows(rows, len(ids), f"{group.name}/rois", label)
            ids = ids[rows] if len(rows) == n_roi else ids[:n_roi]
    if ids is None or len(ids) != n_roi:
        ids = np.arange(n_roi, dtype=np.int64)
    if len(names) != n_roi:
        names = [""] * n_roi
    region = np.asarray([n or UNKNOWN for n in names], dtype=object).astype(str)
    rule = np.asarray([rule_name if n else "none" for n in names], dtype=object)
    return RoiSignals(np.asarray(ids, dtype=np.int64), region, rule.astype(str), ts, data,
                      group.name, attr_text(group["data"], "unit", "a.u."))
