"""Bootstrap, permutation and split-half ceilings for :class:`PatternMeasure` s.

Subjects are a list of pattern arrays (their unit counts may differ); the statistic
is the mean of the measure over subjects. Patterns with a leading ``repetition`` axis
are averaged over repetitions unless repetitions are being resampled.

Every function takes optional ``caches``: a pair of mutable mappings, one for the
model ``x`` and one for the data ``y``, that keep the products depending on one
input only (its prepared representation, its prepared repetition resamples, its
split-half values) between calls. They are keyed by the measure's
:attr:`~neuroalign.compare.inference.patterns.PatternMeasure.key`, the input's
content and the index draws, so a cache is correct for any input; a caller that
scores one input against many partners with the same seed (a run's cells) computes
each side's share once. The random draws are made whether or not a value is cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np

from neuroalign.compare.inference._validate import as_rng
from neuroalign.compare.inference.patterns import PatternMeasure
from neuroalign.compare.inference.resample import bootstrap_indices, index_counts
from neuroalign.compare.inference.stats import spearman_brown
from neuroalign.core.errors import InferenceError

__all__ = [
    "BoundCache",
    "bind",
    "boot_conditions",
    "boot_repetitions",
    "boot_two_level",
    "mean_patterns",
    "permutation_null",
    "split_half_ceiling",
    "subject_values",
]


Cache = MutableMapping[Any, Any]


Caches = tuple["Cache | BoundCache | None", "Cache | BoundCache | None"]


def _digest(*arrays: np.ndarray) -> bytes:
    """Content digest of arrays (shape, dtype and bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(a.data.cast("B"))
    return h.digest()


class BoundCache:
    """A cache for the length of one evaluation: digests each input array once.

    The arrays digested are held until the object is dropped, so an ``id`` is
    never reused for another array while it is remembered.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._seen: dict[int, tuple[np.ndarray, bytes]] = {}

    def digest(self, a: np.ndarray) -> bytes:
        """Digest of ``a``, computed once per array object."""
        hit = self._seen.get(id(a))
        if hit is None or hit[0] is not a:
            hit = self._seen[id(a)] = (a, _digest(a))
        return hit[1]


def bind(cache: Cache | BoundCache | None) -> BoundCache | None:
    """``cache`` wrapped for one evaluation (see :class:`BoundCache`)."""
    if cache is None or isinstance(cache, BoundCache):
        return cache
    return BoundCache(cache)


def _cached(cache: Cache | BoundCache | None, measure: PatternMeasure, what: str,
            arrays: tuple[np.ndarray, ...], compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in ``cache`` under the measure, ``what`` and the arrays' content."""
    if cache is None or measure.key is None:
        return compute()
    bound = bind(cache)
    assert bound is not None
    key = ("neuroalign.compare.inference", measure.key, what,
           *(bound.digest(a) for a in arrays))
    store = bound.cache
    if key not in store:
        store[key] = compute()
    return store[key]


def mean_patterns(p: np.ndarray) -> np.ndarray:
    """Average a (repetition, condition, unit) array over repetitions (NaN-aware)."""
    return np.nanmean(p, axis=0) if p.ndim == 3 else p


def _data(measure: PatternMeasure, y: np.ndarray) -> np.ndarray:
    """Subject patterns as the measure takes them (averaged unless it keeps repetitions)."""
    if not measure.keep_repetitions:
        return mean_patterns(y)
    if y.ndim != 3:
        raise InferenceError(
            f"{measure.name} needs the data with a repetition axis (repetition, condition, unit)"
        )
    return y


def _no_repetition_resampling(measure: PatternMeasure, what: str) -> None:
    if measure.keep_repetitions:
        raise InferenceError(
            f"{what} is not available for {measure.name}, which uses the repetitions itself; "
            "use bootstrap='conditions' or 'subjects', or a permutation test"
        )


def _resampled_means(p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Means over resampled repetitions: (B, R) indices -> (B, condition, unit)."""
    counts = index_counts(idx, p.shape[0])
    weights = counts / counts.sum(-1, keepdims=True)
    # one matrix product (BLAS) over the flattened condition x unit axis
    return (weights @ p.reshape(p.shape[0], -1)).reshape(len(weights), *p.shape[1:])


def _batched(measure: PatternMeasure, n_batch: int, n: int, width: int) -> list[slice]:
    step = measure.chunk(n, width)
    return [slice(i, min(i + step, n_batch)) for i in range(0, n_batch, step)]


def _prepared(measure: PatternMeasure, p: np.ndarray, cache: Cache | BoundCache | None,
              data: bool = False) -> np.ndarray:
    """The prepared repetition average of ``p`` (the data as the measure takes them)."""
    return _cached(cache, measure, "data" if data else "mean", (p,),
                   lambda: measure.prepare(_data(measure, p) if data else mean_patterns(p)))


def subject_values(measure: PatternMeasure, x: np.ndarray, ys: list[np.ndarray],
                   caches: Caches = (None, None)) -> np.ndarray:
    """The measure between the (repetition-averaged) model and each subject: (S,)."""
    rx = _prepared(measure, x, caches[0])
    return np.array([float(measure.compare(rx, _prepared(measure, y, caches[1], data=True)))
                     for y in ys])


def boot_conditions(
    measure: PatternMeasure, x: np.ndarray, ys: list[np.ndarray], idx: np.ndarray
) -> np.ndarray:
    """Bootstrap over conditions: the same condition resample for model and subjects.

    Returns the mean over subjects for each row of ``idx`` (B, n): shape (B,).
    """
    # a measure that centres over conditions sees a repeated condition differently
    # from the original one: each resample is prepared from the selected patterns
    prep = (lambda p: p) if measure.centred else measure.prepare
    rx = prep(mean_patterns(x))
    out = np.zeros(idx.shape[0])
    for y in ys:
        ry = prep(_data(measure, y))
        for sl in _batched(measure, idx.shape[0], idx.shape[1], ry.shape[-1]):
            sx, sy = measure.select(rx, idx[sl]), measure.select(ry, idx[sl])
            if measure.centred:
                sx, sy = measure.prepare(sx), measure.prepare(sy)
            out[sl] += measure.compare(sx, sy)
    return out / len(ys)


def boot_repetitions(
    measure: PatternMeasure,
    x: np.ndarray,
    ys: list[np.ndarray],
    n_boot: int,
    rng: np.random.Generator,
    caches: Caches = (None, None),
) -> np.ndarray:
    """Bootstrap over repetitions of every input that has them (independently).

    Returns the mean over subjects for each resample: shape (n_boot,).
    """
    _no_repetition_resampling(measure, "bootstrap='repetitions'")
    if x.ndim != 3 and all(y.ndim != 3 for y in ys):
        raise InferenceError(
            "bootstrap='repetitions' needs patterns with a repetition axis "
            "(repetition, condition, unit); none of the inputs has one"
        )

    def reps(p: np.ndarray) -> np.ndarray | None:
        return bootstrap_indices(p.shape[0], n_boot, rng) if p.ndim == 3 else None

    x_idx = reps(x)
    y_idx = [reps(y) for y in ys]
    def resampled(p: np.ndarray, idx: np.ndarray | None,
                  cache: Cache | BoundCache | None) -> np.ndarray:
        if idx is None:
            return _prepared(measure, p, cache)
        return _cached(cache, measure, "repetitions", (p, idx),
                       lambda: measure.prepare(_resampled_means(p, idx)))

    out = np.zeros(n_boot)
    for y, yi in zip(ys, y_idx, strict=True):
        for sl in _batched(measure, n_boot, x.shape[-2], max(x.shape[-1], y.shape[-1])):
            rx = resampled(x, None if x_idx is None else x_idx[sl], caches[0])
            ry = resampled(y, None if yi is None else yi[sl], caches[1])
            out[sl] += measure.compare(rx, ry)
    return out / len(ys)


def boot_two_level(
    measure: PatternMeasure,
    x: np.ndarray,
    ys: list[np.ndarray],
    outer: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Subjects, then repetitions within each drawn subject.

    ``outer`` (B, S) resamples subjects; each drawn slot resamples that subject's
    repetitions afresh. Returns the mean over drawn slots: shape (B,).
    """
    _no_repetition_resampling(measure, "bootstrap='two-level'")
    if any(y.ndim != 3 for y in ys):
        raise InferenceError(
            "bootstrap='two-level' needs every subject's patterns with a repetition axis"
        )
    rx = measure.prepare(mean_patterns(x))
    vals = np.zeros(outer.shape)
    for s, y in enumerate(ys):
        slots = np.argwhere(outer == s)
        if slots.size == 0:
            continue
        inner = bootstrap_indices(y.shape[0], len(slots), rng)
        res = np.empty(len(slots))
        for sl in _batched(measure, len(slots), y.shape[1], y.shape[2]):
            res[sl] = measure.compare(rx, measure.prepare(_resampled_means(y, inner[sl])))
        vals[slots[:, 0], slots[:, 1]] = res
    return vals.mean(-1)


def permutation_null(
    measure: PatternMeasure, x: np.ndarray, ys: list[np.ndarray], perms: np.ndarray,
    caches: Caches = (None, None),
) -> np.ndarray:
    """The measure with the model's conditions relabelled by each row of ``perms``.

    For Gram-based measures the model's Gram matrix is permuted (``K[p][:, p]``) in
    batches; it is never recomputed. Returns the mean over subjects: shape (P,).
    """
    rx = _prepared(measure, x, caches[0])
    out = np.zeros(perms.shape[0])
    cross, norm = measure.cross, measure.norm
    for y in ys:
        ry = _prepared(measure, y, caches[1], data=True)
        if cross is not None and norm is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                denom = np.sqrt(norm(rx) * norm(ry))
        for sl in _batched(measure, perms.shape[0], perms.shape[1], rx.shape[-1]):
            picked = measure.select(rx, perms[sl])
            if cross is not None and norm is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[sl] += cross(picked, ry) / denom
            else:
                out[sl] += measure.compare(picked, ry)
    return out / len(ys)


def split_half_ceiling(
    measure: PatternMeasure,
    ys: list[np.ndarray],
    n_splits: int = 100,
    rng: np.random.Generator | int | None = 0,
    cache: Cache | BoundCache | None = None,
) -> tuple[float, float]:
    """Split-half reliability of subject patterns, with the Spearman-Brown correction.

    Each split draws half of a subject's repetitions at random; the measure compares
    the mean of one half with the mean of the other. The mean over splits and
    subjects is the split-half value; Spearman-Brown (factor 2) projects it to the
    full number of repetitions. For angular distances the correction is applied to
    the cosine of the angle; other distances are returned uncorrected.

    Returns
    -------
    (split_half, corrected) : floats
    """
    _no_repetition_resampling(measure, "a split-half noise ceiling")
    gen = as_rng(rng)
    values = []
    for y in ys:
        if y.ndim != 3 or y.shape[0] < 2:
            raise InferenceError(
                "a split-half noise ceiling needs subject patterns with at least 2 "
                "repetitions (repetition, condition, unit)"
            )
        r = y.shape[0]
        order = np.argsort(gen.random((n_splits, r)), axis=1)
        half_a, half_b = order[:, : r // 2], order[:, r // 2 : 2 * (r // 2)]

        def halves(y: np.ndarray = y, half_a: np.ndarray = half_a,
                   half_b: np.ndarray = half_b) -> np.ndarray:
            vals = np.empty(len(half_a))
            for sl in _batched(measure, len(half_a), y.shape[1], y.shape[2]):
                ra = measure.prepare(_resampled_means(y, half_a[sl]))
                rb = measure.prepare(_resampled_means(y, half_b[sl]))
                vals[sl] = measure.compare(ra, rb)
            return vals

        vals = _cached(cache, measure, "split-half", (y, half_a, half_b), halves)
        values.append(np.nanmean(vals))
    half = float(np.mean(values))
    if measure.alternative == "greater":
        return half, float(spearman_brown(half))
    if measure.angular:
        return half, float(np.arccos(np.clip(spearman_brown(np.cos(half)), -1.0, 1.0)))
    return half, half
