"""Command-line commands of ``neuroalign.pipeline``: ``neuroalign run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from neuroalign.core.cli import lazy_help_command

_RUN_HELP = (
    "Compare every zoo agent layer with every session/region and write a report.\n\n"
    "Without CONFIG it runs the shipped synthetic sessions (neuroalign/data/sessions) "
    "against the shipped zoo (neuroalign/data/zoo). CONFIG is a YAML file with any of the "
    "fields below; options given on the command line override it. The report folder holds "
    "results.parquet, results.csv, summary.csv, study.csv (the hypothesis tests and their "
    "verdicts), figures/*.png, a self-contained report.html (Verdict first), config.yaml "
    "and manifest.json; it is written to a temporary folder and renamed into place when "
    "complete.\n\n"
    "Config fields (YAML):\n\n"
)


def _help_text() -> str:
    from rich.markup import escape

    from neuroalign.pipeline.config import config_help

    lines = config_help().splitlines()
    # one paragraph per field so that every help renderer keeps them apart
    return escape(_RUN_HELP + "\n\n".join(f"- {line.strip()}" for line in lines))


def _print_summary(result: Any, console: Any) -> None:
    """A compact table (fits 80 columns): intervals and families on second lines."""
    from rich.table import Table

    from neuroalign.report import summary_table

    if result.study is not None:
        from neuroalign.study.cli import print_verdict

        print_verdict(result.study, console)
    table = summary_table(result.results, result.study)
    if len(table):
        view = Table(title="Best-matching agent layer per region\n(mean over sessions; "
                           "A = S_danger - S_reward, pooled by the study)")
        main = next((c for c in ("rsa", "cka", "shape") if c in table.columns), None)
        cols = [c for c in ("region", "best match", main, "ceiling", "A region")
                if c is not None and c in table.columns]
        for col in cols:
            view.add_column(col, justify="left" if col in ("region", "best match") else "right")
        for rec in table.to_dict("records"):
            cells = []
            for col in cols:
                text = str(rec.get(col, ""))
                if col == "best match" and rec.get("family"):
                    task = f", {rec['task']} task" if rec.get("task") else ""
                    text += f"\n({rec['family']}{task})"
                cells.append(text.replace(" [", "\n["))
            view.add_row(*cells)
        console.print(view)
    console.print(
        f"{result.n_cells} cells, {len(result.results)} rows in {result.elapsed_s:.1f} s. "
        f"Report: [bold]{result.out / 'report.html'}[/bold]"
    )


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""

    @app.command("run", cls=lazy_help_command(_help_text), help=_RUN_HELP,
                 short_help=_RUN_HELP.split("\n")[0])
    def run_command(
        config: Path | None = typer.Argument(
            None, help="YAML config, or the name of a shipped example (steinmetz: real "
            "mice; example-run) (default: the shipped sessions and zoo).",
            show_default=False),
        out: Path | None = typer.Option(
            None, "--out", help="Report folder (default: the config's `output`)."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an existing report folder."),
        n_boot: int | None = typer.Option(None, "--n-boot", help="Override n_boot."),
        n_perm: int | None = typer.Option(None, "--n-perm", help="Override n_perm."),
        seed: int | None = typer.Option(None, "--seed", help="Override seed."),
        equivalence_margin: str | None = typer.Option(
            None, "--equivalence-margin", help="Override study.equivalence_margin: a number, or "
            "per hypothesis, e.g. H2=0.2,H1=0.2."),
        no_figures: bool = typer.Option(
            False, "--no-figures", help="Tables and HTML only, no figures."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
        workers: int | None = typer.Option(
            None, "--workers", min=1, help="Processes computing the geometries and cells and "
            "drawing the figures (default: one per CPU this process may use; 1: all in this "
            "process). The results are the same for any number."),
        max_memory: str | None = typer.Option(
            None, "--max-memory", help="Refuse a recording whose responses would exceed "
            "this, e.g. 16GiB (default: $NEUROALIGN_MAX_MEMORY, else 8GiB)."),
        allow_code: bool = typer.Option(
            False, "--allow-code", help="Read the agents' sb3 .zip files with "
            "Stable-Baselines3's own loader, which runs code from them (default: weights "
            "and allowlisted fields only)."),
    ) -> None:
        from rich.console import Console

        from neuroalign.core.limits import parse_size

        limit = None if max_memory is None else parse_size(max_memory, "--max-memory")
        from neuroalign.pipeline.config import load_config
        from neuroalign.pipeline.run import run_pipeline
        from neuroalign.study.sensitivity import parse_margin

        overrides = {k: v for k, v in (("n_boot", n_boot), ("n_perm", n_perm),
                                       ("seed", seed)) if v is not None}
        cfg = load_config(config, overrides=overrides)
        margin = parse_margin(equivalence_margin)
        if margin is not None:  # validated by parse_margin; the rest of study: is kept
            cfg = cfg.model_copy(update={"study": cfg.study.model_copy(
                update={"equivalence_margin": margin})})
        if allow_code and cfg.agents:
            from neuroalign.core.config import with_code_allowed

            cfg = cfg.model_copy(update={"agents": with_code_allowed(cfg.agents)})
        result = run_pipeline(cfg, out=out, overwrite=overwrite, progress=not quiet,
                              console=Console(stderr=True), figures=not no_figures,
                              max_memory=limit, workers=workers)
        _print_summary(result, Console())

    register_replicate(app)


_REPLICATE_HELP = (
    "Replicate the claim's agents' side: train the missing checkpoints (the sweep), probe "
    "every one, test H1 for each task x architecture and pooled.\n\n"
    "CONFIG is a YAML file or the name of a shipped config (replication: 5 algorithms x 3 "
    "tasks x 2 trunks x 2 layouts x 10 seeds). The folder holds replication.csv (one row "
    "per family x layer stage x task x architecture, and the pooled rows), results.parquet "
    "(every layer's geometry), replication.png, timing.json and replication.md (the page, "
    "rendered from replication.csv and timing.json); it is written to a temporary folder "
    "and renamed into place when complete.\n\n"
    "Config fields (YAML):\n\n"
)


def _replicate_help_text() -> str:
    from rich.markup import escape

    from neuroalign.pipeline.replication_config import replication_help

    lines = replication_help().splitlines()
    return escape(_REPLICATE_HELP + "\n\n".join(f"- {line.strip()}" for line in lines))


def _print_replication(result: Any, console: Any) -> None:
    """The tables of the replication, one per task x architecture and the pooled one
    last (each fits 80 columns)."""
    import math

    from rich.table import Table

    table = result.table
    groups = list(dict.fromkeys(zip(table["task"], table["architecture"], strict=True)))
    for task, arch in groups:
        title = ("H1 pooled over every task and architecture" if task == "all"
                 else f"H1, {task}, {arch}")
        view = Table(title=title, title_justify="left")
        for col in ("family", "stage", "A [interval]", "adj. p", "verdict", "n (out)"):
            view.add_column(col, justify="right" if col in ("adj. p", "n (out)") else "left",
                            no_wrap=col in ("A [interval]", "verdict"))
        sub = table[(table["task"] == task) & (table["architecture"] == arch)]
        for r in sub.to_dict("records"):
            ci = (f" [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
                  if math.isfinite(r["ci_low"]) else "")
            p = r["p_adjusted"]
            view.add_row(str(r["family"]), str(r["stage"]), f"{r['estimate']:+.2f}{ci}",
                         "" if not math.isfinite(p) else f"{p:.2g}", str(r["verdict"]),
                         f"{r['n_seeds']} ({r['n_left_out']})")
        console.print(view)
    t = result.timing
    console.print(f"A = S_danger - S_reward. {t['n_jobs']} networks ({t['n_trained']} "
                  f"trained, {t['n_failed']} failed) in {t['total_s']:.0f} s; projected on "
                  f"{t['projection']['workers']} workers: {t['projection']['wall_s']:.0f} s. "
                  f"Page: [bold]{result.out / 'replication.md'}[/bold]")


def register_replicate(app: typer.Typer) -> None:
    """Add ``neuroalign replicate`` to the top-level ``app``."""

    @app.command("replicate", cls=lazy_help_command(_replicate_help_text),
                 help=_REPLICATE_HELP, short_help=_REPLICATE_HELP.split("\n")[0])
    def replicate_command(
        config: Path = typer.Argument(
            ..., help="YAML config, or the name of a shipped one (replication).",
            show_default=False),
        out: Path | None = typer.Option(
            None, "--out", help="Folder to write (default: the config's `output`)."),
        workers: int | None = typer.Option(
            None, "--workers", help="Training and probing processes (default: the "
            "config's sweep.workers)."),
        scheduler: str | None = typer.Option(
            None, "--scheduler", help="dask.distributed scheduler address to train on."),
        algorithms: str | None = typer.Option(
            None, "--algorithms", help="Override algorithms, e.g. dqn,ppo."),
        tasks: str | None = typer.Option(None, "--tasks", help="Override tasks, e.g. "
                                         "pavlovian,gridworld."),
        trunks: str | None = typer.Option(None, "--trunks", help="Override trunks: mlp,gru."),
        layouts: str | None = typer.Option(
            None, "--layouts", help="Override layouts: shared,separate."),
        seeds: str | None = typer.Option(None, "--seeds", help="Override seeds: values and "
                                         "ranges such as 0-19 or 0-4,7."),
        checkpoints: Path | None = typer.Option(
            None, "--checkpoints", help="Folder of the trained checkpoints (overrides "
            "sweep.out; default: the zoo's user cache). An empty folder measures every "
            "job's training time."),
        from_scratch: bool = typer.Option(
            False, "--from-scratch", help="Leave the shipped checkpoints aside: train every "
            "network into the checkpoints folder (with an empty one, the whole replication "
            "is measured)."),
        docs: Path | None = typer.Option(
            None, "--docs", help="Also write the page as DOCS/replication.md, its figure "
            "beside it and its table and timing in DOCS/replication/ (the documentation's "
            "copy)."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Replace an existing folder."),
        as_json: bool = typer.Option(
            False, "--json", help="Print the table and the timing as JSON on standard "
            "output (no progress, no table)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    ) -> None:
        import json
        import shlex

        from rich.console import Console

        from neuroalign.pipeline.replication import run_replication
        from neuroalign.pipeline.replication_config import load_replication_config

        lists = {"algorithms": algorithms, "tasks": tasks, "trunks": trunks,
                 "layouts": layouts}
        overrides: dict[str, Any] = {k: [x.strip() for x in v.split(",") if x.strip()]
                                     for k, v in lists.items() if v is not None}
        if seeds is not None:
            overrides["seeds"] = seeds
        sweep: dict[str, Any] = {}
        if checkpoints is not None:
            sweep["out"] = str(checkpoints)
        if from_scratch:
            sweep["from_scratch"] = True
        if sweep:
            overrides["sweep"] = sweep
        cfg = load_replication_config(config, overrides=overrides)
        args = ["neuroalign", "replicate", str(config)]
        for flag, value in (("--algorithms", algorithms), ("--tasks", tasks),
                            ("--trunks", trunks), ("--layouts", layouts), ("--seeds", seeds),
                            ("--checkpoints", checkpoints), ("--out", out), ("--workers", workers),
                            ("--scheduler", scheduler), ("--docs", docs)):
            args += [flag, str(value)] if value is not None else []
        args += ["--from-scratch"] if from_scratch else []
        command = shlex.join(args)
        result = run_replication(cfg, out=out, overwrite=overwrite, workers=workers,
                                 scheduler=scheduler, progress=not (quiet or as_json),
                                 console=Console(stderr=True), command=command)
        if docs is not None:
            from neuroalign.pipeline.replication_page import copy_to_docs

            copy_to_docs(result.out, docs)
        if as_json:
            table = result.table.astype(object).where(result.table.notna(), None)
            typer.echo(json.dumps({"out": str(result.out), "table": table.to_dict("records"),
                                   "timing": result.timing}, indent=2))
            return
        _print_replication(result, Console())
