"""Command-line command of ``neuroalign.study``: ``neuroalign study DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    (:func:`neuroalign.study.inputs.read_results`: one schema, older tables migrated).

    Raises
    ------
    SourceError
        ``folder`` is neither.
    """
    from neuroalign.study.inputs import read_results

    return read_results(folder)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""

    @app.command("study", help=_HELP)
    def study_cmd(
        folder: Annotated[Path, typer.Argument(help="Batch folder or report folder.")],
        out: Annotated[Path | None, typer.Option(
            "--out", help="Where to write study.csv (default: DIR/study.csv).")] = None,
        correction: Annotated[str | None, typer.Option(
            "--correction", help="holm (family-wise) or bh (false discovery rate); "
            "default: the config's study section, else holm.")] = None,
        n_boot: Annotated[int | None, typer.Option(
            "--n-boot", help="Hierarchical bootstrap replicates per test; default: the "
            "config's study section, else 4000.")] = None,
        level: Annotated[float | None, typer.Option(
            "--level", help="Level of the study's intervals (p-values do not depend on "
            "it); default: the config's study section, else the cells' ci.")] = None,
        alpha: Annotated[float | None, typer.Option(
            "--alpha", help="Level of the corrected tests; default: the config's study "
            "section, else 0.05.")] = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", help="Seed of the resampling; default: the config's study section, "
            "else the cells' seed.")] = None,
        equivalence_margin: Annotated[str | None, typer.Option(
            "--equivalence-margin", help="Equivalence margin: a number, or per hypothesis, "
            "e.g. H2=0.2,H1=0.2; a test inside +-margin (corrected) is absent.")] = None,
    ) -> None:
        from rich.console import Console

        from neuroalign.study import run_study, write_study

        results = load_study_input(folder)
        from neuroalign.study.sensitivity import parse_margin

        kwargs = study_settings(folder, n_boot=n_boot, level=level, alpha=alpha,
                                correction=correction, seed=seed,
                                equivalence_margin=parse_margin(equivalence_margin))
        study = run_study(results, **kwargs)
        target = write_study(out if out is not None else folder, study)
        console = Console()
        print_verdict(study, console)
        console.print(f"study.csv: [bold]{target}[/bold]")


def study_settings(folder: Path, **flags: Any) -> dict[str, Any]:
    """The settings of ``run_study`` for ``folder``: the flags that are not ``None``, over
    the ``study:`` section its run or batch recorded, over the defaults
    (:class:`~neuroalign.core.config.StudyOptions`; the level and seed default to the
    cells' ``ci`` and ``seed``).

    Raises
    ------
    ConfigError
        A recorded or given setting is invalid (``field: got X; expected Y``).
    """
    from neuroalign.core.config import StudyOptions, validate_model
    from neuroalign.core.results import DEFAULT_CELL_LEVEL
    from neuroalign.study.inputs import recorded_settings

    recorded = recorded_settings(folder)
    study = validate_model(StudyOptions, recorded.get("study", {}), f"{folder}: study")
    given = {k: v for k, v in flags.items() if v is not None}
    study = validate_model(StudyOptions, {**study.model_dump(exclude_unset=True), **given},
                           "neuroalign study")
    return study.study_kwargs(ci=recorded.get("ci", DEFAULT_CELL_LEVEL),
                              seed=recorded.get("seed", 0))


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
        console.print(f"  {line}", highlight=False, markup=False)
