"""Command-line command of ``neuroalign.study``: ``neuroalign study DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

_HELP = (
    "Test the hypotheses on the results of a batch folder (or a run's report folder) and "
    "print the verdict.\n\n"
    "DIR is the --out of `neuroalign batch` (its finished cells are read) or a report "
    "folder of `neuroalign run` (its results.parquet). Writes study.csv (one row per test: "
    "estimate, hierarchical bootstrap interval, raw and corrected p, verdict) into DIR, or "
    "to --out."
)


def load_study_input(folder: Path):
    """The results table of a batch folder or a run's report folder
    (:func:`neuroalign.core.results.read_results`: one schema, older tables migrated).

    Raises
    ------
    SourceError
        ``folder`` is neither.
    """
    from neuroalign.core.results import read_results

    return read_results(folder)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""

    @app.command("study", help=_HELP)
    def study_cmd(
        folder: Annotated[Path, typer.Argument(help="Batch folder or report folder.")],
        out: Annotated[Path | None, typer.Option(
            "--out", help="Where to write study.csv (default: DIR/study.csv).")] = None,
        correction: Annotated[str, typer.Option(
            "--correction", help="holm (family-wise) or bh (false discovery rate).")] = "holm",
        n_boot: Annotated[int, typer.Option(
            "--n-boot", help="Hierarchical bootstrap replicates per test.")] = 4000,
        level: Annotated[float, typer.Option("--level", help="Interval level.")] = 0.95,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the resampling.")] = 0,
    ) -> None:
        from rich.console import Console

        from neuroalign.study import run_study, write_study

        results = load_study_input(folder)
        study = run_study(results, n_boot=n_boot, level=level, correction=correction,
                          seed=seed)
        target = write_study(out if out is not None else folder, study)
        console = Console()
        print_verdict(study, console)
        console.print(f"study.csv: [bold]{target}[/bold]")


def print_verdict(study, console) -> None:
    """The verdict in plain words on a rich console."""
    console.print("[bold]Verdict[/bold]")
    for line in study.lines:
        console.print(f"  {line}", highlight=False)
