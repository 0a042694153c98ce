"""Load the two sides of a cell: brain patterns per session/region, model patterns per layer.

Both helpers take only plain, picklable arguments so a distributed worker can
call them itself (data move once, as names, not as arrays).
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.config import AgentSpec, SourceSpec, validate_model
from neuroalign.core.errors import ConfigError, ValidationError

__all__ = [
    "BrainPatterns",
    "expand_source",
    "load_brain_patterns",
    "load_model_patterns",
    "model_patterns_by_layer",
    "split_by_region",
    "stimulus_valence_grid",
    "valence_time_grid",
]


class BrainPatterns(dict):
    """``(session, region) -> patterns``, also indexable by region alone.

    ``patterns["BLA"]`` works when exactly one session of the source has the
    region ``"BLA"`` (the usual case of a one-file source); with several it is
    ambiguous and raises ``KeyError`` naming the sessions.

    :attr:`geometry_grids` holds, when the patterns are on another grid than
    valence x approach (the contrast grid), each region's own valence x approach
    grid, on which its geometry is computed (same keys).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: ``(session, region) -> valence x approach grid`` (empty on the valence grid)
        self.geometry_grids: dict[tuple[str, str], xr.DataArray] = {}

    def _resolve(self, key: object) -> object:
        if isinstance(key, str) and not dict.__contains__(self, key):
            hits = [k for k in self if k[1] == key]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise KeyError(f"region {key!r} is in several sessions "
                               f"{[k[0] for k in hits]}; index by (session, region)")
        return key

    def __getitem__(self, key: object) -> xr.DataArray:
        return dict.__getitem__(self, self._resolve(key))

    def __contains__(self, key: object) -> bool:
        try:
            return dict.__contains__(self, self._resolve(key))
        except KeyError:
            return True

    def regions(self) -> list[str]:
        """Region names, sorted, each once."""
        return sorted({k[1] for k in self})


def expand_source(spec: SourceSpec) -> list[str]:
    """The files (or remote addresses) a source names.

    A folder becomes its ``*.nwb`` files and a glob pattern the files it matches.

    Raises
    ------
    ConfigError
        A local path that does not exist, a folder with no ``.nwb`` file or a pattern
        that matches nothing.
    """
    if spec.is_remote:
        return [spec.path]
    if spec.is_glob:
        files = sorted(glob.glob(spec.path))
        if not files:
            raise ConfigError(f"source {spec.path}: the pattern matches no file")
        return files
    path = Path(spec.path)
    if path.is_dir():
        files = sorted(str(p) for p in path.glob("*.nwb"))
        if not files:
            raise ConfigError(f"source {path}: the folder holds no .nwb file")
        return files
    if not path.exists():
        raise ConfigError(f"source {path}: does not exist")
    return [str(path)]


def _session_name(responses: xr.DataArray, source: str) -> str:
    for holder in (responses.coords, responses.attrs):
        if "session" in holder:
            value = holder["session"]
            values = np.unique(np.asarray(getattr(value, "values", value)).astype(str))
            if values.size == 1 and values[0]:
                return str(values[0])
    return Path(source.rstrip("/")).stem


def split_by_region(
    grid: xr.DataArray, *, session: str, regions: Sequence[str] | None = None,
    min_units: int = 2, animal: str | None = None,
) -> dict[tuple[str, str], xr.DataArray]:
    """Split a condition grid (dims ``repetition, condition, unit``) by its ``region`` coord.

    Regions with fewer than ``min_units`` units are left out; when ``regions``
    is given only those are kept (absent ones are simply missing: the caller
    decides whether that is an error).
    """
    if "region" not in grid.coords:
        raise ValidationError("brain patterns: the unit dim has no 'region' coord")
    region_of_unit = np.asarray(grid["region"].values).astype(str)
    out: dict[tuple[str, str], xr.DataArray] = {}
    for region in sorted(set(region_of_unit.tolist())):
        if regions is not None and region not in regions:
            continue
        idx = np.flatnonzero(region_of_unit == region)
        if idx.size < min_units:
            continue
        sub = grid.isel(unit=idx)
        sub.attrs = {**grid.attrs, "session": session, "region": region}
        if animal:
            sub.attrs["animal"] = animal
        out[(session, region)] = sub
    return out


def stimulus_valence_grid(responses: xr.DataArray, n_steps: int,
                          valences: Sequence[int] = (1, -1)) -> xr.DataArray:
    """The valence x approach grid of stimulus-aligned responses, on the contrast task's
    0.1 s steps: approach ``a`` is step ``n_steps - 1 - a`` after stimulus onset.

    The responses' bins are averaged into the ``n_steps`` steps of
    :func:`neuroalign.io.contrast_grid`, then laid out by
    :func:`neuroalign.io.condition_grid` with ``n_approach = n_steps - 1`` (every
    trial of each outcome, balanced by outcome, whatever its contrast).

    Raises
    ------
    ValidationError
        A step not covered by whole bins.
    """
    from neuroalign.io import condition_grid
    from neuroalign.io.grid import step_bins
    from neuroalign.zoo.contrast import STEP_S

    values = responses.transpose("trial", "unit", "time").values.astype(np.float64)
    steps = [values[:, :, idx].mean(axis=2) for idx in step_bins(responses, STEP_S, n_steps)]
    last = (int(n_steps) - 1) * STEP_S
    column = str(responses.attrs.get("align_column", "the stimulus"))
    unit_text = (f"{STEP_S:g} s steps after stimulus onset counted back from the last one: "
                 f"approach a is the step starting {last:g} - a x {STEP_S:g} s after {column} "
                 "(time since the stimulus, not steps to an outcome)")
    rebinned = xr.DataArray(
        np.stack(steps, axis=2), dims=("trial", "unit", "time"),
        coords={**{k: v for k, v in responses.coords.items() if "time" not in v.dims},
                "time": (np.arange(int(n_steps)) - (int(n_steps) - 1)) * STEP_S + STEP_S / 2},
        attrs={**responses.attrs, "bin_size": STEP_S, "approach_unit": unit_text})
    return condition_grid(rebinned, n_approach=int(n_steps) - 1, valences=tuple(valences))


def load_brain_patterns(
    source_spec: SourceSpec | Mapping[str, Any],
    *,
    n_approach: int = 5,
    valences: Sequence[int] = (1, -1),
    min_units: int = 2,
    cache_dir: str | None = None,
    grid: str = "valence",
    contrast_by: str = "side",
    max_memory: int | str | None = None,
) -> BrainPatterns:
    """Condition-grid patterns of every (session, region) of one source.

    Parameters
    ----------
    source_spec
        A :class:`~neuroalign.pipeline.config.SourceSpec` or a mapping of its
        fields (picklable; what a batch worker receives).
    n_approach, valences
        The condition grid (see :func:`neuroalign.io.condition_grid`).
    min_units
        Regions with fewer units are left out.
    cache_dir
        Cache folder for imported responses and remote files.
    grid
        ``"valence"`` (default): valence x approach. ``"contrast"``: contrast level
        x outcome x 0.1 s step after stimulus onset
        (:func:`neuroalign.io.contrast_grid`, every step the source's ``[0, stop)``
        window covers; ``n_approach`` is not used), each region's own valence x
        approach grid (:func:`stimulus_valence_grid`) in
        :attr:`BrainPatterns.geometry_grids`.
    contrast_by
        The contrast level of ``grid="contrast"``: ``"side"`` or ``"diff"``.
    max_memory
        Memory limit of each file's responses (see :func:`neuroalign.io.load_responses`).

    Returns
    -------
    BrainPatterns
        ``(session, region) -> DataArray (repetition, condition, unit)`` (a dict;
        a region name alone also indexes it when one session has that region).

    Raises
    ------
    ConfigError
        An unknown ``grid``, or with ``grid="contrast"`` a source that is not
        aligned to the stimulus with a window starting at 0.
    """
    from neuroalign.core.config import contrast_source_problems, contrast_steps
    from neuroalign.io import condition_grid, contrast_grid, load_responses

    if isinstance(source_spec, SourceSpec):
        spec = source_spec
    else:
        spec = validate_model(SourceSpec, {k: v for k, v in source_spec.items() if v is not None},
                              "source")
    if grid not in ("valence", "contrast"):
        raise ConfigError(f"grid: got {grid!r}; expected 'valence' or 'contrast'")
    n_steps = 0
    if grid == "contrast":
        problems = contrast_source_problems(spec, f"source {spec.path}")
        if problems:
            raise ConfigError("; ".join(problems))
        n_steps = contrast_steps(spec.window)
    files = expand_source(spec)
    out = BrainPatterns()
    for i, source in enumerate(files):
        responses = load_responses(
            source, profile=spec.profile, align=spec.align,
            window=(spec.window[0], spec.window[1]),
            bin_size=spec.bin_size, cache_dir=cache_dir, mapping=spec.mapping,
            align_offset=spec.align_offset, region_groups=spec.region_groups,
            imaging_series=spec.imaging_series, max_memory=max_memory,
        )
        session = _session_name(responses, source)
        if spec.session:
            session = spec.session if len(files) == 1 else f"{spec.session}-{i}"
        animal = responses.attrs.get("subject") or None  # the file's subject_id
        if grid == "contrast":
            geometry = stimulus_valence_grid(responses, n_steps, valences)
            patterns = contrast_grid(responses, by=contrast_by, valences=tuple(valences),
                                     n_steps=n_steps)
            patterns.attrs["approach_unit"] = geometry.attrs["approach_unit"]
            out.geometry_grids.update(split_by_region(
                geometry, session=session, regions=spec.regions, min_units=min_units,
                animal=animal))
        else:
            patterns = condition_grid(responses, n_approach=n_approach,
                                      valences=tuple(valences))
        out.update(split_by_region(patterns, session=session, regions=spec.regions,
                                   min_units=min_units, animal=animal))
    return out


def valence_time_grid(patterns: xr.DataArray) -> xr.DataArray:
    """The valence x approach grid of a contrast-grid probe: outcome x time step, each
    the mean over contrast levels (NaN cells of a level left out).

    Approach ``a`` is time step ``n - 1 - a`` (time since the stimulus counted back
    from the last step), as in :func:`stimulus_valence_grid`.

    Parameters
    ----------
    patterns
        ``(repetition, condition, unit)`` with ``contrast``, ``valence`` and
        ``time_s`` coords on ``condition`` (:func:`neuroalign.zoo.probe` on the
        ``contrast`` task).
    """
    from neuroalign.core.contracts import condition_coords

    for name in ("valence", "time_s"):
        if name not in patterns.coords:
            raise ValidationError(f"contrast patterns: no {name!r} coord on 'condition'")
    valence = np.asarray(patterns["valence"].values).astype(int)
    time_s = np.round(np.asarray(patterns["time_s"].values, dtype=np.float64), 6)
    vals = list(dict.fromkeys(valence.tolist()))
    times = sorted(set(time_s.tolist()))
    n = len(times)
    coords = condition_coords(vals, range(n))
    data = patterns.transpose("repetition", "condition", "unit").values.astype(np.float64)
    cells = []
    for v, a in zip(coords["valence"][1], coords["approach"][1], strict=True):
        idx = np.flatnonzero((valence == v) & (time_s == times[n - 1 - int(a)]))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN cell stays NaN
            cells.append(np.nanmean(data[:, idx, :], axis=1))
    unit_coords = {k: v for k, v in patterns.coords.items() if v.dims == ("unit",)}
    return xr.DataArray(np.stack(cells, axis=1), dims=("repetition", "condition", "unit"),
                        coords={**coords, **unit_coords}, attrs=dict(patterns.attrs))


def model_patterns_by_layer(
    agent: str, task: str, seed: int, layers: Sequence[str] | None = None,
    include_neutral: bool = False, by: str = "diff", steps: Sequence[int] | None = None,
    spec: AgentSpec | None = None, cache_dir: str | os.PathLike[str] | None = None,
    probe_cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, xr.DataArray]:
    """Probe one trained agent and split its activations by layer.

    A missing checkpoint is an error here (``train_if_missing=False``): the main
    job never trains silently. ``include_neutral`` adds the neutral conditions
    (Pavlovian task); ``by`` and ``steps`` choose the contrast levels and the
    0.1 s time steps of the ``contrast`` task's grid (see :func:`neuroalign.zoo.probe`).
    ``spec``, a foreign agent's config entry, probes its ``sb3`` file or reads its
    ``activations`` file instead of a zoo checkpoint. ``cache_dir``: a folder of trained
    checkpoints searched after the shipped zoo (a sweep's output; default the user cache).
    A zoo checkpoint's activations come from the probe cache under ``probe_cache_dir`` (a
    cache root, see :func:`neuroalign.zoo.probe_cache.cached_probe`): probed, with torch,
    only the first time.

    Returns
    -------
    dict
        ``layer -> DataArray (repetition, condition, unit)`` in the probe's layer order.
    """
    extra: dict[str, Any] = {}
    if task == "contrast":
        extra = {"by": by, "steps": None if steps is None else [int(k) for k in steps]}
    if spec is not None and spec.is_foreign:
        from neuroalign.zoo import probe

        extra.update(spec.probe_options())
        acts = probe(spec.path, task, int(seed), layers=list(layers) if layers else None,
                     average=False, include_neutral=include_neutral, train_if_missing=False,
                     cache_dir=cache_dir, **extra)
    else:  # a zoo checkpoint: its activations from the probe cache (torch on a miss only)
        from neuroalign.zoo.probe_cache import cached_probe

        acts = cached_probe(agent, task, int(seed), layers=list(layers) if layers else None,
                            include_neutral=include_neutral, cache_dir=probe_cache_dir,
                            checkpoints=cache_dir, **extra)
    if task == "contrast":
        # a cell the agent never produced (e.g. no error at the easiest level) is NaN:
        # left out, so the comparison names it among the conditions one side lacks
        made = ~np.isnan(acts.values).any(axis=(0, 2))
        if not made.all():
            acts = acts.isel(condition=np.flatnonzero(made))
    layer_of_unit = np.asarray(acts["layer"].values).astype(str)
    order = list(dict.fromkeys(layer_of_unit.tolist()))
    out = {}
    for layer in order:
        sub = acts.isel(unit=np.flatnonzero(layer_of_unit == layer))
        sub.attrs = {**acts.attrs, "agent": agent, "task": task, "seed": int(seed),
                     "layer": layer}
        out[layer] = sub
    return out


def load_model_patterns(agent: str, task: str, seed: int, layer: str,
                        spec: AgentSpec | None = None) -> xr.DataArray:
    """Activations of one layer of one trained agent, dims ``(repetition, condition, unit)``
    (``spec``: a foreign agent's config entry, see :func:`model_patterns_by_layer`)."""
    return model_patterns_by_layer(agent, task, seed, [layer], spec=spec)[layer]
