"""Resampling engine for measures on condition x unit patterns (CKA, shape, predictivity).

A measure is seen through three operations: ``prepare`` turns patterns into the
representation it compares (CKA: a Gram matrix; others: the patterns themselves),
``select`` picks conditions by index arrays for many resamples at once (CKA:
``G[idx][:, idx]`` by fancy indexing), and ``compare`` evaluates batches of
representations. CKA's ``compare`` is vectorised over the batch, so a permutation null
or a bootstrap over conditions never recomputes a Gram matrix in a Python loop; other
measures loop over the batch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuroalign.core.errors import ValidationError

__all__ = [
    "PatternMeasure",
    "as_patterns",
    "cka_measure",
    "function_measure",
    "predictivity_measure",
    "shape_measure",
]

_CHUNK_ELEMENTS = 8_000_000


def as_patterns(patterns: Any, name: str) -> np.ndarray:
    """Patterns as an array ``(condition, unit)`` or ``(repetition, condition, unit)``.

    DataArrays are transposed to those dim names when they carry them.
    """
    if hasattr(patterns, "dims") and hasattr(patterns, "transpose"):
        dims = tuple(patterns.dims)
        wanted = tuple(d for d in ("repetition", "condition", "unit") if d in dims)
        if set(wanted) == set(dims) and "condition" in dims and dims != wanted:
            patterns = patterns.transpose(*wanted)
        patterns = patterns.values
    arr = np.asarray(patterns, dtype=float)
    if arr.ndim not in (2, 3):
        raise ValidationError(
            f"{name}: expected patterns of shape (condition, unit) or "
            f"(repetition, condition, unit); got shape {arr.shape}"
        )
    return arr


@dataclass
class PatternMeasure:
    """A pattern measure as prepare / select / compare (see module docs).

    Attributes
    ----------
    name : str
        Name in result tables.
    prepare : callable
        ``(..., n, u) -> representation`` (batched on leading dims).
    compare : callable
        ``(rep_x, rep_y) -> (...)`` on broadcast batches of representations.
    gram : bool
        Whether representations are (n, n) Gram matrices (selection on both axes).
    alternative : str
        ``"greater"`` for similarities, ``"less"`` for distances.
    angular : bool
        Distances that are angles (their cosine is a similarity, used by the
        Spearman-Brown noise ceiling).
    keep_repetitions : bool
        The measure takes the data with their repetition axis (predictivity, which
        computes its own reliability); otherwise data are averaged over repetitions.
    cross, norm : callable, optional
        For measures of the form ``cross(a, b) / sqrt(norm(a) norm(b))`` whose
        ``norm`` does not change under a relabelling of conditions (CKA): the
        permutation null then evaluates only ``cross`` per permutation.
    centred : bool
        ``prepare`` centres over conditions (the shape metric's reduction): a
        relabelling commutes with it, so a permutation null selects from the
        prepared representation, but a bootstrap over conditions (which repeats
        conditions) prepares each resample from its selected patterns.
    key : str, optional
        Identifies ``prepare`` with its settings, so that prepared resamples can be
        kept between calls (the ``caches`` of
        :mod:`~neuroalign.compare.inference.pattern_resampling`); ``None``: never kept.
    """

    name: str
    prepare: Callable[[np.ndarray], np.ndarray]
    compare: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gram: bool = False
    alternative: str = "greater"
    angular: bool = False
    keep_repetitions: bool = False
    cross: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    norm: Callable[[np.ndarray], np.ndarray] | None = None
    centred: bool = False
    key: str | None = None

    def select(self, rep: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Pick conditions ``idx`` (shape (B, k)) from one representation, for all rows.

        The resample axis comes first in the result.
        """
        if self.gram:
            return rep[..., idx[:, :, None], idx[:, None, :]]
        return np.moveaxis(np.take(rep, idx, axis=-2), rep.ndim - 2, 0)

    def chunk(self, n: int, width: int) -> int:
        """Resamples per batch so that a batch holds about 8 million numbers."""
        per = n * (n if self.gram else max(width, 1))
        return max(1, _CHUNK_ELEMENTS // max(per, 1))

    def value(self, x: np.ndarray, y: np.ndarray) -> float:
        """The measure on two (condition, unit) patterns."""
        return float(self.compare(self.prepare(x), self.prepare(y)))


def _cka_module() -> Any:
    # the package re-exports a function named ``cka``, so import the module by path
    return importlib.import_module("neuroalign.compare.cka")


def cka_measure(
    kernel: str = "linear", debiased: bool = True, **kernel_kwargs: Any
) -> PatternMeasure:
    """CKA as a :class:`PatternMeasure` working on Gram matrices.

    ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with the unbiased HSIC
    estimator when ``debiased`` (Song et al. 2012) and the biased one otherwise;
    Gram matrices come from ``neuroalign.compare.cka.gram_linear`` / ``gram_rbf``.
    """
    mod = _cka_module()
    if kernel == "linear":
        def prepare(p: np.ndarray) -> np.ndarray:
            return mod.gram_linear(p)
    elif kernel == "rbf":
        def prepare(p: np.ndarray) -> np.ndarray:
            return mod.gram_rbf(p, **kernel_kwargs)
    else:
        raise ValidationError(f"unknown CKA kernel {kernel!r}; valid values: 'linear', 'rbf'")
    hsic = mod.hsic_unbiased if debiased else mod.hsic_biased

    def compare(k: np.ndarray, g: np.ndarray) -> np.ndarray:
        # self terms on each side's own batch shape: a fixed Gram matrix (the data
        # in a permutation test) is then evaluated once, not once per permutation
        hkk, hgg = hsic(k, k), hsic(g, g)
        with np.errstate(invalid="ignore", divide="ignore"):
            return hsic(*np.broadcast_arrays(k, g)) / np.sqrt(hkk * hgg)

    label = f"cka_{kernel}" + ("" if debiased else "_biased")
    return PatternMeasure(label, prepare, compare, gram=True,
                          cross=lambda k, g: hsic(*np.broadcast_arrays(k, g)),
                          norm=lambda k: hsic(k, k),
                          key=f"gram:{kernel}:{sorted(kernel_kwargs.items())!r}")


def shape_measure(alpha: float = 1.0, score: str = "angular") -> PatternMeasure:
    """The shape distance (:func:`neuroalign.compare.shape.shape_distance`) as a
    :class:`PatternMeasure`.

    ``prepare`` is :func:`~neuroalign.compare.shape.reduce_representation`, one
    batched factorisation per side and batch of resamples, and ``compare`` is
    :func:`~neuroalign.compare.shape.score_reduced` (for the angular score only the
    singular values of an ``n x n`` cross product per resample). A permutation null
    reduces each side once and relabels the reduced rows. Values equal
    ``shape_distance`` of each resample to round-off.

    Raises
    ------
    ValidationError
        ``alpha`` outside [0, 1] or an unknown ``score`` (on creation); patterns
        with NaN, or a resample without variance across conditions (on use).
    """
    from neuroalign.compare.shape import ShapeMetric, reduce_representation, score_reduced

    metric = ShapeMetric(alpha=alpha, score=score)  # validates alpha and score

    def prepare(p: np.ndarray) -> np.ndarray:
        if np.isnan(p).any():
            raise ValidationError(
                "x, y: contain NaN; the shape metric needs complete condition patterns")
        return reduce_representation(p, metric.alpha)

    def compare(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = score_reduced(a, b, metric.score_name)
        if np.any(np.isnan(out)):
            raise ValidationError(
                "shape metric: a representation has zero variance across conditions")
        return out

    return PatternMeasure("shape_distance", prepare, compare, alternative="less",
                          angular=metric.score_name == "angular", centred=True,
                          key=f"shape-reduction:{metric.alpha!r}")


#: stacked evaluations per call of a ``batched`` function measure
_BATCH_CHUNK = 256


def function_measure(
    fn: Callable[..., float | np.ndarray],
    name: str,
    alternative: str = "greater",
    angular: bool = False,
    keep_repetitions: bool = False,
    batched: bool = False,
    **kwargs: Any,
) -> PatternMeasure:
    """Wrap a scalar function ``fn(x, y, **kwargs)`` of two patterns as a measure.

    Batches are evaluated with a loop over the leading dim (the function's own cost
    dominates, e.g. a ridge fit for predictivity). With ``batched`` the function
    takes stacks ``(b, n, u)`` itself and returns ``(b,)`` (e.g. the shape metric's
    stacked SVDs), evaluated in chunks of :data:`_BATCH_CHUNK`.
    With ``keep_repetitions`` the data ``y`` keep their repetition axis.
    """
    y_core = 3 if keep_repetitions else 2

    def compare(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lead = np.broadcast_shapes(x.shape[:-2], y.shape[:-y_core])
        xb = np.broadcast_to(x, (*lead, *x.shape[-2:])).reshape(-1, *x.shape[-2:])
        ycore = y.shape[-y_core:]
        yb = np.broadcast_to(y, (*lead, *ycore)).reshape(-1, *ycore)
        if batched:
            vals = np.concatenate([
                np.atleast_1d(np.asarray(fn(xb[i:i + _BATCH_CHUNK], yb[i:i + _BATCH_CHUNK],
                                            **kwargs), dtype=float))
                for i in range(0, xb.shape[0], _BATCH_CHUNK)]) if xb.shape[0] else np.zeros(0)
            return vals.reshape(lead)
        scores = [float(np.asarray(fn(a, b, **kwargs))) for a, b in zip(xb, yb, strict=True)]
        return np.asarray(scores).reshape(lead)

    return PatternMeasure(name, lambda p: p, compare, alternative=alternative, angular=angular,
                          keep_repetitions=keep_repetitions)


def predictivity_measure(statistic: str = "r", **kwargs: Any) -> PatternMeasure:
    """Median over neurons of cross-validated ridge predictivity, as a measure.

    Wraps :func:`neuroalign.compare.predictivity.predictivity` (model ``x`` as
    (condition, unit), data ``y`` as (repetition, condition, unit)); ``statistic``
    is ``"r"`` (cross-validated correlation) or ``"ceiled"`` (divided by the
    split-half ceiling of each neuron).
    """
    import xarray as xr

    from neuroalign.compare.predictivity import predictivity

    if statistic not in ("r", "ceiled"):
        raise ValidationError(
            f"unknown predictivity statistic {statistic!r}; valid values: 'r', 'ceiled'"
        )

    def score(x: np.ndarray, y: np.ndarray) -> float:
        res = predictivity(xr.DataArray(x, dims=("condition", "unit")),
                           xr.DataArray(y, dims=("repetition", "condition", "unit")), **kwargs)
        return float(np.nanmedian(res.per_unit[statistic].to_numpy()))

    return function_measure(score, "predictivity", keep_repetitions=True)
