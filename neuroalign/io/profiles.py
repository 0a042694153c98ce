"""Dataset profiles: how one lab's event tables say reward and danger.

A :class:`Profile` names the column that carries valence, how its values map
to valence (+1 reward, -1 danger, 0 neutral) and outcome names, and which
columns hold the outcome and cue times. Built-in profiles:

``ibl``
    IBL brain-wide map (dandiset 000409): ``feedback_type`` +1 water / -1 white
    noise, ``feedback_time``, cue ``stim_on_time`` (ALF names ``feedbackType``,
    ``feedback_times``, ``stimOn_times`` also accepted); regions from units
    ``beryl_location`` then ``allen_location``.
``steinmetz``
    Steinmetz et al. 2019 (dandiset 000017): ``feedback_type`` +1 water / -1
    white noise, ``feedback_time``, cue ``visual_stimulus_time``; regions via
    units ``peak_channel`` -> electrodes ``location``.
``amygdala``
    Amygdala valence layout (dandiset 000689 style, and neuroalign's synthetic
    sessions): ``trial_type`` sucrose / shock / neutral, ``outcome_time``,
    cue ``cue_time``.
``photometry``
    Striatal photometry (dandiset 001038): ``event_type`` reward / air puff in
    a behaviour TimeIntervals table; the outcome time is an explicit
    ``outcome_time`` column when the table has one, else the event's ``start_time``.
``generic``
    Built by :func:`generic_profile` from a user mapping ``{column: {value: valence}}``.

Values are compared after normalisation: text lower-cased with ``_``/``-``
turned into spaces (``"Air_Puff"`` == ``"air puff"``), integral numbers as ints.

No value of the valence column is ever dropped silently. A value is mapped by
the profile's own table first, then by the default labels below; a value that
neither covers stops the import with a :class:`ProfileError` that lists it and
says how to map it (``mapping={column: {value: 1 | -1 | 0 | "exclude"}}``).

=====================================================================  ========
default label (after normalisation)                                    valence
=====================================================================  ========
reward, water, sucrose                                                 +1
shock, foot shock, footshock, air puff, airpuff, white noise,          -1
punishment
neutral, odor, odour, omission                                         0
=====================================================================  ========

Neutral trials (0) are kept; a grid of reward and danger leaves them out.
"exclude" (in a user mapping) leaves the value's trials out of the import;
they are counted as dropped with the reason ``excluded by mapping``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.core.contracts import VALENCE_NAMES, valence_code
from neuroalign.core.errors import DataError, ProfileError
from neuroalign.io.accounting import MISSING_LABEL, TrialAccount
from neuroalign.io.events import CANONICAL_COLUMNS
from neuroalign.io.units import RegionColumn

__all__ = [
    "DEFAULT_LABELS",
    "EXCLUDE",
    "OUTCOME_TIME_COLUMNS",
    "PROFILES",
    "Profile",
    "align_column",
    "apply_profile",
    "candidate_columns",
    "describe_profile",
    "detect_profile",
    "generic_profile",
    "get_profile",
    "label_valence",
    "normalise_value",
    "with_mapping",
]


def normalise_value(value: object) -> object:
    """Comparable form of a table value (see module docs)."""
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:  # "-1" (a JSON mapping key) is the number -1, not the text "1"
            number = float(value)
        except ValueError:
            return " ".join(value.strip().lower().replace("_", " ").replace("-", " ").split())
        if np.isnan(number):  # "nan" written as text: no label
            return None
        return normalise_value(number) if np.isfinite(number) else value.strip().lower()
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return int(value) if float(value).is_integer() else float(value)
    return value


#: a mapping value that leaves a label's trials out of the import (counted as dropped)
EXCLUDE = "exclude"

#: documented default valence of common outcome labels (normalised, see module docs)
DEFAULT_LABELS: dict[object, int] = {
    "reward": 1, "water": 1, "sucrose": 1,
    "shock": -1, "foot shock": -1, "footshock": -1, "air puff": -1, "airpuff": -1,
    "white noise": -1, "punishment": -1,
    "neutral": 0, "odor": 0, "odour": 0, "omission": 0,
}

#: explicit outcome-time columns, preferred over an event's ``start_time``
OUTCOME_TIME_COLUMNS = ("outcome_time", "outcome_times", "us_time", "us_start_time",
                        "reward_time", "punishment_time")


@dataclass(frozen=True)
class Profile:
    """How a dataset layout encodes valence.

    Attributes
    ----------
    name
        Profile name (``ibl``, ``steinmetz``, ``amygdala``, ``photometry``, ``generic``).
    valence_columns
        Candidate names of the column that carries valence; the first present wins.
    valence_map
        Normalised value -> valence code, or ``None`` to leave the value's
        trials out (reported as dropped); :data:`DEFAULT_LABELS` covers values
        it does not name.
    outcome_names
        Normalised value -> outcome name (defaults to the value itself).
    outcome_time
        Candidate names of the outcome-time column.
    cue_time
        Candidate names of the cue-time column (for ``align="cue"``).
    region_columns
        Region columns tried before the generic rules.
    required_valences
        Valences that must have at least one trial.
    tables
        Preferred tables to search first (others are searched after).
    """

    name: str
    valence_columns: tuple[str, ...]
    valence_map: Mapping[object, int | None]
    outcome_time: tuple[str, ...]
    cue_time: tuple[str, ...] = ()
    outcome_names: Mapping[object, str] = field(default_factory=dict)
    region_columns: tuple[RegionColumn, ...] = ()
    required_valences: tuple[int, ...] = (1, -1)
    tables: tuple[str, ...] = ("trials",)


#: profile name -> the built-in dataset profile (``auto`` and ``generic`` are resolved
#: by :func:`neuroalign.io.load.resolve_profile`)
PROFILES: dict[str, Profile] = {
    "ibl": Profile(
        "ibl", ("feedback_type", "feedbackType"), {1: 1, -1: -1},
        ("feedback_time", "feedback_times"),
        ("stim_on_time", "stimOn_times", "stimOn_time", "stim_on_times"),
        {1: "water", -1: "white_noise"}, ("beryl_location", "allen_location"),
    ),
    "steinmetz": Profile(
        "steinmetz", ("feedback_type", "feedbackType"), {1: 1, -1: -1},
        ("feedback_time", "feedback_times"),
        ("visual_stimulus_time", "stim_on_time", "go_cue"),
        {1: "water", -1: "white_noise"}, (("peak_channel", "location"),),
    ),
    "amygdala": Profile(
        "amygdala", ("trial_type",), {"sucrose": 1, "shock": -1, "neutral": 0},
        ("outcome_time", "us_time", "us_start_time"),
        ("cue_time", "cs_time", "cue_start_time", "cs_start_time"),
        {"sucrose": "sucrose", "shock": "shock", "neutral": "neutral"},
    ),
    "photometry": Profile(
        "photometry", ("event_type",), {"reward": 1, "air puff": -1, "airpuff": -1},
        (*OUTCOME_TIME_COLUMNS, "start_time"), ("cue_time", "cs_time", "odor_time"),
        {"reward": "reward", "air puff": "air_puff", "airpuff": "air_puff"},
        tables=("behavior/Events", "Events"),
    ),
}


def _as_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def generic_profile(
    mapping: Mapping[str, Mapping[object, int | str | None]],
    time_column: str | Sequence[str] = (*OUTCOME_TIME_COLUMNS, "start_time"),
    cue_column: str | Sequence[str] = (),
    table: str | None = None,
    region_columns: Sequence[RegionColumn] = (),
) -> Profile:
    """A profile from a user mapping ``{column: {value: valence}}``.

    Parameters
    ----------
    mapping
        Exactly one column; its values map to ``+1``/``-1``/``0``,
        ``"reward"``/``"danger"``/``"neutral"``, or ``"exclude"`` (leave out,
        reported as dropped). Values it does not name fall back to
        :data:`DEFAULT_LABELS`; any other value is refused when loading.
    time_column, cue_column
        Outcome-time and cue-time column names (candidates, first present wins;
        by default an explicit outcome-time column before ``start_time``).
    table
        Table to read (default: ``trials`` first, then any table with the column).
    region_columns
        Region columns tried first for units.
    """
    if len(mapping) != 1:
        raise ProfileError(
            f"generic profile mapping: got {len(mapping)} columns ({list(mapping)}); "
            "expected exactly one, e.g. {'reward_type': {'water': 1, 'airpuff': -1}}"
        )
    (column, values), = mapping.items()
    if not isinstance(values, Mapping):
        raise ProfileError(
            f"generic profile mapping[{column!r}]: got {values!r}; expected "
            "{value: 1 | -1 | 0 | 'reward' | 'danger' | 'neutral' | 'exclude'}"
        )
    vmap: dict[object, int | None] = {
        normalise_value(k): None if v is None or _is_exclude(v) else valence_code(v)
        for k, v in values.items()}
    names = {normalise_value(k): str(k) for k in values}
    required = {v for v in vmap.values() if v is not None} - {0}
    return Profile(
        "generic", (column,), vmap, _as_tuple(time_column), _as_tuple(cue_column), names,
        tuple(region_columns), tuple(sorted(required, reverse=True)),
        (table,) if table else ("trials",),
    )


def with_mapping(
    profile: Profile, mapping: Mapping[str, Mapping[object, int | str | None]]
) -> Profile:
    """``profile`` with a user mapping of its valence column merged over its own map.

    A mapping of another column makes a :func:`generic_profile` instead, which
    keeps the profile's outcome-time, cue and region columns.
    """
    user = generic_profile(mapping, time_column=(*profile.outcome_time, *OUTCOME_TIME_COLUMNS,
                                                 "start_time"),
                           cue_column=profile.cue_time, region_columns=profile.region_columns)
    (column,) = user.valence_columns
    if column not in profile.valence_columns:
        return user
    merged = {**profile.valence_map, **user.valence_map}
    names = {**user.outcome_names, **profile.outcome_names}  # known labels keep their names
    # a valence the user excluded entirely is no longer required
    left = {v for v in merged.values() if v is not None}
    return replace(profile, name=profile.name, valence_columns=(column,), valence_map=merged,
                   outcome_names=names,
                   required_valences=tuple(v for v in profile.required_valences if v in left))


def _is_exclude(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() == EXCLUDE)


def label_valence(profile: Profile, value: object) -> tuple[bool, int | None]:
    """``(known, valence)`` of one normalised value under ``profile``.

    ``known`` is false when neither the profile's map nor :data:`DEFAULT_LABELS`
    covers the value; ``valence`` is ``None`` for a value mapped to ``"exclude"``.
    """
    if value in profile.valence_map:
        return True, profile.valence_map[value]
    if isinstance(value, str) and value in DEFAULT_LABELS:
        return True, DEFAULT_LABELS[value]
    return False, None


def get_profile(name: str) -> Profile:
    """The built-in profile called ``name``."""
    if name not in PROFILES:
        raise ProfileError(
            f"profile: got {name!r}; expected one of {[*sorted(PROFILES), 'generic', 'auto']} "
            "('generic' needs a mapping: --mapping on the command line, mapping= or "
            "generic_profile in Python)"
        )
    return PROFILES[name]


def _first(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in columns), None)


def _table_order(tables: Mapping[str, pd.DataFrame], preferred: Sequence[str]) -> list[str]:
    first = [k for p in preferred for k in tables if k == p or k.endswith("/" + p)]
    return list(dict.fromkeys([*first, *tables]))


def candidate_columns(tables: Mapping[str, pd.DataFrame], max_values: int = 12) -> list[str]:
    """Columns that could carry valence: few distinct values, not times or ids."""
    out = []
    for key, frame in tables.items():
        for col in frame.columns:
            if col in ("id", "start_time", "stop_time") or col.endswith(("_time", "_times")):
                continue
            values = pd.unique(frame[col].dropna())
            if 0 < len(values) <= max_values:
                shown = ", ".join(map(str, sorted(map(str, values))[:6]))
                out.append(f"{key}.{col} ({shown})")
    return out


def _find(profile: Profile, tables: Mapping[str, pd.DataFrame]) -> tuple[str, str] | None:
    for key in _table_order(tables, profile.tables):
        col = _first(list(tables[key].columns), profile.valence_columns)
        if col is not None:
            return key, col
    return None


def _matches(profile: Profile, frame: pd.DataFrame, col: str) -> bool:
    values = {normalise_value(v) for v in pd.unique(frame[col].dropna())}
    return bool(values & set(profile.valence_map))


def detect_profile(
    tables: Mapping[str, pd.DataFrame], unit_columns: Sequence[str] = ()
) -> tuple[Profile | None, str]:
    """Choose a built-in profile for a file, and say why.

    Returns
    -------
    (Profile or None, str)
        The profile (``None`` when nothing fits) and the reason, which lists the
        candidate columns seen when nothing fits.
    """
    for name in ("amygdala", "photometry"):
        found = _find(PROFILES[name], tables)
        if found and _matches(PROFILES[name], tables[found[0]], found[1]):
            values = sorted(map(str, pd.unique(tables[found[0]][found[1]].dropna())))
            return PROFILES[name], f"{found[0]}.{found[1]} holds {values}"
    found = _find(PROFILES["ibl"], tables)
    if found and _matches(PROFILES["ibl"], tables[found[0]], found[1]):
        cols = set(tables[found[0]].columns)
        why = f"{found[0]}.{found[1]} holds +1/-1 feedback"
        steinmetz_cols = cols & {"visual_stimulus_time", "go_cue", "response_choice"}
        if "peak_channel" in unit_columns or steinmetz_cols or any(
                "passive" in k for k in tables):
            return PROFILES["steinmetz"], why + (
                f" and the file has Steinmetz columns "
                f"({sorted(steinmetz_cols) or 'peak_channel/passive tables'})")
        return PROFILES["ibl"], why + " (IBL layout)"
    seen = candidate_columns(tables)
    return None, ("no valence column found (looked for trial_type, event_type, "
                  f"feedback_type); candidate columns: {seen or 'none'}")


def apply_profile(
    tables: Mapping[str, pd.DataFrame], profile: Profile, label: str = "", *,
    require_outcome_time: bool = True, account: TrialAccount | None = None,
) -> pd.DataFrame:
    """The valenced events of a file under ``profile``, in canonical form.

    Parameters
    ----------
    tables
        Event tables (:func:`neuroalign.io.events.read_event_tables`).
    profile
        The profile to apply.
    label
        Name of the source in messages.
    require_outcome_time
        Refuse a table without an outcome-time column (needed to align to the
        outcome). ``False`` (aligning to the cue or another column) fills
        ``time`` with NaN instead.
    account
        Records every row read and every row left out, per label (excluded by
        the mapping, or with an empty label).

    Returns
    -------
    pandas.DataFrame
        One row per mapped row of the source table, in table order: ``time``
        (outcome time), ``event`` (``"outcome"``), ``valence``, ``outcome``,
        ``trial`` (row number), ``source`` (table name), then the source
        columns (a source column whose name clashes gets a ``src_`` prefix).

    Raises
    ------
    ProfileError
        No table has the valence column; the outcome-time column is missing
        (with ``require_outcome_time``); a value that neither the profile nor
        :data:`DEFAULT_LABELS` maps (the message lists every such value and
        how to map it); no value maps to a valence.
    DataError
        A required valence has zero trials.
    """
    where = label or "file"
    found = _find(profile, tables)
    if found is None:
        raise ProfileError(
            f"{where}: profile {profile.name!r} needs a column "
            f"{' or '.join(profile.valence_columns)} in one of the tables {list(tables)}; "
            "candidate columns: "
            f"{candidate_columns(tables) or 'none'}"
        )
    key, col = found
    frame = tables[key]
    tcol = _first(list(frame.columns), profile.outcome_time)
    if tcol is None and require_outcome_time:
        raise ProfileError(
            f"{where}: profile {profile.name!r}: table {key!r} has no outcome-time column "
            f"{' or '.join(profile.outcome_time)} (columns: {list(frame.columns)}); aligning "
            "to the cue (align='cue') or to another time column does not need one"
        )
    if tcol is not None and len(frame) and not pd.api.types.is_numeric_dtype(frame[tcol]):
        raise DataError(f"{where}: {key}.{tcol}: got {frame[tcol].dtype} values "
                        f"(e.g. {str(frame[tcol].iloc[0])[:40]!r}); expected times in seconds")
    raw = frame[col].tolist()
    norm = [None if v == "" else v for v in map(normalise_value, raw)]  # blank = no label
    looked = [label_valence(profile, v) for v in norm]
    unknown = Counter(str(r) for r, n, (known, _) in zip(raw, norm, looked, strict=True)
                      if n is not None and not known)
    if unknown:
        example = {str(v): "1 | -1 | 0 | 'exclude'" for v in list(unknown)[:3]}
        raise ProfileError(
            f"{where}: {key}.{col}: got values that no mapping of profile {profile.name!r} "
            f"covers: {dict(sorted(unknown.items()))} (trials per value); expected "
            f"{sorted(map(str, {*profile.valence_map, *DEFAULT_LABELS}))}. Map them with "
            f"mapping={{{col!r}: {example}}} (--mapping as JSON on the command line); "
            "'exclude' leaves a value's trials out and reports them"
        )
    names = [MISSING_LABEL if n is None else profile.outcome_names.get(n, str(n)) for n in norm]
    valence = [v for _, v in looked]
    keep = np.asarray([n is not None and v is not None for n, v in zip(norm, valence,
                                                                        strict=True)], bool)
    if not keep.any():
        raise ProfileError(
            f"{where}: profile {profile.name!r}: no value of {key}.{col} maps to a valence "
            f"(values seen: {sorted(map(str, set(norm)))}; expected "
            f"{sorted(map(str, profile.valence_map))})"
        )
    codes = np.asarray([v for v, k in zip(valence, keep, strict=True) if k], dtype=np.int64)
    for req in profile.required_valences:
        if not (codes == req).any():
            raise DataError(
                f"{where}: valence {VALENCE_NAMES[req]} ({req:+d}) has zero trials in "
                f"{key}.{col} under profile {profile.name!r} (values seen: "
                f"{sorted(map(str, set(norm)))})"
            )
    if account is not None:
        account.add(names)
        account.drop([n for n, v, m in zip(names, valence, norm, strict=True)
                      if m is not None and v is None], "excluded by mapping")
        account.drop([n for n, m in zip(names, norm, strict=True) if m is None],
                     f"no label in {key}.{col}")
    src = frame.loc[keep].reset_index(drop=True)
    times = (src[tcol].to_numpy(dtype=float) if tcol is not None
             else np.full(len(src), np.nan))
    out = pd.DataFrame({
        "time": times,
        "event": "outcome",
        "valence": pd.array(codes, dtype="Int64"),
        "outcome": [n for n, k in zip(names, keep, strict=True) if k],
        "trial": np.flatnonzero(keep),
        "source": key,
    })
    src = src.rename(columns={c: f"src_{c}" for c in src.columns if c in CANONICAL_COLUMNS})
    return pd.concat([out, src], axis=1)


def describe_profile(
    tables: Mapping[str, pd.DataFrame], profile: Profile, align: str = "outcome"
) -> dict[str, Any]:
    """Which table and columns ``profile`` reads in ``tables``, and the label mapping.

    Returns
    -------
    dict
        ``table``, ``valence_column``, ``outcome_time_column`` and
        ``cue_time_column`` (``None`` when absent), ``align_column`` for
        ``align`` (``None`` when it cannot be aligned), ``labels``
        (value -> valence, ``"exclude"`` or ``"unmapped"``).
    """
    found = _find(profile, tables)
    if found is None:
        return {"table": None, "valence_column": None, "outcome_time_column": None,
                "cue_time_column": None, "align_column": None, "labels": {}}
    key, col = found
    cols = list(tables[key].columns)
    tcol = _first(cols, profile.outcome_time)
    ccol = _first(cols, profile.cue_time)
    labels: dict[str, object] = {}
    for value in pd.unique(tables[key][col].dropna()):
        known, code = label_valence(profile, normalise_value(value))
        labels[str(value)] = code if known and code is not None else (
            EXCLUDE if known else "unmapped")
    chosen = {"outcome": tcol, "cue": ccol}.get(align, align if align in cols else None)
    return {"table": key, "valence_column": col, "outcome_time_column": tcol,
            "cue_time_column": ccol, "align_column": chosen, "labels": labels}


def align_column(events: pd.DataFrame, align: str, profile: Profile) -> str:
    """The column of ``events`` that holds the ``align`` times.

    ``"outcome"`` -> the profile's outcome-time column (else ``time``); ``"cue"`` ->
    the profile's cue column; anything else must be a numeric column of the
    events (e.g. ``"stim_on_time"``).
    """
    if align == "outcome":
        return _first(list(events.columns), profile.outcome_time) or "time"
    if align == "cue":
        col = _first(list(events.columns), profile.cue_time)
        if col is None:
            raise ProfileError(
                f"align='cue': profile {profile.name!r} found no cue column "
                f"{' or '.join(profile.cue_time) or '(none defined)'} in {list(events.columns)}"
            )
        return col
    if align in events.columns and pd.api.types.is_numeric_dtype(events[align]):
        return align
    numeric = [c for c in events.columns if pd.api.types.is_numeric_dtype(events[c])
               and c not in ("valence", "trial", "id")]
    raise ProfileError(
        f"align: got {align!r}; expected 'outcome', 'cue' or a time column of the events "
        f"table: {numeric}"
    )
