"""The main job: every agent/layer against every session/region, then the report.

:func:`run_pipeline` validates the configuration against the zoo and the data
*before* it computes anything, computes every cell with
:func:`~neuroalign.pipeline.cell.compute_cell`, and writes the report folder
atomically: everything is built in a hidden temporary folder beside the target
and renamed into place only when complete, so an interrupted run leaves no
half-written report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from neuroalign.core import results as seam
from neuroalign.core.atomic import atomic_dir, prepare_output_dir
from neuroalign.core.config import check_agent_names
from neuroalign.core.errors import ConfigError, DataError, ValidationError
from neuroalign.core.progress import progress_bar
from neuroalign.core.workers import forked_map
from neuroalign.pipeline.cell import ROW_COLUMNS, score_cell, side_rows
from neuroalign.pipeline.config import RunConfig
from neuroalign.pipeline.loaders import (
    load_brain_patterns,
    model_patterns_by_layer,
    valence_time_grid,
)
from neuroalign.pipeline.sides import Side, prepare_side

__all__ = [
    "ModelKey",
    "RunArtifacts",
    "RunInputs",
    "RunResult",
    "artifacts",
    "compute_all",
    "load_inputs",
    "resolve_agents",
    "run_pipeline",
]

#: (agent, family, task, seed, layer)
ModelKey = tuple[str, str, str, int, str]


@dataclass
class RunInputs:
    """Everything a run compares: brain and model patterns, keyed by who they are.

    ``brain_sides`` and ``model_sides`` hold the prepared sides
    (:class:`~neuroalign.pipeline.sides.Side`) once :func:`compute_all` made them.
    On the contrast grid, ``geometry`` holds each side's valence x approach grid
    (a region's own, an agent's probe averaged over contrast levels), keyed like
    ``brain`` and ``models``; the geometry is computed there.
    """

    brain: dict[tuple[str, str], xr.DataArray]
    models: dict[ModelKey, xr.DataArray]
    sources: list[str] = field(default_factory=list)
    geometry: dict[tuple, xr.DataArray] = field(default_factory=dict)
    brain_sides: dict[tuple[str, str], Side] = field(default_factory=dict)
    model_sides: dict[ModelKey, Side] = field(default_factory=dict)


@dataclass
class RunArtifacts:
    """What the report draws besides the tables, as the pipeline computed it.

    Keys are ``("brain", session, region)`` and ``("model", agent, family,
    task, seed, layer)``. ``rdms``: each side's RDM over its own grid (the one
    RSA compared); ``profiles``: each side's geometry profiles (approach x
    valence, with intervals); ``means``: condition means ``(condition, unit)`` of
    the valence x approach grid of each side's geometry, with a ``label`` coord;
    ``n_units``: units per side.
    """

    rdms: dict[tuple, xr.DataArray] = field(default_factory=dict)
    profiles: dict[tuple, xr.Dataset] = field(default_factory=dict)
    means: dict[tuple, xr.DataArray] = field(default_factory=dict)
    n_units: dict[tuple, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    synthetic: bool = False
    data_notes: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """What :func:`run_pipeline` made."""

    out: Path
    results: pd.DataFrame
    elapsed_s: float
    n_cells: int
    figures: list[Path]
    study: Any = None


def _zoo_table() -> list[dict[str, Any]]:
    from neuroalign.zoo import list_agents

    table = []
    for entry in list_agents():
        rec = entry if isinstance(entry, dict) else getattr(entry, "__dict__", {})
        table.append(dict(rec))
    return table


def resolve_agents(config: RunConfig) -> list[tuple[str, str, str, int, list[str] | None]]:
    """``(agent, family, task, seed, layers)`` for every configured agent and seed.

    A foreign agent (``sb3`` or ``activations``) is one entry with seed 0 and its
    declared family.

    Raises
    ------
    ConfigError
        An agent not in the zoo, a task it was not made for, a seed with no shipped
        checkpoint (the message lists what is available), or a foreign agent's name
        that clashes with a zoo agent's or another agent's.
    """
    zoo = {str(rec["name"]): rec for rec in _zoo_table()}
    specs = config.agents
    if specs is None:
        from neuroalign.pipeline.config import AgentSpec

        # the default: every agent with a shipped checkpoint on the grid's task (never train)
        task = "contrast" if config.grid == "contrast" else "pavlovian"
        specs = [AgentSpec(name=name, task=task) for name, rec in zoo.items()
                 if task in _tasks_of(rec) and _seeds_of(rec, task)]
        if not specs:
            raise ConfigError(f"agents: no zoo agent has a shipped checkpoint on the {task} "
                              f"task; zoo agents: {sorted(zoo)}")
    check_agent_names(specs, zoo)
    out = []
    for i, spec in enumerate(specs):
        if spec.is_foreign:  # one saved model or activations file, its declared family
            out.append((spec.name, str(spec.family), spec.task, 0,
                        list(spec.layers) if spec.layers else None))
            continue
        if spec.name not in zoo:
            raise ConfigError(
                f"agents[{i}].name: {spec.name!r} is not in the zoo; available: {sorted(zoo)}"
            )
        rec = zoo[spec.name]
        tasks = _tasks_of(rec)
        if tasks and spec.task not in tasks:
            raise ConfigError(
                f"agents[{i}].task: {spec.task!r} is not a task of {spec.name!r}; "
                f"available: {sorted(tasks)}"
            )
        shipped = _seeds_of(rec, spec.task)
        seeds = list(spec.seeds) if spec.seeds is not None else shipped
        if not seeds:
            raise ConfigError(
                f"agents[{i}]: {spec.name!r} has no shipped checkpoint on {spec.task!r}; "
                f"name `seeds` and train them first (`neuroalign zoo train {spec.name} "
                f"--task {spec.task} --seed S`)"
            )
        missing = [s for s in seeds if not _has_checkpoint(spec.name, spec.task, s)]
        if missing:
            raise ConfigError(
                f"agents[{i}].seeds: {missing} have no shipped or cached checkpoint for "
                f"{spec.name!r} on {spec.task!r}; shipped seeds: {shipped}. Train one with "
                f"`neuroalign zoo train {spec.name} --task {spec.task} --seed {missing[0]}`"
            )
        family = str(rec.get("family", ""))
        for seed in seeds:
            out.append((spec.name, family, spec.task, int(seed),
                        list(spec.layers) if spec.layers else None))
    return out


def _has_checkpoint(agent: str, task: str, seed: int) -> bool:
    """Whether a shipped or cached checkpoint exists (a run never trains silently)."""
    from neuroalign.zoo import checkpoint_path

    return checkpoint_path(agent, task, int(seed)) is not None


def _tasks_of(rec: dict[str, Any]) -> list[str]:
    tasks = rec.get("tasks", [])
    return [str(t) for t in (tasks if not isinstance(tasks, str) else [tasks])]


def _seeds_of(rec: dict[str, Any], task: str) -> list[int]:
    seeds = rec.get("shipped_seeds", rec.get("seeds", []))
    if isinstance(seeds, dict):
        seeds = seeds.get(task, [])
    return sorted(int(s) for s in seeds)


@contextmanager
def _progress(enabled: bool, console: Any) -> Iterator[Any]:
    """A rich progress display (or a silent stand-in when disabled)."""
    if not enabled:
        yield None
        return
    with progress_bar(console) as prog:
        yield prog


def _advance(prog: Any, task: Any, description: str | None = None) -> None:
    if prog is not None:
        prog.update(task, advance=1, **({"description": description} if description else {}))


def _advance_by(prog: Any, task: Any, steps: int) -> None:
    if prog is not None and steps:
        prog.update(task, advance=steps)


def _add_task(prog: Any, description: str, total: int) -> Any:
    return prog.add_task(description, total=total) if prog is not None else None


def load_inputs(config: RunConfig, *, prog: Any = None,
                max_memory: int | str | None = None) -> RunInputs:
    """Load every session/region and probe every agent/layer of ``config``.

    ``max_memory`` is the memory limit of every recording's responses (see
    :func:`neuroalign.core.limits.max_memory`).

    Raises
    ------
    ConfigError
        A configured region that no session of its source has, an agent not in
        the zoo, or two sources yielding the same session name.
    DataError
        No session/region with at least ``min_units`` units.
    """
    agents = resolve_agents(config)  # zoo check first: cheap and most common mistake
    sources = config.resolved_sources()
    brain: dict[tuple[str, str], xr.DataArray] = {}
    geometry: dict[tuple, xr.DataArray] = {}
    task = _add_task(prog, "loading sessions", len(sources))
    for i, spec in enumerate(sources):
        got = load_brain_patterns(spec.model_copy(update={"regions": None}),
                                  cache_dir=config.cache_dir, max_memory=max_memory,
                                  **config.brain_options())
        geometry.update(got.geometry_grids)
        if spec.regions:
            found = {region for _, region in got}
            missing = [r for r in spec.regions if r not in found]
            if missing:
                raise ConfigError(
                    f"sources[{i}].regions: {missing} in no session of {spec.path} (with at "
                    f"least min_units={config.min_units} units); regions found: "
                    f"{sorted(found) or 'none'}"
                )
            for k in [k for k in got if k[1] not in spec.regions]:
                del got[k]
        clash = sorted(set(got) & set(brain))
        if clash:
            raise ConfigError(
                f"sources[{i}]: session/region {clash[0]} already comes from another source; "
                "set a distinct `session` name"
            )
        brain.update(got)
        _advance(prog, task)
    if not brain:
        raise DataError(
            f"no session has a region with at least min_units={config.min_units} units and "
            f"trials of every valence in {list(config.valences)}"
        )
    models: dict[ModelKey, xr.DataArray] = {}
    task = _add_task(prog, "probing agents", len(agents))
    grid: dict[str, Any] = {}
    if config.grid == "contrast":
        grid = {"by": config.contrast_by, "steps": range(config.contrast_steps())}
    foreign = {spec.name: spec for spec in config.agents or [] if spec.is_foreign}
    for name, family, agent_task, seed, layers in agents:
        where: dict[str, Any] = {"spec": foreign[name]} if name in foreign else {}
        by_layer = model_patterns_by_layer(name, agent_task, seed, layers,
                                           include_neutral=0 in config.valences, **grid,
                                           **where, probe_cache_dir=config.cache_dir)
        for layer, da in by_layer.items():
            models[(name, family, agent_task, seed, layer)] = da
            if config.grid == "contrast":
                geometry[(name, family, agent_task, seed, layer)] = valence_time_grid(da)
        _advance(prog, task)
    brain_keys = set(brain)
    geometry = {k: v for k, v in geometry.items() if k in brain_keys or k in models}
    return RunInputs(brain=brain, models=models, sources=[s.path for s in sources],
                     geometry=geometry)


def prepare_all(config: RunConfig, inputs: RunInputs, *, prog: Any = None,
                workers: int | None = None) -> None:
    """Prepare every side once (RDM, geometry on its own grid) into ``inputs``.

    The valence geometries, most of the work, are computed in forked worker
    processes where possible (``workers``, default one per CPU; see
    :func:`neuroalign.core.workers.forked_map`): each worker computes them from
    the sides made here and only the results come back.
    """
    from neuroalign.pipeline.measures import MEASURE_SPECS

    options = config.measure_options()
    measures = list(config.measures)

    def needs_geometry(measure: str) -> bool:
        return measure in MEASURE_SPECS and "geometry" in MEASURE_SPECS[measure].prepares

    # here: every per-side work but the geometries (made below, in the workers)
    prepare = partial(prepare_side, n_boot=config.n_boot, n_perm=config.n_perm,
                      seed=config.seed, options=options,
                      measures=[m for m in measures if not needs_geometry(m)])
    task = _add_task(prog, "preparing sides", len(inputs.brain) + len(inputs.models))
    new: list[Side] = []
    for key, da in inputs.brain.items():
        if key not in inputs.brain_sides:
            inputs.brain_sides[key] = prepare(
                da, "brain", geometry_patterns=inputs.geometry.get(key))
            new.append(inputs.brain_sides[key])
    for mkey, da in inputs.models.items():
        if mkey not in inputs.model_sides:
            inputs.model_sides[mkey] = prepare(
                da, "model", geometry_patterns=inputs.geometry.get(mkey))
            new.append(inputs.model_sides[mkey])
    _advance_by(prog, task, len(inputs.brain) + len(inputs.models) - len(new))
    if not any(needs_geometry(m) for m in measures):
        _advance_by(prog, task, len(new))
        return
    # the workers get positions, not sides: each computes on the side made here (the
    # first one here, so that the workers inherit the geometry's imports)
    positions = list(range(len(new)))
    geometries = forked_map(lambda i: new[i].geometry(), positions, workers, here_first=1)
    for i, geometry in zip(positions, geometries, strict=True):
        new[i].keep_geometry(geometry)
        _advance(prog, task)


def compute_all(config: RunConfig, inputs: RunInputs, *, prog: Any = None,
                workers: int | None = None) -> pd.DataFrame:
    """Every cell of ``inputs`` as one tidy results table (columns of ``ROW_COLUMNS``).

    Each side is prepared once (:func:`prepare_all`); each pair is then scored
    from the prepared sides, one agent layer against every region per piece of
    work, in forked worker processes where possible (``workers``, default one per
    CPU; see :func:`neuroalign.core.workers.forked_map`), and the statistics of each
    side alone (its geometry) are written once per side, keyed by that side. The
    table is the same, row for row, for any number of workers.
    """
    prepare_all(config, inputs, prog=prog, workers=workers)
    measures = list(config.measures)
    brain_keys = list(inputs.brain)

    def score_model(mkey: ModelKey) -> list[dict[str, Any]]:
        agent, family, agent_task, seed, layer = mkey
        rows: list[dict[str, Any]] = []
        for session, region in brain_keys:
            brain = inputs.brain_sides[(session, region)]
            meta = {"agent": agent, "family": family, "task": agent_task, "seed": seed,
                    "layer": layer, "animal": brain.attrs.get("animal"), "session": session,
                    "region": region}
            rows += score_cell(inputs.model_sides[mkey], brain, measures, meta=meta,
                               sides=())
        return rows

    model_keys = list(inputs.models)
    task = _add_task(prog, "comparing", len(model_keys) * len(brain_keys))
    rows: list[dict[str, Any]] = []
    # the first agent layer is scored here: the workers inherit its imports and the
    # regions' caches it fills
    scored = forked_map(score_model, model_keys, workers, here_first=1)
    for mkey, got in zip(model_keys, scored, strict=True):
        rows += got
        if prog is not None:
            prog.update(task, advance=len(brain_keys),
                        description=f"comparing {mkey[0]}/{mkey[4]} ~ every region")
    for mkey, side in inputs.model_sides.items():
        rows += side_rows(side, seam.ModelKey(*mkey), measures)
    for (session, region), side in inputs.brain_sides.items():
        rows += side_rows(side, seam.BrainKey(side.attrs.get("animal"), session, region),
                          measures)
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(ROW_COLUMNS))
    return seam.results_table(frame)


def artifacts(inputs: RunInputs) -> RunArtifacts:
    """The RDMs, geometry profiles and condition means of every prepared side."""
    out = RunArtifacts()
    sides: list[tuple[tuple, Side]] = [(("brain", *k), s) for k, s in inputs.brain_sides.items()]
    sides += [(("model", *k), s) for k, s in inputs.model_sides.items()]
    for key, side in sides:
        out.n_units[key] = side.n_units
        out.means[key] = side.geometry_patterns.mean("repetition")  # along the approach
        if side.problem is None:
            try:
                out.rdms[key] = side.rdm()
            except ValidationError:
                pass  # a constant RDM: nothing to draw
        geo = side.geometry() if side.has_geometry else None
        if geo is not None and not isinstance(geo, str):
            out.profiles[key] = geo.profiles
    out.sources = list(inputs.sources)
    out.synthetic = any(int(s.attrs.get("synthetic", 0)) for s in inputs.brain_sides.values())
    out.data_notes = _data_notes(inputs.brain.values())
    return out


def _data_notes(brain: Iterable[xr.DataArray]) -> list[str]:
    """What the recordings can and cannot show (their files' ``data_collection``), and the
    approach axis when it does not count bins before the outcome."""
    notes: list[str] = []
    for da in brain:
        unit = str(da.attrs.get("approach_unit", "bins before the outcome"))
        about = str(da.attrs.get("data_collection", ""))
        for text in (f"About the recordings (from the files): {about}" if about else "",
                     "" if unit == "bins before the outcome" else f"Approach axis: {unit}."):
            if text and text not in notes:
                notes.append(text)
    return notes


def run_pipeline(
    config: RunConfig | None = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    console: Any = None,
    figures: bool = True,
    max_memory: int | str | None = None,
    workers: int | None = None,
) -> RunResult:
    """Run the main job and write its report folder.

    Parameters
    ----------
    config
        The run configuration (default: every default, i.e. the shipped
        sessions and zoo).
    out
        Report folder (default: ``config.output``). Refused if it exists with
        content, unless ``overwrite``.
    overwrite
        Replace an existing report folder (only once the new one is complete).
    progress
        Show rich progress bars on ``console``.
    console
        A :class:`rich.console.Console` (default: standard error).
    figures
        Draw the figures (PNG) and embed them in ``report.html``.
    max_memory
        Refuse a recording whose responses would exceed this (bytes or text such as
        ``"16GiB"``; default ``$NEUROALIGN_MAX_MEMORY``, else 8 GiB), before reading it.
    workers
        Processes scoring the cells and drawing the figures (default: one per CPU this
        process may use; 1: all in this process). The results are the same for any number.

    Returns
    -------
    RunResult
        The report folder, the results table, the elapsed time and the figures.
    """
    from neuroalign.report import write_report
    from neuroalign.study import run_study

    config = config if config is not None else RunConfig()
    target = Path(out if out is not None else config.output)
    prepare_output_dir(target, overwrite=overwrite)  # refuse before any work
    if console is None and progress:
        from rich.console import Console

        console = Console(stderr=True)
    start = time.perf_counter()
    with _progress(progress, console) as prog, _single_threaded_blas():
        inputs = load_inputs(config, prog=prog, max_memory=max_memory)
        results = compute_all(config, inputs, prog=prog, workers=workers)
        study = run_study(results, **config.study.study_kwargs(ci=config.ci, seed=config.seed))
        elapsed = time.perf_counter() - start
        with atomic_dir(target, overwrite=overwrite) as tmp:
            _ordinary_permissions(tmp)
            figs = write_report(tmp, results, artifacts(inputs), config, elapsed_s=elapsed,
                                figures=figures, prog=prog, study=study,
                                workers=workers)
    elapsed = time.perf_counter() - start
    return RunResult(out=target, results=results, elapsed_s=elapsed,
                     n_cells=len(inputs.models) * len(inputs.brain),
                     figures=[target / f.relative_to(tmp) for f in figs], study=study)


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run the many small matrix operations of a run on one BLAS thread each.

    The matrices of a cell are small (conditions x units); multi-threaded BLAS
    only adds contention there, which on a busy machine made the shape metric
    50 times slower in wall time. Restored on exit.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _ordinary_permissions(folder: Path) -> None:
    """Give the (private, mkdtemp-made) report folder the permissions of a new folder."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
