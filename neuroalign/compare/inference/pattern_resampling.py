"""Bootstrap, permutation and split-half ceilings for :class:`PatternMeasure` s.

Subjects are a list of pattern arrays (their unit counts may differ); the statistic
is the mean of the measure over subjects. Patterns with a leading ``repetition`` axis
are averaged over repetitions unless repetitions are being resampled.
"""

from __future__ import annotations

import numpy as np

from neuroalign.compare.inference._validate import as_rng
from neuroalign.compare.inference.patterns import PatternMeasure
from neuroalign.compare.inference.resample import bootstrap_indices, index_counts
from neuroalign.compare.inference.stats import spearman_brown
from neuroalign.core.errors import InferenceError

__all__ = [
    "boot_conditions",
    "boot_repetitions",
    "boot_two_level",
    "mean_patterns",
    "permutation_null",
    "split_half_ceiling",
    "subject_values",
]


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
    return np.einsum("br,rnu->bnu", counts / counts.sum(-1, keepdims=True), p)


def _batched(measure: PatternMeasure, n_batch: int, n: int, width: int) -> list[slice]:
    step = measure.chunk(n, width)
    return [slice(i, min(i + step, n_batch)) for i in range(0, n_batch, step)]


def subject_values(measure: PatternMeasure, x: np.ndarray, ys: list[np.ndarray]) -> np.ndarray:
    """The measure between the (repetition-averaged) model and each subject: (S,)."""
    rx = measure.prepare(mean_patterns(x))
    return np.array([float(measure.compare(rx, measure.prepare(_data(measure, y)))) for y in ys])


def boot_conditions(
    measure: PatternMeasure, x: np.ndarray, ys: list[np.ndarray], idx: np.ndarray
) -> np.ndarray:
    """Bootstrap over conditions: the same condition resample for model and subjects.

    Returns the mean over subjects for each row of ``idx`` (B, n): shape (B,).
    """
    rx = measure.prepare(mean_patterns(x))
    out = np.zeros(idx.shape[0])
    for y in ys:
        ry = measure.prepare(_data(measure, y))
        for sl in _batched(measure, idx.shape[0], idx.shape[1], ry.shape[-1]):
            out[sl] += measure.compare(measure.select(rx, idx[sl]), measure.select(ry, idx[sl]))
    return out / len(ys)


def boot_repetitions(
    measure: PatternMeasure,
    x: np.ndarray,
    ys: list[np.ndarray],
    n_boot: int,
    rng: np.random.Generator,
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
    out = np.zeros(n_boot)
    fixed_x = None if x_idx is not None else measure.prepare(x)
    for y, yi in zip(ys, y_idx, strict=True):
        fixed_y = None if yi is not None else measure.prepare(y)
        for sl in _batched(measure, n_boot, x.shape[-2], max(x.shape[-1], y.shape[-1])):
            rx = fixed_x if x_idx is None else measure.prepare(_resampled_means(x, x_idx[sl]))
            ry = fixed_y if yi is None else measure.prepare(_resampled_means(y, yi[sl]))
            assert rx is not None and ry is not None  # resampled, or fixed when not
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
    measure: PatternMeasure, x: np.ndarray, ys: list[np.ndarray], perms: np.ndarray
) -> np.ndarray:
    """The measure with the model's conditions relabelled by each row of ``perms``.

    For Gram-based measures the model's Gram matrix is permuted (``K[p][:, p]``) in
    batches; it is never recomputed. Returns the mean over subjects: shape (P,).
    """
    rx = measure.prepare(mean_patterns(x))
    out = np.zeros(perms.shape[0])
    cross, norm = measure.cross, measure.norm
    for y in ys:
        ry = measure.prepare(_data(measure, y))
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
        vals = np.empty(n_splits)
        for sl in _batched(measure, n_splits, y.shape[1], y.shape[2]):
            ra = measure.prepare(_resampled_means(y, half_a[sl]))
            rb = measure.prepare(_resampled_means(y, half_b[sl]))
            vals[sl] = measure.compare(ra, rb)
        values.append(np.nanmean(vals))
    half = float(np.mean(values))
    if measure.alternative == "greater":
        return half, float(spearman_brown(half))
    if measure.angular:
        return half, float(np.arccos(np.clip(spearman_brown(np.cos(half)), -1.0, 1.0)))
    return half, half
