"""Command-line commands of ``neuroalign.io``: ``inspect`` and ``import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]


def _inspect(
    source: str = typer.Argument(..., help="NWB path, http(s) URL or dandi://<id>[@<ver>]/<path>"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder."),
) -> None:
    """Regions with unit counts, event tables with their columns, detected profile."""
    from neuroalign.io.load import inspect_source

    info = inspect_source(source, cache_dir=cache_dir)
    if as_json:
        typer.echo(json.dumps(info, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{info['source']}[/bold]  NWB {info['nwb_version']}  "
                  f"{info['n_units']} unit(s) ({info['kind']})")
    regions = Table("region", "units", title="regions")
    for name, count in sorted(info["regions"].items()):
        regions.add_row(name, str(count))
    console.print(regions)
    tables = Table("table", "columns", title="event tables")
    for name, cols in info["tables"].items():
        tables.add_row(name, ", ".join(cols))
    console.print(tables)
    console.print(f"profile: {info['profile']} ({info['profile_reason']})")
    if info["valence_counts"]:
        console.print("valence events: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(info["valence_counts"].items())))


def _import(
    source: str = typer.Argument(..., help="NWB path, http(s) URL or dandi://<id>[@<ver>]/<path>"),
    profile: str = typer.Option("auto", "--profile", help="auto, ibl, steinmetz, amygdala, "
                                "photometry or generic (with --mapping)."),
    align: str = typer.Option("outcome", "--align", help="outcome, cue or a time column."),
    window: tuple[float, float] = typer.Option(
        (-2.0, 1.0), "--window", help="START STOP in seconds around the alignment event."),
    bin_size: float = typer.Option(0.25, "--bin", help="Bin size in seconds (> 0)."),
    out: Path = typer.Option(..., "--out", help="New (or empty) output folder."),
    mapping: str | None = typer.Option(
        None, "--mapping", help='JSON {column: {value: valence}} for the generic profile.'),
    outside: str = typer.Option("error", "--outside", help="error or drop events outside "
                                "the recording."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing output folder (once complete)."),
    max_memory: str | None = typer.Option(
        None, "--max-memory", help="Refuse results larger than this, e.g. 16GiB (default: "
        "$NEUROALIGN_MAX_MEMORY, else 8GiB)."),
) -> None:
    """Bin a recording around its events; write DIR/responses.nc and DIR/manifest.json."""
    from neuroalign.core.atomic import atomic_dir, prepare_output_dir
    from neuroalign.core.errors import ConfigError
    from neuroalign.io.load import load_responses
    from neuroalign.io.store import save_store

    prepare_output_dir(out, overwrite=overwrite)
    if max_memory is not None:
        from neuroalign.core.limits import parse_size

        parse_size(max_memory, "--max-memory")
    parsed: dict[str, Any] | None = None
    if mapping is not None:
        try:
            parsed = json.loads(mapping)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--mapping: not valid JSON ({err}); expected "
                              '\'{"column": {"value": 1, "other": -1}}\'') from None
    responses = load_responses(source, profile=profile, align=align, window=window,
                               bin_size=bin_size, cache_dir=cache_dir, mapping=parsed,
                               outside=outside, progress=True, max_memory=max_memory)
    manifest = {
        "files": ["responses.nc"],
        "dims": list(responses.dims),
        "shape": [int(n) for n in responses.shape],
        "command": {"source": source, "profile": profile, "align": align,
                    "window": list(window), "bin": bin_size},
        "attrs": {k: (v.tolist() if hasattr(v, "tolist") else v)
                  for k, v in responses.attrs.items()},
        "regions": {str(k): int(v) for k, v in
                    zip(*_unique(responses["region"].values), strict=True)},
        "valences": {str(k): int(v) for k, v in
                     zip(*_unique(responses["valence"].values), strict=True)},
    }
    with atomic_dir(out, overwrite=overwrite) as tmp:
        save_store(responses, tmp / "responses.nc")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    typer.echo(f"wrote {out / 'responses.nc'} {tuple(responses.shape)} and manifest.json")


def _unique(values: Any) -> tuple[list[Any], list[int]]:
    import numpy as np

    names, counts = np.unique(np.asarray(values), return_counts=True)
    return names.tolist(), counts.tolist()


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""
    app.command("inspect")(_inspect)
    app.command("import")(_import)
