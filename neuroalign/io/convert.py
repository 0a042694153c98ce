"""Binned spike-count arrays (.npz) to NWB, and straight to responses.

Many recordings circulate not as spike times but as counts in fixed bins
around an event, one array ``(neurons, trials, bins)`` with per-neuron and
per-trial fields beside it (the Steinmetz et al. 2019 data set is used this
way most often). :func:`convert_binned` writes such a file as a valid NWB file
that :func:`neuroalign.io.load_responses` (and any NWB reader) reads;
:func:`read_binned` gives the same responses without the NWB round trip.

The .npz is read with ``allow_pickle=False``: a file holding pickled Python
objects is refused. Its structure and sizes are checked from the array headers
before any array is read.

Layout
------
A :class:`BinnedLayout` names the keys. The built-in ``steinmetz`` layout is
the key names of the Steinmetz files:

==================  ======================  =============================================
layout field        Steinmetz key           what it holds
==================  ======================  =============================================
``counts``          ``spks``                spike counts, (neurons, trials, bins), integers
``bin_times``       ``time``                start time of every bin, (trials, bins), s on
                                            the session clock
``region``          ``brain_area``          atlas acronym per neuron, (neurons,)
``valence``         ``feedback_type``       the per-trial valence label (+1 / -1)
``subject``         ``mouse_name``          animal name, () (becomes the NWB subject id)
``date``            ``date_exp``            recording date, () ``YYYY-MM-DD``
==================  ======================  =============================================

Every other key of shape ``(trials,)`` becomes a trials column (e.g.
``contrast_left``), and every other key of shape ``(neurons,)`` a units column.
Files with other key names give their own layout: ``--layout layout.json`` on
the command line (a JSON object of the fields above, merged over the built-in
one; ``null`` for a key the file lacks) or ``BinnedLayout(...)`` in Python.
Without ``bin_times``, ``event_times`` (one time per trial) and ``bin_size``
say where the bins lie; ``window_start`` is the start of the first bin
relative to the event (0 for Steinmetz: the bins are 0-0.4 s after the
visual stimulus).

What the NWB file holds
-----------------------
- units: spike times at bin resolution (each counted spike sits at its bin's
  centre; the units table's ``resolution`` is the bin size and its description
  says so), each unit's brain area as the ``location`` of its electrode (one
  placeholder electrode per area, which is where :mod:`neuroalign.io` reads
  regions), the original neuron index in ``neuron_index``;
- trials: ``start_time`` / ``stop_time`` (the binned window),
  ``visual_stimulus_time`` (the event the bins are aligned to; the column name
  of the Steinmetz NWB files on DANDI, so ``--profile steinmetz --align cue``
  finds it), the valence column and every other per-trial field;
- ``intervals/invalid_times``: everything outside the trial windows (before
  the first, between trials, and a day past the last), because nothing was
  recorded there; a loader window that reaches into it is refused;
- subject id from the animal's name, session start from the date
  (1900-01-01 when the file has none), the
  layout's notes on what the data can and cannot show in ``data_collection``
  (``notes`` adds the bin resolution); :func:`neuroalign.io.load_responses`
  carries both into the responses' attrs and the run report shows the first.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import DataError, NWBFormatError, OutputExistsError, ValidationError
from neuroalign.core.provenance import neuroalign_version, provenance_attrs

__all__ = [
    "EVENT_COLUMN",
    "LAYOUTS",
    "BinnedLayout",
    "BinnedSession",
    "build_nwb",
    "convert_binned",
    "get_layout",
    "read_binned",
    "read_binned_arrays",
]

#: the alignment-time column written to the trials table
EVENT_COLUMN = "visual_stimulus_time"

_STEINMETZ_NOTES = (
    "The window is stimulus-locked (0-0.4 s after visual stimulus onset) and ends before the "
    "go cue, the wheel response and the outcome. feedback_type (+1 water reward, -1 white-"
    "noise burst and timeout) therefore labels what is about to happen, not a recorded "
    "outcome period: these data can show anticipatory differences between trials that will "
    "be rewarded and trials that will be punished, and cannot show the response to the "
    "outcome itself (no wall at the outcome can be measured). Trial counts are lower than in "
    "the full data set where trials were withheld as a test set."
)
_STEINMETZ_CITATION = (
    "Steinmetz, Zatka-Haas, Carandini & Harris (2019). Distributed coding of choice, action "
    "and engagement across the mouse brain. Nature 576:266-273. doi:10.1038/s41586-019-1787-x "
    "(data CC-BY 4.0)"
)


@dataclass(frozen=True)
class BinnedLayout:
    """Key names of a binned-count .npz file (see the module docs).

    Attributes
    ----------
    counts, region
        Keys of the ``(neurons, trials, bins)`` counts and the per-neuron area.
    bin_times
        Key of the ``(trials, bins)`` bin start times, or ``None`` (then
        ``event_times`` and ``bin_size`` are needed).
    event_times
        Key of the ``(trials,)`` event times when ``bin_times`` is ``None``.
    bin_size
        Bin width (s); ``None`` reads it from ``bin_times``.
    window_start
        Start of the first bin relative to the event (s).
    valence
        Key of the per-trial valence label (read by the ``profile``).
    profile
        Dataset profile of :mod:`neuroalign.io.profiles` that maps the labels.
    subject, date
        Keys of the scalar animal name and recording date, or ``None``.
    species
        Species of the subject written to NWB.
    notes, citation
        What the data can and cannot show, and whom to cite (written to the file).
    """

    counts: str = "spks"
    region: str = "brain_area"
    bin_times: str | None = "time"
    event_times: str | None = None
    bin_size: float | None = None
    window_start: float = 0.0
    valence: str = "feedback_type"
    profile: str = "steinmetz"
    subject: str | None = "mouse_name"
    date: str | None = "date_exp"
    species: str = "Mus musculus"
    notes: str = ""
    citation: str = ""


#: built-in layouts by name
LAYOUTS: dict[str, BinnedLayout] = {
    "steinmetz": BinnedLayout(notes=_STEINMETZ_NOTES, citation=_STEINMETZ_CITATION),
}


def get_layout(layout: str | os.PathLike[str] | Mapping[str, Any] | BinnedLayout | None
               ) -> BinnedLayout:
    """A layout from a built-in name, a JSON file, a mapping of fields or a layout.

    A file or mapping is merged over the built-in ``steinmetz`` layout.

    Raises
    ------
    ValidationError
        An unknown name, an unreadable file, or an unknown field.
    """
    if layout is None:
        return LAYOUTS["steinmetz"]
    if isinstance(layout, BinnedLayout):
        return layout
    if isinstance(layout, (str, os.PathLike)) and not isinstance(layout, Mapping):
        name = os.fspath(layout)
        if name in LAYOUTS:
            return LAYOUTS[name]
        path = Path(name)
        if not path.is_file():
            raise ValidationError(
                f"layout: got {name!r}; expected one of {sorted(LAYOUTS)} or a JSON file of "
                f"layout fields {[f.name for f in dataclasses.fields(BinnedLayout)]}")
        try:
            layout = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValidationError(f"layout file {path}: not valid JSON ({err})") from None
        if not isinstance(layout, Mapping):
            raise ValidationError(f"layout file {path}: expected a JSON object of fields")
    fields = {f.name for f in dataclasses.fields(BinnedLayout)}
    unknown = sorted(set(layout) - fields)
    if unknown:
        raise ValidationError(f"layout: unknown field(s) {unknown}; expected {sorted(fields)}")
    return dataclasses.replace(LAYOUTS["steinmetz"], notes="", citation="", **dict(layout))


@dataclass
class BinnedSession:
    """The arrays of one binned session, checked.

    Attributes
    ----------
    counts
        ``(neurons, trials, bins)`` non-negative integer counts.
    bin_starts
        ``(trials, bins)`` bin start times (s).
    bin_size
        Bin width (s).
    event_times
        ``(trials,)`` alignment-event times (s).
    region
        ``(neurons,)`` area names.
    trial_fields, unit_fields
        Other per-trial and per-neuron arrays, by key.
    subject, date
        Scalar metadata (``""`` when absent).
    """

    counts: np.ndarray
    bin_starts: np.ndarray
    bin_size: float
    event_times: np.ndarray
    region: np.ndarray
    trial_fields: dict[str, np.ndarray]
    unit_fields: dict[str, np.ndarray]
    subject: str
    date: str


def _headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array of an .npz, read from the headers only."""
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(fh)
                out[info.filename[:-4]] = (tuple(shape), np.dtype(dtype))
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise NWBFormatError(f"{path}: not a readable .npz file ({err})") from None
    return out


def _need(headers: Mapping[str, Any], key: str | None, what: str, path: Path) -> str:
    if key is None or key not in headers:
        raise DataError(
            f"{path}: layout {what}: got key {key!r}, which the file lacks; expected one of "
            f"its keys {sorted(headers)} (name the file's own keys with a layout: --layout "
            "layout.json, see neuroalign.io.convert)")
    return key


def read_binned_arrays(path: str | os.PathLike[str],
                       layout: str | Mapping[str, Any] | BinnedLayout | None = None,
                       ) -> BinnedSession:
    """Read and check the arrays of a binned .npz (no pickled objects).

    Raises
    ------
    SourceError
        The file does not exist.
    NWBFormatError
        Not an .npz archive.
    DataError
        A missing key, a pickled (object) array, inconsistent shapes, negative or
        non-integral counts, bins that are not evenly spaced, or trial windows
        that overlap (their spikes could not be told apart).
    """
    from neuroalign.core.errors import SourceError

    src = Path(path)
    lay = get_layout(layout)
    if not src.is_file():
        raise SourceError(f"{src}: no such file; expected a .npz of binned counts")
    heads = _headers(src)
    pickled = sorted(k for k, (_, dt) in heads.items() if dt.hasobject)
    if pickled:
        raise DataError(f"{src}: keys {pickled} hold pickled Python objects; expected plain "
                        "numeric or string arrays (pickles are never loaded)")
    ckey = _need(heads, lay.counts, "counts", src)
    shape, dtype = heads[ckey]
    if len(shape) != 3 or dtype.kind not in "uif":
        raise DataError(f"{src}: {ckey}: got shape {shape} dtype {dtype}; expected integer "
                        "counts of shape (neurons, trials, bins)")
    n_units, n_trials, n_bins = shape
    rkey = _need(heads, lay.region, "region", src)
    if heads[rkey][0] != (n_units,):
        raise DataError(f"{src}: {rkey}: got shape {heads[rkey][0]}; expected ({n_units},), "
                        f"one per neuron of {ckey}")
    if lay.bin_times is not None:
        tkey = _need(heads, lay.bin_times, "bin_times", src)
        if heads[tkey][0] != (n_trials, n_bins):
            raise DataError(f"{src}: {tkey}: got shape {heads[tkey][0]}; expected "
                            f"({n_trials}, {n_bins}), one start time per trial and bin")
    else:
        _need(heads, lay.event_times, "event_times", src)
        if lay.bin_size is None or not lay.bin_size > 0:
            raise DataError(f"{src}: layout without bin_times: bin_size: got {lay.bin_size!r}; "
                            "expected the bin width in seconds (> 0)")
    _need(heads, lay.valence, "valence", src)
    try:
        with np.load(src, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in heads}
    except ValueError as err:  # a pickled array slipped past the headers
        raise DataError(f"{src}: {err}; expected arrays without pickled objects") from None
    counts = arrays[ckey]
    if counts.dtype.kind == "f" and not np.all(np.isfinite(counts) & (counts == np.round(counts))):
        raise DataError(f"{src}: {ckey}: holds non-integral or non-finite values; expected "
                        "spike counts")
    if counts.size and counts.min() < 0:
        raise DataError(f"{src}: {ckey}: holds negative values (min {counts.min()}); expected "
                        "spike counts >= 0")
    if lay.bin_times is not None:
        starts = np.asarray(arrays[lay.bin_times], dtype=np.float64)
        steps = np.diff(starts, axis=1)
        # the bin width to 9 significant digits: bin start times written as seconds on a
        # session clock carry rounding of ~1e-13 s
        size = float(lay.bin_size) if lay.bin_size else (
            float(f"{np.median(steps):.9g}") if steps.size else float("nan"))
        if not np.isfinite(starts).all():
            raise DataError(f"{src}: {lay.bin_times}: holds NaN or infinite times")
        if not size > 0 or (steps.size and np.abs(steps - size).max() > 1e-6 * max(size, 1)):
            seen = f"{steps.min():g}..{steps.max():g} s" if steps.size else "none"
            raise DataError(f"{src}: {lay.bin_times}: bins are not evenly spaced (steps "
                            f"{seen}); expected one bin width")
        events = starts[:, 0] - lay.window_start
    else:
        assert lay.bin_size is not None and lay.event_times is not None  # checked above
        size = float(lay.bin_size)
        events = np.asarray(arrays[lay.event_times], dtype=np.float64).ravel()
        if events.shape != (n_trials,):
            raise DataError(f"{src}: {lay.event_times}: got shape {events.shape}; expected "
                            f"({n_trials},)")
        starts = events[:, None] + lay.window_start + size * np.arange(n_bins)[None, :]
    order = np.argsort(starts[:, 0], kind="stable")
    ends = starts[order, -1] + size
    if n_trials > 1 and (starts[order[1:], 0] < ends[:-1] - 1e-9).any():
        raise DataError(f"{src}: trial windows overlap (a window starts before the previous "
                        "one ends); expected disjoint windows, so that each spike belongs to "
                        "one trial")
    skip = {ckey, rkey, lay.bin_times, lay.event_times, lay.subject, lay.date}
    trial_fields = {k: v for k, v in arrays.items() if k not in skip and v.shape == (n_trials,)}
    unit_fields = {k: v for k, v in arrays.items() if k not in skip and k not in trial_fields
                   and v.shape == (n_units,)}
    if lay.valence not in trial_fields:
        raise DataError(f"{src}: {lay.valence}: got shape {arrays[lay.valence].shape}; "
                        f"expected ({n_trials},), one label per trial")

    def scalar(key: str | None) -> str:
        if key is None or key not in arrays or arrays[key].size != 1:
            return ""
        return str(arrays[key].reshape(()).item())

    return BinnedSession(counts=counts, bin_starts=starts, bin_size=size, event_times=events,
                         region=np.asarray(arrays[rkey]).astype(str), trial_fields=trial_fields,
                         unit_fields=unit_fields, subject=scalar(lay.subject),
                         date=scalar(lay.date))


def _select(session: BinnedSession, regions: Sequence[str] | None) -> np.ndarray:
    if regions is None:
        return np.arange(session.counts.shape[0])
    keep = np.flatnonzero(np.isin(session.region, list(regions)))
    if keep.size == 0:
        raise DataError(f"regions: got {list(regions)}; none is in the file (areas: "
                        f"{sorted(set(session.region.tolist()))})")
    return keep


def _spike_times(session: BinnedSession, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every counted spike at its bin's centre, unit after unit, each unit's times sorted."""
    order = np.argsort(session.bin_starts[:, 0], kind="stable")
    centres = (session.bin_starts[order] + session.bin_size / 2).ravel()
    per_unit = np.zeros(units.size, dtype=np.int64)
    chunks = []
    block = max(1, int(4e6 // max(centres.size, 1)))  # about 32 MB of counts per block
    for a in range(0, units.size, block):
        sub = session.counts[units[a:a + block]][:, order, :].reshape(-1, centres.size)
        sub = sub.astype(np.int64)
        per_unit[a:a + block] = sub.sum(axis=1)
        chunks.append(np.repeat(np.tile(centres, sub.shape[0]), sub.ravel()))
    times = np.concatenate(chunks) if chunks else np.zeros(0)
    return times, np.cumsum(per_unit)


def _session_start(date: str) -> _dt.datetime:
    try:
        day = _dt.date.fromisoformat(date)
    except ValueError:
        return _dt.datetime(1900, 1, 1, tzinfo=_dt.timezone.utc)
    return _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc)


def _column_data(values: np.ndarray) -> np.ndarray | list[str]:
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        return [str(v) for v in arr.tolist()]
    return arr


def _notes(bin_size: float, layout: BinnedLayout) -> str:
    """The ``notes`` of a converted file (also the ``notes`` attr of :func:`read_binned`)."""
    return ("Converted by neuroalign from binned spike counts. Spike times are "
            f"known only to the {bin_size:g} s bin: every counted spike sits at its bin's "
            "centre. Data exist only inside each trial's window (start_time..stop_time); "
            "intervals/invalid_times marks the rest. " + layout.notes).strip()


def build_nwb(session: BinnedSession, layout: BinnedLayout, name: str,
              regions: Sequence[str] | None = None) -> Any:
    """The :class:`pynwb.NWBFile` of a binned session (not written)."""
    from hdmf.backends.hdf5 import H5DataIO
    from hdmf.common import DynamicTableRegion, VectorData, VectorIndex
    from pynwb import NWBFile
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.misc import Units

    units = _select(session, regions)
    b = session.bin_size
    start = _session_start(session.date)
    notes = _notes(b, layout)
    nwb = NWBFile(
        session_description=f"binned spike counts of {name}, {b:g} s bins, converted to NWB "
                            "(spike times at bin resolution)",
        identifier=f"neuroalign-binned-{name}",
        session_start_time=start,
        file_create_date=[start],
        session_id=name,
        notes=notes,
        data_collection=layout.notes or None,
        related_publications=[layout.citation] if layout.citation else None,
        was_generated_by=[["neuroalign", neuroalign_version()]],
        subject=Subject(subject_id=session.subject or "unknown", species=layout.species)
        if session.subject or layout.species else None,
    )
    device = nwb.create_device(name="probe", description="recording probe (positions unknown "
                               "in the binned source)")
    areas = sorted(set(session.region[units].tolist()))
    row_of_area = {}
    for i, area in enumerate(areas):
        group = nwb.create_electrode_group(name=f"area_{i}_{area}", location=area,
                                           device=device,
                                           description=f"units in {area} (binned source)")
        nwb.add_electrode(location=area, group=group, x=np.nan, y=np.nan, z=np.nan,
                          filtering="unknown")
        row_of_area[area] = i
    order = np.argsort(session.bin_starts[:, 0], kind="stable")
    starts = session.bin_starts[:, 0]
    stops = session.bin_starts[:, -1] + b
    trial_cols = [
        VectorData(name=EVENT_COLUMN, data=session.event_times,
                   description="time of the event the bins are aligned to (s); for the "
                   "Steinmetz layout the visual stimulus onset"),
    ]
    for key, values in session.trial_fields.items():
        trial_cols.append(VectorData(name=key, data=_column_data(values),
                                     description=f"{key} (from the binned source)"))
    nwb.trials = TimeIntervals(
        name="trials", description=f"trials of the binned source; start_time..stop_time is the "
        f"binned window ({len(order)} trials)", id=np.arange(len(starts)),
        columns=[VectorData(name="start_time", data=starts, description="first bin's start (s)"),
                 VectorData(name="stop_time", data=stops, description="last bin's end (s)"),
                 *trial_cols])
    gap_lo = np.concatenate([[0.0], stops[order]])
    gap_hi = np.concatenate([starts[order], [stops[order][-1] + 86400.0]])
    open_gap = gap_hi > gap_lo
    nwb.invalid_times = TimeIntervals(
        name="invalid_times", description="no data were recorded here: the binned source "
        "holds only each trial's window",
        id=np.arange(int(open_gap.sum())),
        columns=[VectorData(name="start_time", data=gap_lo[open_gap], description="start (s)"),
                 VectorData(name="stop_time", data=gap_hi[open_gap], description="stop (s)")])
    times, ends = _spike_times(session, units)
    elec = DynamicTableRegion(
        name="electrodes", data=np.asarray([row_of_area[a] for a in session.region[units]]),
        description="placeholder electrode of the unit's brain area", table=nwb.electrodes)
    cols = [
        VectorData(name="spike_times", description=f"spike times (s) at bin resolution: each "
                   f"spike counted in a {b:g} s bin is placed at the bin's centre",
                   data=H5DataIO(times, compression="gzip", compression_opts=4, shuffle=True)),
        elec,
        VectorData(name="neuron_index", description="row of the neuron in the binned source",
                   data=units.astype(np.int64)),
    ]
    for key, values in session.unit_fields.items():
        cols.append(VectorData(name=key, data=_column_data(values[units]),
                               description=f"{key} (from the binned source)"))
    idx = [VectorIndex(name="spike_times_index", data=ends, target=cols[0]),
           VectorIndex(name="electrodes_index", data=np.arange(1, units.size + 1), target=elec)]
    nwb.units = Units(name="units", description=f"units of the binned source; spike times at "
                      f"bin resolution ({b:g} s, at bin centres)", id=units.astype(np.int64),
                      columns=cols + idx, electrode_table=nwb.electrodes, resolution=b)
    return nwb


def convert_binned(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    layout: str | Mapping[str, Any] | BinnedLayout | None = None,
    *,
    regions: Sequence[str] | None = None,
    session: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a binned .npz as an NWB file (atomically).

    Parameters
    ----------
    src
        The .npz file (no pickled objects).
    out
        The NWB file to write.
    layout
        ``"steinmetz"`` (default), a JSON file, a mapping of
        :class:`BinnedLayout` fields, or a layout.
    regions
        Keep only the neurons of these areas (default: all).
    session
        Session id (default: the .npz file's stem).
    overwrite
        Replace an existing ``out``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    DataError, NWBFormatError, ValidationError
        See :func:`read_binned_arrays`; ``regions`` that the file lacks.
    """
    from pynwb import NWBHDF5IO

    target = Path(out)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"output file {target}: exists; pass overwrite=True "
                                "(--overwrite)")
    lay = get_layout(layout)
    data = read_binned_arrays(src, lay)
    nwb = build_nwb(data, lay, session or Path(src).stem, regions)
    with atomic_file(target, suffix=".nwb") as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
    return target


def read_binned(
    src: str | os.PathLike[str],
    layout: str | Mapping[str, Any] | BinnedLayout | None = None,
    *,
    regions: Sequence[str] | None = None,
    session: str | None = None,
    mapping: Mapping[str, Mapping[object, int | str | None]] | None = None,
) -> xr.DataArray:
    """A binned .npz as responses ``(trial, unit, time)``, without the NWB round trip.

    The result follows the contract of :func:`neuroalign.io.load_responses`
    with ``align="cue"`` over the file's own bins: the same values, trial and
    unit coords, labels and trial counts as importing the converted NWB file
    with ``--align cue --window <first bin> <last bin end> --bin <bin size>``
    (``region_rule`` says ``npz.<region key>``).

    Raises
    ------
    ProfileError
        A valence label that neither the layout's profile nor ``mapping`` maps.
    DataError
        See :func:`read_binned_arrays`.
    """
    from neuroalign.io.accounting import TrialAccount
    from neuroalign.io.binning import bin_centres
    from neuroalign.io.load import approach_unit, resolve_profile, trial_coords
    from neuroalign.io.profiles import apply_profile, get_profile

    lay = get_layout(layout)
    data = read_binned_arrays(src, lay)
    units = _select(data, regions)
    name = session or Path(src).stem
    frame = pd.DataFrame({"start_time": data.bin_starts[:, 0],
                          "stop_time": data.bin_starts[:, -1] + data.bin_size,
                          EVENT_COLUMN: data.event_times,
                          **{k: v for k, v in data.trial_fields.items()}})
    tables = {"trials": frame}
    base = get_profile(lay.profile)
    if lay.valence not in base.valence_columns:  # the layout names the file's own column
        base = dataclasses.replace(base, valence_columns=(lay.valence,))
    prof, reason = resolve_profile(base, tables, (), mapping, str(src))
    reason = f"layout {lay.profile!r}, valence column {lay.valence!r}" + (
        "" if reason == "given" else f" ({reason})")
    account = TrialAccount()
    events = apply_profile(tables, prof, str(src), require_outcome_time=False, account=account)
    rows = events["trial"].to_numpy(dtype=np.int64)
    values = np.ascontiguousarray(
        data.counts[units][:, rows, :].transpose(1, 0, 2).astype(np.int32))
    n_bins = data.counts.shape[2]
    rel = lay.window_start + data.bin_size * np.arange(n_bins + 1)
    attrs = provenance_attrs(
        source=os.fspath(src), profile=prof.name, profile_reason=reason,
        bin_size=float(data.bin_size), align="cue", align_column=EVENT_COLUMN, align_offset=0.0,
        window=[float(rel[0]), float(rel[-1])], value_units="spikes per bin", synthetic=False,
        trial_counts=account.to_json(), notes=_notes(data.bin_size, lay),
        data_collection=lay.notes or None,
        approach_unit=approach_unit(EVENT_COLUMN, float(data.bin_size)),
        subject=data.subject or None, n_dropped_nan_align=0, n_dropped_invalid_times=0,
        n_dropped_outside=0, n_overlapping_windows=0, n_unsorted_units_sorted=0,
    )
    n_trials = len(events)
    da = xr.DataArray(values, dims=("trial", "unit", "time"), name="responses", attrs=attrs)
    return da.assign_coords(
        trial_id=("trial", rows),
        event=("trial", np.full(n_trials, "cue", dtype=object).astype(str)),
        valence=("trial", events["valence"].to_numpy(dtype=np.int64)),
        outcome=("trial", events["outcome"].astype(str).to_numpy().astype(str)),
        session=name,
        unit_id=("unit", units.astype(np.int64)),
        region=("unit", data.region[units].astype(str)),
        region_rule=("unit", np.full(units.size, f"npz.{lay.region}").astype(str)),
        time=("time", bin_centres(rel)),
    ).assign_coords(trial_coords(events))
