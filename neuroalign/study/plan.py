"""Planning the next study from a pilot: how many animals or seeds decide each test.

:func:`plan_study` reads the results of a pilot (a run's report folder, a
batch folder, or their table), estimates the variance at each level of
replication of each test (animal > session > trial for a region;
algorithm > seed > repetition for a family of agents), and finds the smallest
design at which the study's own test (the hierarchical bootstrap of
:mod:`neuroalign.study.hierarchy`, corrected as the pilot's study is) detects
an effect of the given size with the given power.

The model (docs/parts/study.md, "Planning"): a leaf (a session's region, a
seed) is ``y = mu + u_top + u_middle + e``, with variances ``top``,
``middle`` and the leaf's own squared standard error (``bottom``, from its
cell's bootstrap). With ``n`` top units of ``k`` leaves each, the pooled
estimate varies across studies with ``V = top / n + (middle + bottom) / (n
k)``; the hierarchical bootstrap that resamples every level, and redraws the
bottom one, estimates it as ``B`` (larger than ``V``: the resampled leaves
already hold the bottom noise that the redraw adds again, and it is
conservative; a leaf drawn ``w`` times carries its redraw ``w`` times, so the
bottom level enters ``B`` as ``E[w^2] * bottom / (n k)``). The test rejects
at per-test level ``a`` when ``|estimate| > z(1 - a/2) * se_boot``; with
``se_boot^2`` scattered as ``B * chi2_nu / nu`` (``nu`` by Satterthwaite over
the levels) the power is that of a noncentral t:
``P(|T_nu(d / sqrt(V))| > z * sqrt(B / V))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _st

from neuroalign.core.errors import ValidationError
from neuroalign.study.hypotheses import (
    FAMILIES,
    _brain_leaves,
    _family_leaves,
    _model_geometry,
    mirroring_tables,
    region_geometry,
)
from neuroalign.study.sensitivity import corrected_alpha, sign_test_floor

__all__ = [
    "LevelVariances",
    "PlanRow",
    "design_variance",
    "estimate_variances",
    "needed_text",
    "plan_rows",
    "plan_study",
    "plan_table",
    "power_of",
    "simulated_power",
]

#: largest number of animals or seeds searched
MAX_UNITS = 1000


@dataclass(frozen=True)
class LevelVariances:
    """Variance components of one side of a test, estimated on a pilot.

    Attributes
    ----------
    top
        Between top-level units (animals, algorithms); NaN with one unit.
    middle
        Between leaves within a top unit (sessions, seeds), beyond their own
        bootstrap noise; 0 where every top unit has a single leaf (then it is
        part of ``top``).
    bottom
        Mean squared standard error of a leaf (trials, repetitions).
    n_top
        Top-level units of the pilot.
    n_middle
        Leaves per top unit in the pilot (mean, rounded, at least 1).
    leaf_se
        The pilot leaves' standard errors (what a simulated leaf draws its own from).
    """

    top: float
    middle: float
    bottom: float
    n_top: int
    n_middle: int
    leaf_se: tuple[float, ...] = ()


@dataclass(frozen=True)
class PlanRow:
    """The design one test needs.

    ``animals`` (with ``sessions_per_animal``) applies to tests on brain
    regions, ``seeds`` (per algorithm, the algorithms as in the pilot) to
    tests on agent families; ``None`` where a level does not apply or no
    design up to :data:`MAX_UNITS` reaches the power (the note says which).
    """

    hypothesis: str
    subject: str
    effect: float
    power: float
    alpha_test: float
    animals: int | None
    sessions_per_animal: int | None
    seeds: int | None
    pilot_animals: int | None
    pilot_seeds: int | None
    power_at_pilot: float
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        """The row as plain JSON-ready values (NaN as ``None``)."""
        out = asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}


def estimate_variances(values: ArrayLike, se: ArrayLike, top: ArrayLike) -> LevelVariances:
    """Method-of-moments variance components of leaves grouped by their top unit.

    Parameters
    ----------
    values
        Leaf estimates.
    se
        Their standard errors (0 where the cell carries no interval).
    top
        Top-level unit of each leaf (animal, algorithm).

    Returns
    -------
    LevelVariances
        ``bottom = mean(se^2)``; ``middle`` from the pooled within-unit variance
        minus ``bottom``; ``top`` from the variance of the unit means minus what
        the lower levels put in it (each clipped at 0).
    """
    y = np.asarray(values, dtype=float)
    s = np.asarray(se, dtype=float)
    labels = np.asarray([str(x) for x in np.asarray(top, dtype=object).ravel()])
    if not (y.shape == s.shape == labels.shape) or y.size == 0:
        raise ValidationError(f"values, se, top: got sizes {y.size}, {s.size}, "
                              f"{labels.size}; expected equal and at least 1")
    keep = np.isfinite(y)
    y, s, labels = y[keep], np.nan_to_num(s[keep]), labels[keep]
    units = sorted(set(labels.tolist()))
    sizes = np.array([np.sum(labels == u) for u in units])
    means = np.array([y[labels == u].mean() for u in units])
    bottom = float(np.mean(s**2)) if y.size else 0.0
    n_leaf, n_top = y.size, len(units)
    if n_leaf > n_top:
        within = sum(float(np.sum((y[labels == u] - m) ** 2)) for u, m in zip(units, means,
                                                                             strict=True))
        middle = max(0.0, within / (n_leaf - n_top) - bottom)
    else:
        middle = 0.0
    if n_top >= 2:
        harmonic = len(sizes) / float(np.sum(1.0 / sizes))
        top_var = max(0.0, float(np.var(means, ddof=1)) - (middle + bottom) / harmonic)
    else:
        top_var = math.nan
    return LevelVariances(top=top_var, middle=middle, bottom=bottom, n_top=n_top,
                          n_middle=max(1, round(n_leaf / max(n_top, 1))),
                          leaf_se=tuple(float(x) for x in s))


def design_variance(v: LevelVariances, n_top: int, n_middle: int
                    ) -> tuple[float, float, list[tuple[float, float]]]:
    """Variances of the pooled estimate at a design of ``n_top`` x ``n_middle`` leaves.

    Returns
    -------
    tuple
        ``(B, V, terms)``: the expected variance the hierarchical bootstrap gives
        (``B``), the variance of the estimate across studies (``V``), and ``B``'s
        terms as ``(value, degrees of freedom)`` for Satterthwaite's ``nu``.
    """
    n, k = int(n_top), int(n_middle)
    within = v.middle + v.bottom
    true_var = v.top / n + within / (n * k)
    unit_mean = v.top + within / k
    # the bottom-level redraw is one draw per leaf, scaled by how often the leaf is drawn:
    # E[w^2] = E[c^2] + E[c] (1 - 1/k) with c ~ Binomial(n, 1/n) draws of its top unit
    drawn_twice = (2.0 - 1.0 / n) + (1.0 - 1.0 / k)
    terms = [((n - 1) / n * unit_mean / n, float(n - 1)),
             ((k - 1) / k * within / k / n, float(n * (k - 1))),
             (drawn_twice * v.bottom / (n * k), math.inf)]
    boot = sum(t for t, _ in terms)
    return boot, true_var, terms


def power_of(effect: float, parts: Sequence[tuple[float, float, list[tuple[float, float]]]],
             alpha_test: float) -> float:
    """Power of the study's test of 0 for a true ``effect``, summing independent
    parts (e.g. the brain side and the model side of a difference)."""
    boot = sum(p[0] for p in parts)
    true_var = sum(p[1] for p in parts)
    terms = [t for p in parts for t in p[2] if t[0] > 0]
    if not math.isfinite(boot) or boot <= 0 or true_var <= 0:
        return math.nan
    finite = [(t, d) for t, d in terms if math.isfinite(d) and d > 0]
    denominator = sum(t * t / d for t, d in finite)
    nu = boot**2 / denominator if denominator > 0 else math.inf
    z = _st.norm.ppf(1.0 - alpha_test / 2.0) * math.sqrt(boot / true_var)
    delta = abs(effect) / math.sqrt(true_var)
    normal = float(_st.norm.sf(z - delta) + _st.norm.cdf(-z - delta))
    if not math.isfinite(nu) or nu > 1e6:
        return normal
    near, far = _st.nct.sf(z, nu, delta), _st.nct.cdf(-z, nu, delta)
    if not math.isfinite(near):  # scipy's series fails far in the tail
        return normal
    return float(min(1.0, near + (far if math.isfinite(far) else 0.0)))


def simulated_power(parts: Sequence[tuple[LevelVariances, int, int]], effect: float,
                    alpha_test: float, *, level: float = 0.95, n_sim: int = 300,
                    n_boot: int = 4000, seed: int = 0) -> float:
    """Power of the study's own test, by simulating planted studies of the design.

    Each part ``(variances, n_top, n_middle)`` is a group of leaves drawn as the
    model says (normal top and middle effects, each leaf with a standard error
    drawn from the pilot's and its own noise, clipped to [-1, 1]), pooled by
    :func:`~neuroalign.study.hierarchy.pooled_replicates` over
    :func:`~neuroalign.study.hierarchy.hierarchical_weights` exactly as the study
    pools them; the quantity is the first part's pooled value minus the others'
    (one part: the value itself), planted at ``effect``. Power is the share of
    studies whose bootstrap p is below ``alpha_test`` with the ``level``
    interval excluding 0.
    """
    from neuroalign.study.hierarchy import bootstrap_p, hierarchical_weights, pooled_replicates

    rng = np.random.default_rng([int(seed), 8128])
    tail = (1.0 - level) / 2.0
    hits = 0
    for _ in range(int(n_sim)):
        quantity = np.zeros(n_boot)
        for i, (v, n, k) in enumerate(parts):
            top = np.repeat(np.arange(n), k)
            pool = np.asarray(v.leaf_se) if v.leaf_se else np.array([math.sqrt(v.bottom)])
            se = rng.choice(pool, top.size)
            y = ((effect if i == 0 else 0.0) + rng.normal(0, math.sqrt(v.top), n)[top]
                 + rng.normal(0, math.sqrt(v.middle), top.size) + rng.normal(0, 1, top.size) * se)
            y = np.clip(y, -0.999, 0.999)
            w = hierarchical_weights([top.tolist(), list(range(top.size))], n_boot, rng)
            reps = pooled_replicates(y[:, None], se[:, None], w, np.ones((n_boot, 1)), rng)
            quantity = quantity + (reps if i == 0 else -reps)
        low, high = np.quantile(quantity, [tail, 1.0 - tail])
        hits += bool(bootstrap_p(quantity) < alpha_test and (low > 0 or high < 0))
    return hits / max(int(n_sim), 1)


def _checked(n0: int | None, simulate: Callable[[int], float], target: float) -> int | None:
    """The analytic ``n0`` raised by 1, or 12% where that is more, until the simulated
    power reaches ``target`` (at most six checks)."""
    if n0 is None:
        return None
    n = n0
    for _ in range(6):
        if simulate(n) >= target or n >= MAX_UNITS:
            return n
        n = min(MAX_UNITS, max(n + 1, math.ceil(1.12 * n)))
    return n


def _smallest(fn: Callable[[int], float], target: float, start: int) -> int | None:
    """Smallest ``n >= start`` (up to :data:`MAX_UNITS`) with ``fn(n) >= target``."""
    hi = start
    while hi <= MAX_UNITS and not fn(hi) >= target:
        hi *= 2
    if hi > MAX_UNITS:
        if fn(MAX_UNITS) >= target:
            hi = MAX_UNITS
        else:
            return None
    lo = max(start, hi // 2)
    if fn(lo) >= target:
        return lo
    while hi - lo > 1:  # fn(lo) < target <= fn(hi); power grows with n
        mid = (lo + hi) // 2
        if fn(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


# --- the tests' variance components -----------------------------------------------------


def _region_leaves(results: pd.DataFrame, level: float) -> dict[str, LevelVariances]:
    geo = region_geometry(results)
    out = {}
    for region, sub in geo.groupby("region", sort=True):
        sub = sub[np.isfinite(sub["estimate"].astype(float))]
        if sub.empty:
            continue
        leaves, _ = _brain_leaves(sub)
        merged = leaves.merge(sub[["session", "region", "estimate", "se"]],
                              on=["session", "region"])
        out[str(region)] = estimate_variances(merged["estimate"], merged["se"],
                                              merged["animal"])
    return out


def _family_variances(results: pd.DataFrame, level: float
                      ) -> dict[tuple[str, str], LevelVariances]:
    geo = _model_geometry(results)
    out = {}
    for stage in sorted(set(geo["stage"])):
        for family in FAMILIES:
            lv = _family_leaves(geo, family, stage)
            if not lv.empty:
                out[(family, stage)] = estimate_variances(lv["estimate"], lv["se"], lv["agent"])
    return out


def _mirroring_variances(results: pd.DataFrame, level: float
                         ) -> dict[str, tuple[LevelVariances, list[LevelVariances]]]:
    """Per H3 subject: the brain side (per-session differences value - policy) and the
    model side (per-seed similarities averaged over sessions, one per family)."""
    out = {}
    for measure, region, stage, _, (values, se, leaves) in mirroring_tables(results):
        cols = list(values.columns)
        v, s = values.to_numpy(dtype=float), np.nan_to_num(se.to_numpy(dtype=float))
        diff = np.zeros(len(v))
        var = np.zeros(len(v))
        model_side = []
        for family, sign in zip(FAMILIES, (1.0, -1.0), strict=True):
            idx = [i for i, c in enumerate(cols) if c[0] == family]
            fv, fs = v[:, idx], s[:, idx]
            n_f = np.isfinite(fv).sum(1).clip(min=1)
            diff += sign * np.nanmean(fv, axis=1)
            var += np.nansum(np.where(np.isfinite(fv), fs**2, 0.0), axis=1) / n_f**2
            model_side.append(estimate_variances(
                np.nanmean(fv, axis=0), np.zeros(len(idx)), [cols[i][1] for i in idx]))
        brain = estimate_variances(diff, np.sqrt(var), leaves["animal"])
        out[f"{region}, {measure.upper()}, {stage}"] = (brain, model_side)
    return out


# --- the plan ------------------------------------------------------------------------------


def plan_rows(results: pd.DataFrame, tests: pd.DataFrame, effect: float | dict[str, float],
              *, power: float = 0.8, alpha: float = 0.05, level: float = 0.95,
              n_boot: int = 4000, n_tests: int | None = None, n_sim: int = 300
              ) -> list[PlanRow]:
    """The design each test of ``tests`` (a study table) needs to detect ``effect``.

    Parameters
    ----------
    results
        The pilot's per-cell results.
    tests
        The pilot's study table (:attr:`neuroalign.study.Study.table`): which tests.
    effect
        The |effect| to detect, one number or one per hypothesis.
    power
        Target power.
    alpha
        Family-wise level of the study.
    level
        Interval level of the study (the verdict also needs the interval to
        exclude 0, so the per-test level is at most ``1 - level``).
    n_boot
        Replicates of the planned study (its p-value floor ``2 / (n_boot + 1)``).
    n_tests
        Tests corrected together (default: the rows of ``tests`` with a p-value).
    n_sim
        Planted studies that check the analytic design of H1 and H2 tests by
        :func:`simulated_power` (raising it until the simulated power is reached);
        0: the analytic design alone.

    Returns
    -------
    list of PlanRow
        One per test, in the order of ``tests``.
    """
    if not 0 < power < 1:
        raise ValidationError(f"power: got {power}; expected a number in (0, 1)")
    effects = effect if isinstance(effect, dict) else {
        h: float(effect) for h in set(tests["hypothesis"])}
    for hyp, value in effects.items():
        if not math.isfinite(value) or value <= 0:
            raise ValidationError(f"effect[{hyp}]: got {value}; expected a positive number")
    from neuroalign.core.results import results_table

    results = results_table(results)  # the one schema: side statistics once per side
    m = n_tests if n_tests is not None else int(tests["p_value"].notna().sum())
    a = min(corrected_alpha(alpha, max(m, 1)), 1.0 - level)
    trial_level = bool(np.isfinite(results[["ci_low", "ci_high"]].to_numpy(float))
                       .all(1).any())
    regions = _region_leaves(results, level)
    families = _family_variances(results, level)
    mirroring = _mirroring_variances(results, level)
    rows = []
    for t in tests.itertuples():
        hyp, subject = str(t.hypothesis), str(t.subject)
        if hyp not in effects:
            continue
        e = float(effects[hyp])
        row: dict[str, Any] = dict(
            hypothesis=hyp, subject=subject, effect=e, power=power, alpha_test=a, animals=None,
            sessions_per_animal=None, seeds=None, pilot_animals=None, pilot_seeds=None,
            power_at_pilot=math.nan, note=None)
        if 2.0 / (n_boot + 1) >= a:
            row["note"] = (f"with {n_boot} replicates the smallest p is "
                           f"{2.0 / (n_boot + 1):.2g}, not below the per-test alpha "
                           f"{a:.2g}: raise n_boot")
        elif hyp == "H2" and subject in regions:
            row.update(_plan_brain(regions[subject], [], e, power, a, trial_level, n_sim,
                                   n_boot))
        elif hyp == "H3" and subject in mirroring:
            brain, model = mirroring[subject]
            row.update(_plan_brain(brain, model, e, power, a, trial_level))
        elif hyp == "H1":
            row.update(_plan_family(families, subject, e, power, a, trial_level, n_sim,
                                    n_boot))
        else:
            row["note"] = ("not planned: the best match is chosen on the data it is tested "
                           "on" if hyp == "best match" else "not planned: no leaves found")
        rows.append(PlanRow(**row))
    return rows


def _floor_ok(n_top: int, a: float, trial_level: bool) -> bool:
    """Without cell intervals the study's p is floored at the exact sign test."""
    return trial_level or sign_test_floor(n_top) < a


def _plan_brain(brain: LevelVariances, model: list[LevelVariances], e: float, power: float,
                a: float, trial_level: bool, n_sim: int = 0, n_boot: int = 4000
                ) -> dict[str, Any]:
    out: dict[str, Any] = {"pilot_animals": brain.n_top,
                           "sessions_per_animal": brain.n_middle}
    if model:
        out["pilot_seeds"] = out["seeds"] = max(mv.n_middle for mv in model)
    if not math.isfinite(brain.top):
        out["note"] = ("one animal in the pilot: the spread between animals is unknown, so no "
                       "number of animals can be planned")
        return out
    held = [design_variance(mv, mv.n_top, mv.n_middle) for mv in model
            if math.isfinite(mv.top)]

    def at(n: int) -> float:
        if not _floor_ok(n, a, trial_level):
            return 0.0
        return power_of(e, [design_variance(brain, n, brain.n_middle), *held], a)

    out["power_at_pilot"] = at(brain.n_top)
    out["animals"] = _smallest(at, power, 2)
    if n_sim and not model and trial_level:
        out["animals"] = _checked(out["animals"], lambda n: simulated_power(
            [(brain, n, brain.n_middle)], e, a, n_sim=n_sim, n_boot=n_boot), power)
    notes = []
    if model:
        notes.append("agent seeds held at the pilot's; H3 decides only where the region's "
                     "H2 does (its prediction)")
    if out["animals"] is None:
        notes.append(f"no number of animals up to {MAX_UNITS} reaches the power"
                     + (" (the agents' side dominates: more seeds)" if model else ""))
    out["note"] = "; ".join(notes) or None
    return out


def _plan_family(families: dict[tuple[str, str], LevelVariances], subject: str, e: float,
                 power: float, a: float, trial_level: bool, n_sim: int = 0,
                 n_boot: int = 4000) -> dict[str, Any]:
    who, _, stage = subject.partition(", ")
    members = (list(FAMILIES) if who == "value - policy"
               else [who.removesuffix("-learners")])
    found = [families[(f, stage)] for f in members if (f, stage) in families]
    if len(found) != len(members):
        return {"note": "not planned: no leaves found"}
    out: dict[str, Any] = {"pilot_seeds": max(v.n_middle for v in found)}
    if any(not math.isfinite(v.top) for v in found):
        out["note"] = ("one algorithm in the family: the spread between algorithms is "
                       "unknown, so no number of seeds can be planned")
        return out

    def at(k: int) -> float:
        if not all(_floor_ok(v.n_top, a, trial_level) for v in found):
            return 0.0
        return power_of(e, [design_variance(v, v.n_top, k) for v in found], a)

    out["power_at_pilot"] = at(out["pilot_seeds"])
    out["seeds"] = _smallest(at, power, 1)
    if n_sim and trial_level:
        out["seeds"] = _checked(out["seeds"], lambda k: simulated_power(
            [(v, v.n_top, k) for v in found], e, a, n_sim=n_sim, n_boot=n_boot), power)
    if out["seeds"] is None:
        out["note"] = (f"no number of seeds up to {MAX_UNITS} per algorithm reaches the "
                       "power: the spread between algorithms dominates (more algorithms)")
    else:
        out["note"] = "seeds per algorithm, the algorithms as in the pilot"
    return out


def plan_study(source: str | Path | pd.DataFrame, effect: float | dict[str, float], *,
               power: float = 0.8, hypothesis: str | None = None, alpha: float = 0.05,
               level: float = 0.95, correction: str = "holm", n_boot: int = 4000,
               seed: int | None = 0, n_sim: int = 300) -> pd.DataFrame:
    """Animals (sessions per animal) or seeds each test needs to detect ``effect``.

    Parameters
    ----------
    source
        A pilot: a run's report folder, a batch folder, or their results table.
    effect
        The |effect| to detect (A for H1 and H2, a difference of similarities
        for H3), one number or one per hypothesis.
    power
        Target power (default 0.8).
    hypothesis
        Only this hypothesis (``"H1"``, ``"H2"``, ``"H3"``).
    alpha, level, correction, n_boot, seed
        The settings of the planned study (as :func:`~neuroalign.study.run_study`);
        the per-test alpha is ``alpha / m`` over the pilot study's ``m`` tests.
    n_sim
        Planted studies checking each H1 and H2 design (:func:`plan_rows`).

    Returns
    -------
    pandas.DataFrame
        One row per test (the fields of :class:`PlanRow`).

    Raises
    ------
    ValidationError
        Bad settings, or an unknown hypothesis.
    """
    from neuroalign.core.vocabulary import HYPOTHESES
    from neuroalign.study.run import run_study

    if hypothesis is not None and hypothesis not in HYPOTHESES:
        raise ValidationError(f"hypothesis: got {hypothesis!r}; expected one of "
                              f"{list(HYPOTHESES)}")
    if isinstance(source, pd.DataFrame):
        results = source
    else:
        from neuroalign.study.cli import load_study_input

        results = load_study_input(Path(source))
    study = run_study(results, n_boot=199, level=level, alpha=alpha, correction=correction,
                      seed=seed)
    tests = study.table
    m = int(tests["p_value"].notna().sum())
    if hypothesis is not None:
        tests = tests[tests["hypothesis"] == hypothesis]
    rows = plan_rows(results, tests, effect, power=power, alpha=alpha, level=level,
                     n_boot=n_boot, n_tests=m, n_sim=n_sim)
    return plan_table(rows)


#: count columns of a plan table (nullable integers)
_COUNTS = ("animals", "sessions_per_animal", "seeds", "pilot_animals", "pilot_seeds")


def plan_table(rows: Sequence[PlanRow]) -> pd.DataFrame:
    """Plan rows as a table (counts as nullable integers)."""
    table = pd.DataFrame([r.as_dict() for r in rows], columns=list(PlanRow.__dataclass_fields__))
    for col in _COUNTS:
        table[col] = table[col].astype("Int64")
    return table


def needed_text(row: PlanRow | Any) -> str | None:
    """The design of one plan row in words: ``"9 animals (2 sessions each)"``,
    ``"5 seeds per algorithm"``; None where none is planned."""
    animals: Any = row.animals
    seeds: Any = row.seeds
    if animals is not None and not pd.isna(animals):
        sessions: Any = row.sessions_per_animal
        return f"{int(animals)} animals ({int(sessions)} sessions each)"
    if seeds is not None and not pd.isna(seeds) and row.hypothesis == "H1":
        return f"{int(seeds)} seeds per algorithm"
    return None
