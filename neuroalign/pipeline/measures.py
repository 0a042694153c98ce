"""The measures of one cell, as thin scorers over compare and geometry.

Each measure is stated once, in :data:`MEASURE_SPECS`: its name (the names of
:data:`neuroalign.core.vocabulary.MEASURES`), its kind (``similarity``,
``distance`` or ``geometry``), its direction (``higher_is_similar``), the
per-side work it needs (``prepares``: an RDM, a geometry; done once per side by
:func:`~neuroalign.pipeline.sides.prepare_side`) and either a pair scorer or a
side statistic:

- a *pair scorer* takes two prepared sides (:class:`~neuroalign.pipeline.sides.Side`)
  and the labels of the conditions they share and returns a :class:`Score`: an
  :class:`~neuroalign.core.results.Estimate` and a noise ceiling;
- a *side statistic* (the valence geometry) takes one prepared side and returns
  its named estimates, computed once on the side's own full grid.

The statistics come from :func:`neuroalign.compare.inference.evaluate` and
:func:`neuroalign.geometry.valence_geometry`; the split-half ceiling of RSA is
assembled from compare's RDMs, RDM comparison and Spearman-Brown correction.
Result rows are built from these records by :mod:`neuroalign.core.results`
(:func:`~neuroalign.pipeline.cell.score_cell`), nowhere else.

A statistic that the data leave undefined (compare or geometry raise
:class:`~neuroalign.core.errors.InferenceError`, or a
:class:`~neuroalign.core.errors.ValidationError` about the values, e.g. a
constant RDM of a silent layer) becomes an undefined estimate (NaN) whose
``note`` says why, so one degenerate cell does not stop a run of hundreds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from neuroalign.core.config import MeasureOptions
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.core.results import Estimate
from neuroalign.core.vocabulary import MEASURES
from neuroalign.pipeline.sides import Side

__all__ = [
    "MEASURE_SPECS",
    "Measure",
    "Score",
    "side_estimates",
]


@dataclass(frozen=True)
class Score:
    """What a pair scorer returns: the estimate and the noise ceiling (NaN: none)."""

    estimate: Estimate
    ceiling_low: float = float("nan")
    ceiling_high: float = float("nan")


PairScorer = Callable[..., Score]


def _first(result: Any, column: str, default: Any = np.nan) -> Any:
    """Field ``column`` of an inference record (``default`` if absent)."""
    value = getattr(result, column, default)
    return value.item() if hasattr(value, "item") else value


def _estimate(frame: Any, method: str, note: str | None = None) -> Estimate:
    """The estimate of an inference record (``compare.inference.evaluate_results``)."""
    rec = {c: _first(frame, c) for c in ("estimate", "ci_low", "ci_high", "level", "boot_se",
                                          "p_value")}
    rec["n"] = _first(frame, "n", 0)
    rec["n_resamples"] = _first(frame, "n_resamples", 0)
    return Estimate.from_record(rec, method=method, note=note)


def _ceiling(frame: Any) -> tuple[float, float]:
    return float(_first(frame, "ceiling_low")), float(_first(frame, "ceiling_high"))


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


def _undefined_as_nan(measure: str, min_units: int = 1
                      ) -> Callable[[PairScorer], PairScorer]:
    """Turn a degenerate pair or a data-dependent failure into an undefined score.

    A side with a :attr:`~neuroalign.pipeline.sides.Side.problem` (e.g. infinite
    values) or fewer than ``min_units`` units gives the note without computing;
    an :class:`InferenceError` or :class:`ValidationError` about the values
    (e.g. a constant RDM of a silent layer) gives its message.
    """

    def wrap(fn: PairScorer) -> PairScorer:
        def run(model: Side, brain: Side, labels: Sequence[str], **kwargs: Any) -> Score:
            n = len(labels)
            for side in (model, brain):
                if side.problem:
                    return Score(Estimate.undefined(side.problem, n))
                if side.n_units < min_units:
                    return Score(Estimate.undefined(
                        f"{measure} undefined: the {side.role} side has {side.n_units} "
                        f"unit(s); it needs at least {min_units}", n))
            try:
                return fn(model, brain, labels, **kwargs)
            except (InferenceError, ValidationError) as err:
                return Score(Estimate.undefined(f"{type(err).__name__}: {err}", n))

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        return run

    return wrap


@_undefined_as_nan("rsa")
def _rsa(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
         seed: int, options: MeasureOptions) -> Score:
    """Spearman (or Pearson) between the two sides' RDMs over the shared conditions."""
    rdm_m, rdm_b = model.rdm_of(labels), brain.rdm_of(labels)
    frame = _evaluate(options.rsa_method, rdm_m.values, rdm_b.values[None], n_boot=n_boot,
                      n_perm=n_perm, seed=seed, options=options, bootstrap="conditions")
    low, high, note = brain.rdm_ceiling(labels, compare_method=options.rsa_method,
                                        n_splits=options.n_splits, seed=seed)
    method = (f"{brain.rdm_method()} RDMs, {options.rsa_method}; "
              f"{_first(frame, 'method', '')}; ceiling split-half")
    return Score(_estimate(frame, method, note), low, high)


def _similarity_ceiling(estimate: Estimate, low: float, high: float) -> Score:
    """An inverted or non-positive similarity ceiling is no ceiling: NaN with a note."""
    if np.isfinite(low) and np.isfinite(high) and (low <= 0 or high < low):
        note = (f"noise ceiling undefined: split-half reliability {low:.2f} "
                f"(projected {high:.2f}) is not positive")
        return Score(replace(estimate, note=note))
    return Score(estimate, low, high)


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


@_undefined_as_nan("cka", min_units=2)
def _cka(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
         seed: int, options: MeasureOptions) -> Score:
    """Debiased linear CKA of the condition means, bootstrap over repetitions."""
    frame = _pattern_frame("cka", model, brain, labels, {"debiased": True}, n_boot=n_boot,
                           n_perm=n_perm, seed=seed, options=options)
    est = _estimate(frame, f"linear debiased CKA; {_first(frame, 'method', '')}")
    return _similarity_ceiling(est, *_ceiling(frame))


@_undefined_as_nan("shape", min_units=2)
def _shape(model: Side, brain: Side, labels: Sequence[str], *, n_boot: int, n_perm: int,
           seed: int, options: MeasureOptions) -> Score:
    """Angular shape distance (partial whitening ``shape_alpha``) of the condition means."""
    frame = _pattern_frame("shape", model, brain, labels,
                           {"alpha": float(options.shape_alpha)}, n_boot=n_boot,
                           n_perm=n_perm, seed=seed, options=options)
    est = _estimate(frame, f"angular shape distance (alpha={options.shape_alpha:g}); "
                           f"{_first(frame, 'method', '')}")
    # for a distance the ceiling is a floor: the split-half distance and its
    # (smaller) Spearman-Brown projection; store them as an ordered pair
    low, high = _ceiling(frame)
    if np.isfinite(low) and np.isfinite(high) and low > high:
        low, high = high, low
    return Score(est, low, high)


def side_estimates(side: Side) -> list[tuple[str, Estimate]]:
    """The valence-geometry statistics of one prepared side, on its own full grid.

    The side computes its geometry once (:meth:`Side.geometry`), so a region's
    statistics are identical whichever agent it is paired with; they are written
    once per side (:func:`~neuroalign.core.results.side_row`).

    Returns
    -------
    list of (name, Estimate)
        ``S_reward``, ``S_danger``, ..., ``A``, ``convergence_asymmetry``;
        undefined (NaN with the reason) when the side's geometry is.
    """
    result = side.geometry()
    options = side.options
    if isinstance(result, str):
        method = f"{options.geometry_distance}(w={options.geometry_w})"
        return [(q, Estimate.undefined(result, side.n_rep, method))
                for q in side.geometry_names()]
    out = []
    for rec in result.to_frame().to_dict("records"):
        method = f"{rec.get('method') or 'point'}; {result.distance}(w={options.geometry_w})"
        rec = {**rec, "n": rec.get("n", side.n_rep)}
        out.append((str(rec["measure"]), Estimate.from_record(rec, method=method)))
    return out


@dataclass(frozen=True)
class Measure:
    """The facts of one measure of a cell, stated once.

    Attributes
    ----------
    name
        The measure's name (:data:`neuroalign.core.vocabulary.MEASURES`).
    kind
        ``"similarity"``, ``"distance"`` (pair measures) or ``"geometry"`` (a
        statistic of each side alone).
    higher_is_similar
        The direction of a pair measure (``None`` for a side statistic).
    prepares
        The per-side work it needs, done once per side: ``"rdm"``, ``"geometry"``.
    score
        The pair scorer ``fn(model, brain, labels, *, n_boot, n_perm, seed,
        options) -> Score`` (``None`` for a side statistic).
    statistics
        The side statistic ``fn(side) -> [(name, Estimate), ...]`` (``None`` for
        a pair measure).
    """

    name: str
    kind: Literal["similarity", "distance", "geometry"]
    higher_is_similar: bool | None
    prepares: tuple[str, ...] = ()
    score: PairScorer | None = None
    statistics: Callable[[Side], list[tuple[str, Estimate]]] | None = None

    @property
    def per_side(self) -> bool:
        """True for a statistic of each side alone (written once per side)."""
        return self.statistics is not None


#: every measure of a cell, in canonical order (the names of ``vocabulary.MEASURES``)
MEASURE_SPECS: Mapping[str, Measure] = {
    "rsa": Measure("rsa", "similarity", True, ("rdm",), score=_rsa),
    "cka": Measure("cka", "similarity", True, score=_cka),
    "shape": Measure("shape", "distance", False, score=_shape),
    "geometry": Measure("geometry", "geometry", None, ("geometry",),
                        statistics=side_estimates),
}
if tuple(MEASURE_SPECS) != MEASURES:  # one list of names: the vocabulary's
    raise ImportError(f"MEASURE_SPECS {list(MEASURE_SPECS)} differ from vocabulary.MEASURES "
                      f"{list(MEASURES)}")
