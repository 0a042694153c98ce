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
    """The results table of a batch folder or a run's report folder.

    Raises
    ------
    SourceError
        ``folder`` is neither.
    """
    from neuroalign.core.errors import SourceError

    folder = Path(folder)
    if (folder / "results.parquet").is_file():
        import pandas as pd

        return pd.read_parquet(folder / "results.parquet")
    from neuroalign.batch.store import PLAN_FILE, load_results

    if not (folder / PLAN_FILE).is_file():
        raise SourceError(f"study input {folder}: holds neither {PLAN_FILE} (a batch folder) "
                          "nor results.parquet (a run's report folder)")
    return load_results(folder)


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
        equivalence_margin: Annotated[str | None, typer.Option(
            "--equivalence-margin", help="Equivalence margin: a number, or per hypothesis, "
            "e.g. H2=0.2,H1=0.2; a test inside +-margin (corrected) is absent.")] = None,
    ) -> None:
        from rich.console import Console

        from neuroalign.study import run_study, write_study

        results = load_study_input(folder)
        from neuroalign.study.sensitivity import parse_margin

        study = run_study(results, n_boot=n_boot, level=level, correction=correction,
                          seed=seed, equivalence_margin=parse_margin(equivalence_margin))
        target = write_study(out if out is not None else folder, study)
        console = Console()
        print_verdict(study, console)
        console.print(f"study.csv: [bold]{target}[/bold]")


def print_verdict(study, console) -> None:
    """The verdict in plain words on a rich console."""
    console.print("[bold]Verdict[/bold]")
    for line in study.lines:
        console.print(f"  {line}", highlight=False)
