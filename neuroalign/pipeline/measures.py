"""The measures of one cell, as thin scorers over compare and geometry.

Each scorer takes two prepared sides (:class:`~neuroalign.pipeline.sides.Side`:
the per-side work, an RDM or a geometry, done once per side) and the labels of
the conditions they share, and returns a list of partial result rows. The statistics come from
:func:`neuroalign.compare.inference.evaluate` and
:func:`neuroalign.geometry.valence_geometry`; the split-half ceiling of RSA is
assembled from compare's RDMs, RDM comparison and Spearman-Brown correction.

A statistic that the data leave undefined (compare or geometry raise
:class:`~neuroalign.core.errors.InferenceError`, or a
:class:`~neuroalign.core.errors.ValidationError` about the values, e.g. a
constant RDM of a silent layer) becomes a row of NaN whose ``note`` says why,
so one degenerate cell does not stop a run of hundreds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuroalign.core.config import MeasureOptions
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.pipeline.sides import Side

__all__ = [
    "MEASURE_FUNCTIONS",
    "geometry_rows",
]

MeasureFn = Callable[..., list[dict[str, Any]]]


def _first(result: Any, column: str, default: Any = np.nan) -> Any:
    """Field ``column`` of an inference record (``default`` if absent)."""
    value = getattr(result, column, default)
    return value.item() if hasattr(value, "item") else value


def _stat_row(frame: Any, **fields: Any) -> dict[str, Any]:
    """A partial row from the record of :func:`~neuroalign.compare.inference.evaluate_results`."""
    row = {
        "estimate": float(_first(frame, "estimate")),
        "ci_low": float(_first(frame, "ci_low")),
        "ci_high": float(_first(frame, "ci_high")),
        "p_value": float(_first(frame, "p_value")),
        "ceiling_low": float(_first(frame, "ceiling_low")),
        "ceiling_high": float(_first(frame, "ceiling_high")),
        "n": int(_first(frame, "n", 0)),
        "side": "pair",
    }
    row.update(fields)
    return row


def _evaluate(measure: str, x: Any, y: Any, *, n_boot: int, n_perm: int, seed: int,
              options: MeasureOptions, bootstrap: str, **kwargs: Any) -> Any:
    """The record of ``compare.inference.evaluate_results`` (one model), with 0 meaning
    "skip" for the resampling counts."""
    from neuroalign.compare.inference import evaluate_results

    return evaluate_results(
        measure, x, y,
        bootstrap=bootstrap if n_boot else None, n_boot=max(n_boot, 1),
        permutation=bool(n_perm), n_perm=max(n_perm, 1),
        level=options.ci, seed=seed, **kwargs,
    )[0]


def _nan_row(measure: str, kind: str, higher: bool | None, n: int, note: str,
             side: str = "pair") -> dict[str, Any]:
    nan = float("nan")
    return {"measure": measure, "kind": kind, "side": side, "estimate": nan, "ci_low": nan,
            "ci_high": nan, "p_value": nan, "ceiling_low": nan, "ceiling_high": nan, "n": n,
            "higher_is_similar": higher, "note": note}


def _undefined_as_nan(measure: str, kind: str, higher: bool,
                      min_units: int = 1) -> Callable[[MeasureFn], MeasureFn]:
    """Turn a degenerate pair or a data-dependent failure into a NaN row with a note.

    A side with a :attr:`~neuroalign.pipeline.sides.Side.problem` (e.g. infinite
    values) or fewer than ``min_units`` units gives the note without computing;
    an :class:`InferenceError` or :class:`ValidationError` about the values
    (e.g. a constant RDM of a silent layer) gives its message.
    """

    def wrap(fn: MeasureFn) -> MeasureFn:
        def run(model: Side, brain: Side, labels: Sequence[str], **kwargs: Any) -> list[dict]:
            n = len(labels)
            for side in (model, brain):
                if side.problem:
                    return [_nan_row(measure, kind, higher, n, side.problem)]
                if side.n_units < min_units:
                    return [_nan_row(measure, kind, higher, n,
                                     f"{measure} undefined: the {side.role} side has "
                                     f"{side.n_units} unit(s); it needs at least {min_units}")]
            try:
                return fn(model, brain, labels, **kwargs)
            except (InferenceError, ValidationError) as err:
                return [_nan_row(measure, kind, higher, n, f"{type(err).__name__}: {err}")]

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        return run

    return wrap


@_undefined_as_nan("rsa", "similarity", True)
def _rsa(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
         seed: int, options: MeasureOptions) -> list[dict[str, Any]]:
    """Spearman (or Pearson) between the two sides' RDMs over the shared conditions."""
    rdm_m, rdm_b = model.rdm_of(labels), brain.rdm_of(labels)
    frame = _evaluate(options.rsa_method, rdm_m.values, rdm_b.values[None], n_boot=n_boot,
                      n_perm=n_perm, seed=seed, options=options, bootstrap="conditions")
    low, high, note = brain.rdm_ceiling(labels, compare_method=options.rsa_method,
                                        n_splits=options.n_splits, seed=seed)
    row = _stat_row(frame, measure="rsa", kind="similarity",
                    method=f"{brain.rdm_method()} RDMs, {options.rsa_method}; "
                           f"{_first(frame, 'method', '')}; ceiling split-half",
                    higher_is_similar=True)
    row.update(ceiling_low=low, ceiling_high=high, note=note)
    return [row]


def _ceiling_note(row: dict[str, Any]) -> dict[str, Any]:
    """An inverted or non-positive similarity ceiling is no ceiling: NaN with a note."""
    low, high = row["ceiling_low"], row["ceiling_high"]
    if np.isfinite(low) and np.isfinite(high) and (low <= 0 or high < low):
        row.update(ceiling_low=np.nan, ceiling_high=np.nan,
                   note=f"noise ceiling undefined: split-half reliability {low:.2f} "
                        f"(projected {high:.2f}) is not positive")
    return row


def _pattern_frame(measure: str, model: Side, brain: Side, labels: Sequence[str],
                   measure_kwargs: dict[str, Any], **kw: Any) -> Any:
    """A pattern measure over the shared conditions: bootstrap over repetitions,
    condition-label permutations and the split-half ceiling of the brain side."""
    # each side keeps its own share of the resampling (same seed in every cell)
    caches = (model.memo.setdefault("inference", {}), brain.memo.setdefault("inference", {}))
    return _evaluate(measure, model.aligned(labels), brain.aligned(labels),
                     bootstrap="repetitions", noise_ceiling=True,
                     n_splits=kw["options"].n_splits, measure_kwargs=measure_kwargs,
                     caches=caches, **kw)


@_undefined_as_nan("cka", "similarity", True, min_units=2)
def _cka(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
         seed: int, options: MeasureOptions) -> list[dict[str, Any]]:
    """Debiased linear CKA of the condition means, bootstrap over repetitions."""
    frame = _pattern_frame("cka", model, brain, labels, {"debiased": True}, n_boot=n_boot,
                           n_perm=n_perm, seed=seed, options=options)
    return [_ceiling_note(_stat_row(frame, measure="cka", kind="similarity",
                                    method=f"linear debiased CKA; {_first(frame, 'method', '')}",
                                    higher_is_similar=True))]


@_undefined_as_nan("shape", "distance", False, min_units=2)
def _shape(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
           seed: int, options: MeasureOptions) -> list[dict[str, Any]]:
    """Angular shape distance (partial whitening ``shape_alpha``) of the condition means."""
    frame = _pattern_frame("shape", model, brain, labels,
                           {"alpha": float(options.shape_alpha)}, n_boot=n_boot,
                           n_perm=n_perm, seed=seed, options=options)
    row = _stat_row(frame, measure="shape", kind="distance",
                    method=f"angular shape distance (alpha={options.shape_alpha:g}); "
                           f"{_first(frame, 'method', '')}",
                    higher_is_similar=False)
    # for a distance the ceiling is a floor: the split-half distance and its
    # (smaller) Spearman-Brown projection; store them as an ordered pair
    low, high = row["ceiling_low"], row["ceiling_high"]
    if np.isfinite(low) and np.isfinite(high) and low > high:
        row.update(ceiling_low=high, ceiling_high=low)
    return [row]


def geometry_rows(side: Side) -> list[dict[str, Any]]:
    """Geometry statistics of one prepared side, on its own full grid, as partial rows.

    The side computes its geometry and these rows once (:meth:`Side.geometry`,
    ``Side.memo``), so a region's rows are identical whichever agent it is paired
    with. ``n_conditions`` is the side's own number of conditions.
    """
    if "geometry_rows" not in side.memo:
        side.memo["geometry_rows"] = _geometry_rows(side)
    return [dict(row) for row in side.memo["geometry_rows"]]


def _geometry_rows(side: Side) -> list[dict[str, Any]]:
    result = side.geometry()
    options = side.options
    n_cond = int(side.geometry_patterns.sizes["condition"])  # its own valence x approach grid
    if isinstance(result, str):
        return [{**_nan_row(f"{q}.{side.role}", "geometry", None, side.n_rep, result,
                            side=side.role), "n_conditions": n_cond,
                 "method": f"{options.geometry_distance}(w={options.geometry_w})"}
                for q in side.geometry_names()]
    rows = []
    for rec in result.to_frame().to_dict("records"):
        note = rec.get("note")
        rows.append({
            "measure": f"{rec['measure']}.{side.role}",
            "kind": "geometry",
            "side": side.role,
            "estimate": float(rec.get("estimate", np.nan)),
            "ci_low": float(rec.get("ci_low", np.nan)),
            "ci_high": float(rec.get("ci_high", np.nan)),
            "p_value": float(rec.get("p_value", np.nan)),
            "ceiling_low": np.nan,
            "ceiling_high": np.nan,
            "n": int(rec.get("n", side.n_rep)),
            "n_conditions": n_cond,
            "method": f"{rec.get('method') or 'point'}; {result.distance}"
                      f"(w={options.geometry_w})",
            "higher_is_similar": None,
            "note": note if isinstance(note, str) and note else None,
        })
    return rows


def _geometry(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
              seed: int, options: MeasureOptions) -> list[dict[str, Any]]:
    """Walls and funnels of each side on its own grid (``labels`` are not used)."""
    return geometry_rows(model) + geometry_rows(brain)


#: measure name -> scorer ``fn(model_side, brain_side, shared_labels, *, n_boot, n_perm,
#: seed, options)``, in canonical order
MEASURE_FUNCTIONS: dict[str, MeasureFn] = {
    "rsa": _rsa,
    "cka": _cka,
    "shape": _shape,
    "geometry": _geometry,
}
