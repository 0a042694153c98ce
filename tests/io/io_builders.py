"""Builders of small NWB files for the io tests (imported by conftest and the tests)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from pynwb import NWBHDF5IO, NWBFile
from pynwb.behavior import BehavioralEvents
from pynwb.epoch import TimeIntervals
from pynwb.testing.mock.ophys import (
    mock_DfOverF,
    mock_Fluorescence,
    mock_ImagingPlane,
    mock_PlaneSegmentation,
    mock_RoiResponseSeries,
)


def _nwbfile(identifier: str = "test-session") -> NWBFile:
    return NWBFile(
        session_description="io test file",
        identifier=identifier,
        session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        session_id=identifier,
    )


def write_ephys(
    path: Path,
    spikes: Sequence[np.ndarray],
    trials: Mapping[str, Sequence[Any]] | None = None,
    unit_columns: Mapping[str, Sequence[Any]] | None = None,
    electrode_locations: Sequence[str] | None = None,
    unit_electrodes: Sequence[Sequence[int]] | None = None,
    group_location: str = "",
    unit_groups: bool = False,
    intervals: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    behavior_intervals: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    behavioral_events: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write a small extracellular NWB file with pynwb."""
    nwb = _nwbfile(path.stem)
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank0", description="shank",
                                       location=group_location or "placeholder", device=device)
    locations = list(electrode_locations or ["" for _ in range(4)])
    for loc in locations:  # pynwb refuses empty locations; they are blanked after writing
        nwb.add_electrode(group=group, location=loc or "placeholder")
    extra = dict(unit_columns or {})
    for name in extra:
        nwb.add_unit_column(name, f"{name} column")
    for i, st in enumerate(spikes):
        row: dict[str, Any] = {"spike_times": np.asarray(st, dtype=float)}
        row.update({k: v[i] for k, v in extra.items()})
        if unit_electrodes is not None:
            row["electrodes"] = list(unit_electrodes[i])
        if unit_groups:
            row["electrode_group"] = group
        nwb.add_unit(**row)
    if trials:
        names = [k for k in trials if k not in ("start_time", "stop_time")]
        for name in names:
            nwb.add_trial_column(name, name)
        for i in range(len(trials["start_time"])):
            nwb.add_trial(**{k: trials[k][i] for k in trials})
    for name, cols in (intervals or {}).items():
        _add_intervals(nwb, name, cols, None)
    for name, cols in (behavior_intervals or {}).items():
        module = nwb.processing.get("behavior") or nwb.create_processing_module(
            "behavior", "behaviour")
        _add_intervals(nwb, name, cols, module)
    if behavioral_events:
        from pynwb import TimeSeries

        with warnings.catch_warnings():  # still the layout of many published files
            warnings.simplefilter("ignore", UserWarning)
            be = BehavioralEvents(name="events")
        for name, times in behavioral_events.items():
            be.add_timeseries(TimeSeries(name=name, data=np.ones(len(times)), unit="n/a",
                                         timestamps=np.asarray(times, dtype=float)))
        nwb.add_acquisition(be)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with h5py.File(path, "a") as f:  # real files often carry empty locations
        ephys = f["general/extracellular_ephys"]
        ephys["shank0"].attrs["location"] = group_location
        loc = ephys["electrodes/location"]
        loc[...] = np.asarray(locations, dtype=object)
    return path


def _add_intervals(nwb: NWBFile, name: str, cols: Mapping[str, Sequence[Any]], module) -> None:
    table = TimeIntervals(name=name, description=name)
    for col in cols:
        if col not in ("start_time", "stop_time"):
            table.add_column(col, col)
    for i in range(len(cols["start_time"])):
        table.add_row(**{k: cols[k][i] for k in cols})
    if module is None:
        nwb.add_time_intervals(table)
    else:
        module.add(table)


def amygdala_trials(n_per: int = 6, neutral: int = 0, start: float = 5.0,
                    gap: float = 6.0) -> dict[str, list[Any]]:
    """An interleaved sucrose/shock(/neutral) trials table, cue 1.5 s before outcome."""
    kinds = ["sucrose", "shock"] * n_per + ["neutral"] * neutral
    t0 = start + gap * np.arange(len(kinds))
    return {
        "start_time": list(t0), "stop_time": list(t0 + 4.0),
        "cue_time": list(t0 + 1.0), "outcome_time": list(t0 + 2.5), "trial_type": kinds,
    }


def poisson_spikes(rng: np.random.Generator, n_units: int, duration: float,
                   rate: float = 20.0) -> list[np.ndarray]:
    """Homogeneous Poisson spike trains on [0, duration)."""
    out = []
    for _ in range(n_units):
        n = rng.poisson(rate * duration)
        out.append(np.sort(rng.uniform(0, duration, n)))
    return out


def write_imaging(path: Path, container: str = "DfOverF", with_timestamps: bool = True) -> Path:
    """An imaging session: 3 ROIs at 20 Hz (value = sample index x [1, 2, -1]), 8 trials."""
    nwb = NWBFile(session_description="imaging", identifier="img",
                  session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    plane = mock_ImagingPlane(nwbfile=nwb, location="brain_region: NAc; depth: 200")
    seg = mock_PlaneSegmentation(imaging_plane=plane, n_rois=3, nwbfile=nwb)
    n = 600
    data = np.tile(np.arange(n, dtype=float)[:, None], (1, 3)) * [1.0, 2.0, -1.0]
    kwargs = ({"timestamps": np.arange(n) / 20.0, "rate": None} if with_timestamps
              else {"starting_time": 0.0, "rate": 20.0})
    series = mock_RoiResponseSeries(
        name="signal", data=data, rois=seg.create_roi_table_region("all", region=[0, 1, 2]),
        nwbfile=None, **kwargs)
    maker = mock_DfOverF if container == "DfOverF" else mock_Fluorescence
    maker(series if container == "DfOverF" else [series], nwbfile=nwb)
    t0 = 2.0 + 3.0 * np.arange(8)
    nwb.add_trial_column("trial_type", "kind")
    nwb.add_trial_column("outcome_time", "outcome")
    for i, t in enumerate(t0):
        nwb.add_trial(start_time=t, stop_time=t + 2, trial_type=["sucrose", "shock"][i % 2],
                      outcome_time=t + 1.0)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path
