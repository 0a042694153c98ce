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


_PLAN_HELP = (
    "How many animals (sessions per animal) or seeds each test needs, planned on a pilot.\n\n"
    "DIR is a pilot study: a batch folder or a run's report folder. The variance at each "
    "level (animal, session, trial; algorithm, seed, repetition) is estimated from its "
    "cells, and for each test the smallest design is found at which the study's test "
    "(hierarchical bootstrap, corrected over the pilot's tests) detects an effect of size "
    "--effect with the given power (docs/parts/study.md, Planning)."
)


def register_plan(app: typer.Typer) -> None:
    """Add ``neuroalign plan`` to the top-level ``app``."""

    @app.command("plan", help=_PLAN_HELP)
    def plan_cmd(
        folder: Annotated[Path, typer.Argument(help="Pilot: batch folder or report folder.")],
        effect: Annotated[float, typer.Option(
            "--effect", help="|effect| to detect (A for H1 and H2, a difference of "
            "similarities for H3).")],
        power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
        hypothesis: Annotated[str | None, typer.Option(
            "--hypothesis", help="Only this hypothesis: H1, H2 or H3.")] = None,
        as_json: Annotated[bool, typer.Option(
            "--json", help="A JSON list of objects (hypothesis, subject, effect, power, "
            "animals, sessions_per_animal, seeds, ...; null where a level does not "
            "apply).")] = False,
        alpha: Annotated[float, typer.Option("--alpha", help="Family-wise level.")] = 0.05,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the resampling.")] = 0,
        n_sim: Annotated[int, typer.Option(
            "--n-sim", help="Planted studies that check each H1 and H2 design (0: the "
            "analytic design alone).")] = 300,
    ) -> None:
        import json

        from rich.console import Console
        from rich.table import Table

        from neuroalign.study.plan import plan_study

        table = plan_study(folder, effect, power=power, hypothesis=hypothesis, alpha=alpha,
                           seed=seed, n_sim=n_sim)
        records = table.astype(object).where(table.notna(), None).to_dict("records")
        if as_json:
            typer.echo(json.dumps(records, indent=1))
            return
        view = Table(title=f"Design to detect |effect| = {effect:g} with {power:.0%} power "
                           f"(per-test alpha {table['alpha_test'].iloc[0]:.2g})"
                     if len(table) else "No test to plan")
        for col in ("hypothesis", "subject", "pilot", "power now", "needed", "note"):
            view.add_column(col)
        for r in records:
            pilot = (f"{r['pilot_animals']} animals" if r["pilot_animals"] is not None
                     else f"{r['pilot_seeds']} seeds" if r["pilot_seeds"] is not None else "")
            needed = (f"{r['animals']} animals x {r['sessions_per_animal']} sessions"
                      if r["animals"] is not None else
                      f"{r['seeds']} seeds per algorithm"
                      if r["seeds"] is not None and r["hypothesis"] == "H1" else "-")
            now = f"{r['power_at_pilot']:.2f}" if r["power_at_pilot"] is not None else ""
            view.add_row(r["hypothesis"], r["subject"], pilot, now, needed, r["note"] or "")
        Console(width=160).print(view)


def print_verdict(study, console) -> None:
    """The verdict in plain words on a rich console."""
    console.print("[bold]Verdict[/bold]")
    for line in study.lines:
        console.print(f"  {line}", highlight=False)
