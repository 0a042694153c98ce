"""One cell of the main job: one model pattern set against one brain pattern set.

A *cell* is one (agent, task, seed, layer) x (session, region) pair. The
function :func:`compute_cell` is pure: given the two pattern arrays, the
measures, the resampling sizes and a seed it always returns the same rows, so
it can run on any worker of a distributed batch and be compared to a serial run.

The measures return typed records (:class:`~neuroalign.core.results.PairScore`,
:class:`~neuroalign.core.results.SideStatistic`); rows are built from them by
:func:`~neuroalign.core.results.pair_row` and :func:`~neuroalign.core.results.side_row`
with the columns of :data:`ROW_COLUMNS`; a list of them turns into a tidy
:class:`pandas.DataFrame` with ``pd.DataFrame(rows)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Literal

import numpy as np
import xarray as xr

from neuroalign.core.config import MeasureOptions
from neuroalign.core.contracts import condition_labels, require_dims
from neuroalign.core.errors import ValidationError
from neuroalign.core.results import (
    KEY_COLUMNS,
    RESULT_COLUMNS,
    BrainKey,
    ModelKey,
    PairScore,
    SideStatistic,
    pair_row,
    side_row,
)
from neuroalign.core.vocabulary import MEASURE_ALIASES, MEASURES
from neuroalign.pipeline.loaders import load_brain_patterns, load_model_patterns
from neuroalign.pipeline.measures import MEASURE_SPECS
from neuroalign.pipeline.sides import (
    Side,
    as_measure_options,
    as_side,
    derive_seed,
    prepare_side,
)

__all__ = [
    "MEASURES",
    "META_COLUMNS",
    "ROW_COLUMNS",
    "Side",
    "align_conditions",
    "check_row",
    "compute_cell",
    "derive_seed",
    "load_brain_patterns",
    "load_model_patterns",
    "prepare_side",
    "score_cell",
    "shared_labels",
    "side_rows",
]

#: identifying columns copied from ``meta`` (missing keys become ``None``)
META_COLUMNS: tuple[str, ...] = KEY_COLUMNS

#: every column of a result row, in order (:data:`neuroalign.core.results.RESULT_COLUMNS`)
ROW_COLUMNS: tuple[str, ...] = RESULT_COLUMNS


def align_conditions(
    model: xr.DataArray, brain: xr.DataArray
) -> tuple[xr.DataArray, xr.DataArray]:
    """Restrict both arrays to their shared conditions, in the brain's order.

    Parameters
    ----------
    model
        Model patterns, dims ``(repetition?, condition, unit)``.
    brain
        Brain patterns, dims ``(repetition, condition, unit)``.

    Returns
    -------
    (model, brain)
        Both with dims ``(repetition, condition, unit)`` (a model without a
        ``repetition`` dim gets one of length 1), the same ``condition`` order
        and a ``label`` coord on ``condition``.

    Raises
    ------
    ValidationError
        Wrong dims, or fewer than 3 shared condition labels (the message lists
        both label sets).
    """
    require_dims(model, ("condition", "unit"), "model patterns")
    require_dims(brain, ("repetition", "condition", "unit"), "brain patterns")
    if "repetition" not in model.dims:
        model = model.expand_dims("repetition")
    model = model.transpose("repetition", "condition", "unit")
    brain = brain.transpose("repetition", "condition", "unit")
    m_lab = condition_labels(model, "model patterns", missing="error")
    b_lab = condition_labels(brain, "brain patterns", missing="error")
    for lab, name in ((m_lab, "model patterns"), (b_lab, "brain patterns")):
        if len(set(lab.tolist())) != lab.size:
            raise ValidationError(f"{name}: condition labels repeat: {lab.tolist()}")
    m_pos = {lab: i for i, lab in enumerate(m_lab.tolist())}
    shared = [lab for lab in b_lab.tolist() if lab in m_pos]
    if len(shared) < 3:
        raise ValidationError(
            f"model and brain share {len(shared)} condition label(s) {shared}; at least 3 are "
            f"needed. model labels: {m_lab.tolist()}; brain labels: {b_lab.tolist()}"
        )
    b_pos = {lab: i for i, lab in enumerate(b_lab.tolist())}
    model = model.isel(condition=[m_pos[lab] for lab in shared])
    brain = brain.isel(condition=[b_pos[lab] for lab in shared])
    model = model.assign_coords(label=("condition", np.asarray(shared)))
    brain = brain.assign_coords(label=("condition", np.asarray(shared)))
    return model, brain


def compute_cell(
    model: xr.DataArray,
    brain: xr.DataArray,
    measures: Sequence[str],
    *,
    n_boot: int,
    n_perm: int,
    seed: int,
    meta: Mapping[str, Any],
    options: Mapping[str, Any] | MeasureOptions | None = None,
) -> list[dict[str, Any]]:
    """Compare one model pattern set with one brain pattern set.

    Parameters
    ----------
    model
        Model patterns of one agent/seed/layer, dims ``(repetition?, condition, unit)``
        (as returned by :func:`neuroalign.zoo.probe`).
    brain
        Brain patterns of one session/region, dims ``(repetition, condition, unit)``
        (as returned by :func:`neuroalign.io.condition_grid`).
    measures
        Names from :data:`MEASURES`: ``"rsa"`` (cross-validated RDMs compared
        with Spearman or Pearson), ``"cka"`` (debiased linear CKA),
        ``"shape"`` (angular Procrustes distance) and ``"geometry"``
        (sharpness and valence asymmetry of each side).
    n_boot
        Bootstrap resamples over repetitions for the intervals (0: no interval).
    n_perm
        Permutations of condition (or valence) labels for the p-values (0: no p).
    seed
        Seed of every random draw; each measure derives its own stream from it
        with :func:`derive_seed`, so adding a measure does not change the others.
    meta
        Identifying fields copied into every row: ``agent``, ``family``, ``task``,
        ``seed`` (the agent's training seed), ``layer``, ``session``, ``region``.
        Extra keys are appended as extra columns. A key missing from ``meta`` is
        taken from the patterns' ``attrs`` when the loaders recorded it there.
    options
        Measure options (:class:`~neuroalign.core.config.MeasureOptions` or a
        mapping of its fields, validated by
        :func:`~neuroalign.pipeline.sides.as_measure_options`): RSA comparison,
        RDM method, shape alpha, geometry window ``w`` and distance, interval level.

    Returns
    -------
    list of dict
        One row per pair measure, and one per statistic of each side for a side
        measure (``geometry``: ``side`` ``"model"`` / ``"brain"``, the other side's
        keys empty), with the columns of :data:`ROW_COLUMNS` (plus any extra
        ``meta`` keys).

    Raises
    ------
    ValidationError
        Unknown measure, negative resampling sizes, or patterns that cannot be
        aligned.
    ConfigError
        Invalid measure options.
    """
    _check_measures(measures)
    for name, value in (("n_boot", n_boot), ("n_perm", n_perm)):
        if int(value) < 0:
            raise ValidationError(f"{name}: got {value}; expected an integer >= 0")
    opts = as_measure_options(options)
    side = partial(as_side, n_boot=int(n_boot), n_perm=int(n_perm), seed=int(seed),
                   options=opts)
    return score_cell(side(model, "model"), side(brain, "brain"), measures, meta=meta)


def shared_labels(model: Side, brain: Side) -> tuple[list[str], str | None]:
    """The condition labels both sides hold, in the brain's order, and a note when the
    grids differ (which conditions were compared).

    Raises
    ------
    ValidationError
        Fewer than 3 shared labels (the message lists both label sets).
    """
    m_pos = set(model.labels)
    shared = [lab for lab in brain.labels if lab in m_pos]
    if len(shared) < 3:
        raise ValidationError(
            f"model and brain share {len(shared)} condition label(s) {shared}; at least 3 are "
            f"needed. model labels: {model.labels}; brain labels: {brain.labels}"
        )
    note = None
    if len(shared) != len(model.labels) or len(shared) != len(brain.labels):
        only_m = [lab for lab in model.labels if lab not in set(shared)]
        only_b = [lab for lab in brain.labels if lab not in set(shared)]
        note = (f"grids differ: compared the {len(shared)} shared conditions "
                f"({shared[0]} .. {shared[-1]}); left out model-only {only_m} and "
                f"brain-only {only_b}")
    return shared, note


def check_row(row: dict[str, Any]) -> dict[str, Any]:
    """Add a note to a row whose interval excludes its estimate or whose similarity
    exceeds its noise ceiling (both are read with the estimate, never silently)."""
    est, low, high = row.get("estimate"), row.get("ci_low"), row.get("ci_high")
    notes = [row["note"]] if row.get("note") else []
    if (est is not None and low is not None and high is not None
            and all(np.isfinite(v) for v in (est, low, high)) and not low <= est <= high):
        notes.append(f"the interval [{low:.3g}, {high:.3g}] excludes the estimate {est:.3g}: "
                     "the bootstrap distribution is shifted (duplicated repetitions or "
                     "conditions bias the resampled statistic); read the interval as its "
                     "spread, not as coverage")
    ceiling = row.get("ceiling_high")
    if (row.get("higher_is_similar") is True and ceiling is not None and est is not None
            and np.isfinite(ceiling) and np.isfinite(est) and est > ceiling):
        notes.append(f"estimate {est:.3g} above its noise ceiling {ceiling:.3g}: the ceiling "
                     "is underestimated or the measure is unstable at "
                     f"{row.get('n_conditions')} conditions")
    row["note"] = "; ".join(notes) if notes else None
    return row


def _check_measures(measures: Sequence[str]) -> list[str]:
    """The canonical names of ``measures`` (vocabulary aliases accepted)."""
    names = [MEASURE_ALIASES.get(m, m) if isinstance(m, str) else m for m in measures]
    unknown = [m for m, c in zip(measures, names, strict=True) if c not in MEASURE_SPECS]
    if unknown:
        raise ValidationError(f"measures: unknown {unknown}; expected names from "
                              f"{list(MEASURE_SPECS)} (aliases: {list(MEASURE_ALIASES)})")
    return names


def _keys(model: Side, brain: Side, meta: Mapping[str, Any]) -> tuple[ModelKey, BrainKey]:
    """The two sides' keys: ``meta``, else what the loaders recorded in the patterns."""
    base = {col: meta.get(col) for col in META_COLUMNS}
    for col, holder in (("agent", model), ("family", model), ("task", model), ("seed", model),
                        ("layer", model), ("animal", brain), ("session", brain),
                        ("region", brain)):
        if base[col] is None and col in holder.attrs:
            base[col] = holder.attrs[col]  # the loaders record who the patterns are
    return (ModelKey(agent=base["agent"], family=base["family"], task=base["task"],
                     seed=base["seed"], layer=base["layer"]),
            BrainKey(animal=base["animal"], session=base["session"], region=base["region"]))


def side_rows(side: Side, key: ModelKey | BrainKey, measures: Sequence[str], *,
              extra: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of the side statistics in ``measures`` of one prepared side, once.

    Each side measure (``geometry``) gives one row per statistic, keyed by the
    side's own key (``key``; the other side's columns empty), with ``side`` the
    side's role and ``n_conditions`` its own grid's size.
    """
    measures = _check_measures(measures)
    n_boot, n_perm, seed, _ = side.settings()
    role: Literal["model", "brain"] = "model" if side.role == "model" else "brain"
    rows = []
    for name in dict.fromkeys(measures):
        spec = MEASURE_SPECS[name]
        if spec.statistics is None:
            continue
        n_cond = int(side.geometry_patterns.sizes["condition"])
        for stat_name, est in spec.statistics(side):
            stat = SideStatistic(side=role, key=key, name=stat_name, estimate=est,
                                 kind=spec.kind, n_conditions=n_cond, n_units=side.n_units,
                                 n_rep=side.n_rep)
            rows.append(check_row(side_row(stat, n_boot=n_boot, n_perm=n_perm, rng_seed=seed,
                                           extra=extra)))
    return rows


def score_cell(model: Side, brain: Side, measures: Sequence[str], *,
               meta: Mapping[str, Any],
               sides: Sequence[str] = ("model", "brain")) -> list[dict[str, Any]]:
    """The rows of one cell from two prepared sides (see :func:`compute_cell`).

    The per-side work (RDMs, geometry) was done once by
    :func:`~neuroalign.pipeline.sides.prepare_side`; only the pairwise scores
    are computed here. Both sides must share their settings. The statistics of
    side measures are included for the roles in ``sides`` (a run writes them once
    per side with :func:`side_rows` and passes ``sides=()``). Extra ``meta`` keys
    go on the pair rows and the brain side's rows (they describe the brain
    source, e.g. batch's ``source``).
    """
    if model.settings() != brain.settings():
        raise ValidationError(f"sides prepared with different settings: model "
                              f"{model.settings()}; brain {brain.settings()}")
    n_boot, n_perm, seed, opts = model.settings()
    measures = _check_measures(measures)
    labels, grid_note = shared_labels(model, brain)
    model_key, brain_key = _keys(model, brain, meta)
    extra = {k: v for k, v in meta.items() if k not in META_COLUMNS}
    rows: list[dict[str, Any]] = []
    for name in dict.fromkeys(measures):  # unique, in the order asked
        spec = MEASURE_SPECS[name]
        if spec.score is None:
            if "model" in sides:
                rows += side_rows(model, model_key, [name])
            if "brain" in sides:
                rows += side_rows(brain, brain_key, [name], extra=extra)
            continue
        got = spec.score(model, brain, labels, n_boot=n_boot, n_perm=n_perm,
                         seed=derive_seed(seed, name), options=opts)
        est = got.estimate
        if grid_note:
            est = replace(est, note="; ".join(x for x in (est.note, grid_note) if x))
        score = PairScore(model=model_key, brain=brain_key, measure=name, kind=spec.kind,
                          higher_is_similar=spec.higher_is_similar, estimate=est,
                          ceiling_low=float(got.ceiling_low),
                          ceiling_high=float(got.ceiling_high), n_conditions=len(labels),
                          n_units_model=model.n_units, n_units_brain=brain.n_units,
                          n_rep_model=model.n_rep, n_rep_brain=brain.n_rep)
        rows.append(check_row(pair_row(score, n_boot=n_boot, n_perm=n_perm, rng_seed=seed,
                                       extra=extra)))
    return rows
