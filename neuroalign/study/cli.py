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
    ) -> None:
        from rich.console import Console

        from neuroalign.study import run_study, write_study

        results = load_study_input(folder)
        kwargs = study_settings(folder, n_boot=n_boot, level=level, alpha=alpha,
                                correction=correction, seed=seed)
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


def print_verdict(study, console) -> None:
    """The verdict in plain words on a rich console."""
    console.print("[bold]Verdict[/bold]")
    for line in study.lines:
        console.print(f"  {line}", highlight=False)
