"""Seed sweeps: train many agents x tasks x seeds in parallel, resumably.

:func:`plan_sweep` expands algorithms x trunks x layouts x tasks x seeds into jobs,
skipping (with the reason) the combinations the zoo does not have: a value-learner
with a separate critic, a recurrent agent on a task other than ``contrast``.
:func:`run_sweep` trains the jobs on dask.distributed (a LocalCluster, a running
scheduler, or a client of any cluster: :mod:`neuroalign.core.cluster`), one dask
task per job, each training on one torch thread. Every checkpoint is
content-addressed (:mod:`neuroalign.zoo.addressing`): a job whose file exists is
never retrained, and a sweep killed at any moment is resumed by running it again.
The summary (per job: status, wall time, whether the task's criterion was met) is
written as ``sweep.json`` in the output folder; failures are appended to
``failures.jsonl`` there and are retried only with ``retry_failed``.

Job kinds are pluggable: :func:`register_job_kind` maps a kind name to the
functions that give a job's key, its file and its training. ``"zoo"`` (the zoo's
own learners) is built in; ``"sb3"`` (the Stable-Baselines3 twins of the zoo agents,
:mod:`neuroalign.zoo.foreign.sb3_train`, jobs from its ``plan_sb3_sweep``) registers
itself when first asked for.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.core.atomic import atomic_file, check_output_path
from neuroalign.core.errors import ValidationError
from neuroalign.core.failures import (
    FAILURES_FILE,
    append_failures,
    prune_failures,
    read_failures,
)
from neuroalign.core.progress import progress_bar
from neuroalign.core.provenance import neuroalign_version
from neuroalign.core.validation import parse_int_ranges
from neuroalign.zoo.addressing import (
    TrainSettings,
    addressed_name,
    checkpoint_key,
    code_version,
    resolve_config,
    train_addressed,
)

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client
    from rich.console import Console

__all__ = [
    "FAILURES_FILE",
    "SUMMARY_FILE",
    "JobKind",
    "JobResult",
    "SkippedJob",
    "SweepJob",
    "SweepPlan",
    "SweepSummary",
    "TrainSettings",
    "job_kinds",
    "plan_sweep",
    "register_job_kind",
    "run_sweep",
    "sweep_checkpoint",
]

#: the summary of the latest sweep into a folder
SUMMARY_FILE = "sweep.json"
#: failure records, one JSON line per failed job (as the batch engine's)
#: job statuses in a summary
STATUSES: tuple[str, ...] = ("trained", "existing", "failed")


# -- jobs and plans ----------------------------------------------------------------------

@dataclass(frozen=True)
class SweepJob:
    """One training: ``agent`` on ``task`` from ``seed``.

    Attributes
    ----------
    agent
        Zoo agent name (e.g. ``"ppo-gru"``).
    task, seed
        What it learns, from which seed.
    algorithm, trunk, layout
        What the agent name is made of.
    config
        Hyper-parameter fields over the agent's defaults (``None``: the defaults).
    settings
        Budget and stopping rule.
    kind
        Job kind (see :func:`register_job_kind`).
    """

    agent: str
    task: str
    seed: int
    algorithm: str
    trunk: str = "mlp"
    layout: str = "shared"
    config: Mapping[str, Any] | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)
    kind: str = "zoo"

    @property
    def key(self) -> str:
        """The job's content key (see :mod:`neuroalign.zoo.addressing`)."""
        return _kind(self.kind).key(self)

    def path(self, out: str | os.PathLike[str]) -> Path:
        """Where the job's checkpoint lives in ``out`` (whether or not it exists)."""
        return _kind(self.kind).path(self, Path(out))

    def label(self) -> str:
        """``agent/task/seed N``."""
        return f"{self.agent}/{self.task}/seed {self.seed}"


@dataclass(frozen=True)
class SkippedJob:
    """A combination the zoo does not have, and why it was left out of a plan."""

    algorithm: str
    trunk: str
    layout: str
    task: str
    reason: str

    def describe(self) -> str:
        """One line: which combination, and why."""
        return (f"skipped {self.algorithm} (trunk {self.trunk}, layout {self.layout}) on "
                f"{self.task}: {self.reason}")


@dataclass
class SweepPlan:
    """The jobs of a sweep, and the combinations left out with their reasons."""

    jobs: list[SweepJob]
    skipped: list[SkippedJob] = field(default_factory=list)

    def describe_skipped(self) -> list[str]:
        """One line per skipped combination."""
        return [s.describe() for s in self.skipped]


@dataclass(frozen=True)
class JobKind:
    """How one kind of sweep job is keyed, stored and trained.

    Attributes
    ----------
    name
        Kind name (``SweepJob.kind``).
    key
        ``key(job) -> str``: the content key (hex digits) of the job.
    path
        ``path(job, out) -> Path``: where its checkpoint lives in folder ``out``.
    train
        ``train(job, out) -> dict``: train the job into ``out`` (atomically) unless its
        file exists; returns ``status`` (``"trained"`` / ``"existing"``),
        ``wall_time_s`` and ``criterion_met``. Runs on a dask worker.
    criterion
        ``criterion(path) -> bool | None``: whether an existing checkpoint met its task's
        criterion (``None``: read from a zoo checkpoint's metadata).
    """

    name: str
    key: Callable[[SweepJob], str]
    path: Callable[[SweepJob, Path], Path]
    train: Callable[[SweepJob, Path], dict[str, Any]]
    criterion: Callable[[Path], bool | None] | None = None


def _zoo_key(job: SweepJob) -> str:
    return checkpoint_key(job.agent, job.task, job.seed, job.config, job.settings)


def _zoo_path(job: SweepJob, out: Path) -> Path:
    return out / addressed_name(job.agent, job.task, job.seed, _zoo_key(job))


def _zoo_train(job: SweepJob, out: Path) -> dict[str, Any]:
    _, info = train_addressed(job.agent, job.task, job.seed, out, job.config, job.settings,
                              progress=False, threads=1)
    return info


_JOB_KINDS: dict[str, JobKind] = {"zoo": JobKind("zoo", _zoo_key, _zoo_path, _zoo_train)}
#: kinds defined in a module of their own, which registers them when imported (on first
#: use, here and on every worker)
_KIND_MODULES: dict[str, str] = {"sb3": "neuroalign.zoo.foreign.sb3_train"}


def register_job_kind(kind: JobKind, *, replace: bool = False) -> None:
    """Add a job kind (e.g. training with another library) for :func:`run_sweep`.

    Its functions must be importable by name on the workers (module-level
    functions), as dask sends them by reference.

    Raises
    ------
    ValidationError
        If the name is taken and ``replace`` is false.
    """
    if kind.name in _JOB_KINDS and not replace:
        raise ValidationError(f"job kind: {kind.name!r} is registered already; pass "
                              "replace=True to replace it")
    _JOB_KINDS[kind.name] = kind


def job_kinds() -> list[str]:
    """Names of the registered job kinds."""
    return list(dict.fromkeys([*_JOB_KINDS, *_KIND_MODULES]))


def _kind(name: str) -> JobKind:
    if name not in _JOB_KINDS and name in _KIND_MODULES:
        import importlib

        importlib.import_module(_KIND_MODULES[name])
    if name not in _JOB_KINDS:
        raise ValidationError(f"job kind: got {name!r}; expected one of {list(_JOB_KINDS)}")
    return _JOB_KINDS[name]


def _names(value: str | Iterable[str], what: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        name = str(item).strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise ValidationError(f"{what}: got {value!r}; expected at least one name")
    return names


def _seeds(value: str | int | Iterable[int]) -> list[int]:
    if isinstance(value, str):
        return parse_int_ranges(value, "seeds")
    items = [value] if isinstance(value, int) else list(value)
    for s in items:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValidationError(f"seeds: got {s!r}; expected non-negative integers")
    if not items:
        raise ValidationError("seeds: got none; expected at least one seed such as '0-4'")
    return sorted(set(items))


def _algorithms() -> dict[str, Any]:
    """Algorithm name -> the spec of its feedforward, shared-trunk agent."""
    from neuroalign.zoo.agents import AGENTS

    return {name: spec for name, spec in AGENTS.items()
            if spec.trunk == "mlp" and spec.layout == "shared"}


def plan_sweep(agents: str | Iterable[str], tasks: str | Iterable[str],
               seeds: str | int | Iterable[int], trunks: str | Iterable[str] = ("mlp",),
               layouts: str | Iterable[str] = ("shared",), *,
               config: Mapping[str, Any] | None = None,
               settings: TrainSettings | None = None) -> SweepPlan:
    """Expand algorithms x trunks x layouts x tasks x seeds into training jobs.

    Parameters
    ----------
    agents
        Algorithm names (``"dqn"``, ``"ppo"`` ...; a list or a comma-separated string).
    tasks
        Task names.
    seeds
        Seeds: integers, or a string of values and inclusive ranges (``"0-19"``,
        ``"0-4,7"``).
    trunks
        ``"mlp"`` and/or ``"gru"``.
    layouts
        ``"shared"`` and/or ``"separate"`` (actor-critic layout).
    config
        Hyper-parameter fields set on every agent (checked against each agent's
        config here); ``None``: the defaults.
    settings
        Budget and stopping rule (default: as the shipped zoo).

    Returns
    -------
    SweepPlan
        Jobs in the order algorithm, trunk, layout, task, seed; and each combination
        the zoo does not have, with the reason.

    Raises
    ------
    ValidationError
        Unknown algorithm, task, trunk or layout (the message lists the valid ones),
        bad seeds, or no job left after skipping.
    ConfigError
        A ``config`` field some agent's config does not have.
    """
    from neuroalign.zoo.agents import AGENTS, agent_name
    from neuroalign.zoo.networks import LAYOUTS, TRUNKS
    from neuroalign.zoo.registry import list_agents
    from neuroalign.zoo.tasks import task_names

    algorithms = _algorithms()
    algos = _names(agents, "agents")
    for given in algos:
        if given not in algorithms:
            hint = ("; give algorithm names, the trunk and layout come from trunks/--trunk "
                    "and layouts/--layout" if given in AGENTS else "")
            raise ValidationError(f"agents: got {given!r}; expected algorithms from "
                                  f"{list(algorithms)}{hint}")
    task_list = _names(tasks, "tasks")
    for given in task_list:
        if given not in task_names():
            raise ValidationError(f"tasks: got {given!r}; expected one of {task_names()}")
    trunk_list = _names(trunks, "trunks")
    layout_list = _names(layouts, "layouts")
    for given, valid, what in [(t, TRUNKS, "trunks") for t in trunk_list] + \
                              [(x, LAYOUTS, "layouts") for x in layout_list]:
        if given not in valid:
            raise ValidationError(f"{what}: got {given!r}; expected one of {list(valid)}")
    seed_list = _seeds(seeds)
    settings = settings or TrainSettings()
    learns = {rec["name"]: list(rec["tasks"]) for rec in list_agents()}
    jobs: list[SweepJob] = []
    skipped: list[SkippedJob] = []
    for algo in algos:
        for trunk in trunk_list:
            for layout in layout_list:
                name: str | None = None
                reason = ("a value-learner has one Q network and no critic to separate; "
                          "only layout shared exists")
                if not (layout == "separate" and algorithms[algo].family == "value"):
                    name = agent_name(algo, trunk, layout)
                    resolve_config(name, config)  # a bad field fails here, once
                for task in task_list:
                    if name is not None and task in learns[name]:
                        jobs.extend(SweepJob(name, task, seed, algo, trunk, layout,
                                             dict(config) if config else None, settings)
                                    for seed in seed_list)
                        continue
                    why = reason if name is None else f"{name} learns only {learns[name]}"
                    skipped.append(SkippedJob(algo, trunk, layout, task, why))
    if not jobs:
        lines = "; ".join(s.describe() for s in skipped)
        raise ValidationError(f"sweep: no agent x task combination exists in the zoo "
                              f"({lines}); expected at least one job")
    return SweepPlan(jobs, skipped)


def sweep_checkpoint(agent: str, task: str, seed: int,
                     out: str | os.PathLike[str] | None = None,
                     config: Mapping[str, Any] | None = None, *,
                     settings: TrainSettings | None = None) -> Path:
    """Where the content-addressed checkpoint of ``agent`` on ``task`` from ``seed``
    lives in ``out`` (default: the user zoo cache), whether or not it exists.

    Parameters
    ----------
    agent
        Zoo agent name (e.g. ``"ppo-gru"``).
    task, seed
        What it learns, from which seed.
    out
        The sweep's folder (``None``: :func:`~neuroalign.zoo.default_cache_dir`).
    config, settings
        As given to :func:`plan_sweep`.
    """
    from neuroalign.zoo.registry import default_cache_dir

    folder = Path(out) if out is not None else default_cache_dir()
    key = checkpoint_key(agent, task, seed, config, settings)
    return folder / addressed_name(agent, task, seed, key)


# -- results -------------------------------------------------------------------------------

@dataclass
class JobResult:
    """What became of one job.

    Attributes
    ----------
    agent, task, seed
        The job.
    key
        Its content key.
    path
        Its checkpoint (absent when ``status`` is ``"failed"``).
    status
        ``"trained"`` (by this run), ``"existing"`` (found, not retrained) or
        ``"failed"``.
    wall_time_s
        Training time on its worker (0 unless trained by this run).
    criterion_met
        Whether the checkpoint met its task's success criterion (``None`` if failed).
    error
        ``Type: message`` of a failure (of this run, or of an earlier one not retried).
    kind
        Job kind.
    """

    agent: str
    task: str
    seed: int
    key: str
    path: str
    status: str
    wall_time_s: float = 0.0
    criterion_met: bool | None = None
    error: str | None = None
    kind: str = "zoo"


@dataclass
class SweepSummary:
    """What a sweep did: one :class:`JobResult` per job, and totals.

    Attributes
    ----------
    jobs
        One result per planned job, in plan order.
    skipped
        The plan's skipped combinations (one line each).
    out
        The folder.
    seconds
        Wall time of the run.
    workers
        Worker threads of the cluster (0 when nothing was trained).
    failed_before
        Jobs whose failure in an earlier run was not retried (``retry_failed``).
    """

    jobs: list[JobResult]
    skipped: list[str] = field(default_factory=list)
    out: str = ""
    seconds: float = 0.0
    workers: int = 0
    failed_before: int = 0

    def count(self, status: str) -> int:
        """Jobs with ``status``."""
        return sum(j.status == status for j in self.jobs)

    @property
    def ok(self) -> bool:
        """True when no job failed."""
        return self.count("failed") == 0

    def criterion_table(self) -> list[dict[str, Any]]:
        """Per agent x task: checkpoints, how many met the criterion, failures."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for j in self.jobs:
            row = rows.setdefault((j.agent, j.task), {
                "agent": j.agent, "task": j.task, "jobs": 0, "checkpoints": 0,
                "criterion_met": 0, "trained": 0, "existing": 0, "failed": 0,
                "train_time_s": 0.0})
            row["jobs"] += 1
            row[j.status] += 1
            row["train_time_s"] = round(row["train_time_s"] + j.wall_time_s, 3)
            if j.status != "failed":
                row["checkpoints"] += 1
                row["criterion_met"] += bool(j.criterion_met)
        return list(rows.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``sweep.json`` holds)."""
        return {
            "neuroalign_version": neuroalign_version(),
            "code_version": code_version(),
            "out": self.out,
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            "totals": {"jobs": len(self.jobs), **{s: self.count(s) for s in STATUSES},
                       "failed_before": self.failed_before,
                       "criterion_met": sum(bool(j.criterion_met) for j in self.jobs
                                            if j.status != "failed")},
            "by_agent_task": self.criterion_table(),
            "skipped": list(self.skipped),
            "jobs": [vars(j).copy() for j in self.jobs],
        }


# -- running -------------------------------------------------------------------------------

def execute_job(job: SweepJob, out: str) -> dict[str, Any]:
    """Train one job into ``out`` (on a dask worker); a failure is returned, not raised."""
    start = time.perf_counter()
    try:
        info = _kind(job.kind).train(job, Path(out))
    except Exception as err:  # every failure is recorded with its job
        return {"status": "failed", "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(),
                "wall_time_s": round(time.perf_counter() - start, 3)}
    return dict(info)


def _failure_record(job: SweepJob, key: str, error: str, tb: str) -> dict[str, Any]:
    return {"key": key, "kind": job.kind, "agent": job.agent, "task": job.task,
            "seed": job.seed, "error": error, "traceback": tb,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _write_summary(out: Path, summary: SweepSummary) -> None:
    with atomic_file(out / SUMMARY_FILE, suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary.to_dict(), indent=2, default=str) + "\n")
        os.chmod(tmp, 0o644)


def run_sweep(plan: SweepPlan, out: str | os.PathLike[str] | None = None, *,
              workers: int | None = None, scheduler: str | None = None,
              client: Client | None = None, progress: bool = True,
              retry_failed: bool = False, console: Console | None = None) -> SweepSummary:
    """Train the jobs of ``plan`` into ``out``; jobs whose checkpoint exists are not
    retrained.

    Parameters
    ----------
    plan
        From :func:`plan_sweep`.
    out
        Folder of the checkpoints, ``sweep.json`` and ``failures.jsonl`` (default: the
        user zoo cache, where :func:`~neuroalign.zoo.load_agent` finds them). With a
        remote scheduler it must be on a file system the workers share.
    workers
        Worker processes of the LocalCluster (default: the CPUs this process may use).
    scheduler
        Address of a running scheduler (``tcp://host:8786``), used when no client is
        given.
    client
        An existing :class:`distributed.Client` (left open), e.g. of
        :func:`~neuroalign.core.cluster.slurm_cluster`.
    progress
        Show one progress bar per agent.
    retry_failed
        Train again the jobs that failed in an earlier run (otherwise they stay failed).
    console
        Rich console for the progress display.

    Returns
    -------
    SweepSummary
        Also written atomically as ``sweep.json`` in ``out``.

    Raises
    ------
    OutputError
        If ``out`` cannot be written, before any work starts.
    ValidationError
        If both ``workers`` and ``scheduler`` (or ``client``) are given, or ``workers``
        is not a positive integer.
    """
    from neuroalign.zoo.checkpoint import read_metadata
    from neuroalign.zoo.registry import default_cache_dir

    start = time.perf_counter()
    if workers is not None and (scheduler or client is not None):
        raise ValidationError("workers: give the number of local workers or a scheduler "
                              "(or client), not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValidationError(f"workers: got {workers!r}; expected a positive integer")
    root = Path(out) if out is not None else default_cache_dir()
    check_output_path(root, kind="folder", what="sweep folder")
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    failures_path = root / FAILURES_FILE
    failed_earlier = read_failures(failures_path)
    results: list[JobResult] = []
    todo: list[tuple[int, SweepJob]] = []
    failed_before = 0
    for job in plan.jobs:
        key = job.key
        path = job.path(root)
        result = JobResult(job.agent, job.task, job.seed, key, str(path), "existing",
                           kind=job.kind)
        if path.is_file():
            criterion = _kind(job.kind).criterion
            result.criterion_met = (criterion(path) if criterion is not None else
                                    read_metadata(path).get("metrics", {}).get("criterion_met"))
        elif key in failed_earlier and not retry_failed:
            result.status, result.path = "failed", ""
            result.error = str(failed_earlier[key].get("error", "failed in an earlier run"))
            failed_before += 1
        else:
            todo.append((len(results), job))
        results.append(result)
    summary = SweepSummary(results, plan.describe_skipped(), str(root), 0.0, 0, failed_before)
    if todo:
        _train(todo, root, summary, workers=workers, scheduler=scheduler, client=client,
               bar=progress_bar(console, enabled=progress))
    prune_failures(failures_path, {r.key for r in results if r.status != "failed"})
    summary.seconds = time.perf_counter() - start
    _write_summary(root, summary)
    return summary


def _train(todo: Sequence[tuple[int, SweepJob]], root: Path, summary: SweepSummary, *,
           workers: int | None, scheduler: str | None, client: Client | None,
           bar: Any) -> None:
    """Submit the jobs to train, one dask task each, and record their outcomes."""
    from distributed import as_completed

    from neuroalign.core.cluster import open_client

    own_client = client is None
    cluster = None
    if client is None:
        client, cluster = open_client(scheduler, workers)
    try:
        summary.workers = sum(client.nthreads().values())
        per_agent: dict[str, int] = {}
        for _, job in todo:
            per_agent[job.agent] = per_agent.get(job.agent, 0) + 1
        with bar:
            rows = {agent: bar.add_task(agent, total=n) for agent, n in per_agent.items()}
            futures = {}
            for order, (index, job) in enumerate(todo):
                fut = client.submit(execute_job, job, str(root), pure=False,
                                    key=f"neuroalign-sweep-{job.key[:16]}-{order}",
                                    priority=-order)
                futures[fut] = (index, job)
            try:
                for fut, outcome in as_completed(futures, with_results=True,
                                                 raise_errors=False):
                    index, job = futures[fut]
                    _record(summary.jobs[index], job, fut, outcome, root)
                    bar.update(rows[job.agent], advance=1)
            finally:
                left = [f for f in futures if not f.done()]
                if left:
                    client.cancel(left)
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _record(result: JobResult, job: SweepJob, fut: Any, outcome: Any, root: Path) -> None:
    """Fill ``result`` from a finished dask task; append a failure record if it failed."""
    if fut.status == "finished" and isinstance(outcome, dict):
        info = outcome
    else:  # the task never returned (its worker died too often) or was cancelled
        err = outcome if isinstance(outcome, BaseException) else fut.exception()
        info = {"status": "failed", "error": f"{type(err).__name__}: {err}", "traceback": ""}
    result.status = str(info["status"])
    result.wall_time_s = float(info.get("wall_time_s") or 0.0)
    if result.status == "failed":
        result.path, result.error = "", str(info["error"])
        append_failures(root / FAILURES_FILE, [_failure_record(
            job, result.key, result.error, str(info.get("traceback", "")))])
    else:
        result.criterion_met = info.get("criterion_met")
