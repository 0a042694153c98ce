"""Run a study over a results table: every test, one correction, one verdict per test.

:func:`run_study` takes the per-cell results of ``neuroalign run`` or
``neuroalign batch`` and returns a :class:`Study`: the table written to
``study.csv`` (one row per test) and the plain-words verdict the report and
the console show first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.core.csvsafe import write_csv
from neuroalign.core.errors import ValidationError
from neuroalign.core.random import as_rng
from neuroalign.core.results import results_table
from neuroalign.study.hierarchy import bootstrap_p, cell_se
from neuroalign.study.hypotheses import (
    HypothesisTest,
    best_match_tests,
    h1_tests,
    h2_tests,
    h3_tests,
)
from neuroalign.study.verdict import CORRECTIONS, adjust_p, format_p, verdict

__all__ = [
    "STUDY_COLUMNS",
    "HypothesisResult",
    "Study",
    "correct",
    "predict_h3",
    "run_study",
    "write_study",
]

#: columns of study.csv, in order
STUDY_COLUMNS = (
    "hypothesis", "subject", "statement", "measure", "stage", "level", "estimate",
    "ci_low", "ci_high", "p_value", "p_display", "p_adjusted", "n_animals", "n_sessions",
    "n_algorithms", "n_seeds", "n_boot", "verdict", "note",
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
        ``supported``, ``contradicted`` or ``inconclusive``.
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
    correction, alpha, level, n_boot
        The settings.
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
              cell_level: float | None = None) -> Study:
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
    rng = as_rng(seed)
    n, lv = int(n_boot), float(level)
    # the draws run in a fixed order (H2, H1, H3, best match); the table lists H1 first
    h2 = h2_tests(results, n_boot=n, level=lv, rng=rng)
    h1 = h1_tests(results, n_boot=n, level=lv, rng=rng)
    h3 = h3_tests(results, n_boot=n, level=lv, rng=rng)
    best = best_match_tests(results, n_boot=n, level=lv, rng=rng)
    # cells run without resampling (n_boot = 0) carry no interval: the trial level cannot
    # be redrawn and the bootstrap rests on the top-level units alone
    trial_level = bool((cell_se(results) > 0).any())
    scored = [_score(t, level, trial_level) for t in (*h1, *h2, *h3, *best)]
    decided = correct(scored, correction, alpha)
    decided = predict_h3(decided, alpha)
    table = _table(decided, int(n_boot), read_notes)
    study = Study(table=table, correction=correction, alpha=alpha, level=level,
                  n_boot=int(n_boot), results=tuple(decided))
    study.lines = [*verdict_lines(study), *read_notes]
    return study


def _score(t: HypothesisTest, level: float, trial_level: bool) -> HypothesisResult:
    """The test's interval, p-value (floored at the sign test without cell intervals)
    and notes; not yet corrected."""
    low, high = _interval(t.replicates, level)
    p = _p(t.replicates) if np.isfinite(t.estimate) else float("nan")
    notes = list(t.notes)
    if not trial_level and np.isfinite(p):
        k = _top_units(t)
        p = max(p, sign_test_floor(k))
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
    return HypothesisResult(test=t, ci_low=low, ci_high=high, p_value=float(p), notes=tuple(notes))


def correct(scored: list[HypothesisResult], correction: str,
            alpha: float) -> list[HypothesisResult]:
    """Correct the p-values of every test together and give each its verdict (with the
    prediction its test carries)."""
    p_adj = adjust_p(np.asarray([r.p_value for r in scored], dtype=float), correction)
    return [replace(r, p_adjusted=float(p),
                    verdict=verdict(r.test.predicted, float(p), r.ci_low, r.ci_high, alpha))
            for r, p in zip(scored, p_adj, strict=True)]


def predict_h3(decided: list[HypothesisResult], alpha: float) -> list[HypothesisResult]:
    """Give each H3 test its prediction from its region's *corrected* H2 verdict.

    A region whose H2 test is supported (A > 0: walls around danger, the
    value-learners' signature) predicts that it resembles value-learners more
    (+1); contradicted (A < 0) predicts policy-learners (-1); an inconclusive H2
    (after the correction and the sign-test floor, exactly as ``study.csv``
    reports it) makes no prediction, and the H3 test stays inconclusive.
    """
    h2 = {r.test.region: r.verdict for r in decided if r.test.hypothesis == "H2"}
    out = []
    for r in decided:
        if r.test.hypothesis != "H3":
            out.append(r)
            continue
        sign = {"supported": 1, "contradicted": -1}.get(h2.get(r.test.region, ""), 0)
        if sign:
            family = "value" if sign > 0 else "policy"
            test = r.test.predicting(sign, statement=(
                f"{r.test.statement} {'>' if sign > 0 else '<'} 0 (the region's geometry "
                f"matches {family}-learners')"))
            notes = r.notes
        else:
            test = r.test.predicting(0)
            notes = (*r.notes, "no prediction: the region's A is not distinguishable from 0 "
                               "(H2, corrected), so it matches neither family's geometry")
        out.append(replace(r, test=test, notes=notes,
                           verdict=verdict(sign, r.p_adjusted, r.ci_low, r.ci_high, alpha)))
    return out


def sign_test_floor(n_top: int) -> float:
    """The smallest two-sided p-value ``k`` independent top-level units can give when all
    lie on one side of 0 (the exact sign test): ``0.5 ** (k - 1)``."""
    return float(0.5 ** (max(int(n_top), 1) - 1))


def _top_units(t: HypothesisTest) -> int:
    counts = [t.counts.get(k) for k in ("n_animals", "n_algorithms")]
    return min((int(c) for c in counts if c), default=1)


def _table(decided: list[HypothesisResult], n_boot: int,
           read_notes: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for r in decided:
        t = r.test
        notes = list(r.notes)
        if t.hypothesis == "H3":
            notes.append(f"value-learners {t.extra['value']:.3f}, policy-learners "
                         f"{t.extra['policy']:.3f}")
        notes += list(read_notes or [])
        rows.append({
            "hypothesis": t.hypothesis, "subject": t.subject, "statement": t.statement,
            "measure": t.measure, "stage": t.stage, "level": t.level,
            "estimate": float(t.estimate), "ci_low": r.ci_low, "ci_high": r.ci_high,
            "p_value": r.p_value, "p_display": format_p(r.p_value, n_boot),
            "p_adjusted": r.p_adjusted,
            "n_animals": t.counts.get("n_animals"), "n_sessions": t.counts.get("n_sessions"),
            "n_algorithms": t.counts.get("n_algorithms"), "n_seeds": t.counts.get("n_seeds"),
            "n_boot": n_boot, "verdict": r.verdict, "note": "; ".join(notes) or None,
        })
    table = pd.DataFrame(rows, columns=list(STUDY_COLUMNS))
    for col in ("n_animals", "n_sessions", "n_algorithms", "n_seeds"):
        table[col] = table[col].astype("Int64")
    return table


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
    if study.correction == "holm" and floor * len(t) >= study.alpha:
        lines.append(f"With {study.n_boot} replicates the smallest p-value is {floor:.2g}; "
                     f"Holm over {len(t)} tests cannot reach alpha = {study.alpha:g}. "
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
            lines.append(f"{title}: {row.statement} is {row.verdict.upper()} for "
                         f"{row.subject}: {_fmt(row)}.")
        rest = len(sub) - len(decided)
        if rest:
            lines.append(f"{title}: {rest} of {len(sub)} test(s) inconclusive "
                         "(interval includes 0 or adjusted p >= alpha).")
    return lines


def write_study(target: str | Path, study: Study) -> Path:
    """Write the study table atomically: to ``target`` if it names a ``.csv`` file,
    else to ``study.csv`` in the folder ``target``."""
    path = Path(target)
    if path.suffix.lower() != ".csv":
        path = path / "study.csv"
    return write_csv(study.table, path, index=False)
