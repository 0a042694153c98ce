"""Commands of ``neuroalign.zoo``: ``neuroalign zoo list|train|sweep|evaluate|probe|export-nwb``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from neuroalign.zoo.agent import ProbedAgent, ZooAgent

zoo_app = typer.Typer(name="zoo", help="Valence tasks and RL agents: list, train, probe.",
                      invoke_without_command=True)


@zoo_app.callback()
def _help_without_command(ctx: typer.Context) -> None:
    """``neuroalign zoo`` alone prints its help and exits 0."""
    if ctx.invoked_subcommand is None:
        text = ctx.get_help()
        if text:  # rich help prints itself and returns ""
            typer.echo(text)

# arguments shared by the commands that act on one trained agent
_AgentArg = Annotated[str, typer.Argument(help="agent name, e.g. dqn (zoo probe: or an "
                                           "SB3 .zip)")]
_TaskOpt = Annotated[str, typer.Option("--task", help="task name, e.g. pavlovian")]
_SeedOpt = Annotated[int, typer.Option("--seed", help="training seed")]
_OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="replace an existing file")]
_TrainOpt = Annotated[bool, typer.Option(
    "--train", help="train the agent first when no checkpoint exists (minutes)")]


def _load(agent: str, task: str, seed: int, train: bool) -> ZooAgent:
    """Load a checkpoint; train only when asked to, and say so."""
    from neuroalign.core.errors import SourceError
    from neuroalign.zoo.agents import get_agent_spec
    from neuroalign.zoo.registry import checkpoint_path, load_agent
    from neuroalign.zoo.tasks import get_task

    get_agent_spec(agent)  # unknown names first, with the valid ones listed
    get_task(task)
    if checkpoint_path(agent, task, seed) is None:
        if not train:
            raise SourceError(
                f"zoo: agent {agent!r} on task {task!r} seed {seed} is not trained (no "
                "checkpoint shipped or cached); pass --train to train it first (minutes) "
                f"or run `neuroalign zoo train {agent} --task {task} --seed {seed}`")
        typer.echo(f"training {agent}/{task}/seed {seed} (no checkpoint yet) ...", err=True)
    return load_agent(agent, task, seed, train_if_missing=train, progress=train)


@zoo_app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """List agents (name, family, trunk, layout, shipped seeds) and tasks."""
    import json

    from neuroalign.zoo.registry import list_agents, list_tasks

    agents, tasks = list_agents(), list_tasks()
    if as_json:
        typer.echo(json.dumps({"agents": agents, "tasks": tasks}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="neuroalign zoo agents")
    for col in ("agent", "family", "trunk", "layout", "description", "shipped seeds"):
        table.add_column(col)
    for a in agents:
        seeds = "; ".join(f"{t}: {s or '-'}" for t, s in a["shipped_seeds"].items()
                          if t in a["tasks"])
        table.add_row(a["name"], a["family"], a["trunk"], a["layout"], a["description"], seeds)
    tasks_table = Table(title="tasks")
    for col in ("task", "budget", "criterion"):
        tasks_table.add_column(col)
    for t in tasks:
        tasks_table.add_row(t["name"], str(t["budget"]), t["criterion"])
    console = Console()
    console.print(table)
    console.print(tasks_table)


@zoo_app.command("train")
def train_command(
    agent: _AgentArg,
    task: _TaskOpt,
    seed: _SeedOpt = 0,
    out: Optional[Path] = typer.Option(  # noqa: UP045 - typer needs Optional
        None, "--out", help="checkpoint file (default: the user cache)"),
    budget: Optional[int] = typer.Option(  # noqa: UP045
        None, "--budget", help="environment steps (default: the task's budget)"),
    full_budget: bool = typer.Option(
        False, "--full-budget", help="train the whole budget instead of stopping at criterion"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar"),
) -> None:
    """Train AGENT on --task from --seed (to criterion, as the shipped zoo) and save it."""
    from neuroalign.core.atomic import check_output_path
    from neuroalign.zoo.checkpoint import checkpoint_name, save_checkpoint
    from neuroalign.zoo.registry import default_cache_dir
    from neuroalign.zoo.training import train

    if out is not None:
        check_output_path(out, kind="file", what="--out")
    trained = train(agent, task, seed, budget=budget, stop_at_criterion=not full_budget,
                    progress=progress)
    target = out if out is not None else default_cache_dir() / checkpoint_name(agent, task, seed)
    save_checkpoint(trained, target)
    m = trained.metrics
    typer.echo(f"{agent}/{task}/seed {seed}: success {m['success_rate']:.0%} "
               f"(criterion {'met' if m['criterion_met'] else 'NOT met'}), "
               f"{m['steps']} steps in {m['wall_time_s']:.1f} s -> {target}")


@zoo_app.command("sweep")
def sweep_command(
    agents: str = typer.Option(..., "--agents", help="algorithms, comma-separated, e.g. "
                               "dqn,ppo"),
    tasks: str = typer.Option(..., "--tasks", help="tasks, comma-separated, e.g. "
                              "pavlovian,gridworld"),
    seeds: str = typer.Option(..., "--seeds", help="seeds: values and ranges, e.g. 0-19 or "
                              "0-4,7"),
    trunk: str = typer.Option("mlp", "--trunk", help="trunks, comma-separated: mlp, gru"),
    layout: str = typer.Option("shared", "--layout", help="actor-critic layouts, "
                               "comma-separated: shared, separate"),
    workers: Optional[int] = typer.Option(  # noqa: UP045
        None, "--workers", help="local worker processes (default: the CPUs)"),
    scheduler: Optional[str] = typer.Option(  # noqa: UP045
        None, "--scheduler", help="address of a running dask scheduler, e.g. "
        "tcp://10.0.0.1:8786 (the folder must be shared with its workers)"),
    out: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--out", help="checkpoint folder (default: the user zoo cache, where "
        "load_agent and `neuroalign run` find them)"),
    budget: Optional[int] = typer.Option(  # noqa: UP045
        None, "--budget", help="environment steps (default: each task's budget); part of "
        "each checkpoint's key"),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="train again the jobs that failed in an earlier run"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bars"),
) -> None:
    """Train agents x tasks x seeds in parallel into content-addressed checkpoints.

    Resumable: a checkpoint that exists is never retrained, so a killed sweep is
    resumed by running it again. Combinations the zoo does not have are skipped with
    one line each. Writes sweep.json (the summary) and failures.jsonl in --out.
    Exit status: 0 when every job has its checkpoint, 1 when some failed, 2 on a usage
    error."""
    import json

    from neuroalign.core.errors import ValidationError
    from neuroalign.zoo.sweep import TrainSettings, plan_sweep, run_sweep

    if workers is not None and scheduler:
        raise ValidationError("--workers, --scheduler: got both; expected local workers "
                              "or a scheduler address")
    plan = plan_sweep(agents, tasks, seeds, trunks=trunk, layouts=layout,
                      settings=TrainSettings(budget=budget))
    for line in plan.describe_skipped():
        typer.echo(line, err=True)
    from rich.console import Console

    console = Console(stderr=True)
    summary = run_sweep(plan, out, workers=workers, scheduler=scheduler,
                        progress=progress and not as_json, retry_failed=retry_failed,
                        console=console)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        _print_sweep(summary)
    if not summary.ok:
        raise typer.Exit(code=1)


def _print_sweep(summary: object) -> None:
    """The per agent x task table of a sweep, and where its files are."""
    from rich.console import Console
    from rich.table import Table

    from neuroalign.zoo.sweep import SweepSummary

    assert isinstance(summary, SweepSummary)
    table = Table(title=f"sweep into {summary.out} ({summary.seconds:.1f} s)")
    for col in ("agent", "task", "jobs", "trained", "existing", "failed", "criterion met",
                "train time (s)"):
        table.add_column(col)
    for row in summary.criterion_table():
        table.add_row(row["agent"], row["task"], str(row["jobs"]), str(row["trained"]),
                      str(row["existing"]), str(row["failed"]),
                      f"{row['criterion_met']}/{row['checkpoints']}",
                      f"{row['train_time_s']:.1f}")
    console = Console()
    console.print(table)
    for job in summary.jobs:
        if job.status == "failed":
            console.print(f"failed {job.agent}/{job.task}/seed {job.seed}: {job.error}",
                          markup=False, highlight=False)
    if not summary.ok:
        console.print(f"failure records: {summary.out}/failures.jsonl; rerun with "
                      "--retry-failed to train them again", markup=False, highlight=False)


@zoo_app.command("twins")
def twins_command(
    out: Path = typer.Option(..., "--out", help="folder of the comparison's table, side "
                             "rows, timing.json and twins.md"),
    algorithms: str = typer.Option("dqn,qrdqn,a2c,ppo", "--algorithms",
                                   help="of dqn, qrdqn, a2c, ppo, comma-separated"),
    tasks: str = typer.Option("pavlovian,gridworld,contrast", "--tasks",
                              help="of pavlovian, gridworld, contrast, comma-separated"),
    seeds: str = typer.Option("0-4", "--seeds", help="seeds: values and ranges, e.g. 0-4"),
    layout: str = typer.Option("shared", "--layout", help="actor-critic layouts, "
                               "comma-separated: shared, separate"),
    checkpoints: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--checkpoints", help="folder of the zoo's trained checkpoints (default: the "
        "user zoo cache); the twins go to its sb3/ subfolder"),
    from_scratch: bool = typer.Option(
        False, "--from-scratch", help="leave the shipped zoo checkpoints aside: every zoo "
        "seed is trained into (and read from) --checkpoints"),
    workers: Optional[int] = typer.Option(  # noqa: UP045
        None, "--workers", help="training and probing processes (default: the CPUs)"),
    n_boot: int = typer.Option(200, "--n-boot", help="bootstrap resamples of each side's A"),
    study_boot: int = typer.Option(10000, "--study-boot", help="hierarchical bootstrap "
                                   "replicates of each difference"),
    docs: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--docs", help="also write the page as DOCS/replication-sb3.md with its data "
        "in DOCS/replication-sb3/"),
    as_json: bool = typer.Option(False, "--json", help="print the table as JSON"),
) -> None:
    """Compare zoo agents with Stable-Baselines3 twins: SB3 - zoo of A per algorithm x
    task x layer stage.

    Trains what is missing (zoo seeds through the sweep into --checkpoints, SB3 twins
    into --checkpoints/sb3; nothing trained is trained again), probes every agent,
    computes each layer's valence geometry and tests the differences with the
    hierarchical bootstrap, corrected together. Writes the table, the side rows,
    timing.json and the page twins.md in --out."""
    import json
    import shlex
    import time

    from neuroalign.core.provenance import neuroalign_version
    from neuroalign.core.validation import parse_int_ranges
    from neuroalign.core.workers import usable_cpus
    from neuroalign.pipeline.twins_page import (
        copy_twins_to_docs,
        sb3_training_records,
        write_twins_outputs,
    )
    from neuroalign.study.twins import sb3_comparison

    def _list(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    seed_list = parse_int_ranges(seeds, "--seeds")
    start = time.perf_counter()
    table = sb3_comparison(_list(algorithms), _list(tasks), seed_list, out, workers=workers,
                           n_boot=n_boot, study_boot=study_boot, layouts=_list(layout),
                           checkpoints=checkpoints, from_scratch=from_scratch)
    total = time.perf_counter() - start
    import stable_baselines3

    models = (Path(checkpoints) if checkpoints is not None else Path(out)) / "sb3"
    args = ["neuroalign", "zoo", "twins", "--out", str(out), "--algorithms", algorithms,
            "--tasks", tasks, "--seeds", seeds, "--layout", layout]
    for flag, value in (("--checkpoints", checkpoints), ("--workers", workers),
                        ("--docs", docs)):
        args += [flag, str(value)] if value is not None else []
    args += ["--from-scratch"] if from_scratch else []
    args += [] if n_boot == 200 else ["--n-boot", str(n_boot)]
    args += [] if study_boot == 10000 else ["--study-boot", str(study_boot)]
    command = shlex.join(args)
    wanted = {(a.lower(), t, s, lay) for a in _list(algorithms) for t in _list(tasks)
              for s in seed_list for lay in _list(layout)}
    timing = {"command": command, "neuroalign_version": neuroalign_version(),
              "sb3_version": stable_baselines3.__version__, "total_s": round(total, 3),
              "cpus": usable_cpus(), "workers": workers if workers else usable_cpus(),
              "design": {"algorithms": _list(algorithms), "tasks": _list(tasks),
                         "layouts": _list(layout), "seeds": seed_list},
              "sb3_jobs": [r for r in sb3_training_records(models)
                           if (r["algorithm"], r["task"], r["seed"], r["layout"]) in wanted]}
    write_twins_outputs(out, timing)
    if docs is not None:
        copy_twins_to_docs(out, docs)
    if as_json:
        clean = table.astype(object).where(table.notna(), None)
        typer.echo(json.dumps(clean.to_dict("records"), indent=2, default=str))
    else:
        typer.echo(f"{len(table)} differences, {int(table['differs'].sum())} differ after "
                   f"correction; page: {Path(out) / 'twins.md'} ({total:.0f} s)")


@zoo_app.command("evaluate")
def evaluate_command(
    agent: _AgentArg,
    task: _TaskOpt,
    seed: _SeedOpt = 0,
    trials: int = typer.Option(200, "--trials", help="test trials per contrast pair (contrast)"),
    eval_seed: int = typer.Option(12345, "--eval-seed", help="seed of the test trials"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Score AGENT's greedy behaviour; on --task contrast: choice probabilities per contrast
    pair and accuracy per contrast difference with 95% Wilson intervals."""
    import json

    from neuroalign.compare.inference.stats import binomial_interval
    from neuroalign.zoo.behaviour import evaluate_behaviour
    from neuroalign.zoo.registry import load_agent

    loaded = load_agent(agent, task, seed)
    if loaded.task.sequential:
        result = evaluate_behaviour(loaded, n_per_pair=trials, seed=eval_seed)
    else:
        crit = loaded.task.evaluate(loaded.act, seed=eval_seed)
        n = int(crit["n_episodes"])
        low, high = binomial_interval(round(crit["success_rate"] * n), n)
        result = {"agent": agent, "task": task, "seed": seed, "trunk": loaded.trunk,
                  "criterion": crit, "success_ci": [float(low), float(high)]}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    crit = result["criterion"]
    ci = result.get("success_ci")
    interval = f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else ""
    typer.echo(f"{agent}/{task}/seed {seed}: success {crit['success_rate']:.1%}{interval} "
               f"(criterion {'met' if crit['criterion_met'] else 'NOT met'})")
    for row in result.get("accuracy", []):
        typer.echo(f"  |contrast difference| {row['difference']:.2f}: accuracy {row['p']:.1%} "
                   f"[{row['ci_low']:.1%}, {row['ci_high']:.1%}] of {row['n']} trials")
    if "graded" in result:
        typer.echo(f"  graded curve: {'yes' if result['graded'] else 'NO'}")


@zoo_app.command("probe")
def probe_command(
    agent: _AgentArg,
    task: _TaskOpt,
    seed: _SeedOpt = 0,
    out: Path = typer.Option(..., "--out", help="output netCDF file (.nc)"),
    layers: Optional[list[str]] = typer.Option(  # noqa: UP045
        None, "--layer", help="layer to probe (repeatable; default all)"),
    average: bool = typer.Option(False, "--average", help="average over repetitions"),
    n_repetitions: int = typer.Option(8, "--repetitions", help="probe episodes per valence"),
    overwrite: _OverwriteOpt = False,
    train: _TrainOpt = False,
    family: Optional[str] = typer.Option(  # noqa: UP045
        None, "--family", help="family of an SB3 .zip agent: value, policy or other "
        "(default: its algorithm's)"),
    allow_code: bool = typer.Option(
        False, "--allow-code", help="read an SB3 .zip with Stable-Baselines3's own loader, "
        "which runs code from it"),
) -> None:
    """Probe AGENT's activations on the condition grid and write them to --out (netCDF).

    AGENT is a zoo agent's name or a saved Stable-Baselines3 model (``.zip``)."""
    import os

    from neuroalign.core.atomic import atomic_file, check_output_path
    from neuroalign.core.errors import OutputExistsError, ValidationError

    if out.suffix.lower() != ".nc":
        raise ValidationError(f"--out: got {str(out)!r}; expected a netCDF file name ending "
                              "in .nc")
    check_output_path(out, kind="file", what="--out")
    from neuroalign.zoo.probe import probe_agent  # torch: imported once the output is known good

    if out.exists() and not overwrite:
        raise OutputExistsError(f"probe output {out}: exists; pass --overwrite to replace it")
    loaded: ProbedAgent
    if agent.lower().endswith(".zip"):
        from neuroalign.zoo.foreign.sb3 import sb3_agent

        loaded = sb3_agent(agent, task, family=family, seed=seed, allow_code=allow_code)
    else:
        loaded = _load(agent, task, seed, train)
    da = probe_agent(loaded, layers=layers or None, average=average,
                     n_repetitions=n_repetitions)
    with atomic_file(out, suffix=".nc") as tmp:
        da.to_netcdf(tmp, engine="h5netcdf")
        os.chmod(tmp, 0o644)
    typer.echo(f"{agent}/{task}/seed {seed}: {dict(da.sizes)} -> {out}")


@zoo_app.command("export-nwb")
def export_command(
    agent: _AgentArg,
    task: _TaskOpt,
    seed: _SeedOpt = 0,
    out: Path = typer.Option(..., "--out", help="output NWB file"),
    overwrite: _OverwriteOpt = False,
    train: _TrainOpt = False,
) -> None:
    """Write AGENT's probe activations as an NWB file (units as ROIs, probe trials)."""
    from neuroalign.core.atomic import check_output_path
    from neuroalign.zoo.nwb import export_nwb

    check_output_path(out, kind="file", what="--out")
    path = export_nwb(_load(agent, task, seed, train), out, overwrite=overwrite)
    typer.echo(f"{agent}/{task}/seed {seed} -> {path}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""
    app.add_typer(zoo_app, name="zoo")
