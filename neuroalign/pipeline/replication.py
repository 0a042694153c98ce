"""The replication of the claim's agents' side: ``neuroalign replicate CONFIG``.

Four steps, each with the project's own code:

1. the sweep (:mod:`neuroalign.zoo.sweep`) plans every agent x task x seed of the
   configuration and trains the checkpoints that are missing;
2. each checkpoint is probed on its task and each layer's valence geometry computed
   (:func:`~neuroalign.pipeline.sides.prepare_side`), in forked worker processes
   (:func:`~neuroalign.core.workers.forked_map`); the rows are the results schema's
   side rows (:func:`~neuroalign.core.results.side_row`);
3. H1 (:func:`~neuroalign.study.hypotheses.h1_tests`) for each task x architecture
   (trunk x layout) and pooled over all of them, every test corrected together
   (:func:`~neuroalign.study.run.score_tests`: intervals, p, correction, verdict, mde);
4. the outputs, written atomically: ``replication.csv``, ``results.parquet``,
   ``replication.png``, ``timing.json`` and the Markdown page ``replication.md``
   (:mod:`neuroalign.pipeline.replication_page`).

In the pooled tests the top level is the learning algorithm and the leaf one trained
network (a task x trunk x layout x seed), so a family is never counted twice for
the same network.
"""

from __future__ import annotations

import heapq
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from neuroalign.core.errors import ConfigError, ValidationError
from neuroalign.pipeline.replication_config import ReplicationConfig

if TYPE_CHECKING:  # the zoo (torch) is imported on use
    from neuroalign.core.config import AgentSpec, MeasureOptions
    from neuroalign.zoo.sweep import SweepPlan

__all__ = [
    "POOLED",
    "REPLICATION_COLUMNS",
    "Checkpoint",
    "ReplicationResult",
    "agent_geometry_rows",
    "lpt_makespan",
    "probe_checkpoint",
    "replication_table",
    "run_replication",
    "train_missing",
]

#: the task, trunk, layout and architecture of the pooled rows
POOLED = "all"

#: power of the minimum detectable effect (``mde``) of every test
POWER = 0.8

#: workers of the projected wall time
PROJECTED_WORKERS = 64

#: columns of replication.csv, in order
REPLICATION_COLUMNS: tuple[str, ...] = (
    "task", "trunk", "layout", "architecture", "family", "stage", "estimate", "ci_low",
    "ci_high", "level", "p_value", "p_display", "p_adjusted", "mde", "verdict",
    "n_algorithms", "n_seeds", "n_below_criterion", "n_failed", "n_left_out", "n_boot",
    "note",
)


@dataclass(frozen=True)
class Checkpoint:
    """One trained network of the replication (a sweep job) and what is known of it.

    ``status`` is the sweep's (``trained``, ``existing``, ``failed``);
    ``train_s`` the measured training wall time (this sweep's for a trained job,
    else the one recorded in the checkpoint), ``criterion_met`` whether it met its
    task's success criterion (None when it failed to train).
    """

    agent: str
    algorithm: str
    family: str
    task: str
    trunk: str
    layout: str
    seed: int
    status: str = "existing"
    path: str | None = None
    train_s: float = math.nan
    criterion_met: bool | None = None
    error: str | None = None

    @property
    def architecture(self) -> str:
        """``"trunk, layout"``."""
        return f"{self.trunk}, {self.layout}"


@dataclass
class ReplicationResult:
    """What :func:`run_replication` made."""

    out: Path
    table: pd.DataFrame
    results: pd.DataFrame
    timing: dict[str, Any]
    checkpoints: list[Checkpoint] = field(default_factory=list)
    page: str = ""


# --- the sweep ---------------------------------------------------------------------------


def _plan(config: ReplicationConfig) -> SweepPlan:
    """The sweep's plan of ``config``: every agent x task x seed the zoo can train, and the
    combinations it cannot, with the reason.

    Raises
    ------
    ConfigError
        No combination of ``config`` exists in the zoo.
    """
    from neuroalign.zoo.sweep import plan_sweep

    try:
        return plan_sweep(list(config.algorithms), list(config.tasks), list(config.seeds),
                          trunks=tuple(config.trunks), layouts=tuple(config.layouts))
    except ValidationError as err:
        raise ConfigError(f"algorithms, tasks, trunks, layouts: {err}") from None


def _jobs(plan: SweepPlan) -> list[tuple[str, str, int]]:
    return [(str(j.agent), str(j.task), int(j.seed)) for j in plan.jobs]


def _found(agent: str, task: str, seed: int, out: str | None) -> str | None:
    """The checkpoint a probe of ``(agent, task, seed)`` reads (shipped first, then the
    sweep's folder), or None."""
    from neuroalign.zoo import checkpoint_path

    path = checkpoint_path(agent, task, seed, out)
    return None if path is None else str(path)


def train_missing(plan: SweepPlan, out: str | os.PathLike[str] | None, *,
                  workers: int | None = None, scheduler: str | None = None,
                  retry_failed: bool = False, progress: bool = False,
                  console: Any = None) -> list[Checkpoint]:
    """Train every checkpoint of ``plan`` that a probe cannot find, and describe them all.

    A checkpoint is found where a probe reads it (:func:`neuroalign.zoo.checkpoint_path`:
    the shipped zoo first, then ``out``), so a found one is never trained again; the
    others go to :func:`neuroalign.zoo.sweep.run_sweep` into ``out``.

    Returns
    -------
    list of Checkpoint
        One per job of ``plan``, in plan order: status ``existing``, ``trained`` or
        ``failed``, the file a probe reads, and what the file says of itself (its
        criterion; its training time, measured by this sweep or recorded in the file).
    """
    from neuroalign.zoo.sweep import run_sweep

    folder = None if out is None else str(out)
    jobs = _jobs(plan)
    found = {job: _found(*job, folder) for job in jobs}
    records = {job: {"agent": job[0], "task": job[1], "seed": job[2], "status": "existing",
                     "path": path, "wall_time_s": math.nan, "error": None}
               for job, path in found.items() if path is not None}
    todo = {job for job in jobs if found[job] is None}
    if todo:
        missing = replace(plan, jobs=[j for j in plan.jobs
                                      if (j.agent, j.task, int(j.seed)) in todo])
        summary = run_sweep(missing, folder, workers=None if scheduler else workers,
                            scheduler=scheduler, progress=progress,
                            retry_failed=retry_failed, console=console)
        for j in summary.jobs:
            job = (str(j.agent), str(j.task), int(j.seed))
            ok = j.status != "failed"
            records[job] = {"agent": job[0], "task": job[1], "seed": job[2],
                            "status": str(j.status),
                            # the file the probe reads (checkpoint_path), as for found ones
                            "path": _found(*job, folder) if ok else None,
                            "wall_time_s": float(j.wall_time_s) if j.status == "trained"
                            else math.nan, "error": j.error}
    return _checkpoints(records[job] for job in jobs)


def _checkpoints(records: Iterable[dict[str, Any]]) -> list[Checkpoint]:
    """The sweep's records with what each checkpoint says of itself (its criterion, its
    training time)."""
    from neuroalign.zoo import read_metadata
    from neuroalign.zoo.agents.table import agent_parts, get_agent_info

    out = []
    for rec in records:
        algorithm, trunk, layout = agent_parts(rec["agent"])
        family = get_agent_info(rec["agent"]).family
        crit: bool | None = None
        train_s = float(rec["wall_time_s"]) if rec["status"] == "trained" else math.nan
        if rec["status"] != "failed" and rec["path"]:
            metrics = read_metadata(rec["path"]).get("metrics", {})
            crit = bool(metrics.get("criterion_met", False))
            if not math.isfinite(train_s):
                train_s = float(metrics.get("wall_time_s", math.nan))
        out.append(Checkpoint(agent=rec["agent"], algorithm=algorithm, family=family,
                              task=rec["task"], trunk=trunk, layout=layout,
                              seed=int(rec["seed"]), status=rec["status"], path=rec["path"],
                              train_s=train_s, criterion_met=crit, error=rec.get("error")))
    return out


# --- probing -----------------------------------------------------------------------------


def agent_geometry_rows(agent: str, family: str, task: str, seed: int, *,
                        layers: Sequence[str] | None = None, keep: Sequence[str] | None = None,
                        rename: dict[str, str] | None = None, spec: AgentSpec | None = None,
                        cache_dir: str | os.PathLike[str] | None = None, n_boot: int = 200,
                        n_perm: int = 0, seed_stats: int = 0,
                        options: MeasureOptions | Mapping[str, Any] | None = None,
                        extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The valence-geometry side rows of every probed layer of one trained agent.

    The agent is probed on its own task (the contrast task by contrast side, its
    geometry measured on the valence x time grid, as ``neuroalign run`` does), each
    layer is prepared once (:func:`~neuroalign.pipeline.sides.prepare_side`) and its
    statistics become side rows (:func:`~neuroalign.pipeline.cell.side_rows`).

    Parameters
    ----------
    agent, family, task, seed
        The agent (a zoo name, or a foreign agent's with ``spec``) and its key.
    layers
        Layers the probe returns (default all); ``keep``: of those, the ones kept.
    rename
        Probed layer name -> the name in the rows.
    spec
        A foreign agent's config entry (an SB3 file).
    cache_dir
        Folder of trained checkpoints searched after the shipped zoo.
    n_boot, n_perm, seed_stats, options
        Of the geometry's inference (bootstrap, permutations, seed, measure options).
    extra
        Columns added to every row.
    """
    from neuroalign.core.results import ModelKey
    from neuroalign.pipeline.cell import side_rows
    from neuroalign.pipeline.loaders import model_patterns_by_layer, valence_time_grid
    from neuroalign.pipeline.sides import prepare_side

    grid = task == "contrast"  # probed by contrast side, geometry on valence x time
    by_layer = model_patterns_by_layer(agent, task, seed, layers,
                                       by="side" if grid else "diff", spec=spec,
                                       cache_dir=cache_dir)
    names = rename or {}
    rows: list[dict[str, Any]] = []
    for probed, da in by_layer.items():
        layer = names.get(probed, probed)
        if keep is not None and layer not in keep:
            continue
        side = prepare_side(da, "model", n_boot=n_boot, n_perm=n_perm, seed=seed_stats,
                            options=options, measures=["geometry"],
                            geometry_patterns=valence_time_grid(da) if grid else None)
        key = ModelKey(agent=agent, family=family, task=task, seed=seed, layer=layer)
        rows += side_rows(side, key, ["geometry"], extra=extra)
    return rows


def probe_checkpoint(ck: Checkpoint, config: ReplicationConfig) -> list[dict[str, Any]]:
    """The valence-geometry side rows of every probed layer of one checkpoint
    (:func:`agent_geometry_rows` with the config's layers and inference; columns of
    :data:`~neuroalign.core.results.RESULT_COLUMNS`, then ``algorithm``, ``trunk``,
    ``layout``, ``criterion_met``)."""
    return agent_geometry_rows(
        ck.agent, ck.family, ck.task, ck.seed,
        keep=None if config.layers is None else list(config.layers),
        cache_dir=config.sweep.out, n_boot=config.n_boot, n_perm=config.n_perm,
        seed_stats=config.seed, options=config.measure_options(),
        extra={"algorithm": ck.algorithm, "trunk": ck.trunk, "layout": ck.layout,
               "criterion_met": ck.criterion_met})


def _probe_all(checkpoints: Sequence[Checkpoint], config: ReplicationConfig, workers: int,
               prog: Any) -> tuple[list[dict[str, Any]], list[float]]:
    from neuroalign.core.workers import forked_map

    def one(ck: Checkpoint) -> tuple[list[dict[str, Any]], float]:
        start = time.perf_counter()
        rows = probe_checkpoint(ck, config)
        return rows, time.perf_counter() - start

    task = prog.add_task("probing checkpoints", total=len(checkpoints)) if prog else None
    rows: list[dict[str, Any]] = []
    seconds = []
    for ck, (got, wall) in zip(checkpoints, forked_map(one, list(checkpoints), workers,
                                                       here_first=1), strict=True):
        rows += got
        seconds.append(wall)
        if prog is not None:
            prog.update(task, advance=1, description=f"probing {ck.agent}/{ck.task}")
    return rows, seconds


# --- the study ---------------------------------------------------------------------------


def _family_of(subject: str) -> str:
    """``value``, ``policy`` or ``value - policy`` from an H1 test's subject."""
    head = subject.split(",")[0].strip()
    return {"value-learners": "value", "policy-learners": "policy"}.get(head, head)


def _groups(results: pd.DataFrame) -> list[tuple[str, str, str, pd.DataFrame]]:
    """``(task, trunk, layout, rows)`` per task x architecture, then the pooled rows;
    the study reads ``agent`` as the algorithm and ``seed`` as the trained network."""
    frame = results.copy()
    frame["agent"] = frame["algorithm"]
    out = []
    for (task, trunk, layout), rows in frame.groupby(["task", "trunk", "layout"], sort=True):
        out.append((str(task), str(trunk), str(layout), rows))
    pooled = frame.copy()
    pooled["seed"] = (pooled["task"].astype(str) + "/" + pooled["trunk"].astype(str) + "/"
                      + pooled["layout"].astype(str) + "/" + pooled["seed"].astype(str))
    out.append((POOLED, POOLED, POOLED, pooled))
    return out


def _left_out(checkpoints: Sequence[Checkpoint], task: str, trunk: str, layout: str,
              family: str, include_failed: bool) -> tuple[int, int, int]:
    """``(below criterion, failed to train, left out)`` of one row's networks."""
    families = ("value", "policy") if family == "value - policy" else (family,)
    mine = [c for c in checkpoints if c.family in families
            and (task == POOLED or (c.task, c.trunk, c.layout) == (task, trunk, layout))]
    below = sum(1 for c in mine if c.criterion_met is False)
    failed = sum(1 for c in mine if c.status == "failed")
    return below, failed, failed + (0 if include_failed else below)


def replication_table(results: pd.DataFrame, checkpoints: Sequence[Checkpoint],
                      config: ReplicationConfig) -> pd.DataFrame:
    """H1 per task x architecture and pooled, every test corrected together.

    Parameters
    ----------
    results
        The side rows of :func:`probe_checkpoint` of the networks that enter the
        families (with ``algorithm``, ``trunk`` and ``layout`` columns).
    checkpoints
        Every network of the sweep (for the counts left out).
    config
        The study settings (``study:``, ``ci``, ``seed``).

    Returns
    -------
    pandas.DataFrame
        One row per family x stage x task x architecture and the pooled rows,
        columns :data:`REPLICATION_COLUMNS`.
    """
    from neuroalign.pipeline.sides import derive_seed
    from neuroalign.study.hierarchy import cell_se
    from neuroalign.study.hypotheses import h1_tests
    from neuroalign.study.run import score_tests

    kwargs = config.study.study_kwargs(ci=config.ci, seed=config.seed)
    tests, where = [], []
    if not results.empty:
        for task, trunk, layout, rows in _groups(results):
            name = f"{task}/{trunk}/{layout}"
            rng = np.random.default_rng(derive_seed(int(kwargs["seed"]), name))
            for t in h1_tests(rows, n_boot=kwargs["n_boot"], level=kwargs["level"], rng=rng):
                group = "pooled" if task == POOLED else f"{task}, {trunk}, {layout}"
                tests.append(replace(t, subject=f"{group}: {t.subject}"))
                where.append((task, trunk, layout, _family_of(t.subject), t.stage))
    if not tests:
        return pd.DataFrame(columns=list(REPLICATION_COLUMNS))
    trial_level = bool((cell_se(results) > 0).any())
    scored = score_tests(tests, level=kwargs["level"], alpha=kwargs["alpha"],
                         correction=kwargs["correction"], n_boot=kwargs["n_boot"],
                         trial_level=trial_level,
                         equivalence_margin=kwargs["equivalence_margin"], power=POWER)
    rows = []
    for (task, trunk, layout, family, stage), rec in zip(where, scored.to_dict("records"),
                                                          strict=True):
        below, failed, left = _left_out(checkpoints, task, trunk, layout, family,
                                        config.include_failed)
        rows.append({
            "task": task, "trunk": trunk, "layout": layout,
            "architecture": POOLED if task == POOLED else f"{trunk}, {layout}",
            "family": family, "stage": stage, "estimate": rec["estimate"],
            "ci_low": rec["ci_low"], "ci_high": rec["ci_high"], "level": kwargs["level"],
            "p_value": rec["p_value"], "p_display": rec["p_display"],
            "p_adjusted": rec["p_adjusted"], "mde": rec["mde"], "verdict": rec["verdict"],
            "n_algorithms": rec["n_algorithms"], "n_seeds": rec["n_seeds"],
            "n_below_criterion": below, "n_failed": failed, "n_left_out": left,
            "n_boot": kwargs["n_boot"], "note": rec["note"]})
    table = pd.DataFrame(rows, columns=list(REPLICATION_COLUMNS))
    for col in ("n_algorithms", "n_seeds"):
        table[col] = table[col].astype("Int64")
    return table


# --- time ----------------------------------------------------------------------------------


def lpt_makespan(costs: Iterable[float], workers: int) -> float:
    """Wall time of independent jobs on ``workers`` workers, longest job first.

    Each job, longest first, goes to the worker that is free earliest (Graham's LPT
    rule, within 4/3 of the best schedule); the result is the time the last worker
    finishes. Jobs with an unknown (NaN) cost are left out.

    Raises
    ------
    ValidationError
        ``workers`` below 1 or a negative cost.
    """
    if int(workers) < 1:
        raise ValidationError(f"workers: got {workers}; expected at least 1")
    jobs = sorted((float(c) for c in costs if math.isfinite(float(c))), reverse=True)
    if any(c < 0 for c in jobs):
        raise ValidationError("costs: got a negative job cost; expected seconds >= 0")
    free = [0.0] * min(int(workers), max(1, len(jobs)))
    for cost in jobs:
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)


def _timing(checkpoints: Sequence[Checkpoint], probe_s: dict[tuple[str, str, int], float],
            sweep_s: float, probing_s: float, study_s: float, total_s: float,
            workers: int, command: str, skipped: list[str],
            config: ReplicationConfig) -> dict[str, Any]:
    from neuroalign.core.provenance import neuroalign_version
    from neuroalign.core.workers import usable_cpus

    jobs = []
    for c in checkpoints:
        p = probe_s.get((c.agent, c.task, c.seed), math.nan)
        jobs.append({"agent": c.agent, "task": c.task, "seed": c.seed, "status": c.status,
                     "criterion_met": c.criterion_met,
                     "train_s": None if not math.isfinite(c.train_s) else round(c.train_s, 3),
                     "train_s_from": ("this sweep" if c.status == "trained" else
                                      "checkpoint" if math.isfinite(c.train_s) else None),
                     "probe_s": None if not math.isfinite(p) else round(p, 3),
                     "error": c.error})
    cost = [(0.0 if not math.isfinite(c.train_s) else c.train_s)
            + probe_s.get((c.agent, c.task, c.seed), 0.0) for c in checkpoints]
    n_proj = PROJECTED_WORKERS
    study = config.study.study_kwargs(ci=config.ci, seed=config.seed)
    return {
        "command": command,
        "neuroalign_version": neuroalign_version(),
        "study": {**{k: study[k] for k in ("n_boot", "level", "alpha", "correction", "seed")},
                  "power": POWER},
        "include_failed": bool(config.include_failed),
        "design": {k: list(getattr(config, k)) for k in ("algorithms", "tasks", "trunks",
                                                         "layouts", "seeds")},
        "workers": int(workers),
        "cpus": usable_cpus(),
        "n_jobs": len(jobs),
        "n_trained": sum(1 for c in checkpoints if c.status == "trained"),
        "n_existing": sum(1 for c in checkpoints if c.status == "existing"),
        "n_failed": sum(1 for c in checkpoints if c.status == "failed"),
        "sweep_s": round(sweep_s, 3),
        "probing_s": round(probing_s, 3),
        "study_s": round(study_s, 3),
        "total_s": round(total_s, 3),
        "projection": {
            "rule": "longest job first; a job = training + probing of one checkpoint, "
                    "at its measured cost; then the study",
            "workers": n_proj,
            "wall_s": round(lpt_makespan(cost, n_proj) + study_s, 3),
            "one_worker_s": round(sum(cost) + study_s, 3),
            "this_machine_s": round(lpt_makespan(cost, max(1, int(workers))) + study_s, 3),
            # a sweep's checkpoint is written reproducibly, without its training time: one
            # trained by an earlier run enters the projection with its probing alone
            "jobs_without_training_time": sum(1 for c in checkpoints
                                              if c.status != "failed"
                                              and not math.isfinite(c.train_s)),
        },
        "skipped": list(skipped),
        "jobs": jobs,
    }


# --- the run -----------------------------------------------------------------------------


def run_replication(config: ReplicationConfig, *, out: str | Path | None = None,
                    overwrite: bool = False, workers: int | None = None,
                    scheduler: str | None = None, progress: bool = True,
                    console: Any = None, command: str = "") -> ReplicationResult:
    """Train the missing checkpoints, probe every one, test H1 and write the outputs.

    Parameters
    ----------
    config
        What to replicate (:class:`~neuroalign.pipeline.replication_config.ReplicationConfig`).
    out
        Folder to write (default ``config.output``); refused if it holds content,
        unless ``overwrite``. Written atomically, when complete.
    overwrite
        Replace an existing folder (only once the new one is complete).
    workers, scheduler
        Override ``config.sweep``'s: training and probing processes, and a dask
        scheduler address to train on.
    progress
        Show progress on ``console`` (default: standard error).
    command
        The command line to record in ``timing.json`` and on the page (default: the
        Python call).

    Returns
    -------
    ReplicationResult

    Raises
    ------
    ConfigError
        The configuration names no agent the zoo can train, or layers no agent has.
    OutputExistsError
        ``out`` holds content and ``overwrite`` is false.
    """
    from neuroalign.core.atomic import atomic_dir, prepare_output_dir
    from neuroalign.core.progress import progress_bar
    from neuroalign.core.results import results_table
    from neuroalign.pipeline.replication_page import write_outputs

    target = Path(out if out is not None else config.output)
    prepare_output_dir(target, overwrite=overwrite)  # refuse before any work
    n_workers = int(workers if workers is not None else config.sweep.workers)
    if n_workers < 1:
        raise ConfigError(f"--workers: got {n_workers}; expected at least 1")
    address = scheduler if scheduler is not None else config.sweep.scheduler
    if console is None and progress:
        from rich.console import Console

        console = Console(stderr=True)
    start = time.perf_counter()
    plan = _plan(config)
    from neuroalign.zoo.registry import without_shipped

    with without_shipped(config.sweep.from_scratch):
        checkpoints = train_missing(plan, config.sweep.out, workers=n_workers,
                                    scheduler=address, retry_failed=config.sweep.retry_failed,
                                    progress=progress, console=console)
        sweep_s = time.perf_counter() - start
        used = [c for c in checkpoints if c.status != "failed"
                and (config.include_failed or c.criterion_met)]
        with progress_bar(console, enabled=progress) as prog:
            t0 = time.perf_counter()
            rows, seconds = _probe_all(used, config, n_workers, prog)
            probing_s = time.perf_counter() - t0
    if config.layers is not None:
        missing = sorted(set(config.layers) - {r["layer"] for r in rows})
        if missing and used:
            raise ConfigError(f"layers: got {missing}, which no probed agent has; expected "
                              f"names from {sorted({r['layer'] for r in rows})}")
    results = results_table(pd.DataFrame(rows)) if rows else pd.DataFrame()
    t0 = time.perf_counter()
    table = replication_table(results, checkpoints, config)
    study_s = time.perf_counter() - t0
    probe_s = {(c.agent, c.task, c.seed): s for c, s in zip(used, seconds, strict=True)}
    timing = _timing(checkpoints, probe_s, sweep_s, probing_s, study_s,
                     time.perf_counter() - start, n_workers,
                     command or f"run_replication(out={str(target)!r})",
                     [s.describe() for s in plan.skipped], config)
    with atomic_dir(target, overwrite=overwrite) as tmp:
        page = write_outputs(tmp, table, results, timing)
    return ReplicationResult(out=target, table=table, results=results, timing=timing,
                             checkpoints=checkpoints, page=page)
