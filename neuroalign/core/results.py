"""The results seam: what the cells computed, as the study and the report read it.

The pipeline (``neuroalign run``) and the batch (``neuroalign batch``) write one
results table; the study and the report read it. This module is the one place
that knows its layout:

- typed, frozen records: the keys of a side (:class:`ModelKey`: agent, family,
  task, seed, layer; :class:`BrainKey`: animal, session, region), an
  :class:`Estimate` (value, interval, its level, bootstrap standard error,
  p-value, n, resamples, method, note), a :class:`SideStatistic` (a statistic of
  one side alone, e.g. its valence asymmetry ``A``: written once per side) and a
  :class:`PairScore` (a measure of one model side against one brain side, with
  its noise ceiling and the number of shared conditions);
- :func:`side_row` and :func:`pair_row`, the only builders of result rows;
- :data:`RESULT_COLUMNS`, the one column schema, checked by :func:`results_table`
  for every table read (a run's ``results.parquet`` and a batch folder alike,
  :func:`neuroalign.study.inputs.read_results`), which also reads tables written by
  earlier versions (see :func:`results_table`).

The side of a row is its ``side`` column (``"pair"``, ``"model"`` or
``"brain"``); a side statistic's ``measure`` is the statistic's own name
(``"A"``, ``"S_danger"``, ...), never suffixed with the side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from neuroalign.core.errors import ValidationError

__all__ = [
    "BRAIN_KEYS",
    "DEFAULT_CELL_LEVEL",
    "KEY_COLUMNS",
    "LEGACY_LEVEL_NOTE",
    "MODEL_KEYS",
    "RESULT_COLUMNS",
    "SIDES",
    "BrainKey",
    "Estimate",
    "ModelKey",
    "PairScore",
    "SideStatistic",
    "pair_row",
    "results_table",
    "side_row",
    "side_statistics",
]

#: the identifying columns of a model side and of a brain side
MODEL_KEYS: tuple[str, ...] = ("agent", "family", "task", "seed", "layer")
BRAIN_KEYS: tuple[str, ...] = ("animal", "session", "region")
KEY_COLUMNS: tuple[str, ...] = (*MODEL_KEYS, *BRAIN_KEYS)

#: values of the ``side`` column
SIDES: tuple[str, ...] = ("pair", "model", "brain")

#: the interval level of cells whose table does not record one (the default ``ci``)
DEFAULT_CELL_LEVEL = 0.95

#: every column of a results table, in order (a batch adds ``cell_key``, ``cell_row``
#: first; a row's extra identifying fields, e.g. batch's ``source``, follow)
RESULT_COLUMNS: tuple[str, ...] = (
    *KEY_COLUMNS,
    "measure",
    "kind",
    "side",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "level",
    "boot_se",
    "n_resamples",
    "ceiling_low",
    "ceiling_high",
    "n",
    "method",
    "higher_is_similar",
    "n_conditions",
    "n_units_model",
    "n_units_brain",
    "n_rep_model",
    "n_rep_brain",
    "n_boot",
    "n_perm",
    "rng_seed",
    "note",
)

#: columns a table must hold to be read at all (older tables lack the rest)
_REQUIRED: tuple[str, ...] = ("measure", "estimate", "ci_low", "ci_high", "session", "region",
                              "agent", "family", "seed", "layer")

#: columns added after the first release, with the value an older table gets
_ADDED: Mapping[str, Any] = {"boot_se": np.nan, "n_resamples": pd.NA, "task": None,
                             "animal": None, "kind": None, "side": None, "p_value": np.nan,
                             "ceiling_low": np.nan, "ceiling_high": np.nan, "note": None}

LEGACY_LEVEL_NOTE = (
    "the results record no interval level (written before the 'level' column): the cells' "
    "intervals were read as {level:.0%} intervals ({why}); rerun the cells to use their "
    "bootstrap standard errors"
)


# --- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelKey:
    """Who a model side is: an agent's layer, trained with ``seed`` on ``task``."""

    agent: str | None
    family: str | None
    task: str | None
    seed: int | None
    layer: str | None

    def as_dict(self) -> dict[str, Any]:
        """The key's columns."""
        return {"agent": self.agent, "family": self.family, "task": self.task,
                "seed": self.seed, "layer": self.layer}


@dataclass(frozen=True)
class BrainKey:
    """Who a brain side is: a region of one session of one animal."""

    animal: str | None
    session: str | None
    region: str | None

    def as_dict(self) -> dict[str, Any]:
        """The key's columns."""
        return {"animal": self.animal, "session": self.session, "region": self.region}


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _int(value: Any) -> int:
    number = _float(value)
    return int(number) if math.isfinite(number) else 0


@dataclass(frozen=True)
class Estimate:
    """One statistic as inference computed it.

    Attributes
    ----------
    value
        The point estimate (NaN: undefined, see ``note``).
    ci_low, ci_high
        The bootstrap interval (NaN: none).
    level
        The interval's level (e.g. 0.95).
    boot_se
        Standard deviation of the bootstrap resamples (NaN: no bootstrap).
    p_value
        The test's p-value (NaN: no test).
    n
        Observations the estimate rests on (repetitions or conditions).
    n_resamples
        Bootstrap resamples that gave a defined value.
    method
        How the estimate, interval and p were made.
    note
        Why a value is undefined, or what to read it with.
    """

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    level: float = math.nan
    boot_se: float = math.nan
    p_value: float = math.nan
    n: int = 0
    n_resamples: int = 0
    method: str = ""
    note: str | None = None

    @classmethod
    def undefined(cls, note: str, n: int = 0, method: str = "") -> Estimate:
        """An estimate the data leave undefined: NaN with ``note``."""
        return cls(value=math.nan, n=n, method=method, note=note)

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], *, method: str | None = None,
                    note: str | None = None) -> Estimate:
        """The estimate of one row of an inference table
        (:data:`neuroalign.compare.inference.stats.RESULT_COLUMNS`)."""
        given = rec.get("note")
        text = note if note is not None else (given if isinstance(given, str) and given
                                               else None)
        return cls(value=_float(rec.get("estimate")), ci_low=_float(rec.get("ci_low")),
                   ci_high=_float(rec.get("ci_high")), level=_float(rec.get("level")),
                   boot_se=_float(rec.get("boot_se")), p_value=_float(rec.get("p_value")),
                   n=_int(rec.get("n")), n_resamples=_int(rec.get("n_resamples")),
                   method=str(method if method is not None else rec.get("method") or ""),
                   note=text)

    def columns(self) -> dict[str, Any]:
        """The estimate's columns of a result row."""
        return {"estimate": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "level": self.level, "boot_se": self.boot_se,
                "n_resamples": self.n_resamples, "n": self.n, "method": self.method or None,
                "note": self.note}


@dataclass(frozen=True)
class SideStatistic:
    """A statistic of one side alone (e.g. the valence asymmetry ``A`` of a region).

    Computed once per side on its own full grid, written once per side: a
    region's geometry does not depend on the agent it is compared with.
    """

    side: Literal["model", "brain"]
    key: ModelKey | BrainKey
    name: str
    estimate: Estimate
    kind: str = "geometry"
    n_conditions: int = 0
    n_units: int = 0
    n_rep: int = 0


@dataclass(frozen=True)
class PairScore:
    """A measure of one model side against one brain side over their shared conditions."""

    model: ModelKey
    brain: BrainKey
    measure: str
    kind: str
    higher_is_similar: bool | None
    estimate: Estimate
    ceiling_low: float = math.nan
    ceiling_high: float = math.nan
    n_conditions: int = 0
    n_units_model: int = 0
    n_units_brain: int = 0
    n_rep_model: int = 0
    n_rep_brain: int = 0


# --- rows ----------------------------------------------------------------------------------


def _empty_row() -> dict[str, Any]:
    return dict.fromkeys(RESULT_COLUMNS)


def pair_row(score: PairScore, *, n_boot: int, n_perm: int, rng_seed: int,
             extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The result row of a pair score (columns :data:`RESULT_COLUMNS`, then ``extra``)."""
    row = _empty_row()
    row.update(score.model.as_dict())
    row.update(score.brain.as_dict())
    row.update(score.estimate.columns())
    row.update(measure=score.measure, kind=score.kind, side="pair",
               higher_is_similar=score.higher_is_similar, ceiling_low=score.ceiling_low,
               ceiling_high=score.ceiling_high, n_conditions=score.n_conditions,
               n_units_model=score.n_units_model, n_units_brain=score.n_units_brain,
               n_rep_model=score.n_rep_model, n_rep_brain=score.n_rep_brain,
               n_boot=int(n_boot), n_perm=int(n_perm), rng_seed=int(rng_seed))
    row.update(extra or {})
    return row


def side_row(stat: SideStatistic, *, n_boot: int, n_perm: int, rng_seed: int,
             extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The result row of a side statistic: the other side's keys are empty."""
    row = _empty_row()
    row.update(stat.key.as_dict())
    row.update(stat.estimate.columns())
    row.update(measure=stat.name, kind=stat.kind, side=stat.side, higher_is_similar=None,
               ceiling_low=math.nan, ceiling_high=math.nan, n_conditions=stat.n_conditions,
               n_boot=int(n_boot), n_perm=int(n_perm), rng_seed=int(rng_seed))
    row[f"n_units_{stat.side}"] = stat.n_units
    row[f"n_rep_{stat.side}"] = stat.n_rep
    row.update(extra or {})
    return row


def side_statistics(results: pd.DataFrame, side: Literal["model", "brain"],
                    name: str) -> pd.DataFrame:
    """The rows of the side statistic ``name`` of every ``side`` (one per side)."""
    if side not in ("model", "brain"):
        raise ValidationError(f"side: got {side!r}; expected 'model' or 'brain'")
    return results[(results["measure"] == name) & (results["side"] == side)]


# --- tables --------------------------------------------------------------------------------


def _legacy_side_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Tables written before side statistics were rows of their own.

    Their side statistics were repeated on every pair and named ``A.brain`` /
    ``A.model``: the suffix becomes the ``side`` column, the other side's keys
    are emptied and each side's statistic is kept once (the copies were
    identical by construction).
    """
    measure = frame["measure"].astype(str)
    suffix = measure.str.extract(r"^(?P<name>.+)\.(?P<side>brain|model)$")
    legacy = suffix["side"].notna()
    if not legacy.any():
        return frame
    frame = frame.copy()
    frame.loc[legacy, "measure"] = suffix.loc[legacy, "name"]
    frame.loc[legacy, "side"] = suffix.loc[legacy, "side"]
    if "kind" in frame.columns:
        frame.loc[legacy & frame["kind"].isna(), "kind"] = "geometry"
    keep = ~legacy
    for side, own, other in (("brain", BRAIN_KEYS, MODEL_KEYS),
                             ("model", MODEL_KEYS, BRAIN_KEYS)):
        rows = legacy & (frame["side"] == side)
        if not rows.any():
            continue
        own_cols = [c for c in own if c in frame.columns]
        first = (frame.loc[rows, [*own_cols, "measure"]].astype(str)
                 .drop_duplicates(keep="first").index)
        keep.loc[first] = True
        frame.loc[rows, [c for c in other if c in frame.columns]] = None
        for col in (f"n_units_{'model' if side == 'brain' else 'brain'}",
                    f"n_rep_{'model' if side == 'brain' else 'brain'}"):
            if col in frame.columns:
                frame.loc[rows, col] = np.nan
    return frame[keep]


def results_table(frame: pd.DataFrame, *, cell_level: float | None = None,
                  name: str = "results") -> pd.DataFrame:
    """A results table checked against :data:`RESULT_COLUMNS`, older layouts read.

    Parameters
    ----------
    frame
        Rows of a run (``results.parquet``) or a batch
        (:func:`neuroalign.study.inputs.read_results`).
    cell_level
        The cells' interval level for a table without a ``level`` column (an older
        table; the run's recorded ``ci``). ``None`` there: the default
        :data:`DEFAULT_CELL_LEVEL`, said in ``attrs["notes"]``.
    name
        How errors name the table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESULT_COLUMNS` in order, then any extra columns. Tables
        of earlier versions are migrated: side statistics named ``A.brain`` /
        ``A.model`` and repeated per pair become one row per side named ``A``
        with ``side`` ``"brain"`` / ``"model"``; a missing ``level`` is filled as
        above; other added columns are empty. ``attrs["notes"]`` lists what was
        assumed.

    Raises
    ------
    ValidationError
        A required column is missing, or ``side`` holds an unknown value.
    """
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValidationError(f"{name}: missing columns {missing}; expected the columns of "
                              "a neuroalign run or batch results table")
    notes: list[str] = list(frame.attrs.get("notes", []))
    frame = _legacy_side_rows(frame)
    if "level" not in frame.columns:
        if cell_level is None:
            level = DEFAULT_CELL_LEVEL
            why = "the default ci; no recorded config gave the cells' level"
        else:
            level, why = float(cell_level), "the level recorded in the run's config"
        frame = frame.assign(level=level)
        notes.append(LEGACY_LEVEL_NOTE.format(level=level, why=why))
    added = {c: v for c, v in _ADDED.items() if c not in frame.columns}
    if added:
        frame = frame.assign(**added)
    if "side" in frame.columns:
        frame = frame.assign(side=frame["side"].where(frame["side"].notna(), "pair"))
        bad = sorted(set(frame["side"].astype(str)) - set(SIDES))
        if bad:
            raise ValidationError(f"{name}.side: got {bad}; expected values from {list(SIDES)}")
    seed = pd.to_numeric(frame["seed"], errors="coerce")
    whole = seed.notna().sum() == frame["seed"].notna().sum() and bool(
        (seed.dropna() % 1 == 0).all())
    if whole:  # integer seeds; a brain side's row has none: nullable integers
        frame = frame.assign(seed=seed.round().astype("Int64"))
    lead = [c for c in ("cell_key", "cell_row") if c in frame.columns]
    ordered = [c for c in RESULT_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in ordered and c not in lead]
    out = frame[[*lead, *ordered, *rest]].reset_index(drop=True)
    out.attrs["notes"] = notes
    return out
