"""One call from a source to labelled responses, and a summary of a source."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.core.contracts import DEFAULT_BIN_SIZE, DEFAULT_WINDOW
from neuroalign.core.errors import DataError, NWBFormatError, ProfileError, ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.io._kernels import kernels
from neuroalign.io._streaming import StreamBinner, bin_with_progress, status
from neuroalign.io.accounting import TrialAccount
from neuroalign.io.binning import (
    SIGNAL_CELL_BYTES,
    SPIKE_CELL_BYTES,
    bin_centres,
    bin_edges,
    bin_signals,
    check_response_memory,
)
from neuroalign.io.events import canonical_events, read_event_tables
from neuroalign.io.imaging import RoiSignals, read_imaging
from neuroalign.io.profiles import (
    PROFILES,
    Profile,
    align_column,
    apply_profile,
    describe_profile,
    detect_profile,
    generic_profile,
    get_profile,
    with_mapping,
)
from neuroalign.io.regions import group_regions
from neuroalign.io.source import ResolvedSource, open_nwb, resolve_source
from neuroalign.io.span import invalid_overlap, recording_span
from neuroalign.io.store import cache_key, cache_path, load_store, save_store
from neuroalign.io.tables import read_dataset, text
from neuroalign.io.units import (
    RegionColumn,
    SpikeUnits,
    count_units,
    read_units,
    spike_problems,
)

__all__ = ["TRIAL_COORDS", "approach_unit", "inspect_source", "load_responses",
           "resolve_profile", "trial_coords"]

#: numeric trial-table columns kept as ``trial`` coords when the table has them (the
#: stimulus of a two-choice contrast task, which :func:`neuroalign.io.contrast_grid` reads)
TRIAL_COORDS: tuple[str, ...] = ("contrast_left", "contrast_right")


def resolve_profile(
    profile: str | Profile,
    tables: Mapping[str, pd.DataFrame],
    unit_columns: Sequence[str] = (),
    mapping: Mapping[str, Mapping[object, int | str | None]] | None = None,
    label: str = "",
) -> tuple[Profile, str]:
    """Turn ``"auto"``, a profile name or a Profile into a Profile and the reason for it.

    A ``mapping`` with ``"generic"`` (or with ``"auto"`` when no built-in
    profile fits) makes a generic profile; with a built-in profile (named, or
    detected by ``"auto"``) it is merged over the profile's own label map
    (:func:`neuroalign.io.profiles.with_mapping`).

    Raises
    ------
    ProfileError
        ``"auto"`` finds nothing (the message lists the candidate columns seen),
        an unknown name, ``"generic"`` without a mapping.
    """
    if isinstance(profile, Profile):
        return (with_mapping(profile, mapping), "given, with the user mapping") if mapping \
            else (profile, "given")
    if mapping is not None and profile == "generic":
        return generic_profile(mapping), f"user mapping {dict(mapping)}"
    if profile == "generic":
        raise ProfileError("profile 'generic' needs a mapping {column: {value: valence}}")
    if profile == "auto":
        found, reason = detect_profile(tables, unit_columns)
        if found is None and mapping is not None:
            return generic_profile(mapping), f"user mapping {dict(mapping)}"
        if found is None:
            raise ProfileError(f"{label}: cannot choose a profile: {reason}")
    else:
        found, reason = get_profile(profile), "asked for"
    if mapping is not None:
        return with_mapping(found, mapping), f"{reason}; with the user mapping {dict(mapping)}"
    return found, reason


def _session_name(h5: Any, source: str) -> str:
    if "general/session_id" in h5:
        name = text(read_dataset(h5["general/session_id"]))
        if name:
            return name
    stem = Path(source.split("?")[0]).name
    return stem[:-4] if stem.endswith(".nwb") else stem


def _is_synthetic(h5: Any) -> int:
    if "synthetic" in h5.attrs:
        return int(bool(h5.attrs["synthetic"]))
    for path in ("general/notes", "general/data_collection", "general/source_script",
                 "session_description"):
        if path in h5 and "synthetic" in text(read_dataset(h5[path])).lower():
            return 1
    return 0


def _read_signal(h5: Any, label: str, region_columns: Sequence[RegionColumn], unsorted: str,
                 imaging_series: str | None,
                 on_block: Callable[[np.ndarray, np.ndarray, int, int], None] | None = None,
                 max_memory: int | str | None = None) -> SpikeUnits | RoiSignals:
    # a StreamBinner checks (and sorts) the spikes in the same pass as it bins them
    units = read_units(h5, label, region_columns, unsorted, on_block=on_block,
                       check=on_block is None, max_memory=max_memory)
    if units is not None and units.n_units > 0:
        if units.spike_times.size == 0:
            raise DataError(
                f"{label}: units/spike_times is empty: none of the {units.n_units} units has "
                "a spike; expected spike times (an all-zero response would mislead)")
        return units
    roi = read_imaging(h5, label, imaging_series, max_memory=max_memory)
    if roi is not None:
        return roi
    raise NWBFormatError(
        f"{label}: no units and no imaging (no units table with rows, no RoiResponseSeries "
        "under Fluorescence or DfOverF); nothing to bin"
    )


def _finite_events(events: pd.DataFrame, column: str, account: TrialAccount,
                   label: str = "") -> tuple[pd.DataFrame, dict[str, int]]:
    if not pd.api.types.is_numeric_dtype(events[column]):
        raise DataError(f"{label}: align column '{column}': got {events[column].dtype} values; "
                        "expected times in seconds")
    finite = np.isfinite(events[column].to_numpy(dtype=float))
    if len(finite) and not finite.any():
        raise DataError(
            f"{label}: no valid alignment times: all {len(finite)} '{column}' times are "
            "missing (NaN) or infinite; expected finite times in seconds (choose another "
            "--align event)")
    account.drop(events.loc[~finite, "outcome"], f"'{column}' is NaN")
    return (events.loc[finite].reset_index(drop=True),
            {"n_dropped_nan_align": int((~finite).sum())})


def _inside_mask(events: pd.DataFrame, column: str, span: tuple[float, float], outside: str,
                 label: str, times: np.ndarray | None = None) -> np.ndarray:
    """Which alignment times lie in the recorded span; refuses as ``outside`` says."""
    times = events[column].to_numpy(dtype=float) if times is None else times
    lo, hi = span
    bad = (times < lo) | (times > hi)
    if bad.any():
        if outside == "error":
            first = events.loc[bad, "trial"].tolist()[:5]
            raise DataError(
                f"{label}: events outside the recording: {int(bad.sum())} of {len(times)} "
                f"'{column}' times lie outside [{lo:.3f}, {hi:.3f}] s covered by the data "
                f"(trials {first}); pass outside='drop' (--outside drop) to leave them out"
            )
        if bad.all():
            raise DataError(
                f"{label}: events outside the recording: none of the {len(times)} '{column}' "
                f"times lies inside [{lo:.3f}, {hi:.3f}] s covered by the data (times span "
                f"{times.min():.3f}..{times.max():.3f} s; relative to trial start?)"
            )
    return ~bad


def _valid_mask(events: pd.DataFrame, tables: Mapping[str, pd.DataFrame], times: np.ndarray,
                window: tuple[float, float], outside: str, label: str) -> np.ndarray:
    """Which windows stay clear of the file's ``invalid_times``; refuses as ``outside`` says."""
    bad = invalid_overlap(tables, times, window)
    if bad.any() and outside == "error":
        first = events.loc[bad, "trial"].tolist()[:5]
        raise DataError(
            f"{label}: window [{window[0]:g}, {window[1]:g}) s overlaps the file's "
            f"invalid_times (intervals with no recorded data) around {int(bad.sum())} of "
            f"{len(times)} events (trials {first}); expected a window inside the recorded "
            "intervals, or pass outside='drop' (--outside drop) to leave those trials out"
        )
    return ~bad


def _check_windows_reach_data(times: np.ndarray, window: tuple[float, float],
                              span: tuple[float, float], label: str) -> None:
    """Refuse a window that misses the recorded span around every event."""
    lo, hi = span
    if times.size == 0 or not (np.isfinite(lo) and np.isfinite(hi)):
        return
    starts, stops = times + window[0], times + window[1]
    if np.all((stops <= lo) | (starts > hi)):
        raise DataError(
            f"{label}: window [{window[0]:g}, {window[1]:g}) s misses the recording around "
            f"every one of the {times.size} events: the data cover [{lo:.3f}, {hi:.3f}] s and "
            f"the windows span {starts.min():.3f}..{stops.max():.3f} s; expected a window of "
            "a few seconds around the event, e.g. (-2, 1)"
        )


def _warn_overlap(times: np.ndarray, window: tuple[float, float]) -> int:
    ordered = np.sort(times)
    gaps = np.diff(ordered)
    length = window[1] - window[0]
    n = int((gaps < length).sum())
    if n:
        warnings.warn(
            f"window length {length:g} s is longer than the gap to the next trial for {n} "
            f"trial(s) (smallest gap {gaps.min():.3f} s); their windows overlap and share spikes",
            RuntimeWarning, stacklevel=3)
    return n


def _compute(source: ResolvedSource, profile: str | Profile, align: str,
             window: tuple[float, float], bin_size: float, cache_dir: str | os.PathLike[str] | None,
             mapping: Mapping[str, Mapping[object, int | str | None]] | None,
             region_columns: Sequence[RegionColumn], unsorted: str, outside: str,
             imaging_series: str | None, progress: bool, align_offset: float = 0.0,
             max_memory: int | str | None = None) -> xr.DataArray:
    rel = bin_edges(window, bin_size)
    rel_window = (float(rel[0]), float(rel[-1]))
    account = TrialAccount()
    with status(progress, f"reading {source.source}") as say, \
            open_nwb(source, cache_dir=cache_dir) as h5:
        label = source.source
        say("reading event tables")
        tables = read_event_tables(h5, label)
        unit_cols: list[str] = []
        if "units" in h5 and "colnames" in h5["units"].attrs:
            unit_cols = [text(c) for c in h5["units"].attrs["colnames"]]
        _check_resolution(h5, float(bin_size), label)
        prof, reason = resolve_profile(profile, tables, unit_cols, mapping, label)
        events = apply_profile(tables, prof, label, require_outcome_time=align == "outcome",
                               account=account)
        col = align_column(events, align, prof)
        events, notes = _finite_events(events, col, account, label)
        align_times = events[col].to_numpy(dtype=float) + align_offset
        valid = _valid_mask(events, tables, align_times, rel_window, outside, label)
        notes["n_dropped_invalid_times"] = int((~valid).sum())
        account.drop(events.loc[~valid, "outcome"], "window overlaps invalid_times")
        events, align_times = events.loc[valid].reset_index(drop=True), align_times[valid]
        check_response_memory(len(events), count_units(h5), len(rel) - 1, SPIKE_CELL_BYTES,
                              max_memory, label)
        compiled = kernels()
        binner = (None if compiled is None else
                  StreamBinner(compiled["check_bin_units"], align_times, rel, say,
                               sort=unsorted == "sort"))
        say("reading units / imaging")
        try:
            signal = _read_signal(h5, label, [*region_columns, *prof.region_columns],
                                  unsorted, imaging_series, on_block=binner,
                                  max_memory=max_memory)
            session = _session_name(h5, source.location if source.kind == "local" else label)
            synthetic = _is_synthetic(h5)
            file_notes = _file_text(h5, "general/notes")
            collection = _file_text(h5, "general/data_collection")
            subject = _subject(h5)
            values = None
            if isinstance(signal, SpikeUnits) and binner is not None:
                say("binning")
                values, nan_unit, bad_units = binner.result()
                signal.n_sorted = spike_problems(
                    signal.spike_times, signal.offsets, signal.unit_id, label, unsorted,
                    nan_unit, bad_units, sorted_already=True)
            span = recording_span(tables, signal.span(), sampled=not isinstance(signal,
                                                                                 SpikeUnits))
            keep = _inside_mask(events, col, span, outside, label, align_times)
            notes["n_dropped_outside"] = int((~keep).sum())
            account.drop(events.loc[~keep, "outcome"], "outside the recording")
        finally:
            if binner is not None:
                binner.close()
    events = events.loc[keep].reset_index(drop=True)
    times = align_times[keep]
    _check_windows_reach_data(times, rel_window, span, label)
    notes["n_overlapping_windows"] = _warn_overlap(times, rel_window)
    if isinstance(signal, SpikeUnits):
        if values is None:
            values = bin_with_progress(signal, times, rel, progress)
        elif not keep.all():
            values = values[keep]
        value_units, unit_coords = "spikes per bin", {}
        notes["n_unsorted_units_sorted"] = signal.n_sorted
    else:
        check_response_memory(len(times), signal.data.shape[-1] if signal.data.ndim > 1 else 1,
                              len(rel) - 1, SIGNAL_CELL_BYTES, max_memory, label)
        values = bin_signals(signal.timestamps, signal.data, times, rel)
        value_units, unit_coords = signal.unit, {"series": signal.name}
    if account.n_dropped():
        warnings.warn(f"{label}: {account.n_dropped()} trial(s) left out: "
                      + "; ".join(account.lines()), RuntimeWarning, stacklevel=3)
    extra: dict[str, Any] = dict(unit_coords)
    if file_notes:
        extra["notes"] = file_notes
    if collection:
        extra["data_collection"] = collection
    if subject:
        extra["subject"] = subject
    if align != "outcome":
        extra["approach_unit"] = approach_unit(col, float(bin_size), float(align_offset))
    attrs = provenance_attrs(
        source=source.source, profile=prof.name, profile_reason=reason, bin_size=float(bin_size),
        align=align, align_column=col, align_offset=float(align_offset),
        window=[float(window[0]), float(window[1])], value_units=value_units,
        synthetic=bool(synthetic), trial_counts=account.to_json(), **extra, **notes,
    )
    return _with_sessions(values, events, signal, session, col, rel, attrs)


def approach_unit(column: str, bin_size: float, offset: float = 0.0) -> str:
    """What the grid's approach axis counts when responses are not aligned to the outcome."""
    start = f"{offset:g} - a x {bin_size:g}" if offset else f"-a x {bin_size:g}"
    return (f"{bin_size:g} s bins counted back from {column}"
            + (f" + {offset:g} s" if offset else "")
            + f": approach a is the bin starting {start} s after {column} (time since that "
            "event, not bins before an outcome)")


def _check_resolution(h5: Any, bin_size: float, label: str) -> None:
    """Refuse bins finer than the spike-time resolution the file states (binned imports)."""
    path = "units/spike_times"
    if path not in h5 or "resolution" not in h5[path].attrs:
        return
    resolution = float(np.asarray(h5[path].attrs["resolution"]).ravel()[0])
    if np.isfinite(resolution) and resolution > 0 and bin_size < resolution * (1 - 1e-9):
        raise DataError(
            f"{label}: bin_size: got {bin_size:g} s; expected at least the spike-time "
            f"resolution the file states ({resolution:g} s, units/spike_times resolution): "
            "finer bins would only show where the converter placed the spikes"
        )


def _subject(h5: Any) -> str:
    """The file's subject id (``""`` when it has none)."""
    path = "general/subject/subject_id"
    return text(read_dataset(h5[path])) if path in h5 else ""


def _file_text(h5: Any, path: str) -> str:
    """A text field of the file (``general/notes``, ``general/data_collection``), at most
    2000 characters; ``""`` when absent."""
    if path not in h5:
        return ""
    return text(read_dataset(h5[path]))[:2000]


def _with_sessions(values: np.ndarray, events: pd.DataFrame, signal: SpikeUnits | RoiSignals,
                   session: str, col: str, rel: np.ndarray, attrs: dict[str, Any]) -> xr.DataArray:
    n_trials = len(events)
    da = xr.DataArray(values, dims=("trial", "unit", "time"), name="responses", attrs=attrs)
    # one file is one session: ``session`` is a scalar coord, valid for every trial and unit
    # (condition_grid turns it into a unit coord so sessions can be stacked along ``unit``).
    return da.assign_coords(
        trial_id=("trial", events["trial"].to_numpy(dtype=np.int64)),
        event=("trial", np.full(n_trials, attrs.get("align", col), dtype=object).astype(str)),
        valence=("trial", events["valence"].to_numpy(dtype=np.int64)),
        outcome=("trial", events["outcome"].astype(str).to_numpy().astype(str)),
        session=session,
        unit_id=("unit", np.asarray(signal.unit_id, dtype=np.int64)),
        region=("unit", np.asarray(signal.region, dtype=str)),
        region_rule=("unit", np.asarray(signal.region_rule, dtype=str)),
        time=("time", bin_centres(rel)),
    ).assign_coords(trial_coords(events))


def trial_coords(events: pd.DataFrame) -> dict[str, tuple[str, np.ndarray]]:
    """The ``trial`` coords of the :data:`TRIAL_COORDS` columns ``events`` has (float64)."""
    return {name: ("trial", pd.to_numeric(events[name], errors="coerce").to_numpy(np.float64))
            for name in TRIAL_COORDS if name in events.columns}


def load_responses(
    source: str | os.PathLike[str],
    profile: str | Profile = "auto",
    align: str = "outcome",
    window: tuple[float, float] = DEFAULT_WINDOW,
    bin_size: float = DEFAULT_BIN_SIZE,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    mapping: Mapping[str, Mapping[object, int | str | None]] | None = None,
    region_columns: Sequence[RegionColumn] = (),
    unsorted: str = "sort",
    outside: str = "error",
    imaging_series: str | None = None,
    cache: bool = True,
    progress: bool = False,
    align_offset: float = 0.0,
    region_groups: bool | Mapping[str, str] = False,
    max_memory: int | str | None = None,
) -> xr.DataArray:
    """Event-aligned responses ``(trial, unit, time)`` of one NWB source.

    Parameters
    ----------
    source
        Local path, http(s) URL or ``dandi://`` URI.
    profile
        ``"auto"`` (detect, reason in ``attrs["profile_reason"]``), a built-in
        name (:data:`neuroalign.io.profiles.PROFILES`), ``"generic"`` with
        ``mapping``, or a :class:`~neuroalign.io.profiles.Profile`.
    align
        ``"outcome"`` (default), ``"cue"`` or a time column of the event table.
        Aligning to the cue or another column needs no outcome-time column.
    window
        ``(start, stop)`` in seconds around the alignment time; a whole number
        of bins. Windows longer than the gap between trials are allowed (a
        RuntimeWarning says so; spikes are then counted in both trials).
    bin_size
        Bin width in seconds (> 0).
    cache_dir
        Folder of the cache (chunks of remote files, stored responses);
        defaults to the cache root (:func:`neuroalign.core.cache.cache_root`).
    mapping
        ``{column: {value: valence}}``: the ``generic`` profile's mapping, or
        labels added to a built-in profile's map (valence ``1``/``-1``/``0`` or
        ``"exclude"``). Labels no mapping covers stop the import with a
        ProfileError listing them (see :mod:`neuroalign.io.profiles`).
    region_columns
        Region columns tried first (see :func:`neuroalign.io.units.read_units`).
    unsorted
        ``"sort"`` (default) sorts out-of-order spike times; ``"error"`` refuses.
    outside
        ``"error"`` (default) refuses alignment times outside the recorded span
        (:func:`neuroalign.io.span.recording_span`: spikes and every event
        table's start and stop times, or the imaging samples) and windows that
        overlap the file's ``invalid_times``; ``"drop"`` leaves those trials
        out (counted in ``attrs["n_dropped_outside"]`` and
        ``attrs["n_dropped_invalid_times"]``). Trials whose alignment time is
        missing (NaN) are always left out and counted.
    imaging_series
        Path of the RoiResponseSeries to use when the file has no units.
    cache
        Reuse (and write) the stored result keyed by the source identity (path,
        size, mtime or URL), the parameters and the neuroalign version.
    progress
        Show a rich progress bar while binning.
    align_offset
        Seconds added to every alignment time (e.g. ``0.32`` with
        ``align="cue"`` puts time 0 at the start of the last 0.08 s bin of a
        0.4 s stimulus-locked window).
    region_groups
        ``True``: pool fine Allen acronyms into the coarser groups of
        :data:`neuroalign.io.regions.REGION_GROUPS`; a mapping: the user's own
        table (acronym -> group). The acronym is kept in the ``acronym`` coord.
    max_memory
        Refuse (``ResourceError``, before allocating) a result larger than this
        (bytes or text such as ``"16GiB"``); default ``$NEUROALIGN_MAX_MEMORY``,
        else 8 GiB (see :mod:`neuroalign.core.limits`).

    Returns
    -------
    xarray.DataArray
        Counts (``int32``) or mean imaging values, with the coords and provenance
        attrs of the data contract. ``session`` is a scalar coord.
        ``attrs["trial_counts"]`` (JSON, see
        :class:`~neuroalign.io.accounting.TrialAccount`) says how many trials of
        each label were read, kept and dropped, and why; a RuntimeWarning says
        so when any was dropped.
    """
    if unsorted not in ("sort", "error"):
        raise ValidationError(f"unsorted: got {unsorted!r}; expected 'sort' or 'error'")
    if outside not in ("error", "drop"):
        raise ValidationError(f"outside: got {outside!r}; expected 'error' or 'drop'")
    bin_edges(window, bin_size)
    resolved = resolve_source(source)
    key_path = None
    if cache:
        prof_key = profile if isinstance(profile, str) else repr(profile)
        key = cache_key(resolved.identity, profile=prof_key, align=align,
                        window=tuple(map(float, window)), bin_size=float(bin_size),
                        mapping=repr(mapping), region_columns=tuple(region_columns),
                        unsorted=unsorted, outside=outside, imaging_series=imaging_series,
                        align_offset=float(align_offset), trial_coords=TRIAL_COORDS)
        key_path = cache_path(key, cache_dir)
        if key_path.exists():
            try:
                return group_regions(load_store(key_path), region_groups)
            except NWBFormatError:  # a damaged cache entry is recomputed below
                pass
    result = _compute(resolved, profile, align, window, bin_size, cache_dir, mapping,
                      region_columns, unsorted, outside, imaging_series, progress,
                      float(align_offset), max_memory)
    if key_path is not None:
        try:
            save_store(result, key_path)
        except OSError as err:
            warnings.warn(f"cache: could not store {key_path} ({err}); the result is not "
                          "cached", RuntimeWarning, stacklevel=2)
    return group_regions(result, region_groups)


def inspect_source(
    source: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Summarise a source: regions, units, event tables, detected profile and valences.

    Returns
    -------
    dict
        ``regions`` (name -> units), ``region_rules`` (rule -> units),
        ``n_units``, ``kind`` (``"units"``, ``"imaging"`` or ``"none"``),
        ``tables`` (name -> columns), ``profile`` (name or ``None``),
        ``profile_reason``, ``profile_columns`` (the table, valence column,
        outcome-time and cue-time columns the profile will read, the column
        ``align="outcome"`` / ``"cue"`` will use, and each label's valence, see
        :func:`~neuroalign.io.profiles.describe_profile`), ``valence_counts``
        (outcome name -> trials), ``warnings`` (what import will refuse or what
        adds nothing: units without spikes, an alignment column with no time),
        ``nwb_version``, ``source``.
    """
    text_source = os.fspath(source)
    with open_nwb(text_source, cache_dir=cache_dir) as h5:
        tables = read_event_tables(h5, text_source)
        units = read_units(h5, text_source)
        unit_cols = list(units.columns.columns) if units is not None else []
        signal: SpikeUnits | RoiSignals | None = units
        if units is None or units.n_units == 0:
            signal = read_imaging(h5, text_source)
        version = text(h5.attrs.get("nwb_version", ""))
    prof, reason = detect_profile(tables, unit_cols)
    valence_counts: dict[str, int] = {}
    columns: dict[str, Any] = {}
    if prof is not None:
        columns = describe_profile(tables, prof)
        columns["align_cue_column"] = columns["cue_time_column"]
        columns["align_outcome_column"] = columns["outcome_time_column"]
        try:
            events = apply_profile(tables, prof, text_source, require_outcome_time=False)
            valence_counts = {str(k): int(v) for k, v in
                              events.groupby("outcome")["valence"].size().items()}
        except (ProfileError, DataError) as err:
            reason = f"{reason}; but: {err}"
    regions: dict[str, int] = {}
    rules: dict[str, int] = {}
    if signal is not None:
        for name in signal.region:
            regions[str(name)] = regions.get(str(name), 0) + 1
        for name in signal.region_rule:
            rules[str(name)] = rules.get(str(name), 0) + 1
    kind = "none" if signal is None else ("units" if isinstance(signal, SpikeUnits) else "imaging")
    all_events = canonical_events(tables)
    warnings_: list[str] = []
    if isinstance(signal, SpikeUnits) and signal.n_units:
        silent = np.flatnonzero(np.diff(signal.offsets) == 0)
        ids = [int(u) for u in signal.unit_id[silent][:10]]
        listed = f"unit ids {ids}{', ...' if silent.size > 10 else ''}"
        if silent.size == signal.n_units:
            warnings_.append(f"none of the {signal.n_units} units has a spike ({listed}); "
                             "import will refuse the file")
        elif silent.size:
            warnings_.append(f"{silent.size} of the {signal.n_units} units have no spikes "
                             f"({listed}); they add only zeros to their region")
    for align in ("outcome", "cue"):
        column = columns.get(f"align_{align}_column")
        table = tables.get(columns.get("table") or "")
        if not column or table is None or column not in table:
            continue
        times = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        if times.size and not np.isfinite(times).any():
            warnings_.append(f"{columns['table']}.{column}: all {times.size} times are missing "
                             f"(NaN); import with --align {align} will refuse the file")
    return {
        "source": text_source,
        "nwb_version": version,
        "kind": kind,
        "n_units": 0 if signal is None else int(signal.n_units),
        "regions": regions,
        "region_rules": rules,
        "tables": {k: [str(c) for c in v.columns] for k, v in tables.items()},
        "n_events": len(all_events),
        "profile": None if prof is None else prof.name,
        "profile_reason": reason,
        "profile_columns": columns,
        "valence_counts": valence_counts,
        "profiles_known": sorted(PROFILES),
        "warnings": warnings_,
    }
