"""Command-line commands of ``neuroalign.batch``.

``neuroalign batch CONFIG.yaml --out DIR`` runs a grid (``batch run`` is the same);
``neuroalign batch status DIR`` counts its cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

_RUN_HELP = (
    "Run a grid of comparisons on dask.distributed (resumable).\n\n"
    "CONFIG is a YAML file with the fields below. Finished cells in DIR are skipped, so "
    "rerunning the same command after an interruption computes only what is missing. "
    "Exit status: 0 when every cell is finished, 1 when some cells failed (see "
    "DIR/failures/), 2 on a usage or config error.\n\n"
    "Config fields:\n\n"
)


class _RunByDefault(TyperGroup):
    """A group whose first argument, if it is not a sub-command, goes to ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


class _LazyHelpCommand(TyperCommand):
    """A command whose long help (the config fields) is built only when shown."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.help = _run_help()
        super().format_help(ctx, formatter)


def _run_help() -> str:
    from rich.markup import escape

    from neuroalign.batch.config import config_help

    fields = "\n\n".join(f"  {escape(line)}" for line in config_help().splitlines())
    return _RUN_HELP + fields


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""
    batch = typer.Typer(
        cls=_RunByDefault,
        help="Grids of comparisons on dask.distributed: 'neuroalign batch CONFIG.yaml --out "
        "DIR' runs one, 'neuroalign batch status DIR' counts its cells.",
        invoke_without_command=True,
    )

    @batch.callback()
    def _show_help_without_command(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())

    @batch.command("run", cls=_LazyHelpCommand, short_help=_RUN_HELP.split("\n")[0],
                   help=_RUN_HELP)
    def run_cmd(
        config: Annotated[Path, typer.Argument(help="Batch config (YAML).")],
        out: Annotated[Path, typer.Option("--out", help="Batch folder for the results.")],
        scheduler: Annotated[str | None, typer.Option(
            "--scheduler", help="Address of a running dask scheduler, e.g. "
            "tcp://host:8786; default: a local cluster.")] = None,
        workers: Annotated[int | None, typer.Option(
            "--workers", min=1, help="Worker processes of the local cluster "
            "(default: number of CPUs).")] = None,
        retry_failed: Annotated[bool, typer.Option(
            "--retry-failed", help="Recompute cells that failed in an earlier run.")] = False,
        fail_fast: Annotated[bool, typer.Option(
            "--fail-fast", help="Stop at the first failing cell.")] = False,
    ) -> None:
        from rich.console import Console

        from neuroalign.batch.config import load_config
        from neuroalign.batch.runner import run_batch

        cfg = load_config(config)
        console = Console(stderr=True)
        summary = run_batch(cfg, out, scheduler=scheduler, workers=workers,
                            retry_failed=retry_failed, fail_fast=fail_fast, console=console)
        _print_summary(summary)
        if not summary.ok:
            raise typer.Exit(code=1)

    @batch.command("status", help="Count the done, failed and pending cells of a batch "
                   "folder.")
    def status_cmd(
        out: Annotated[Path, typer.Argument(help="Batch folder (the --out of a run).")],
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")
                            ] = False,
    ) -> None:
        import json

        from neuroalign.batch.store import BatchStore

        store = BatchStore(out)
        counts = store.status().as_dict()
        if json_out:
            typer.echo(json.dumps(counts))
            return
        typer.echo(f"{out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for key in sorted(store.failed_keys() & set(store.planned_keys()))[:10]:
            rec = store.failure(key)
            typer.echo(f"  failed {key[:12]}: {rec['error_type']}: {rec['message']}")

    app.add_typer(batch, name="batch")


def _print_summary(summary: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"batch {summary.out}", show_header=True)
    for col in ("cells", "done", "skipped", "failed", "failed before", "time"):
        table.add_column(col, justify="right")
    table.add_row(str(summary.total), str(summary.done), str(summary.skipped),
                  str(summary.failed), str(summary.failed_before), f"{summary.seconds:.1f} s")
    console = Console()
    console.print(table)
    for key, err in list(summary.failures.items())[:10]:
        console.print(f"failed {key[:12]}: {err}", markup=False, highlight=False,
                      soft_wrap=True)
    if summary.failed or summary.failed_before:
        console.print(f"failure records: {Path(summary.out) / 'failures'}; rerun with "
                      "--retry-failed to recompute them", markup=False, highlight=False,
                      soft_wrap=True)
