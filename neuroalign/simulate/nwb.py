"""Synthetic sessions with planted valence geometry, written as real NWB files.

A session is a sequence of Pavlovian trials (sucrose = reward, shock = danger,
neutral), each with a cue, an outcome ``cue_to_outcome`` seconds later and an
inter-trial interval of a few seconds. Every unit spikes as an inhomogeneous
Poisson process whose rate is piecewise constant:

* outside the cue-to-outcome window (and after the outcome bin): its baseline;
* in approach bin ``a`` (``[outcome - a*b, outcome - (a-1)*b)``, ``b`` the bin
  size) of a trial of valence ``v``: ``g * r_v(a)`` from the region's
  :class:`~neuroalign.simulate.model.RegionModel`, ``g`` the trial's population
  gain; the stretch between the cue and the first approach bin uses ``a = K``.

The file stores its ground truth: the units columns ``planted_geometry``,
``baseline_rate``, ``planted_rate_reward`` and ``planted_rate_danger`` (mean
rates at ``a = K, ..., 0``), a ``ground_truth`` processing module with one row
per region (planting, planted sharpness and asymmetry, path length), and a JSON
string with every generator parameter in the file's ``notes``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict
from unittest import mock

import numpy as np

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import OutputExistsError, ValidationError
from neuroalign.core.provenance import neuroalign_version
from neuroalign.core.validation import check_positive_float, check_positive_int
from neuroalign.simulate.model import (
    DEFAULT_NEUTRAL_TRIALS,
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    RegionModel,
    as_rng,
    check_planting,
    make_region_model,
    planted_summary,
)

__all__ = ["DEFAULT_REGIONS", "TRIAL_TYPES", "build_session", "simulate_session"]

#: default region -> planting; the assignment is arbitrary and synthetic
DEFAULT_REGIONS: Mapping[str, str] = {
    "BLA": "wall_danger",
    "NAc": "wall_reward",
    "mPFC": "symmetric",
}
#: trial_type written to the trials table, per valence code
TRIAL_TYPES: Mapping[int, str] = {1: "sucrose", -1: "shock", 0: "neutral"}

_EPOCH = _dt.datetime(2024, 1, 1, 9, 0, 0, tzinfo=_dt.timezone.utc)
_CHANNELS_PER_REGION = 8
#: acquisition clock of the simulated spike times (Hz); ticks are exact binary fractions
_CLOCK_HZ = 32768.0


def _check_regions(regions: Mapping[str, str] | None) -> dict[str, str]:
    regs = dict(DEFAULT_REGIONS if regions is None else regions)
    if not regs:
        raise ValidationError("regions: got an empty mapping; expected region -> planting")
    for name, planting in regs.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValidationError(f"regions: bad region name {name!r}; expected a non-empty "
                                  "string without '/'")
        try:
            check_planting(planting)
        except ValidationError as err:
            raise ValidationError(f"regions[{name!r}]: {err}") from None
    return regs


class _Schedule(TypedDict):
    """Per-trial valence and times, and the session's end (s)."""

    valence: np.ndarray
    start_time: np.ndarray
    cue_time: np.ndarray
    outcome_time: np.ndarray
    stop_time: np.ndarray
    end: float


def _trial_schedule(
    n_trials_per_valence: int, n_neutral: int, cue_to_outcome: float,
    iti: tuple[float, float], rng: np.random.Generator,
) -> _Schedule:
    """Randomised trial order and times (pre-cue 1 s, post-outcome 1.5 s, ITI uniform)."""
    valence = np.concatenate([
        np.full(n_trials_per_valence, 1), np.full(n_trials_per_valence, -1),
        np.zeros(n_neutral, dtype=int),
    ]).astype(np.int64)
    valence = valence[rng.permutation(valence.size)]
    pre, post = 1.0, 1.5
    length = pre + cue_to_outcome + post
    gaps = rng.uniform(iti[0], iti[1], valence.size)
    start = 5.0 + np.concatenate([[0.0], np.cumsum(length + gaps[:-1])])
    cue = start + pre
    outcome = cue + cue_to_outcome
    return {"valence": valence, "start_time": start, "cue_time": cue,
            "outcome_time": outcome, "stop_time": outcome + post,
            "end": float(outcome[-1] + post + gaps[-1])}


def _spike_trains(
    models: list[RegionModel], sched: _Schedule, bin_size: float,
    cue_to_outcome: float, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw all spike trains at once; returns (concatenated times, per-unit counts)."""
    k = models[0].n_approach
    n_trials = sched["valence"].size
    # per trial: cue, then the starts of approach bins K-1..0, then the end of bin 0
    rel = np.concatenate([[-cue_to_outcome], -bin_size * np.arange(k - 1, -2, -1)])
    trial_edges = sched["outcome_time"][:, None] + rel[None, :]  # (trials, K+2)
    prev_end = np.concatenate([[0.0], trial_edges[:-1, -1]])
    # segments per trial: baseline gap, then K+1 approach segments (a = K..0)
    seg_start = np.concatenate([prev_end[:, None], trial_edges[:, :-1]], axis=1).ravel()
    seg_stop = np.concatenate([trial_edges[:, :1], trial_edges[:, 1:]], axis=1).ravel()
    seg_start = np.append(seg_start, trial_edges[-1, -1])
    seg_stop = np.append(seg_stop, sched["end"])
    dur = seg_stop - seg_start

    rate_blocks = []
    for model in models:
        n = model.n_units
        rate: np.ndarray = np.empty((n, n_trials, k + 2))
        rate[:, :, 0] = model.baseline[:, None]
        z = rng.standard_normal((n_trials, k + 1))
        for v in (1, -1, 0):
            sel = sched["valence"] == v
            sd = model.gain_sd(v) if v != 0 else np.full(k + 1, model.sigma_max)
            gain = np.exp(sd[None, :] * z[sel] - 0.5 * sd[None, :] ** 2)  # (t, K+1)
            traj = model.trajectory(v)  # (K+1, n)
            rate[:, sel, 1:] = (gain[:, :, None] * traj[None]).transpose(2, 0, 1)
        rate = rate.reshape(n, -1)
        rate_blocks.append(np.concatenate([rate, model.baseline[:, None]], axis=1))
    rates = np.concatenate(rate_blocks, axis=0)  # (units, segments)
    counts = rng.poisson(rates * dur[None, :])
    seg_of_spike = np.repeat(np.tile(np.arange(dur.size), rates.shape[0]), counts.ravel())
    unit_of_spike = np.repeat(np.arange(rates.shape[0]), counts.sum(axis=1))
    times = seg_start[seg_of_spike] + rng.random(seg_of_spike.size) * dur[seg_of_spike]
    # quantise to the acquisition clock (exact binary fractions compress well) and
    # drop the rare second spike of a unit within one clock tick
    times = np.floor(times * _CLOCK_HZ) / _CLOCK_HZ
    order = np.lexsort((times, unit_of_spike))
    times, unit_of_spike = times[order], unit_of_spike[order]
    keep = np.ones(times.size, dtype=bool)
    keep[1:] = (np.diff(times) > 0) | (np.diff(unit_of_spike) != 0)
    return times[keep], np.bincount(unit_of_spike[keep], minlength=rates.shape[0])


def build_session(
    *,
    regions: Mapping[str, str] | None = None,
    n_units_per_region: int = DEFAULT_UNITS_PER_REGION,
    n_trials_per_valence: int = DEFAULT_TRIALS_PER_VALENCE,
    n_neutral_trials: int = DEFAULT_NEUTRAL_TRIALS,
    seed: int = 0,
    session_index: int = 0,
    bin_size: float = 0.25,
    n_approach: int = 5,
    cue_to_outcome: float = 1.5,
    iti: tuple[float, float] = (2.0, 4.0),
    **model_options: Any,
) -> Any:
    """Build (without writing) the :class:`pynwb.NWBFile` of one synthetic session.

    Parameters are those of :func:`simulate_session`. Object ids are derived
    from the seed, so building twice gives identical files.
    """
    from hdmf.backends.hdf5 import H5DataIO
    from hdmf.common import DynamicTable, DynamicTableRegion, VectorData, VectorIndex
    from pynwb import NWBFile
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.misc import Units

    regs = _check_regions(regions)
    n_units = check_positive_int(n_units_per_region, "n_units_per_region")
    n_trials = check_positive_int(n_trials_per_valence, "n_trials_per_valence")
    if isinstance(n_neutral_trials, bool) or not isinstance(n_neutral_trials, (int, np.integer)) \
            or n_neutral_trials < 0:
        raise ValidationError(
            f"n_neutral_trials: got {n_neutral_trials!r}; expected a non-negative integer")
    k = check_positive_int(n_approach, "n_approach")
    b = check_positive_float(bin_size, "bin_size")
    c2o = check_positive_float(cue_to_outcome, "cue_to_outcome")
    if k * b > c2o + 1e-12:
        raise ValidationError(
            f"cue_to_outcome: got {c2o}; expected at least n_approach * bin_size = {k * b} so "
            "that the approach bins start after the cue"
        )
    if not 0 < iti[0] <= iti[1]:
        raise ValidationError(f"iti: got {iti!r}; expected 0 < low <= high seconds")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError(f"seed: got {seed!r}; expected a non-negative integer")

    rng = as_rng(np.random.SeedSequence([int(seed), int(session_index)]).generate_state(4)[0])
    models = [make_region_model(p, n_units, k, rng, **model_options) for p in regs.values()]
    sched = _trial_schedule(n_trials, int(n_neutral_trials), c2o, iti, rng)
    times, counts = _spike_trains(models, sched, b, c2o, rng)
    region_of_unit = np.repeat(list(regs), n_units)

    params: dict[str, Any] = {  # the JSON record of the session's settings
        "generator": "neuroalign.simulate.simulate_session",
        "neuroalign_version": neuroalign_version(),
        "seed": int(seed), "session_index": int(session_index),
        "regions": regs, "n_units_per_region": n_units,
        "n_trials_per_valence": n_trials, "n_neutral_trials": int(n_neutral_trials),
        "bin_size": b, "n_approach": k, "cue_to_outcome": c2o, "iti": list(iti),
        "pre_cue": 1.0, "post_outcome": 1.5,
        "trial_types": {str(v): t for v, t in TRIAL_TYPES.items()},
        "model": {**models[0].parameters, "sigma_max": models[0].sigma_max,
                  "sigma_min": models[0].sigma_min},
        "planted": {r: {**planted_summary(p, 1, k), "planting": p,
                        "path_length_hz": m.path_length}
                    for (r, p), m in zip(regs.items(), models, strict=True)},
        "note": "synthetic data; the region -> planting assignment is arbitrary",
    }
    when = _EPOCH + _dt.timedelta(days=int(session_index))
    nwb = NWBFile(
        session_description=(
            "SYNTHETIC session generated by neuroalign.simulate: Pavlovian sucrose/shock/"
            "neutral trials with planted valence geometry per region "
            + ", ".join(f"{r}={p}" for r, p in regs.items())
        ),
        identifier=f"neuroalign-synthetic-seed{int(seed)}-session{int(session_index)}",
        session_start_time=when,
        file_create_date=[when],
        session_id=f"sim-{int(seed)}-{int(session_index)}",
        keywords=["synthetic", "neuroalign", "valence", "simulation"],
        notes=json.dumps(params, sort_keys=True, allow_nan=True),
        experiment_description="Synthetic ground-truth data for valence-geometry methods.",
        institution="none (synthetic)",
        was_generated_by=[["neuroalign", neuroalign_version()]],
        subject=Subject(subject_id=f"synthetic-mouse-{int(session_index)}",
                        species="Mus musculus", sex="U", age="P90D",
                        description="synthetic subject; no animal was recorded"),
    )
    device = nwb.create_device(name="synthetic_probe",
                               description="simulated silicon probe, one shank per region")
    groups = []
    for region in regs:
        groups.append(nwb.create_electrode_group(
            name=f"shank_{region}", description=f"simulated shank in {region}",
            location=region, device=device))
        for ch in range(_CHANNELS_PER_REGION):
            nwb.add_electrode(location=region, group=groups[-1], x=0.0, y=float(20 * ch),
                              z=0.0, filtering="none (synthetic)")

    descriptions = {
        "start_time": "trial start (s), 1 s before the cue",
        "stop_time": "trial stop (s), 1.5 s after the outcome",
        "cue_time": "cue onset (s)",
        "outcome_time": "outcome delivery (s), cue_time + cue_to_outcome",
        "trial_type": "sucrose (reward), shock (danger) or neutral",
    }
    trial_cols = {
        "start_time": sched["start_time"], "stop_time": sched["stop_time"],
        "cue_time": sched["cue_time"], "outcome_time": sched["outcome_time"],
        "trial_type": [TRIAL_TYPES[int(v)] for v in sched["valence"]],
    }
    trials = TimeIntervals(
        name="trials", description="Pavlovian trials (synthetic)",
        id=np.arange(sched["valence"].size),
        columns=[VectorData(name=c, description=descriptions[c], data=v)
                 for c, v in trial_cols.items()],
    )
    nwb.trials = trials

    n_total = len(models) * n_units
    chan = np.concatenate([
        i * _CHANNELS_PER_REGION + rng.integers(0, _CHANNELS_PER_REGION, n_units)
        for i in range(len(models))
    ])
    elec = DynamicTableRegion(name="electrodes", data=chan,
                              description="peak channel of each unit", table=nwb.electrodes)
    traj = {v: np.concatenate([m.trajectory(v).T for m in models]) for v in (1, -1)}
    cols = [
        VectorData(name="spike_times", description="spike times (s)",
                   data=H5DataIO(times, compression="gzip", compression_opts=4, shuffle=True)),
        VectorData(name="obs_intervals", description="observation intervals",
                   data=np.tile([[0.0, sched["end"]]], (n_total, 1))),
        elec,
        VectorData(name="electrode_group", description="shank of each unit",
                   data=[groups[i // n_units] for i in range(n_total)]),
        VectorData(name="planted_geometry", description="planting of the unit's region "
                   "(synthetic ground truth)", data=[regs[r] for r in region_of_unit]),
        VectorData(name="baseline_rate", description="planted baseline rate (Hz)",
                   data=np.concatenate([m.baseline for m in models])),
        VectorData(name="planted_rate_reward", description="planted mean rate (Hz) on "
                   f"reward trials at approach {k}..0", data=traj[1]),
        VectorData(name="planted_rate_danger", description="planted mean rate (Hz) on "
                   f"danger trials at approach {k}..0", data=traj[-1]),
    ]
    idx = [
        VectorIndex(name="spike_times_index", data=np.cumsum(counts), target=cols[0]),
        VectorIndex(name="obs_intervals_index", data=np.arange(1, n_total + 1),
                    target=cols[1]),
        VectorIndex(name="electrodes_index", data=np.arange(1, n_total + 1), target=elec),
    ]
    nwb.units = Units(name="units", description="simulated units (synthetic)",
                      id=np.arange(n_total), columns=cols + idx,
                      electrode_table=nwb.electrodes)

    truth = nwb.create_processing_module("ground_truth", "planted valence geometry "
                                         "(synthetic ground truth)")
    rows = params["planted"]
    table_cols = {
        "region": list(rows), "planting": [rows[r]["planting"] for r in rows],
        **{key: np.asarray([rows[r][key] for r in rows], dtype=float)
           for key in ("sharpness_reward", "sharpness_danger", "asymmetry",
                       "wall_fraction_reward", "wall_fraction_danger", "path_length_hz",
                       "window")},
    }
    truth.add(DynamicTable(
        name="planted_regions", description="planted sharpness S (window w final steps), "
        "asymmetry A = S_danger - S_reward, path length per region",
        id=np.arange(len(rows)),
        columns=[VectorData(name=c, description=c, data=v) for c, v in table_cols.items()],
    ))
    _deterministic_ids(nwb, seed, session_index)
    return nwb


def _deterministic_ids(nwb: Any, seed: int, session_index: int) -> None:
    """Replace the random uuid4 object ids by ids drawn from the seed."""
    import hdmf.container

    if not hasattr(hdmf.container, "uuid4"):  # other hdmf internals: ids stay random
        return
    gen = np.random.default_rng([int(seed), int(session_index), 7])

    def next_id() -> uuid.UUID:
        return uuid.UUID(bytes=gen.bytes(16), version=4)

    with mock.patch.object(hdmf.container, "uuid4", next_id):
        nwb.generate_new_id(recurse=True)


def simulate_session(
    path: str | os.PathLike[str],
    *,
    regions: Mapping[str, str] | None = None,
    n_units_per_region: int = DEFAULT_UNITS_PER_REGION,
    n_trials_per_valence: int = DEFAULT_TRIALS_PER_VALENCE,
    n_neutral_trials: int = DEFAULT_NEUTRAL_TRIALS,
    seed: int = 0,
    session_index: int = 0,
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Write one synthetic session with planted valence geometry as an NWB file.

    Parameters
    ----------
    path
        Output ``.nwb`` file; written atomically.
    regions
        Region -> planting (``"wall_danger"``, ``"wall_reward"``, ``"symmetric"``,
        ``"none"``); default :data:`DEFAULT_REGIONS`.
    n_units_per_region
        Units per region (default :data:`DEFAULT_UNITS_PER_REGION`).
    n_trials_per_valence
        Sucrose and shock trials each (default :data:`DEFAULT_TRIALS_PER_VALENCE`);
        ``n_neutral_trials`` neutral ones (:data:`DEFAULT_NEUTRAL_TRIALS`).
    seed, session_index
        Randomness: the same pair gives the same file, byte for byte.
    overwrite
        Replace an existing file.
    **options
        ``bin_size`` (0.25 s), ``n_approach`` (5), ``cue_to_outcome`` (1.5 s),
        ``iti`` ((2, 4) s) and any option of
        :func:`~neuroalign.simulate.make_region_model`.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValidationError
        For an unknown planting or a non-positive count.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    from pynwb import NWBHDF5IO

    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"output file {target}: exists; pass overwrite=True")
    nwb = build_session(regions=regions, n_units_per_region=n_units_per_region,
                        n_trials_per_valence=n_trials_per_valence,
                        n_neutral_trials=n_neutral_trials, seed=seed,
                        session_index=session_index, **options)
    with atomic_file(target, suffix=".nwb") as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; use the usual file mode
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
