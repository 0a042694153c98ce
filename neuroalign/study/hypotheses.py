"""The study's tests: H1 (agents), H2 (regions), H3 (mirroring) and the best match.

Each function reads the per-cell results table (one row per agent x seed x
layer x session x region x measure, as ``neuroalign run`` and ``neuroalign
batch`` write it) and returns :class:`HypothesisTest` objects: a pooled estimate, its
hierarchical bootstrap replicates, the predicted sign and the replication
counts. Correction and verdicts are applied over all tests together by
:func:`neuroalign.study.run.run_study`.

Leaves and levels
-----------------
- brain: leaf = one session's region; levels animal > session (> trials,
  through each cell's own interval);
- agents: leaf = one trained seed of one algorithm; levels algorithm > seed
  (> probe repetitions, through each cell's own interval). Layers of one
  stage are averaged within a seed, not resampled.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.core.results import side_statistics
from neuroalign.study.hierarchy import (
    cell_se,
    hierarchical_weights,
    pooled_replicates,
    redraw_deviation,
)

__all__ = [
    "HypothesisTest",
    "best_match_tests",
    "h1_tests",
    "h2_tests",
    "h3_tests",
    "layer_stage",
    "region_geometry",
]

FAMILIES = ("value", "policy")


@dataclass(frozen=True)
class HypothesisTest:
    """One test of the study before correction (a frozen record).

    ``replicates`` is a read-only copy; ``notes`` a tuple; ``counts`` and
    ``extra`` read-only mappings. A changed test is a new record
    (:meth:`predicting`).
    """

    hypothesis: str
    subject: str
    statement: str
    level: str
    estimate: float
    replicates: np.ndarray
    predicted: int
    counts: Mapping[str, int] = field(default_factory=dict)
    measure: str = ""
    stage: str = ""
    region: str = ""
    notes: Sequence[str] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        reps = np.array(self.replicates, dtype=float)
        reps.setflags(write=False)
        object.__setattr__(self, "replicates", reps)
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "counts", MappingProxyType(dict(self.counts)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def predicting(self, sign: int, statement: str | None = None,
                   note: str | None = None) -> HypothesisTest:
        """A copy of this test with the predicted ``sign`` (and a new statement or note)."""
        return replace(self, predicted=int(sign),
                       statement=self.statement if statement is None else statement,
                       notes=(*self.notes, note) if note else self.notes,
                       counts=dict(self.counts), extra=dict(self.extra))


def layer_stage(layer: str) -> str:
    """Stage of a layer: hidden layers by name, the ``readout.*`` layers together as
    ``"readout"`` (heads differ per family), and any other layer (a foreign agent's
    module named directly) a stage of its own.

    The shared trunk's layers (``trunk.0``, ``trunk.1``: one architecture for every
    agent) pool value- and policy-learners layer by layer. The separate layout's
    actor and critic layers (``actor.0`` ... ``critic.1``) are each a stage of their
    own, apart from the shared trunk's layer of the same depth: the actor network
    never learns values and the critic never learns a policy, so pooling either with
    a trunk that learns both would mix two different things. Only policy-learners
    have them, so their stages test the policy family alone. ``readout.pi`` and
    ``readout.v`` pool with the other readouts whatever the layout.
    """
    name = str(layer)
    if name.startswith("readout"):
        return "readout"
    return name


def _animals(frame: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """The animal of each row (a session without one counts as its own animal)."""
    notes = []
    if "animal" in frame.columns:
        animal = frame["animal"].astype(object)
        missing = animal.isna() | (animal.astype(str).isin(["", "None", "nan"]))
    else:
        animal = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        missing = pd.Series(True, index=frame.index)
    if missing.any():
        notes.append("animal unknown for some sessions: each such session counts as its "
                     "own animal")
        animal = animal.where(~missing, "session:" + frame["session"].astype(str))
    return animal.astype(str), notes


def _brain_leaves(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per (session, region) with its animal."""
    leaves = frame[["session", "region"]].drop_duplicates().copy()
    animals, notes = _animals(frame.loc[leaves.index])
    leaves["animal"] = animals.to_numpy()
    return leaves.reset_index(drop=True), notes


def _brain_counts(leaves: pd.DataFrame) -> tuple[dict[str, int], list[str]]:
    n_animals = int(leaves["animal"].nunique())
    counts = {"n_animals": n_animals, "n_sessions": int(leaves["session"].nunique())}
    notes = []
    if n_animals == 1:
        notes.append("one animal: the interval covers this animal's sessions only and does "
                     "not generalise to other animals")
    return counts, notes


def _model_counts(leaves: pd.DataFrame) -> dict[str, int]:
    return {"n_algorithms": int(leaves["agent"].nunique()),
            "n_seeds": len(leaves)}


def _pooled(values: np.ndarray, se: np.ndarray, row_levels: list, col_levels: list,
            n_boot: int, rng: np.random.Generator,
            trial_level: bool = True) -> tuple[float, np.ndarray]:
    """Point estimate (every leaf once) and hierarchical replicates of a leaf table."""
    n_r, n_c = values.shape
    est = pooled_replicates(values, se, np.ones((1, n_r)), np.ones((1, n_c)), None)[0]
    w_r = hierarchical_weights(row_levels, n_boot, rng) if row_levels else np.ones((n_boot, 1))
    w_c = hierarchical_weights(col_levels, n_boot, rng) if col_levels else np.ones((n_boot, 1))
    reps = pooled_replicates(values, se, w_r, w_c, rng if trial_level else None)
    return float(est), reps


# --- H1: agents --------------------------------------------------------------------------


def _model_geometry(results: pd.DataFrame) -> pd.DataFrame:
    """A of every (agent, family, seed, layer), once, with its stage and standard error."""
    sub = side_statistics(results, "model", "A").copy()
    sub["stage"] = [layer_stage(x) for x in sub["layer"]]
    sub["se"] = cell_se(sub)
    return sub


def _family_leaves(geo: pd.DataFrame, family: str, stage: str) -> pd.DataFrame:
    """Per (agent, seed) of ``family``: the mean A over the stage's layers and its se."""
    sub = geo[(geo["family"] == family) & (geo["stage"] == stage)
              & np.isfinite(geo["estimate"].astype(float))]
    if sub.empty:
        return sub
    grouped = sub.groupby(["agent", "seed"], sort=True)
    out = grouped["estimate"].mean().to_frame()
    # mean of k layers: se of the mean, layers taken as independent (conservative
    # within a seed would need their correlation, which the table does not hold)
    out["se"] = grouped["se"].apply(lambda s: float(np.sqrt((s**2).sum()) / len(s)))
    return out.reset_index()


def _undefined_note(geo: pd.DataFrame, family: str, stage: str) -> list[str]:
    """A note naming the agents of ``family`` whose A is undefined (NaN) at ``stage``."""
    sub = geo[(geo["family"] == family) & (geo["stage"] == stage)
              & ~np.isfinite(geo["estimate"].astype(float))]
    if sub.empty:
        return []
    names = sorted(set(sub["agent"].astype(str)))
    return [f"A undefined (NaN, see the rows' notes) and left out for {len(sub)} trained "
            f"agent(s) of {', '.join(names)}"]


def h1_tests(results: pd.DataFrame, *, n_boot: int, level: float,
             rng: np.random.Generator) -> list[HypothesisTest]:
    """H1: value-learners have A > 0, policy-learners A < 0, and the contrast is > 0.

    Per stage (:func:`layer_stage`): each trunk layer (``trunk.0``, ``trunk.1``: one
    architecture for every agent), each layer of the separate layout's actor and critic
    networks (``actor.0`` ... ``critic.1``, policy-learners only) and the readouts of
    each family together.
    """
    geo = _model_geometry(results)
    tests: list[HypothesisTest] = []
    for stage in sorted(set(geo["stage"])):
        leaves = {f: _family_leaves(geo, f, stage) for f in FAMILIES}
        reps: dict[str, np.ndarray] = {}
        ests: dict[str, float] = {}
        for family, sign in (("value", 1), ("policy", -1)):
            lv = leaves[family]
            if lv.empty:
                continue
            est, rep = _pooled(lv["estimate"].to_numpy()[None], lv["se"].to_numpy()[None],
                               [], [lv["agent"].tolist(), lv["seed"].astype(str).tolist()],
                               n_boot, rng)
            reps[family], ests[family] = rep, est
            notes = ([f"one {family}-learning algorithm ({lv['agent'].iloc[0]}): the "
                      "interval covers its seeds only, not the family"]
                     if lv["agent"].nunique() == 1 else [])
            notes += _undefined_note(geo, family, stage)
            tests.append(HypothesisTest(
                hypothesis="H1", subject=f"{family}-learners, {stage}",
                statement=f"A({family}-learners) {'>' if sign > 0 else '<'} 0",
                level="algorithm > seed > repetition", estimate=est, replicates=rep,
                predicted=sign, counts=_model_counts(lv), measure="A", stage=stage,
                notes=notes))
        if len(reps) == 2:
            both = pd.concat([leaves["value"], leaves["policy"]])
            tests.append(HypothesisTest(
                hypothesis="H1", subject=f"value - policy, {stage}",
                statement="A(value-learners) - A(policy-learners) > 0",
                level="algorithm > seed > repetition",
                estimate=ests["value"] - ests["policy"],
                replicates=reps["value"] - reps["policy"], predicted=1,
                counts=_model_counts(both), measure="A", stage=stage))
    return tests


# --- H2: regions -------------------------------------------------------------------------


def region_geometry(results: pd.DataFrame) -> pd.DataFrame:
    """A of every (session, region): one row per side (the same whichever agent it met)."""
    sub = side_statistics(results, "brain", "A").copy()
    sub["se"] = cell_se(sub)
    return sub


def h2_tests(results: pd.DataFrame, *, n_boot: int, level: float,
             rng: np.random.Generator) -> list[HypothesisTest]:
    """H2: each region's pooled A, tested against 0 (predicted > 0: walls around danger,
    the signature the claim gives value-learners)."""
    geo = region_geometry(results)
    tests = []
    for region, sub in geo.groupby("region", sort=True):
        sub = sub[np.isfinite(sub["estimate"].astype(float))]
        if sub.empty:
            continue
        leaves, notes = _brain_leaves(sub)
        counts, more = _brain_counts(leaves)
        merged = leaves.merge(sub[["session", "region", "estimate", "se"]],
                              on=["session", "region"])
        est, rep = _pooled(merged["estimate"].to_numpy()[:, None],
                           merged["se"].to_numpy()[:, None],
                           [merged["animal"].tolist(), merged["session"].tolist()], [],
                           n_boot, rng)
        tests.append(HypothesisTest(
            hypothesis="H2", subject=str(region),
            statement=f"A({region}) > 0 (walls around danger, funnels around reward)",
            level="animal > session > trial", estimate=est, replicates=rep, predicted=1,
            counts=counts, measure="A", region=str(region), notes=notes + more))
    return tests


# --- H3 and the best match: similarity tables ----------------------------------------------


def _similarity_table(results: pd.DataFrame, measure: str, region: str,
                      column_keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(values, se) tables brain leaf (session) x model leaf (``column_keys``), and the
    brain leaves. Several rows of one cell (e.g. the layers of a stage) are averaged;
    their standard errors combine as those of a mean of independent values."""
    sub = results[(results["measure"] == measure) & (results["region"] == region)].copy()
    sub["var"] = cell_se(sub) ** 2
    leaves, _ = _brain_leaves(sub)
    grouped = sub.groupby(["session", *column_keys], sort=True, dropna=False).agg(
        estimate=("estimate", "mean"), var=("var", "sum"), n=("estimate", "size"))
    grouped["se"] = np.sqrt(grouped["var"]) / grouped["n"]
    values = grouped["estimate"].unstack(column_keys)
    se = grouped["se"].unstack(column_keys).reindex(columns=values.columns)
    order = leaves["session"].tolist()
    return values.reindex(order), se.reindex(order), leaves


def mirroring_tables(results: pd.DataFrame, measures: tuple[str, ...] = ("rsa", "cka")
                     ) -> Iterator[tuple[str, str, str, pd.DataFrame,
                                         tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]]:
    """The subjects of H3, one at a time: ``(measure, region, stage, rows, table)``.

    ``rows`` are the results rows of one region, measure and layer stage; ``table`` is
    :func:`_similarity_table`'s ``(values, se, leaves)`` of them (sessions x agent
    seeds); stages without both families
    are skipped. :func:`h3_tests` and the plan (:mod:`neuroalign.study.plan`) read H3's
    subjects through this one iteration.
    """
    present = [m for m in measures if m in set(results["measure"])]
    for measure in present:
        for region in sorted(results.loc[results["measure"] == measure, "region"].unique()):
            sub = results[(results["measure"] == measure) & (results["region"] == region)]
            sub = sub.assign(stage=[layer_stage(x) for x in sub["layer"]])
            for stage in sorted(set(sub["stage"])):
                part = sub[sub["stage"] == stage]
                if not set(FAMILIES) <= set(part["family"]):
                    continue
                yield measure, region, stage, part, _similarity_table(
                    part, measure, region, ["family", "agent", "seed"])


def h3_tests(results: pd.DataFrame, *, n_boot: int, level: float,
             rng: np.random.Generator, measures: tuple[str, ...] = ("rsa", "cka")
             ) -> list[HypothesisTest]:
    """H3: per region, measure and stage, similarity to value-learners minus similarity to
    policy-learners, pooled over sessions (animal > session) and seeds (algorithm > seed).

    The predicted sign comes from the region's own geometry (H2): a region with
    walls around danger (A > 0) should resemble value-learners more; a region
    whose A is not distinguishable from 0 makes no prediction (inconclusive).
    The tests are made without a prediction; :func:`neuroalign.study.run.predict_h3`
    gives each one its region's corrected H2 verdict.
    """
    tests = []
    for measure, region, stage, part, (values, se, leaves) in mirroring_tables(results,
                                                                                 measures):
        counts, notes = _brain_counts(leaves)
        cols = list(values.columns)
        rows_levels = [leaves["animal"].tolist(), leaves["session"].tolist()]
        reps, ests = {}, {}
        for family in FAMILIES:
            idx = [i for i, c in enumerate(cols) if c[0] == family]
            v, s = values.to_numpy()[:, idx], se.to_numpy()[:, idx]
            if not np.isfinite(v).any():
                break
            ests[family], reps[family] = _pooled(
                v, s, rows_levels, [[cols[i][1] for i in idx],
                                    [str(cols[i][2]) for i in idx]], n_boot, rng)
        if len(reps) < 2:
            continue
        model_leaves = pd.DataFrame([{"agent": c[1], "seed": c[2]} for c in cols])
        counts.update(_model_counts(model_leaves))
        tests.append(HypothesisTest(
            hypothesis="H3", subject=f"{region}, {measure.upper()}, {stage}",
            statement=f"{measure.upper()}({region}, value-learners) - "
                      f"{measure.upper()}({region}, policy-learners)",
            level="animal > session > trial x algorithm > seed > repetition",
            estimate=ests["value"] - ests["policy"],
            replicates=reps["value"] - reps["policy"], predicted=0, counts=counts,
            measure=measure, stage=stage, region=str(region), notes=notes,
            extra={"value": ests["value"], "policy": ests["policy"],
                   "ceiling": _ceiling(part)}))
    return tests


def _ceiling(part: pd.DataFrame) -> float:
    """Mean upper noise ceiling over a region's sessions (NaN when there is none)."""
    per_session = part.drop_duplicates("session")["ceiling_high"].astype(float)
    per_session = per_session[np.isfinite(per_session)]
    return float(per_session.mean()) if len(per_session) else float("nan")


def best_match_tests(results: pd.DataFrame, *, n_boot: int, level: float,
                     rng: np.random.Generator, measure: str = "rsa") -> list[HypothesisTest]:
    """Per region: best agent layer minus runner-up, by a paired hierarchical bootstrap.

    Every agent layer is pooled over sessions (animal > session) and seeds
    (seed within its algorithm) with the *same* resample indices, so the
    difference of two layers is paired. The layers whose difference from the
    best has an interval that includes 0 are listed as indistinguishable.
    """
    if measure not in set(results["measure"]):
        return []
    tests = []
    for region in sorted(results.loc[results["measure"] == measure, "region"].unique()):
        part = results[(results["measure"] == measure) & (results["region"] == region)]
        values, se, leaves = _similarity_table(part, measure, region,
                                               ["agent", "layer", "seed"])
        cols = list(values.columns)
        layers = sorted({(c[0], c[1]) for c in cols})
        if len(layers) < 2:
            continue
        counts, notes = _brain_counts(leaves)
        w_rows = hierarchical_weights([leaves["animal"].tolist(), leaves["session"].tolist()],
                                      n_boot, rng)
        w_cols = hierarchical_weights([[c[0] for c in cols], [str(c[2]) for c in cols]],
                                      n_boot, rng, fixed_top=True)
        v, s = values.to_numpy(), se.to_numpy()
        est, reps = {}, {}
        for key in layers:
            mask = np.asarray([(c[0], c[1]) == key for c in cols], dtype=float)
            vv = np.where(mask[None, :] > 0, v, np.nan)
            est[key] = pooled_replicates(vv, s, np.ones((1, v.shape[0])),
                                         np.ones((1, v.shape[1])), None)[0]
            # paired: the same weights for every layer (trial-level draws added below)
            reps[key] = pooled_replicates(vv, s, w_rows, w_cols, None)
        # trial-level noise drawn once and shared, so the pairing holds at every level
        noise = redraw_deviation(v, s, rng.standard_normal((n_boot, *v.shape)))
        for key in layers:
            mask = np.asarray([(c[0], c[1]) == key for c in cols], dtype=bool)
            fin = np.isfinite(v) & mask[None, :]
            den = np.einsum("bi,ij,bj->b", w_rows, fin.astype(float), w_cols)
            num = np.einsum("bi,bij,bj->b", w_rows, np.where(fin, noise, 0.0), w_cols)
            with np.errstate(invalid="ignore", divide="ignore"):
                reps[key] = reps[key] + np.where(den > 0, num / den, 0.0)
        ranked = sorted((k for k in layers if np.isfinite(est[k])), key=lambda k: -est[k])
        if len(ranked) < 2:
            continue
        best, runner = ranked[0], ranked[1]
        diff = reps[best] - reps[runner]
        tail = (1.0 - level) / 2.0
        same = []
        for k in ranked[1:]:
            d = reps[best] - reps[k]
            d = d[np.isfinite(d)]
            if d.size and np.quantile(d, tail) <= 0:
                same.append(f"{k[0]}/{k[1]}")
        model_leaves = pd.DataFrame([{"agent": a, "seed": sd}
                                     for a, sd in sorted({(c[0], c[2]) for c in cols})])
        counts.update(_model_counts(model_leaves))
        tests.append(HypothesisTest(
            hypothesis="best match", subject=f"{region}: {best[0]}/{best[1]} vs "
                                             f"{runner[0]}/{runner[1]}",
            statement=f"{measure.upper()}({region}) of the best agent layer exceeds the "
                      "runner-up's",
            level="animal > session > trial x seed > repetition (paired)",
            estimate=float(est[best] - est[runner]), replicates=diff, predicted=1,
            counts=counts, measure=measure, region=str(region), notes=notes,
            extra={"best": f"{best[0]}/{best[1]}", "best_estimate": float(est[best]),
                   "indistinguishable": same, "ceiling": _ceiling(part)}))
    return tests
