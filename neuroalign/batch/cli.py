"""Command-line commands of ``neuroalign.batch``.

``neuroalign batch CONFIG.yaml --out DIR`` runs a grid (``batch run`` is the same);
``neuroalign batch status DIR`` counts its cells; ``neuroalign batch compact DIR``
merges its parts into a few large files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from neuroalign.core.cli import lazy_help_command

if TYPE_CHECKING:
    # typer carries its own copy of click; its command classes are annotated with it
    from typer._click import Context

_RUN_HELP = (
    "Run a grid of comparisons on dask.distributed (resumable).\n\n"
    "CONFIG is a YAML file with the fields below. Finished cells in DIR are skipped, so "
    "rerunning the same command after an interruption computes only what is missing. "
    "Exit status: 0 when every cell is finished, 1 when some cells failed (see "
    "DIR/failures.jsonl), 2 on a usage or config error (or when another run is writing "
    "into DIR).\n\n"
    "A config is data: it may name only neuroalign's own cell function and loaders "
    "unless --allow-code is given (other engine functions are code run on every "
    "worker).\n\n"
    "Config fields:\n\n"
)


class _RunByDefault(TyperGroup):
    """A group whose first argument, if it is not a sub-command, goes to ``run``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


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
        "DIR' runs one, 'neuroalign batch status DIR' counts its cells, 'neuroalign batch "
        "compact DIR' merges its result files.",
        invoke_without_command=True,
    )

    @batch.callback()
    def _show_help_without_command(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())

    @batch.command("run", cls=lazy_help_command(_run_help), short_help=_RUN_HELP.split("\n")[0],
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
        chunk_size: Annotated[int | None, typer.Option(
            "--chunk-size", min=1, help="Cells per dask task (default: the config's "
            "chunk_size, else chosen from the grid and the cluster).")] = None,
        allow_code: Annotated[bool, typer.Option(
            "--allow-code", help="Allow engine functions other than neuroalign's own "
            "(the config's engine: file.py:function or module:function), which run as "
            "code on every worker, and read the agents' sb3 .zip files with "
            "Stable-Baselines3's own loader (which unpickles).")] = False,
        host: Annotated[str, typer.Option(
            "--host", help="Interface the local cluster's scheduler and workers listen "
            "on.")] = "127.0.0.1",
        dashboard: Annotated[str, typer.Option(
            "--dashboard", help="Address of the local cluster's dashboard, e.g. "
            "0.0.0.0:8787 to open it to the network; 'none' for no dashboard.")
        ] = "127.0.0.1:0",
    ) -> None:
        from rich.console import Console

        from neuroalign.batch.config import load_config
        from neuroalign.batch.runner import run_batch

        cfg = load_config(config)
        if allow_code:
            from neuroalign.core.config import with_code_allowed

            cfg = cfg.model_copy(update={"agents": with_code_allowed(cfg.agents)})
        console = Console(stderr=True)
        summary = run_batch(cfg, out, scheduler=scheduler, workers=workers,
                            retry_failed=retry_failed, fail_fast=fail_fast, console=console,
                            chunk_size=chunk_size, allow_code=allow_code, host=host,
                            dashboard=None if dashboard.lower() == "none" else dashboard)
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
        parts = store.parts()
        counts = store.status(parts).as_dict()
        if json_out:
            typer.echo(json.dumps(counts))
            return
        typer.echo(f"{out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for part in [p for p in parts if not p.ok][:10]:
            typer.echo(f"  corrupt {part.path.name}: {part.problem}; its "
                       f"{len(part.keys)} cells are pending (the next run recomputes them)")
        done = store.done_keys(parts)
        for key in sorted(store.failed_keys(done) & set(store.planned_keys()))[:10]:
            rec = store.failure(key)
            typer.echo(f"  failed {key[:12]}: {rec['error_type']}: {rec['message']}")

    @batch.command("compact", help="Merge the result parts of a batch folder into a few "
                   "large files (finished cells stay finished; a rerun resumes as before).")
    def compact_cmd(
        out: Annotated[Path, typer.Argument(help="Batch folder (the --out of a run).")],
        max_rows: Annotated[int, typer.Option(
            "--max-rows", min=1, help="Rows per merged file.")] = 2_000_000,
    ) -> None:
        from neuroalign.batch.store import compact

        info = compact(out, max_rows=max_rows)
        typer.echo(f"{out}: {info['parts_before']} parts -> {info['parts_after']} "
                   f"({info['cells']} cells, {info['rows']} rows)")

    app.add_typer(batch, name="batch")


def _print_summary(summary: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"batch {summary.out}", show_header=True)
    for col in ("cells", "done", "skipped", "failed", "failed before", "tasks", "time"):
        table.add_column(col, justify="right")
    table.add_row(str(summary.total), str(summary.done), str(summary.skipped),
                  str(summary.failed), str(summary.failed_before), str(summary.chunks),
                  f"{summary.seconds:.1f} s")
    console = Console()
    console.print(table)
    if summary.corrupt:
        console.print(f"{summary.corrupt} result parts failed their check and were moved to "
                      f"{Path(summary.out) / 'corrupt'}; their cells were computed again",
                      markup=False, highlight=False, soft_wrap=True)
    for key, err in list(summary.failures.items())[:10]:
        console.print(f"failed {key[:12]}: {err}", markup=False, highlight=False,
                      soft_wrap=True)
    if summary.failed or summary.failed_before:
        console.print(f"failure records: {Path(summary.out) / 'failures.jsonl'}; rerun with "
                      "--retry-failed to recompute them", markup=False, highlight=False,
                      soft_wrap=True)
