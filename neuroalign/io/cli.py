"""Command-line commands of ``neuroalign.io``: ``inspect``, ``import`` and ``convert``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from neuroalign.core.contracts import DEFAULT_BIN_SIZE, DEFAULT_WINDOW

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
    if info["profile"] is None:
        console.print(f"profile: none detected ({info['profile_reason']}); import with "
                      f"--profile NAME (one of {', '.join(info['profiles_known'])}) or "
                      "--profile generic --mapping '{column: {value: valence}}'",
                      markup=False)
    else:
        console.print(f"profile: {info['profile']} ({info['profile_reason']})")
    cols = info.get("profile_columns") or {}
    if cols.get("table"):
        console.print(
            f"reads {cols['table']}.{cols['valence_column']}; --align outcome uses "
            f"{cols['outcome_time_column'] or '(no outcome-time column: cannot align)'}, "
            f"--align cue uses {cols['cue_time_column'] or '(no cue column: cannot align)'}")
        console.print("labels: " + ", ".join(f"{k} -> {v}" for k, v in cols["labels"].items()))
    if info["valence_counts"]:
        console.print("valence events: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(info["valence_counts"].items())))
    for warning in info["warnings"]:
        console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def _import(
    source: str = typer.Argument(..., help="NWB path, http(s) URL or dandi://<id>[@<ver>]/<path>"),
    profile: str = typer.Option("auto", "--profile", help="auto, ibl, steinmetz, amygdala, "
                                "photometry or generic (with --mapping)."),
    align: str = typer.Option("outcome", "--align", help="outcome, cue or a time column."),
    window: tuple[float, float] = typer.Option(
        DEFAULT_WINDOW, "--window", help="START STOP in seconds around the alignment event."),
    bin_size: float = typer.Option(DEFAULT_BIN_SIZE, "--bin", help="Bin size in seconds (> 0)."),
    out: Path = typer.Option(..., "--out", help="New (or empty) output folder."),
    mapping: str | None = typer.Option(
        None, "--mapping", help='JSON {column: {value: valence}} for the generic profile.'),
    outside: str = typer.Option("error", "--outside", help="error or drop events outside "
                                "the recording."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing output folder (once complete)."),
    align_offset: float = typer.Option(0.0, "--align-offset",
                                       help="Seconds added to every alignment time."),
    region_groups: bool = typer.Option(False, "--region-groups", help="Pool fine atlas "
                                       "acronyms into coarser groups (acronym kept)."),
    series: str | None = typer.Option(
        None, "--series", help="Imaging files: the RoiResponseSeries to read (e.g. an "
        "exported agent's layer, trunk.1); default: the only or first one."),
    max_memory: str | None = typer.Option(
        None, "--max-memory", help="Refuse results larger than this, e.g. 16GiB (default: "
        "$NEUROALIGN_MAX_MEMORY, else 8GiB)."),
) -> None:
    """Bin a recording around its events; write DIR/responses.nc and DIR/manifest.json.

    Prints how many trials of each label were kept and dropped, and why.
    """
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
    import warnings

    from neuroalign.io.accounting import TrialAccount

    with warnings.catch_warnings():  # the trial counts are printed below instead
        warnings.filterwarnings("ignore", message=r".*trial\(s\) left out", category=RuntimeWarning)
        responses = load_responses(source, profile=profile, align=align, window=window,
                                   bin_size=bin_size, cache_dir=cache_dir, mapping=parsed,
                                   outside=outside, progress=True, align_offset=align_offset,
                                   region_groups=region_groups, imaging_series=series,
                                   max_memory=max_memory)
    account = TrialAccount.from_json(responses.attrs["trial_counts"])
    manifest = {
        "files": ["responses.nc"],
        "dims": list(responses.dims),
        "shape": [int(n) for n in responses.shape],
        "command": {"source": source, "profile": profile, "align": align,
                    "align_offset": align_offset, "window": list(window), "bin": bin_size,
                    "region_groups": region_groups},
        "trial_counts": account.to_dict(),
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
    typer.echo("trials per label: " + "; ".join(account.lines()))
    typer.echo(f"wrote {out / 'responses.nc'} {tuple(responses.shape)} and manifest.json")


def _convert(
    source: Path = typer.Argument(..., help="A .npz of binned counts (no pickled objects)."),
    out: Path = typer.Option(..., "--out", help="NWB file to write."),
    layout: str = typer.Option("steinmetz", "--layout", help="Key names: 'steinmetz' or a "
                               "JSON file of layout fields (see neuroalign.io.convert)."),
    regions: str | None = typer.Option(None, "--regions", help="Comma-separated areas to "
                                       "keep (default: every neuron)."),
    session: str | None = typer.Option(None, "--session", help="Session id (default: the "
                                       "file name)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Write binned spike counts (.npz) as NWB; spike times at bin resolution (bin centres)."""
    from neuroalign.io.convert import convert_binned
    from neuroalign.io.load import inspect_source

    keep = [r.strip() for r in regions.split(",") if r.strip()] if regions else None
    path = convert_binned(source, out, layout, regions=keep, session=session,
                          overwrite=overwrite)
    info = inspect_source(path)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {info['n_units']} units "
               f"in {len(info['regions'])} area(s), {len(_trial_rows(path))} trials; labels "
               + ", ".join(f"{k}: {v}" for k, v in sorted(info["valence_counts"].items()))
               + "; spike times at bin resolution (bin centres)")


def _trial_rows(path: Path) -> Any:
    import h5py

    with h5py.File(path) as f:
        return f["intervals/trials/id"][()]


def _unique(values: Any) -> tuple[list[Any], list[int]]:
    import numpy as np

    names, counts = np.unique(np.asarray(values), return_counts=True)
    return names.tolist(), counts.tolist()


def register(app: typer.Typer) -> None:
    """Add this part's commands to the top-level ``app``."""
    app.command("inspect")(_inspect)
    app.command("import")(_import)
    app.command("convert")(_convert)
