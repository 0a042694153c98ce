"""Two implementations of one algorithm compared: the zoo's learner against its SB3 twin.

Input: the model-side rows of the valence asymmetry ``A`` (the results schema,
:mod:`neuroalign.core.results`; one row per agent x seed x layer), with a column
``implementation`` (``"zoo"`` or ``"sb3"``) and a column ``algorithm`` naming the
algorithm both implement (``dqn``, ``qrdqn``, ``a2c``, ``ppo``; the ``agent``
column when there is no ``algorithm`` column).

Per algorithm x task x layer stage (:func:`~neuroalign.study.hypotheses.layer_stage`:
``trunk.0``, ``trunk.1``, ``readout``; or per layer, ``by="layer"``):

- each implementation's mean A over its seeds (the layers of a stage averaged within
  a seed, as H1 does), the leaves of a hierarchical bootstrap: the seeds are drawn with
  replacement within each implementation, independently, and each drawn seed's A is
  redrawn from its own bootstrap standard error (:mod:`neuroalign.study.hierarchy`,
  the study's machinery for H1);
- the difference SB3 - zoo: its estimate is the plain difference of the two means, its
  interval the percentile interval of the replicates' differences, its p-value the
  two-sided bootstrap p of "the difference is 0" at its resolution ``2 / (n_boot + 1)``
  (:func:`~neuroalign.study.hierarchy.bootstrap_p`,
  :func:`~neuroalign.study.verdict.format_p`);
- correction over every difference of the table (Holm by default,
  :func:`~neuroalign.study.verdict.adjust_p`); ``differs`` is true where the verdict
  rule decides (:func:`~neuroalign.study.verdict.verdict`): the adjusted p-value is
  below ``alpha`` and the interval excludes 0.

A difference whose replicates cannot vary (one seed per implementation and cells
without intervals) or that lacks one implementation is NaN with a note.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from neuroalign.core.errors import ValidationError
from neuroalign.core.validation import check_choice, check_level, check_positive_int

__all__ = ["COMPARISON_COLUMNS", "IMPLEMENTATIONS", "implementation_differences"]

#: the implementations compared: the reference first
IMPLEMENTATIONS: tuple[str, str] = ("zoo", "sb3")

#: columns of :func:`implementation_differences`'s table, in order
COMPARISON_COLUMNS: tuple[str, ...] = (
    "algorithm", "task", "stage", "family", "measure",
    "mean_zoo", "mean_sb3", "n_seeds_zoo", "n_seeds_sb3",
    "difference", "ci_low", "ci_high", "level", "p_value", "p_adjusted", "p_display",
    "correction", "n_boot", "differs", "note",
)


def _leaves(geo: pd.DataFrame, stage: str) -> pd.DataFrame:
    """One row per seed of one implementation: the stage's mean A and its se (H1's rule)."""
    from neuroalign.study.hypotheses import _family_leaves

    family = str(geo["family"].iloc[0])
    return _family_leaves(geo, family, stage)


def _replicates(leaves: pd.DataFrame, n_boot: int,
                rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """The mean over seeds and its hierarchical bootstrap replicates: seeds drawn with
    replacement, each drawn seed redrawn from its own standard error (as H1 pools)."""
    from neuroalign.study.hypotheses import _pooled

    return _pooled(leaves["estimate"].to_numpy(dtype=float)[None],
                   leaves["se"].to_numpy(dtype=float)[None], [],
                   [leaves["seed"].astype(str).tolist()], n_boot, rng)


def _no_spread(reps: np.ndarray) -> bool:
    r = reps[np.isfinite(reps)]
    return r.size < 2 or bool(np.ptp(r) == 0)


def _check_rows(results: pd.DataFrame, measure: str) -> pd.DataFrame:
    need = ["implementation", "task", "seed", "layer", "family", "estimate", "measure"]
    missing = [c for c in need if c not in results.columns]
    if missing:
        raise ValidationError(f"results: missing columns {missing}; expected model-side rows "
                              "of the results schema with an 'implementation' column")
    from neuroalign.core.results import results_table, side_statistics

    table = results_table(results)
    rows = side_statistics(table, "model", measure)
    if rows.empty:
        raise ValidationError(f"results: no model-side rows of measure {measure!r}; expected "
                              "the geometry rows of agents (side 'model')")
    bad = sorted(set(rows["implementation"].astype(str)) - set(IMPLEMENTATIONS))
    if bad:
        raise ValidationError(f"results.implementation: got {bad}; expected values from "
                              f"{list(IMPLEMENTATIONS)}")
    return rows


def implementation_differences(results: pd.DataFrame, *, measure: str = "A",
                               by: Literal["stage", "layer"] = "stage", n_boot: int = 4000,
                               level: float = 0.95, correction: str = "holm",
                               alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """SB3 - zoo per algorithm x task x layer stage, with interval, p and correction.

    Parameters
    ----------
    results
        Model-side rows of ``measure`` (the results schema) with an
        ``implementation`` column (``zoo`` / ``sb3``) and an ``algorithm`` column (or
        the ``agent`` column read as the algorithm). Other rows are ignored.
    measure
        The side statistic compared (``A`` by default).
    by
        ``"stage"`` (trunk layers by name, the readouts together) or ``"layer"``.
    n_boot
        Bootstrap replicates per implementation; the p-values resolve ``2 / (n_boot + 1)``.
    level
        Level of the intervals.
    correction
        ``"holm"`` or ``"bh"``, over every difference of the table.
    alpha
        Level of ``differs``.
    seed
        Seed of the resampling (each row draws from its own stream, so a row does not
        depend on which others are in the table).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`, one row per algorithm x task x stage.

    Raises
    ------
    ValidationError
        Missing columns, no rows of ``measure``, an unknown implementation, a bad
        ``by``, ``n_boot``, ``level`` or ``correction``.
    """
    from neuroalign.pipeline.sides import derive_seed
    from neuroalign.study.hierarchy import bootstrap_p, cell_se
    from neuroalign.study.hypotheses import layer_stage
    from neuroalign.study.verdict import CORRECTIONS, adjust_p, format_p, verdict

    check_choice(by, "by", ["stage", "layer"])
    check_choice(correction, "correction", list(CORRECTIONS))
    n_boot = check_positive_int(n_boot, "n_boot", minimum=99)
    level = check_level(level)
    alpha = check_level(alpha, "alpha")
    rows = _check_rows(results, measure).copy()
    algo = rows["algorithm"] if "algorithm" in rows.columns else rows["agent"]
    rows["algorithm"] = algo.astype(str)
    rows["stage"] = [layer_stage(x) if by == "stage" else str(x) for x in rows["layer"]]
    rows["se"] = cell_se(rows)
    rows["agent"] = rows["implementation"].astype(str)  # leaves: seeds of one implementation
    out = []
    keys = rows[["algorithm", "task", "stage"]].drop_duplicates().sort_values(
        ["algorithm", "task", "stage"])
    for algorithm, task, stage in keys.itertuples(index=False):
        sub = rows[(rows["algorithm"] == algorithm) & (rows["task"] == task)
                   & (rows["stage"] == stage)]
        rec: dict[str, object] = {"algorithm": algorithm, "task": task, "stage": stage,
                                  "family": str(sub["family"].iloc[0]), "measure": measure,
                                  "level": level, "n_boot": n_boot, "correction": correction}
        notes: list[str] = []
        reps: dict[str, np.ndarray] = {}
        for impl in IMPLEMENTATIONS:
            part = sub[sub["implementation"] == impl]
            leaves = _leaves(part, stage) if not part.empty else part
            rec[f"n_seeds_{impl}"] = len(leaves)
            undefined = int((~np.isfinite(part["estimate"].astype(float))).sum())
            if undefined:
                notes.append(f"{impl}: {undefined} row(s) with {measure} undefined left out")
            if leaves.empty:
                rec[f"mean_{impl}"] = math.nan
                notes.append(f"no {impl} agent with a defined {measure}")
                continue
            rng = np.random.default_rng(derive_seed(seed, f"{algorithm}/{task}/{stage}/{impl}"))
            rec[f"mean_{impl}"], reps[impl] = _replicates(leaves, n_boot, rng)
        rec.update(difference=math.nan, ci_low=math.nan, ci_high=math.nan, p_value=math.nan)
        if len(reps) == 2:
            diff = reps["sb3"] - reps["zoo"]
            rec["difference"] = float(rec["mean_sb3"]) - float(rec["mean_zoo"])  # type: ignore[arg-type]
            if _no_spread(diff):
                notes.append("no interval and no test: the replicates cannot vary (one seed "
                             "per implementation and cells without intervals)")
            else:
                tail = (1.0 - level) / 2.0
                low, high = np.nanquantile(diff, [tail, 1.0 - tail])
                rec.update(ci_low=float(low), ci_high=float(high),
                           p_value=bootstrap_p(diff, 0))
            if min(int(rec["n_seeds_zoo"]), int(rec["n_seeds_sb3"])) < 3:  # type: ignore[call-overload]
                notes.append("fewer than 3 seeds in an implementation: the interval covers "
                             "these seeds only")
        rec["note"] = "; ".join(notes) or None
        out.append(rec)
    table = pd.DataFrame(out, columns=[c for c in COMPARISON_COLUMNS
                                       if c not in ("p_adjusted", "p_display", "differs")])
    table["p_adjusted"] = adjust_p(table["p_value"].to_numpy(dtype=float), correction)
    table["p_display"] = [format_p(p, n_boot) for p in table["p_value"]]
    # the verdict rule with either sign predicted: decided (supported or contradicted)
    # when the adjusted p is below alpha and the interval lies on one side of 0
    table["differs"] = [verdict(1, p, lo, hi, alpha) != "inconclusive"
                        for p, lo, hi in zip(table["p_adjusted"], table["ci_low"],
                                             table["ci_high"], strict=True)]
    for col in ("n_seeds_zoo", "n_seeds_sb3"):
        table[col] = table[col].astype("Int64")
    return table[list(COMPARISON_COLUMNS)]
