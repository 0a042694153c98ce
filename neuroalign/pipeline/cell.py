"""One cell of the main job: one model pattern set against one brain pattern set.

A *cell* is one (agent, task, seed, layer) x (session, region) pair. The
function :func:`compute_cell` is pure: given the two pattern arrays, the
measures, the resampling sizes and a seed it always returns the same rows, so
it can run on any worker of a distributed batch and be compared to a serial run.

Rows are plain dicts with the columns of :data:`ROW_COLUMNS`; a list of them
turns into a tidy :class:`pandas.DataFrame` with ``pd.DataFrame(rows)``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.contracts import condition_label, require_dims
from neuroalign.core.errors import ValidationError
from neuroalign.pipeline.loaders import load_brain_patterns, load_model_patterns
from neuroalign.pipeline.measures import MEASURE_FUNCTIONS, CellOptions

__all__ = [
    "MEASURES",
    "META_COLUMNS",
    "ROW_COLUMNS",
    "align_conditions",
    "compute_cell",
    "derive_seed",
    "load_brain_patterns",
    "load_model_patterns",
]

#: measure names :func:`compute_cell` understands, in their canonical order
MEASURES: tuple[str, ...] = tuple(MEASURE_FUNCTIONS)

#: identifying columns copied from ``meta`` (missing keys become ``None``)
META_COLUMNS: tuple[str, ...] = ("agent", "family", "task", "seed", "layer", "session", "region")

#: every column of a result row, in order
ROW_COLUMNS: tuple[str, ...] = (
    *META_COLUMNS,
    "measure",
    "kind",
    "side",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
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


def derive_seed(seed: int, name: str) -> int:
    """A stable per-measure seed derived from ``seed`` and the measure ``name``.

    Uses :class:`numpy.random.SeedSequence` with a CRC32 of the name (not
    Python's salted ``hash``), so every process derives the same value.
    """
    key = zlib.crc32(name.encode("utf-8"))
    return int(np.random.SeedSequence([int(seed), key]).generate_state(1, dtype=np.uint32)[0])


def _labels(da: xr.DataArray, name: str) -> np.ndarray:
    """Condition labels of ``da``, from the ``label`` coord or ``valence``/``approach``."""
    if "label" in da.coords:
        return np.asarray(da["label"].values).astype(str)
    if "valence" in da.coords and "approach" in da.coords:
        return np.asarray(
            [
                condition_label(int(v), int(a))
                for v, a in zip(da["valence"].values, da["approach"].values, strict=True)
            ]
        )
    raise ValidationError(
        f"{name}: the condition dim has no 'label' coord and no 'valence'/'approach' coords; "
        "cannot align conditions"
    )


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
    m_lab = _labels(model, "model patterns")
    b_lab = _labels(brain, "brain patterns")
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
    options: Mapping[str, Any] | CellOptions | None = None,
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
        Measure options (:class:`~neuroalign.pipeline.measures.CellOptions` or a
        mapping of its fields): RSA comparison, RDM method, shape alpha,
        geometry window ``w`` and distance, interval level.

    Returns
    -------
    list of dict
        One row per measure statistic with the columns of :data:`ROW_COLUMNS`
        (plus any extra ``meta`` keys).

    Raises
    ------
    ValidationError
        Unknown measure, negative resampling sizes, or patterns that cannot be
        aligned.
    """
    unknown = [m for m in measures if m not in MEASURE_FUNCTIONS]
    if unknown:
        raise ValidationError(f"measures: unknown {unknown}; expected names from {list(MEASURES)}")
    for name, value in (("n_boot", n_boot), ("n_perm", n_perm)):
        if int(value) < 0:
            raise ValidationError(f"{name}: got {value}; expected an integer >= 0")
    opts = options if isinstance(options, CellOptions) else CellOptions(**dict(options or {}))
    model_al, brain_al = align_conditions(model, brain)
    base = {col: meta.get(col) for col in META_COLUMNS}
    for col, holder in (("agent", model), ("family", model), ("task", model), ("seed", model),
                        ("layer", model), ("session", brain), ("region", brain)):
        if base[col] is None and col in holder.attrs:
            base[col] = holder.attrs[col]  # the loaders record who the patterns are
    extra = {k: v for k, v in meta.items() if k not in base}
    shape_info = {
        "n_conditions": int(brain_al.sizes["condition"]),
        "n_units_model": int(model_al.sizes["unit"]),
        "n_units_brain": int(brain_al.sizes["unit"]),
        "n_rep_model": int(model_al.sizes["repetition"]),
        "n_rep_brain": int(brain_al.sizes["repetition"]),
        "n_boot": int(n_boot),
        "n_perm": int(n_perm),
        "rng_seed": int(seed),
    }
    rows: list[dict[str, Any]] = []
    for name in dict.fromkeys(measures):  # unique, in the order asked
        stats = MEASURE_FUNCTIONS[name](
            model_al, brain_al, n_boot=int(n_boot), n_perm=int(n_perm),
            seed=derive_seed(seed, name), options=opts,
        )
        for stat in stats:
            row = {col: None for col in ROW_COLUMNS}
            row.update(base)
            row.update(shape_info)
            row.update(stat)
            row.update(extra)
            rows.append(row)
    return rows
