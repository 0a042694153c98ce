"""Command-line commands of ``neuroalign.simulate``."""

from __future__ import annotations

from pathlib import Path

import typer

from neuroalign.simulate.sizes import DEFAULT_TRIALS_PER_VALENCE, DEFAULT_UNITS_PER_REGION


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""

    @app.command("simulate")
    def simulate(
        out: Path = typer.Option(..., "--out", help="Output folder (must not exist or be "
                                 "empty); written atomically."),
        sessions: int = typer.Option(3, "--sessions", help="Number of sessions."),
        seed: int = typer.Option(0, "--seed", help="Dataset seed; the same seed gives the "
                                 "same files byte for byte."),
        units: int = typer.Option(DEFAULT_UNITS_PER_REGION, "--units",
                                  help="Units per region."),
        trials: int = typer.Option(DEFAULT_TRIALS_PER_VALENCE, "--trials",
                                   help="Sucrose and shock trials each per session."),
        overwrite: bool = typer.Option(False, "--overwrite",
                                       help="Replace an existing output folder."),
    ) -> None:
        """Write synthetic NWB sessions with planted valence geometry (marked SYNTHETIC).

        Regions BLA (wall around danger), NAc (wall around reward) and mPFC
        (symmetric); the region -> planting assignment is arbitrary.
        """
        from neuroalign.simulate.dataset import make_dataset

        files = make_dataset(out, n_sessions=sessions, seed=seed, n_units_per_region=units,
                             n_trials_per_valence=trials, overwrite=overwrite)
        for path in files:
            typer.echo(str(path))
        typer.echo(f"wrote {len(files)} synthetic sessions to {out}")
