"""Summaries of a results table (one row per agent x layer x session x region x measure).

Aggregates average the per-cell estimates (and interval bounds) over sessions
and seeds; they are summaries for reading, not pooled inferences. The full,
per-cell numbers stay in ``results.parquet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pandas as pd

from neuroalign.core.results import results_table, side_statistics

if TYPE_CHECKING:
    from neuroalign.study.run import Study

__all__ = [
    "SimilarityMatrix",
    "asymmetry_table",
    "best_matches",
    "family_table",
    "model_label",
    "similarity_matrix",
    "summary_table",
]

_VALUE_COLS = ["estimate", "ci_low", "ci_high", "p_value", "ceiling_low", "ceiling_high"]


def model_label(agent: str, layer: str) -> str:
    """Row label of one agent layer, e.g. ``"dqn / trunk.1"``."""
    return f"{agent} / {layer}"


def _measure(results: pd.DataFrame, measure: str) -> pd.DataFrame:
    sub = results[results["measure"] == measure]
    if sub.empty:
        known = sorted(results["measure"].unique().tolist())
        raise KeyError(f"measure {measure!r} not in the results; measures: {known}")
    return sub


class SimilarityMatrix(TypedDict):
    """What :func:`similarity_matrix` returns (the inputs of
    :func:`~neuroalign.report.plot_similarity_matrix`).

    Attributes
    ----------
    estimate, ci_low, ci_high
        Mean estimate and interval bounds, index model label, columns region.
    ceiling_low, ceiling_high
        The noise ceiling's bounds per region.
    families
        Model label -> family.
    """

    estimate: pd.DataFrame
    ci_low: pd.DataFrame
    ci_high: pd.DataFrame
    ceiling_low: pd.Series
    ceiling_high: pd.Series
    families: dict[str, str]


def similarity_matrix(results: pd.DataFrame, measure: str) -> SimilarityMatrix:
    """Agent/layer x region matrices of one comparison measure, averaged over sessions and seeds.

    Returns
    -------
    SimilarityMatrix
        A dict: ``estimate``, ``ci_low``, ``ci_high`` (DataFrames, index model label,
        columns region), ``ceiling_low`` and ``ceiling_high`` (Series per region),
        ``families`` (model label -> family).
    """
    sub = _measure(results, measure).copy()
    sub["model"] = [model_label(a, la) for a, la in zip(sub["agent"], sub["layer"], strict=True)]
    order = list(dict.fromkeys(sub.sort_values(["family", "agent"], kind="stable")["model"]))
    mats = {col: sub.pivot_table(index="model", columns="region", values=col,
                                 aggfunc="mean", dropna=False).reindex(order)
            for col in ("estimate", "ci_low", "ci_high")}
    ceil = sub.groupby("region")[["ceiling_low", "ceiling_high"]].mean()
    return SimilarityMatrix(
        estimate=mats["estimate"], ci_low=mats["ci_low"], ci_high=mats["ci_high"],
        ceiling_low=ceil["ceiling_low"], ceiling_high=ceil["ceiling_high"],
        families=dict(zip(sub["model"], sub["family"].astype(str), strict=True)),
    )


def best_matches(results: pd.DataFrame, measure: str = "rsa") -> pd.DataFrame:
    """Per (session, region): the agent/layer/seed with the highest estimate of ``measure``.

    For a distance measure (``higher_is_similar`` false, e.g. ``"shape"``) the
    lowest estimate wins.
    """
    sub = _measure(results, measure)
    higher = sub["higher_is_similar"].iloc[0]
    key = sub["estimate"] if higher is not False else -sub["estimate"]
    idx = key.groupby([sub["session"], sub["region"]]).idxmax().dropna()
    return sub.loc[idx.to_numpy()].reset_index(drop=True)


def asymmetry_table(results: pd.DataFrame, quantity: str = "A") -> pd.DataFrame:
    """One row per brain (session, region) and per model (agent, seed, layer): ``quantity``.

    Columns ``name``, ``group`` (``"brain"`` or the agent's family), ``estimate``,
    ``ci_low``, ``ci_high``, ``p_value``, ``p`` (the p-value as text at the resolution
    of its ``n_perm`` permutations, uncorrected), ``n``, ``note``.
    """
    from neuroalign.study.verdict import format_p

    results = results_table(results)
    rows = []
    cols = ("estimate", "ci_low", "ci_high", "p_value", "n")
    brain = side_statistics(results, "brain", quantity).sort_values(["region", "session"])
    for row in brain.to_dict("records"):
        rows.append({"name": f"{row['region']} ({row['session']})", "group": "brain",
                     **{c: row[c] for c in cols}, "note": row.get("note")})
    model = side_statistics(results, "model", quantity).sort_values(
        ["family", "agent", "seed", "layer"])
    for row in model.to_dict("records"):
        rows.append({"name": f"{row['agent']} / {row['layer']} (seed {row['seed']})",
                     "group": str(row["family"]), **{c: row[c] for c in cols},
                     "note": row.get("note")})
    table = pd.DataFrame(rows, columns=["name", "group", "estimate", "ci_low", "ci_high",
                                        "p_value", "n", "note"])
    n_perm = int(results["n_perm"].max()) if "n_perm" in results and len(results) else 0
    table.insert(6, "p", [format_p(p, n_perm) if np.isfinite(p) else "" for p in
                          table["p_value"].astype(float)])
    return table


def family_table(results: pd.DataFrame, measure: str = "rsa") -> pd.DataFrame:
    """Region x agent family: mean ``measure`` over agents, layers, sessions and seeds.

    The coarse answer to "which family of learners looks like which region";
    the per-layer matrix (:func:`similarity_matrix`) shows where it comes from.
    """
    sub = _measure(results, measure)
    table = sub.pivot_table(index="region", columns="family", values="estimate",
                            aggfunc="mean")
    table.columns = [f"{measure} {c}" for c in table.columns]
    return table.reset_index()


def _pooled_a(study: Study | None, region: str) -> Any:
    """The study's H2 row of ``region`` (``None`` without a study or such a row)."""
    if study is None:
        return None
    table = study.table
    rows = table[(table["hypothesis"] == "H2") & (table["subject"] == region)]
    return next(rows.itertuples(), None)


def _fmt(est: float, low: float, high: float) -> str:
    if not np.isfinite(est):
        return "–"
    if np.isfinite(low) and np.isfinite(high):
        return f"{est:.2f} [{low:.2f}, {high:.2f}]"
    return f"{est:.2f}"


def summary_table(results: pd.DataFrame, study: Study | None = None) -> pd.DataFrame:
    """Per region: best-matching agent/layer (mean RSA, else CKA, over sessions and seeds).

    Columns: ``region``, ``best match``, ``family``, ``task`` (the task the
    match learned, when the results have it), the similarity with its
    mean interval, the noise ceiling, the other similarity (CKA) of that match,
    the region's valence asymmetry ``A`` (mean over sessions) and that of the
    best match (mean over seeds). With a ``study``
    (:class:`~neuroalign.study.Study`), ``A region`` is the study's pooled
    estimate with its hierarchical interval, and ``H2`` its verdict.
    """
    results = results_table(results)
    measures = set(results["measure"])
    main = next((m for m in ("rsa", "cka", "shape") if m in measures), None)
    rows = []
    regions = sorted(results["region"].dropna().unique().tolist())
    for region in regions:
        reg = results[results["region"] == region]
        row: dict[str, object] = {"region": region}
        if main is not None:
            sub = reg[reg["measure"] == main]
            has_task = bool(sub["task"].notna().any())
            keys = ["agent", "family", "task", "layer"] if has_task else \
                ["agent", "family", "layer"]
            g = sub.groupby(keys, dropna=False)[_VALUE_COLS].mean()
            higher = sub["higher_is_similar"].iloc[0] is not False
            found = g["estimate"].idxmax() if higher else g["estimate"].idxmin()
            best = (found[0], found[1], found[-1])  # agent, family, layer
            b = g.loc[found]
            row["best match"] = model_label(best[0], best[2])
            row["family"] = best[1]
            if has_task:
                row["task"] = found[2]
            row[main] = _fmt(b["estimate"], b["ci_low"], b["ci_high"])
            lo, hi = b["ceiling_low"], b["ceiling_high"]
            row["ceiling"] = f"{lo:.2f}–{hi:.2f}" if np.isfinite(lo) and np.isfinite(hi) \
                else "–"
            other = "cka" if main != "cka" and "cka" in measures else None
            if other:
                o = reg[(reg["measure"] == other) & (reg["agent"] == best[0])
                        & (reg["layer"] == best[2])][["estimate", "ci_low", "ci_high"]].mean()
                row[other] = _fmt(o["estimate"], o["ci_low"], o["ci_high"])
        a = side_statistics(reg, "brain", "A")
        pooled = _pooled_a(study, region)
        if pooled is not None:
            row["A region"] = _fmt(pooled.estimate, pooled.ci_low, pooled.ci_high)
            row["H2"] = pooled.verdict
        elif len(a):
            m = a[["estimate", "ci_low", "ci_high"]].mean()
            row["A region"] = _fmt(m["estimate"], m["ci_low"], m["ci_high"])
        if main is not None:
            am = side_statistics(results, "model", "A")
            am = am[(am["agent"] == best[0]) & (am["layer"] == best[2])]
            if has_task:
                am = am[am["task"].astype(str) == str(found[2])]
            if len(am):
                m = am[["estimate", "ci_low", "ci_high"]].mean()
                row["A match"] = _fmt(m["estimate"], m["ci_low"], m["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)
