"""Run a study over a results table: every test, one correction, one verdict per test.

:func:`run_study` takes the per-cell results of ``neuroalign run`` or
``neuroalign batch`` and returns a :class:`Study`: the table written to
``study.csv`` (one row per test) and the plain-words verdict the report and
the console show first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.core.csvsafe import write_csv
from neuroalign.core.errors import ValidationError
from neuroalign.core.random import as_rng
from neuroalign.core.results import results_table
from neuroalign.core.validation import margins_by_hypothesis
from neuroalign.study.hierarchy import bootstrap_p, cell_se
from neuroalign.study.hypotheses import (
    HypothesisTest,
    best_match_tests,
    h1_tests,
    h2_tests,
    h3_tests,
)
from neuroalign.study.sensitivity import (
    corrected_alpha,
    equivalence_p,
    minimum_detectable_effect,
    replicate_se,
    sign_test_floor,
)
from neuroalign.study.verdict import CORRECTIONS, adjust_p, format_p, verdict

__all__ = ["STUDY_COLUMNS", "HypothesisResult", "Study", "predict_h3", "run_study",
           "score_tests", "write_study"]

#: columns of study.csv, in order
STUDY_COLUMNS = (
    "hypothesis", "subject", "statement", "measure", "stage", "level", "estimate",
    "ci_low", "ci_high", "p_value", "p_display", "p_adjusted", "mde", "equivalence_margin",
    "p_equivalence", "p_equivalence_adjusted", "n_animals", "n_sessions", "n_algorithms",
    "n_seeds", "n_boot", "verdict", "note",
)

@dataclass(frozen=True)
class HypothesisResult:
    """One test with its interval, p-value, correction and verdict (a frozen record).

    Attributes
    ----------
    test
        The test (estimate, replicates, prediction).
    ci_low, ci_high
        The hierarchical bootstrap interval at the study's level.
    p_value
        The bootstrap p-value, floored at the exact sign test when the cells
        carry no intervals (NaN: no test).
    p_adjusted
        ``p_value`` corrected over every test of the study.
    verdict
        ``supported``, ``contradicted``, ``absent`` or ``inconclusive``.
    notes
        What to read the numbers with.
    """

    test: HypothesisTest
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float = float("nan")
    verdict: str = "inconclusive"
    notes: tuple[str, ...] = ()


@dataclass
class Study:
    """The tests of one study with their correction and verdicts.

    Attributes
    ----------
    table
        One row per test (columns :data:`STUDY_COLUMNS`).
    correction, alpha, level, n_boot, power, equivalence_margin
        The settings (``equivalence_margin``: the declared margin of each
        hypothesis, empty when none).
    plan
        With a margin: the design each test needs to detect an effect the size
        of its margin (:func:`neuroalign.study.plan.plan_rows`), else None.
    lines
        The verdict in plain words, one sentence per hypothesis, numbers included.
    results
        The tests as frozen records, in the order of ``table``.
    """

    table: pd.DataFrame
    correction: str
    alpha: float
    level: float
    n_boot: int
    lines: list[str] = field(default_factory=list)
    power: float = 0.8
    equivalence_margin: dict[str, float] = field(default_factory=dict)
    plan: pd.DataFrame | None = None
    results: tuple[HypothesisResult, ...] = ()

    def verdicts(self, hypothesis: str) -> pd.DataFrame:
        """The rows of one hypothesis (``"H1"``, ``"H2"``, ``"H3"``, ``"best match"``)."""
        return self.table[self.table["hypothesis"] == hypothesis]


def _no_spread(reps: np.ndarray) -> bool:
    """Replicates that cannot vary (one leaf, no per-cell interval): nothing to infer from."""
    r = reps[np.isfinite(reps)]
    return r.size < 2 or bool(np.ptp(r) == 0)


NO_SPREAD_NOTE = ("no interval and no test: the replicates cannot vary (a single session or "
                  "seed whose cells carry no interval, e.g. n_boot = 0)")


def _interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    r = reps[np.isfinite(reps)]
    if _no_spread(reps):
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(r, [tail, 1.0 - tail])
    return float(low), float(high)


def _p(reps: np.ndarray) -> float:
    return float("nan") if _no_spread(reps) else bootstrap_p(reps, 0)


def run_study(results: pd.DataFrame, *, n_boot: int = 4000, level: float = 0.95,
              alpha: float = 0.05, correction: str = "holm", seed: int | None = 0,
              equivalence_margin: float | Mapping[str, float] | None = None,
              power: float = 0.8, cell_level: float | None = None) -> Study:
    """Every hypothesis test of a results table, corrected together, with verdicts.

    Parameters
    ----------
    results
        Per-cell results (``results.parquet`` of a run, or
        :func:`neuroalign.batch.load_results` of a batch folder; read through
        :func:`neuroalign.core.results.results_table`).
    n_boot
        Hierarchical bootstrap replicates per test (p-values resolve
        ``2 / (n_boot + 1)``).
    level
        Level of the study's intervals. It sets the interval quantiles only: the
        cells enter with their own bootstrap standard errors, so the p-values and
        the corrected p-values do not depend on it.
    alpha
        Level of the corrected tests in the verdict rule.
    correction
        ``"holm"`` (family-wise, default) or ``"bh"`` (false discovery rate),
        over every test of the study.
    seed
        Seed of the resampling.
    equivalence_margin
        Margin of the equivalence test (TOST), one number or one per hypothesis
        (``{"H2": 0.2}``); a test whose quantity lies inside it (corrected with the
        others) is ``absent``. ``None``: no equivalence test, no ``absent``.
    power
        Power of the minimum detectable effect (``mde``).
    cell_level
        The cells' interval level, for a results table written without its
        ``level`` column (see :func:`~neuroalign.core.results.results_table`).

    Returns
    -------
    Study

    Raises
    ------
    ValidationError
        A results table without the columns the study reads, or bad settings.
    """
    results = results_table(results, cell_level=cell_level)
    read_notes = list(results.attrs.get("notes", []))
    if correction not in CORRECTIONS:
        raise ValidationError(f"correction: got {correction!r}; expected one of "
                              f"{list(CORRECTIONS)}")
    if int(n_boot) < 99:
        raise ValidationError(f"n_boot: got {n_boot}; expected at least 99")
    if not 0 < level < 1 or not 0 < alpha < 1:
        raise ValidationError(f"level, alpha: got {level}, {alpha}; expected both in (0, 1)")
    margins = margins_by_hypothesis(equivalence_margin)
    if not 0 < power < 1:
        raise ValidationError(f"power: got {power}; expected a number in (0, 1)")
    rng = as_rng(seed)
    n, lv = int(n_boot), float(level)
    # the draws run in a fixed order (H2, H1, H3, best match); the table lists H1 first.
    # H3 is made without a prediction: predict_h3 gives it the corrected H2 verdicts
    h2 = h2_tests(results, n_boot=n, level=lv, rng=rng)
    h1 = h1_tests(results, n_boot=n, level=lv, rng=rng)
    h3 = h3_tests(results, n_boot=n, level=lv, rng=rng)
    best = best_match_tests(results, n_boot=n, level=lv, rng=rng)
    # cells run without resampling (n_boot = 0) carry no interval: the trial level cannot
    # be redrawn and the bootstrap rests on the top-level units alone
    trial_level = bool((cell_se(results) > 0).any())
    table, tests = _table([*h1, *h2, *h3, *best], level, alpha, correction, n, trial_level,
                          margins, power, read_notes)
    plan = _plan_margins(results, table, margins, power, alpha, level, int(n_boot))
    study = Study(table=table, correction=correction, alpha=alpha, level=level,
                  n_boot=int(n_boot), power=power, equivalence_margin=margins, plan=plan,
                  results=_records(table, tests))
    study.lines = [*verdict_lines(study), *read_notes]
    return study


def score_tests(tests: list[HypothesisTest], *, level: float = 0.95, alpha: float = 0.05,
                correction: str = "holm", n_boot: int = 4000, trial_level: bool = True,
                equivalence_margin: float | Mapping[str, float] | None = None,
                power: float = 0.8) -> pd.DataFrame:
    """Intervals, p-values, one correction over every test, verdicts and the minimum
    detectable effect of tests made elsewhere (e.g. :func:`~neuroalign.study.hypotheses.h1_tests`
    applied to several parts of one table), exactly as :func:`run_study` scores its own.

    Parameters
    ----------
    tests
        The tests, corrected together (their order is the table's).
    level, alpha, correction, equivalence_margin, power
        As in :func:`run_study`.
    n_boot
        The replicates each test was made with (the resolution of its p-value).
    trial_level
        False when the cells carry no intervals (``n_boot = 0``): p is then floored
        at the exact sign test of the top-level units.

    Returns
    -------
    pandas.DataFrame
        One row per test, columns :data:`STUDY_COLUMNS`.

    Raises
    ------
    ValidationError
        An unknown correction, or a level or alpha outside (0, 1).
    """
    if correction not in CORRECTIONS:
        raise ValidationError(f"correction: got {correction!r}; expected one of "
                              f"{list(CORRECTIONS)}")
    if not 0 < level < 1 or not 0 < alpha < 1:
        raise ValidationError(f"level, alpha: got {level}, {alpha}; expected both in (0, 1)")
    table, _ = _table(list(tests), float(level), float(alpha), correction, int(n_boot),
                      trial_level, margins_by_hypothesis(equivalence_margin), power)
    return table


def _records(table: pd.DataFrame, tests: list[HypothesisTest]) -> tuple[HypothesisResult, ...]:
    """The rows of ``table`` as frozen records with their tests."""
    return tuple(
        HypothesisResult(test=t, ci_low=float(r.ci_low), ci_high=float(r.ci_high),
                         p_value=float(r.p_value), p_adjusted=float(r.p_adjusted),
                         verdict=str(r.verdict),
                         notes=tuple(str(r.note).split("; ")) if isinstance(r.note, str)
                         else ())
        for t, r in zip(tests, table.itertuples(), strict=True))


def predict_h3(table: pd.DataFrame, tests: list[HypothesisTest],
               alpha: float) -> list[HypothesisTest]:
    """Give each H3 test its prediction from its region's *corrected* H2 verdict.

    A region whose H2 test is supported (A > 0: walls around danger, the
    value-learners' signature) predicts that it resembles value-learners more
    (+1); contradicted (A < 0) predicts policy-learners (-1); any other H2 verdict
    (after the correction and the sign-test floor, exactly as ``study.csv``
    reports it) makes no prediction, and the H3 test stays inconclusive. Updates
    the H3 rows of ``table`` (statement, note, verdict) and returns the tests with
    their predictions (new frozen records).
    """
    h2 = {t.region: str(v) for t, v in zip(tests, table["verdict"], strict=True)
          if t.hypothesis == "H2"}
    out = []
    for i, t in enumerate(tests):
        if t.hypothesis != "H3":
            out.append(t)
            continue
        sign = {"supported": 1, "contradicted": -1}.get(h2.get(t.region, ""), 0)
        if sign:
            family = "value" if sign > 0 else "policy"
            new = t.predicting(sign, statement=(
                f"{t.statement} {'>' if sign > 0 else '<'} 0 (the region's geometry "
                f"matches {family}-learners')"))
            note = None
        else:
            note = ("no prediction: the region's A is not distinguishable from 0 (H2, "
                    "corrected), so it matches neither family's geometry")
            new = t.predicting(0, note=note)
        row = table.iloc[i]
        table.at[i, "statement"] = new.statement
        table.at[i, "predicted"] = sign
        if note:
            table.at[i, "note"] = "; ".join(x for x in (note, row["note"])
                                            if isinstance(x, str) and x)
        table.at[i, "verdict"] = verdict(sign, row["p_adjusted"], row["ci_low"],
                                         row["ci_high"], alpha, row["p_equivalence_adjusted"])
        out.append(new)
    return out


def _plan_margins(results: pd.DataFrame, table: pd.DataFrame, margins: Mapping[str, float],
                  power: float, alpha: float, level: float, n_boot: int
                  ) -> pd.DataFrame | None:
    """The design each test needs to detect an effect the size of its margin; the
    inconclusive tests' notes say it."""
    from neuroalign.study.plan import needed_text, plan_rows, plan_table

    if not margins or table.empty:
        return None
    family = int(table["p_value"].notna().sum() + table["p_equivalence"].notna().sum())
    # the analytic design (fast); `neuroalign plan` also checks it by simulation
    rows = plan_rows(results, table[table["hypothesis"].isin(list(margins))], dict(margins),
                     power=power, alpha=alpha, level=level, n_boot=n_boot, n_tests=family,
                     n_sim=0)
    by_test = {(r.hypothesis, r.subject): r for r in rows}
    notes = []
    for r in table.itertuples():
        plan = by_test.get((r.hypothesis, r.subject))
        text = needed_text(plan) if plan is not None else None
        if plan is not None and text and r.verdict == "inconclusive":
            notes.append("; ".join(x for x in (r.note, f"n for |{_quantity(r)}| = "
                                               f"{plan.effect:g}: {text}") if x))
        else:
            notes.append(r.note)
    table["note"] = notes
    return plan_table(rows)


def _top_units(t: HypothesisTest) -> int:
    counts = [t.counts.get(k) for k in ("n_animals", "n_algorithms")]
    return min((int(c) for c in counts if c), default=1)


def _table(tests: list[HypothesisTest], level: float, alpha: float, correction: str,
           n_boot: int, trial_level: bool = True, margins: Mapping[str, float] | None = None,
           power: float = 0.8, read_notes: list[str] | None = None
           ) -> tuple[pd.DataFrame, list[HypothesisTest]]:
    margins = margins or {}
    rows = []
    for t in tests:
        low, high = _interval(t.replicates, level)
        p = _p(t.replicates) if np.isfinite(t.estimate) else float("nan")
        margin = margins.get(t.hypothesis, float("nan"))
        p_eq = (equivalence_p(t.replicates, margin) if np.isfinite(p) and np.isfinite(margin)
                else float("nan"))
        notes = list(t.notes)
        floor_units = None
        if not trial_level and np.isfinite(p):
            k = floor_units = _top_units(t)
            p = max(p, sign_test_floor(k))
            p_eq = max(p_eq, sign_test_floor(k)) if np.isfinite(p_eq) else p_eq
            notes.append(f"the cells carry no intervals (n_boot = 0), so only the {k} "
                         "top-level unit(s) are resampled: p is at least the exact sign "
                         f"test's {sign_test_floor(k):.2g}")
        if np.isfinite(t.estimate) and _no_spread(t.replicates):
            notes.append(NO_SPREAD_NOTE)
        if np.isfinite(t.estimate) and np.isfinite(low) and not low <= t.estimate <= high:
            notes.append("the interval excludes the pooled estimate: the leaves are few or "
                         "skewed; read it as a spread")
        ceiling = t.extra.get("ceiling", float("nan"))
        shown = t.extra.get("best_estimate", max(t.extra.get("value", np.nan),
                                                 t.extra.get("policy", np.nan)))
        if np.isfinite(ceiling) and np.isfinite(shown) and shown > ceiling:
            notes.append(f"similarity {shown:.2f} above the region's noise ceiling "
                         f"{ceiling:.2f}: the ceiling is underestimated or the measure is "
                         "unstable at this number of conditions")
        if t.hypothesis == "best match":
            same = t.extra.get("indistinguishable", [])
            notes.append(f"best {t.extra['best']} ({t.extra['best_estimate']:.2f}); "
                         + (f"indistinguishable from it: {', '.join(same)}" if same else
                            "no other layer is within its interval"))
        if t.hypothesis == "H3":
            notes.append(f"value-learners {t.extra['value']:.3f}, policy-learners "
                         f"{t.extra['policy']:.3f}")
        notes += list(read_notes or [])
        rows.append({
            "hypothesis": t.hypothesis, "subject": t.subject, "statement": t.statement,
            "measure": t.measure, "stage": t.stage, "level": t.level,
            "estimate": float(t.estimate), "ci_low": low, "ci_high": high, "p_value": p,
            "equivalence_margin": margin, "p_equivalence": p_eq,
            "predicted": t.predicted, "se": replicate_se(t.replicates) if np.isfinite(p)
            else float("nan"), "floor_units": floor_units,
            "n_animals": t.counts.get("n_animals"), "n_sessions": t.counts.get("n_sessions"),
            "n_algorithms": t.counts.get("n_algorithms"), "n_seeds": t.counts.get("n_seeds"),
            "n_boot": n_boot, "note": "; ".join(notes) or None,
        })
    table = pd.DataFrame(rows, columns=[*STUDY_COLUMNS, *_WORK_COLUMNS])
    if table.empty:
        return table.drop(columns=list(_WORK_COLUMNS)), list(tests)
    # the equivalence tests are corrected together with the tests of 0: one family
    both = np.r_[table["p_value"].to_numpy(dtype=float),
                 table["p_equivalence"].to_numpy(dtype=float)]
    adjusted = adjust_p(both, correction)
    table["p_adjusted"] = adjusted[:len(table)]
    table["p_equivalence_adjusted"] = adjusted[len(table):]
    table["p_display"] = [format_p(p, n_boot) for p in table["p_value"]]
    table["verdict"] = [verdict(int(r.predicted), r.p_adjusted, r.ci_low, r.ci_high, alpha,
                                r.p_equivalence_adjusted)
                        for r in table.itertuples()]
    tests = predict_h3(table, list(tests), alpha)  # after the correction, explicitly
    _add_sensitivity(table, corrected_alpha(alpha, int(np.isfinite(both).sum())), power, n_boot)
    for col in ("n_animals", "n_sessions", "n_algorithms", "n_seeds"):
        table[col] = table[col].astype("Int64")
    return table[list(STUDY_COLUMNS)], tests


#: per-test working columns of _table, not written
_WORK_COLUMNS = ("predicted", "se", "floor_units")


def _add_sensitivity(table: pd.DataFrame, alpha_test: float, power: float,
                     n_boot: int) -> None:
    """The ``mde`` column and, for the tests that did not decide, what they could have
    detected (in their note)."""
    mde, notes = [], []
    for r in table.itertuples():
        value, why = ((float("nan"), None) if not np.isfinite(r.p_value) else
                      minimum_detectable_effect(
                          float(r.se), alpha_test, power, n_boot=n_boot,
                          sign_test_units=None if pd.isna(r.floor_units)
                          else int(r.floor_units)))
        span = _range(r)
        if np.isfinite(value) and value > span:
            value, why = float("inf"), (f"no effect is detectable: the smallest effect with "
                                        f"{power:.0%} power, {value:.2g}, lies beyond the "
                                        f"range of the quantity (|effect| <= {span:g})")
        mde.append(value)
        extra = []
        if why:
            extra.append(why)
        elif np.isfinite(value) and r.verdict == "inconclusive":
            extra.append(f"could detect |{_quantity(r)}| >= {value:.2g} with "
                         f"{power:.0%} power at the corrected alpha {alpha_test:.2g}")
        notes.append("; ".join([n for n in (r.note, *extra) if isinstance(n, str) and n])
                     or None)
    table["mde"] = mde
    table["note"] = notes


def _range(row: Any) -> float:
    """The largest |value| the tested quantity can take: 1 for an A or a similarity, 2 for
    a difference of two."""
    difference = row.hypothesis in ("H3", "best match") or str(row.subject).startswith(
        "value - policy")
    return 2.0 if difference else 1.0


def _quantity(row: Any) -> str:
    """The tested quantity in short: ``A``, or ``difference`` of similarities."""
    return "A" if row.hypothesis in ("H1", "H2") else "difference"


def _fmt(row: Any) -> str:
    ci = (f" [{row.ci_low:+.2f}, {row.ci_high:+.2f}]"
          if np.isfinite(row.ci_low) and np.isfinite(row.ci_high) else "")
    return f"{row.estimate:+.2f}{ci}, {row.p_display}, adjusted p = {row.p_adjusted:.3g}"


def verdict_lines(study: Study) -> list[str]:
    """The verdict in plain words: one sentence per test that decides, and a count of
    the inconclusive ones."""
    t = study.table
    lines = [f"{len(t)} tests, {study.correction.upper() if study.correction == 'bh' else 'Holm'}"
             f"-corrected together (alpha = {study.alpha:g}); intervals {study.level:.0%}, "
             f"hierarchical bootstrap with {study.n_boot} replicates."]
    if t.empty:
        return [*lines, "No test could be made from these results."]
    floor = 2.0 / (study.n_boot + 1)
    family = len(t) + int(t["p_equivalence"].notna().sum())  # equivalence tests included
    if study.correction == "holm" and floor * family >= study.alpha:
        lines.append(f"With {study.n_boot} replicates the smallest p-value is {floor:.2g}; "
                     f"Holm over {family} tests cannot reach alpha = {study.alpha:g}. "
                     "Raise n_boot.")
    n_animals = t["n_animals"].dropna()
    if len(n_animals) and int(n_animals.max()) == 1:
        lines.append("Only ONE animal: region results describe this animal's sessions and "
                     "do not generalise to other animals.")
    for hyp, title in (("H1", "H1 (agents)"), ("H2", "H2 (regions)"), ("H3", "H3 (mirroring)"),
                       ("best match", "Best match")):
        sub = t[t["hypothesis"] == hyp]
        if sub.empty:
            continue
        decided = sub[sub["verdict"] != "inconclusive"]
        for row in decided.itertuples():
            if row.verdict == "absent":
                lines.append(f"{title}: {row.subject}: ABSENT, |{_quantity(row)}| < "
                             f"{row.equivalence_margin:g} (equivalence, adjusted p = "
                             f"{row.p_equivalence_adjusted:.3g}): {_fmt(row)}.")
                continue
            lines.append(f"{title}: {row.statement} is {row.verdict.upper()} for "
                         f"{row.subject}: {_fmt(row)}.")
        rest = sub[sub["verdict"] == "inconclusive"]
        if len(rest):
            lines.append(f"{title}: {len(rest)} of {len(sub)} test(s) inconclusive "
                         "(interval includes 0 or adjusted p >= alpha"
                         + (", and not inside the margin" if hyp in study.equivalence_margin
                            else "") + ")" + _sensitivity_text(rest, study) + ".")
    return lines


def _sensitivity_text(rows: pd.DataFrame, study: Study) -> str:
    """What the inconclusive tests ``rows`` could have detected, in words."""
    mde = rows["mde"].to_numpy(dtype=float)
    finite = mde[np.isfinite(mde)]
    if finite.size == 0:
        return "; no effect was detectable" if np.isinf(mde).any() else ""
    low, high = float(finite.min()), float(finite.max())
    size = f"{low:.2g}" if f"{low:.2g}" == f"{high:.2g}" else f"{low:.2g} to {high:.2g}"
    text = (f"; {'it' if len(rows) == 1 else 'they'} could detect "
            f"|{_quantity(next(rows.itertuples()))}| >= {size} with {study.power:.0%} power")
    if np.isinf(mde).any():
        text += f" ({int(np.isinf(mde).sum())} could detect no effect at all)"
    needed = (_needed_text(rows, study.plan) if study.plan is not None
              and not study.plan.empty else "")
    return text + (needed or "; `neuroalign plan DIR --effect E` gives the n that detects "
                             "an effect E")


def _needed_text(rows: pd.DataFrame, plan_table: pd.DataFrame) -> str:
    """The n the plan gives the inconclusive tests ``rows``, in words: one design when
    they agree (``"; n for |A| = 0.2: 9 animals (2 sessions each)"``), else the range."""
    from neuroalign.study.plan import needed_text

    plan = plan_table.set_index(["hypothesis", "subject"])
    keys = [(r.hypothesis, r.subject) for r in rows.itertuples()]
    planned = plan.loc[[k for k in keys if k in plan.index]].reset_index()
    if planned.empty:
        return ""
    head = f"; n for |{_quantity(next(rows.itertuples()))}| = {planned['effect'].iloc[0]:g}: "
    designs = [d for d in (needed_text(r) for r in planned.itertuples()) if d]
    if not designs:
        return ""
    if len(set(designs)) == 1:
        return head + designs[0]
    for col, unit in (("animals", "animals"), ("seeds", "seeds per algorithm")):
        n = planned[col].dropna()
        if len(n):
            span = (f"{int(n.min())}" if n.min() == n.max()
                    else f"{int(n.min())} to {int(n.max())}")
            return head + f"{span} {unit}"
    return ""


def write_study(target: str | Path, study: Study) -> Path:
    """Write the study table atomically: to ``target`` if it names a ``.csv`` file,
    else to ``study.csv`` in the folder ``target``."""
    path = Path(target)
    if path.suffix.lower() != ".csv":
        path = path / "study.csv"
    return write_csv(study.table, path, index=False)
