"""One entry point for inference on every measure: :func:`evaluate`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.compare.inference import pattern_resampling as pr
from neuroalign.compare.inference._validate import check_choice, check_level, check_positive_int
from neuroalign.compare.inference.patterns import (
    PatternMeasure,
    as_patterns,
    cka_measure,
    function_measure,
    predictivity_measure,
    shape_measure,
)
from neuroalign.compare.inference.rdm import (
    as_rdm_vectors,
    canonical_method,
    rdm_bootstrap_evaluations,
    rdm_condition_labels,
    rdm_noise_ceiling,
    rdm_permutation_null,
)
from neuroalign.compare.inference.resample import (
    bootstrap_indices,
    index_counts,
    permutation_indices,
)
from neuroalign.compare.inference.stats import (
    RESULT_COLUMNS,
    InferenceResult,
    check_permutation_power,
    confidence_interval,
    p_value,
)
from neuroalign.core.degenerate import check_patterns, standardise
from neuroalign.core.errors import InferenceError, ValidationError
from neuroalign.core.vocabulary import COMPARE_ALIASES, COMPARE_METHODS, PATTERN_MEASURES

__all__ = ["BOOTSTRAP_KINDS", "evaluate", "evaluate_results"]

#: what ``evaluate(bootstrap=...)`` resamples: nothing, conditions, repetitions, subjects
#: or both levels
BOOTSTRAP_KINDS = (None, "conditions", "repetitions", "subjects", "two-level")
_RDM_BOOT = (None, "conditions", "subjects", "two-level")


def _models(x: Any, convert: Callable[[Any, str], Any]) -> tuple[list[str], list[Any]]:
    """Model names and converted inputs; a mapping names them, one input is "model"."""
    if isinstance(x, Mapping):
        return [str(k) for k in x], [convert(v, f"x[{k!r}]") for k, v in x.items()]
    return ["model"], [convert(x, "x")]


def _pattern_measure(measure: Any, kwargs: dict[str, Any]) -> PatternMeasure:
    if callable(measure):
        name = getattr(measure, "__name__", "measure")
        return function_measure(measure, name, alternative=kwargs.pop("alternative", "greater"),
                                **kwargs)
    if measure in ("cka", "cka_linear", "cka_rbf"):
        kernel = kwargs.pop("kernel", "rbf" if measure == "cka_rbf" else "linear")
        return cka_measure(kernel=kernel, **kwargs)
    if measure in ("shape", "procrustes"):
        return shape_measure(**kwargs)
    return predictivity_measure(**kwargs)


def _summaries(boot: np.ndarray | None, est: float, level: float, ci_method: str) -> dict:
    if boot is None:
        return {}
    ok = boot[np.isfinite(boot)]
    if ok.size < 2:
        raise InferenceError(
            f"only {ok.size} of {boot.size} bootstrap resamples gave a defined value; "
            "the design is too small for a bootstrap interval"
        )
    low, high = confidence_interval(ok, level, ci_method, estimate=est)
    return {"ci_low": float(low), "ci_high": float(high), "boot_mean": float(ok.mean()),
            "boot_se": float(ok.std(ddof=1))}


def _null_summary(null: np.ndarray, obs: float, alternative: str, exact: bool) -> dict:
    return {"p_value": float(p_value(null, obs, alternative, exact=exact)),
            "null_mean": float(null.mean()), "null_sd": float(null.std(ddof=1))}


def evaluate_results(
    measure: str | Callable[..., float],
    x: Any,
    y: Any,
    *,
    bootstrap: str | None = None,
    n_boot: int = 1000,
    permutation: bool = False,
    n_perm: int = 1000,
    noise_ceiling: bool = False,
    seed: int = 0,
    level: float = 0.95,
    backend: str = "numpy",
    ci_method: str = "percentile",
    alternative: str | None = None,
    alpha: float = 0.05,
    exact: bool | str = "auto",
    n_splits: int = 100,
    measure_kwargs: dict[str, Any] | None = None,
    caches: tuple[MutableMapping[Any, Any] | None, MutableMapping[Any, Any] | None]
    | None = None,
) -> list[InferenceResult]:
    """The records behind :func:`evaluate`'s table (same parameters).

    For callers that read a few fields of one model's result (a run scores
    thousands of cells): no table is built.

    Returns
    -------
    list of InferenceResult
        One record per model, in the order of :func:`evaluate`'s rows.
    """
    check_choice(bootstrap, "bootstrap", BOOTSTRAP_KINDS)
    check_choice(backend, "backend", ["numpy", "torch"])
    n_boot = check_positive_int(n_boot, "n_boot")
    n_perm = check_positive_int(n_perm, "n_perm")
    level = check_level(level)
    if caches is None:
        caches = (None, None)
    if not (isinstance(caches, tuple) and len(caches) == 2
            and all(c is None or isinstance(c, MutableMapping) for c in caches)):
        raise ValidationError(f"caches: got {type(caches).__name__}; expected None or a pair "
                              "of mutable mappings (one for x, one for y)")
    kwargs = dict(measure_kwargs or {})
    if measure == "rsa":  # the run's name: an RDM comparison with rsa_method (spearman)
        measure = kwargs.pop("rsa_method", "spearman")
    is_rdm = isinstance(measure, str) and (measure in COMPARE_METHODS
                                           or measure in COMPARE_ALIASES)
    if not (is_rdm or callable(measure) or measure in PATTERN_MEASURES):
        valid = ", ".join(repr(m) for m in ("rsa", *COMPARE_METHODS, *COMPARE_ALIASES,
                                            *PATTERN_MEASURES))
        raise ValidationError(f"measure: got {measure!r}; expected one of {valid} "
                              "or a callable")
    rng = np.random.default_rng(seed)
    args = (measure, x, y, bootstrap, n_boot, permutation, n_perm, noise_ceiling, rng,
            level, backend, ci_method, alternative, alpha, exact, n_splits, kwargs)
    rows = _evaluate_rdm(*args) if is_rdm else _evaluate_patterns(*args, caches=caches)
    for row in rows:
        row.seed = seed
    return rows


def evaluate(
    measure: str | Callable[..., float],
    x: Any,
    y: Any,
    *,
    bootstrap: str | None = None,
    n_boot: int = 1000,
    permutation: bool = False,
    n_perm: int = 1000,
    noise_ceiling: bool = False,
    seed: int = 0,
    level: float = 0.95,
    backend: str = "numpy",
    ci_method: str = "percentile",
    alternative: str | None = None,
    alpha: float = 0.05,
    exact: bool | str = "auto",
    n_splits: int = 100,
    measure_kwargs: dict[str, Any] | None = None,
    caches: tuple[MutableMapping[Any, Any] | None, MutableMapping[Any, Any] | None]
    | None = None,
) -> pd.DataFrame:
    """Estimate, bootstrap interval, permutation p-value and noise ceiling of a measure.

    Parameters
    ----------
    measure : str or callable
        An RDM comparison method of :data:`neuroalign.core.vocabulary.COMPARE_METHODS`
        or one of its aliases (``"pearson"``/``"corr"``, ``"spearman"``, ``"cosine"``,
        ``"tau-a"``, ``"rho-a"``, ``"corr_cov"``, ``"cosine_cov"``, ...); ``"rsa"`` is
        the run's name for an RDM comparison with ``measure_kwargs["rsa_method"]``
        (default ``"spearman"``);
        a pattern measure (``"cka"``, ``"cka_rbf"``, ``"shape"``, ``"predictivity"``)
        or a callable ``f(x, y) -> float`` on two (condition, unit) patterns.
    x : array, DataArray or mapping name -> array
        The model(s): RDMs ``(n, n)`` / ``(M, n, n)`` / vectors for RDM methods
        (each of the M is one model), patterns otherwise. A mapping gives names.
    y : array or sequence
        The data: subject RDMs ``(S, n, n)`` for RDM methods; a pattern array
        ``(condition, unit)`` / ``(repetition, condition, unit)`` or a list of them
        (one per subject) otherwise.
    bootstrap : {None, "conditions", "repetitions", "subjects", "two-level"}
        What to resample. For RDMs ``"two-level"`` resamples subjects *and*
        conditions (rsatoolbox's ``eval_bootstrap``); for patterns it resamples
        subjects, then repetitions within each drawn subject.
    n_boot, n_perm : int
        Resample counts.
    permutation : bool
        Permutation test that relabels the model's conditions.
    noise_ceiling : bool
        RDMs: leave-one-subject-out bounds; patterns: split-half with Spearman-Brown.
    seed : int
        Seed of the one generator every draw comes from.
    level : float
        Confidence level in (0, 1).
    backend : {"numpy", "torch"}
        Array library for the vectorised RDM resampling.
    ci_method : {"percentile", "basic", "normal"}
    alternative : {"greater", "less", "two-sided"}, optional
        Default: ``"greater"`` for similarities, ``"less"`` for distances.
    alpha : float
        Smallest significance level the permutation test must be able to reach.
    exact : {"auto", True, False}
        Enumerate all permutations when there are no more than ``n_perm``.
    n_splits : int
        Random splits for split-half noise ceilings.
    measure_kwargs : dict, optional
        Extra arguments of the measure (e.g. ``kernel``, ``debiased``, ``alpha``).
    caches : (mapping, mapping), optional
        Pattern measures: two mutable mappings, for ``x`` and for ``y``, that keep
        what depends on one input only (its prepared representation, Gram matrices
        or shape reductions of its repetition resamples, its split-half values)
        between calls, keyed by content and draws (see
        :mod:`~neuroalign.compare.inference.pattern_resampling`). Scoring one input
        against many partners with the same seed then prepares it once; the results
        are those without caches. Ignored for RDM comparisons.

    Returns
    -------
    pandas.DataFrame
        One row per model, columns :data:`RESULT_COLUMNS` plus ``n_subjects``.

    Raises
    ------
    InferenceError
        The design cannot support the estimate or interval: for pattern measures, a
        side with fewer than 2 units or infinite values, or (resampling
        repetitions) fewer than 3 repetitions of a condition
        (:mod:`neuroalign.core.degenerate`); too few subjects or resamples.
    """
    rows = evaluate_results(
        measure, x, y, bootstrap=bootstrap, n_boot=n_boot, permutation=permutation,
        n_perm=n_perm, noise_ceiling=noise_ceiling, seed=seed, level=level, backend=backend,
        ci_method=ci_method, alternative=alternative, alpha=alpha, exact=exact,
        n_splits=n_splits, measure_kwargs=measure_kwargs, caches=caches)
    return pd.DataFrame([r.to_row() for r in rows], columns=[*RESULT_COLUMNS, "n_subjects"])


def _method_label(bootstrap, ci_method, permutation, exact_flag, extra=""):
    parts = []
    if bootstrap:
        parts.append(f"bootstrap-{bootstrap}/{ci_method}")
    if permutation:
        parts.append("permutation-" + ("exact" if exact_flag else "montecarlo"))
    if extra:
        parts.append(extra)
    return "; ".join(parts) or "estimate"


def _perms(n, n_perm, rng, alpha, alternative, exact):
    check_permutation_power(n, n_perm, alpha, alternative)
    return permutation_indices(n, n_perm, rng, exact=exact)


def _evaluate_rdm(measure, x, y, bootstrap, n_boot, permutation, n_perm, noise_ceiling, rng,
                  level, backend, ci_method, alternative, alpha, exact, n_splits, kwargs):
    if bootstrap not in _RDM_BOOT:
        raise InferenceError(
            f"bootstrap={bootstrap!r} is not available for RDM comparisons (RDMs have no "
            f"repetitions left); valid kinds: {', '.join(map(repr, _RDM_BOOT))}"
        )
    method = canonical_method(measure)
    alternative = alternative or "greater"
    labels = rdm_condition_labels(y)
    data, n = as_rdm_vectors(y, "y", labels)
    names, models = _rdm_models(x, n, labels)
    n_sub = data.shape[0]
    est = rdm_bootstrap_evaluations(models, data, n, method)["evaluations"][0]
    boot = None
    if bootstrap is not None:
        sub_idx = bootstrap_indices(n_sub, n_boot, rng) if bootstrap != "conditions" else None
        cond_idx = bootstrap_indices(n, n_boot, rng) if bootstrap != "subjects" else None
        boot = rdm_bootstrap_evaluations(models, data, n, method, cond_idx, sub_idx,
                                         backend=backend)["evaluations"]
    nc = rdm_noise_ceiling(data, n, method) if noise_ceiling else (np.nan, np.nan)
    null, exact_flag = None, False
    if permutation:
        perms, exact_flag = _perms(n, n_perm, rng, alpha, alternative, exact)
        null = rdm_permutation_null(models, data, n, perms, method)
    rows = []
    for j, name in enumerate(names):
        row = InferenceResult(measure=method, model=name, estimate=float(est[j]), n=n,
                              level=level, ceiling_low=nc[0], ceiling_high=nc[1],
                              extra={"n_subjects": n_sub})
        if boot is not None:
            row.n_resamples = n_boot
            for key, val in _summaries(boot[:, j], est[j], level, ci_method).items():
                setattr(row, key, val)
        if null is not None:
            for key, val in _null_summary(null[:, j], est[j], alternative, exact_flag).items():
                setattr(row, key, val)
        row.method = _method_label(bootstrap, ci_method, permutation, exact_flag,
                                   "noise-ceiling-loso" if noise_ceiling else "")
        rows.append(row)
    return rows


def _rdm_models(x: Any, n: int, labels: np.ndarray | None) -> tuple[list[str], np.ndarray]:
    """Model names and RDM vectors (M, p); every model must have the data's n conditions."""
    if isinstance(x, Mapping):
        names = [str(k) for k in x]
        parts = [as_rdm_vectors(v, f"x[{k!r}]", labels) for k, v in x.items()]
    else:
        vecs, nx = as_rdm_vectors(x, "x", labels)
        names = ["model"] if vecs.shape[0] == 1 else [f"model{i}" for i in range(len(vecs))]
        parts = [(vecs[i : i + 1], nx) for i in range(len(vecs))]
    for name, (v, nv) in zip(names, parts, strict=True):
        if nv != n or v.shape[0] != 1:
            raise ValidationError(
                f"model {name!r}: expected one RDM of {n} conditions (like y); got "
                f"{v.shape[0]} RDM(s) of {nv} conditions"
            )
    return names, np.concatenate([v for v, _ in parts])


def _subjects(y: Any) -> list[np.ndarray]:
    if isinstance(y, Sequence) and not isinstance(y, np.ndarray):
        return [as_patterns(v, f"y[{i}]") for i, v in enumerate(y)]
    return [as_patterns(y, "y")]


def _evaluate_patterns(measure, x, y, bootstrap, n_boot, permutation, n_perm, noise_ceiling,
                       rng, level, backend, ci_method, alternative, alpha, exact, n_splits,
                       kwargs, caches=(None, None)):
    caches = (pr.bind(caches[0]), pr.bind(caches[1]))  # each input digested once
    pm = _pattern_measure(measure, kwargs)
    alternative = alternative or pm.alternative
    names, xs = _models(x, as_patterns)
    ys = _subjects(y)
    n = ys[0].shape[-2]
    for label, arr in [*zip(names, xs, strict=True), *((f"y[{i}]", v) for i, v in enumerate(ys))]:
        if arr.shape[-2] != n:
            raise ValidationError(
                f"{label}: {arr.shape[-2]} conditions, but y[0] has {n}; all patterns "
                "must share the condition axis"
            )
    if bootstrap == "subjects" and len(ys) < 2:
        raise InferenceError("bootstrap='subjects' needs y as a list of at least 2 subjects")
    # the degenerate rules of neuroalign.core.degenerate: units and values on every side,
    # repetitions where the interval resamples them
    by_reps = bootstrap in ("repetitions", "two-level")
    for label, arr in [*zip(names, xs, strict=True), *((f"y[{i}]", v) for i, v in enumerate(ys))]:
        check_patterns(arr, label, repetitions=by_reps and label.startswith("y")
                       and arr.ndim == 3)
    if not callable(measure):  # the named measures are scale-invariant: no overflow
        xs = [standardise(a)[0] for a in xs]
        ys = [standardise(a)[0] for a in ys]
    sub_idx = bootstrap_indices(len(ys), n_boot, rng) if bootstrap in ("subjects",
                                                                        "two-level") else None
    cond_idx = bootstrap_indices(n, n_boot, rng) if bootstrap == "conditions" else None
    perms, exact_flag = (None, False)
    if permutation:
        perms, exact_flag = _perms(n, n_perm, rng, alpha, alternative, exact)
    nc = (np.nan, np.nan)
    if noise_ceiling:
        nc = pr.split_half_ceiling(pm, ys, n_splits, rng, cache=caches[1])
    rows = []
    for name, xm in zip(names, xs, strict=True):
        per_subject = pr.subject_values(pm, xm, ys, caches)
        est = float(per_subject.mean())
        boot = None
        if bootstrap == "conditions":
            boot = pr.boot_conditions(pm, xm, ys, cond_idx)
        elif bootstrap == "repetitions":
            boot = pr.boot_repetitions(pm, xm, ys, n_boot, rng, caches)
        elif bootstrap == "subjects":
            boot = index_counts(sub_idx, len(ys)) @ per_subject / len(ys)
        elif bootstrap == "two-level":
            boot = pr.boot_two_level(pm, xm, ys, sub_idx, rng)
        row = InferenceResult(measure=pm.name, model=name, estimate=est, n=n, level=level,
                              ceiling_low=nc[0], ceiling_high=nc[1],
                              extra={"n_subjects": len(ys)})
        if boot is not None:
            row.n_resamples = n_boot
            for key, val in _summaries(boot, est, level, ci_method).items():
                setattr(row, key, val)
        if perms is not None:
            null = pr.permutation_null(pm, xm, ys, perms, caches)
            for key, val in _null_summary(null, est, alternative, exact_flag).items():
                setattr(row, key, val)
        row.method = _method_label(bootstrap, ci_method, permutation, exact_flag,
                                   "noise-ceiling-split-half" if noise_ceiling else "")
        rows.append(row)
    return rows
