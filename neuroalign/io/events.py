"""Every event source of an NWB file as a DataFrame, and the canonical event table.

Sources read:

- every ``TimeIntervals`` table (``intervals/trials``, ``intervals/epochs``,
  ``processing/behavior/Events``, ...), one row per interval;
- every ``BehavioralEvents`` container, one row per timestamp of each of its
  TimeSeries, with the series name in column ``event`` (and ``data`` in
  ``value`` when it is one number per timestamp);
- ``EventsTable`` tables (NWB 2.9+; ``timestamp`` becomes ``start_time``) and
  ndx-events style ``Events`` / ``TTLs`` groups with a ``timestamps`` dataset.

Each table has a ``start_time`` column (s). The canonical event table
(:func:`canonical_events`) has one row per source row with columns ``time``,
``event``, ``valence`` (nullable int), ``outcome``, ``trial``, ``source``, then
the source's own columns.
"""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

from neuroalign.core.errors import DataError
from neuroalign.io.tables import groups_by_type, neurodata_type, read_dataset, table_frame

__all__ = ["CANONICAL_COLUMNS", "canonical_events", "read_event_tables", "table_key"]

CANONICAL_COLUMNS = ("time", "event", "valence", "outcome", "trial", "source")


def table_key(group: h5py.Group) -> str:
    """Short name of an event table: ``trials`` for ``/intervals/trials``, else its path."""
    name = group.name.strip("/")
    if name.startswith("intervals/"):
        return name.split("/", 1)[1]
    return name


def _series_times(ts: h5py.Group, label: str) -> np.ndarray | None:
    if "timestamps" in ts:
        return read_dataset(ts["timestamps"], label).astype(np.float64).ravel()
    if "starting_time" in ts and "data" in ts:
        start = float(read_dataset(ts["starting_time"], label))
        rate = float(ts["starting_time"].attrs.get("rate", 0.0))
        n = ts["data"].shape[0]
        if rate > 0:
            return start + np.arange(n) / rate
    return None


def _behavioral_events(container: h5py.Group, label: str) -> pd.DataFrame:
    frames = []
    for name, ts in container.items():
        if not isinstance(ts, h5py.Group):
            continue
        times = _series_times(ts, label)
        if times is None:
            continue
        frame = pd.DataFrame({"start_time": times, "event": name})
        if "data" in ts and ts["data"].ndim == 1 and ts["data"].shape[0] == len(times):
            data = read_dataset(ts["data"], label)
            if data.dtype.kind in "fiub":
                frame["value"] = data
        frames.append(frame)
    if not frames:
        return pd.DataFrame({"start_time": np.zeros(0), "event": np.zeros(0, dtype=object)})
    return pd.concat(frames, ignore_index=True).sort_values("start_time", kind="stable",
                                                              ignore_index=True)


def read_event_tables(h5: h5py.File, label: str = "") -> dict[str, pd.DataFrame]:
    """All event tables of the file, keyed by :func:`table_key` (``trials`` first)."""
    label = label or h5.filename
    tables: dict[str, pd.DataFrame] = {}
    found = groups_by_type(h5, ("TimeIntervals", "EventsTable", "BehavioralEvents", "Events",
                                "TTLs"))
    for group in found["TimeIntervals"]:
        tables[table_key(group)] = table_frame(group, label)
    for group in found["EventsTable"]:  # NWB >= 2.9 events tables
        frame = table_frame(group, label)
        if "timestamp" in frame and "start_time" not in frame:
            frame.insert(0, "start_time", frame["timestamp"].to_numpy(dtype=float))
        tables[table_key(group)] = frame
    for group in found["BehavioralEvents"]:
        tables[table_key(group)] = _behavioral_events(group, label)
    for group in [*found["Events"], *found["TTLs"]]:
        if "timestamps" in group:
            times = read_dataset(group["timestamps"], label).astype(np.float64).ravel()
            tables[table_key(group)] = pd.DataFrame(
                {"start_time": times, "event": group.name.rsplit("/", 1)[-1]})
    order = sorted(tables, key=lambda k: (k != "trials", k))
    return {k: tables[k] for k in order}


def canonical_events(
    tables: dict[str, pd.DataFrame], valenced: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One table of every event, valenced trials first.

    Parameters
    ----------
    tables
        Output of :func:`read_event_tables`.
    valenced
        Output of :func:`neuroalign.io.profiles.apply_profile` (its rows replace
        the rows of the same source table), or ``None``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CANONICAL_COLUMNS` then the source columns; rows of tables
        without valence have ``valence`` missing (``<NA>``), ``outcome`` ``""``,
        ``event`` the series name (behavioural events) or the table name.
    """
    frames = []
    used = None
    if valenced is not None and len(valenced):
        frames.append(valenced)
        used = str(valenced["source"].iloc[0])
    for key, frame in tables.items():
        if key == used or "start_time" not in frame:
            continue
        if len(frame) and not pd.api.types.is_numeric_dtype(frame["start_time"]):
            raise DataError(f"table {key!r}: start_time: got {frame['start_time'].dtype} "
                            "values; expected times in seconds")
        src = frame.rename(columns={c: f"src_{c}" for c in frame.columns
                                    if c in CANONICAL_COLUMNS and c != "event"})
        out = pd.DataFrame({
            "time": frame["start_time"].to_numpy(dtype=float),
            "event": (frame["event"].astype(str).to_numpy() if "event" in frame
                      else np.full(len(frame), key, dtype=object)),
            "valence": pd.array([pd.NA] * len(frame), dtype="Int64"),
            "outcome": "",
            "trial": np.arange(len(frame)),
            "source": key,
        })
        frames.append(pd.concat([out, src.drop(columns=["event"], errors="ignore")], axis=1))
    if not frames:
        return pd.DataFrame({c: [] for c in CANONICAL_COLUMNS})
    events = pd.concat(frames, ignore_index=True)
    events["valence"] = events["valence"].astype("Int64")
    return events


def neurodata_types(h5: h5py.File) -> dict[str, str]:
    """Path -> neurodata_type of every typed group (for reports)."""
    out: dict[str, str] = {}

    def visit(name: str, obj: h5py.HLObject) -> None:
        if not name.startswith("specifications") and isinstance(obj, h5py.Group):
            kind = neurodata_type(obj)
            if kind:
                out[name] = kind

    h5.visititems(visit)
    return out
