"""Load the two sides of a cell: brain patterns per session/region, model patterns per layer.

Both helpers take only plain, picklable arguments so a distributed worker can
call them itself (data move once, as names, not as arrays).
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.config import SourceSpec, validate_model
from neuroalign.core.errors import ConfigError, ValidationError

__all__ = [
    "BrainPatterns",
    "expand_source",
    "load_brain_patterns",
    "load_model_patterns",
    "model_patterns_by_layer",
    "split_by_region",
    "subject_id",
]


class BrainPatterns(dict):
    """``(session, region) -> patterns``, also indexable by region alone.

    ``patterns["BLA"]`` works when exactly one session of the source has the
    region ``"BLA"`` (the usual case of a one-file source); with several it is
    ambiguous and raises ``KeyError`` naming the sessions.
    """

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


def subject_id(source: str) -> str | None:
    """The NWB ``general/subject/subject_id`` of a local file (the animal), or ``None``.

    Remote sources and files without a subject give ``None``; the study then
    treats each session as its own animal and says so.
    """
    path = Path(source)
    if not path.is_file():
        return None
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            node = handle.get("general/subject/subject_id")
            if node is None:
                return None
            value = node[()]
    except OSError:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text or None


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


def load_brain_patterns(
    source_spec: SourceSpec | Mapping[str, Any],
    *,
    n_approach: int = 5,
    valences: Sequence[int] = (1, -1),
    min_units: int = 2,
    cache_dir: str | None = None,
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

    Returns
    -------
    BrainPatterns
        ``(session, region) -> DataArray (repetition, condition, unit)`` (a dict;
        a region name alone also indexes it when one session has that region).
    """
    from neuroalign.io import condition_grid, load_responses

    if isinstance(source_spec, SourceSpec):
        spec = source_spec
    else:
        spec = validate_model(SourceSpec, {k: v for k, v in source_spec.items() if v is not None},
                              "source")
    files = expand_source(spec)
    out = BrainPatterns()
    for i, source in enumerate(files):
        responses = load_responses(
            source, profile=spec.profile, align=spec.align, window=tuple(spec.window),
            bin_size=spec.bin_size, cache_dir=cache_dir, mapping=spec.mapping,
            align_offset=spec.align_offset, region_groups=spec.region_groups,
        )
        session = _session_name(responses, source)
        if spec.session:
            session = spec.session if len(files) == 1 else f"{spec.session}-{i}"
        grid = condition_grid(responses, n_approach=n_approach, valences=tuple(valences))
        out.update(split_by_region(grid, session=session, regions=spec.regions,
                                   min_units=min_units, animal=subject_id(source)))
    return out


def model_patterns_by_layer(
    agent: str, task: str, seed: int, layers: Sequence[str] | None = None,
    include_neutral: bool = False,
) -> dict[str, xr.DataArray]:
    """Probe one trained agent and split its activations by layer.

    A missing checkpoint is an error here (``train_if_missing=False``): the main
    job never trains silently. ``include_neutral`` adds the neutral conditions
    (Pavlovian task).

    Returns
    -------
    dict
        ``layer -> DataArray (repetition, condition, unit)`` in the probe's layer order.
    """
    from neuroalign.zoo import probe

    acts = probe(agent, task, int(seed), layers=list(layers) if layers else None, average=False,
                 include_neutral=include_neutral, train_if_missing=False)
    layer_of_unit = np.asarray(acts["layer"].values).astype(str)
    order = list(dict.fromkeys(layer_of_unit.tolist()))
    out = {}
    for layer in order:
        sub = acts.isel(unit=np.flatnonzero(layer_of_unit == layer))
        sub.attrs = {**acts.attrs, "agent": agent, "task": task, "seed": int(seed),
                     "layer": layer}
        out[layer] = sub
    return out


def load_model_patterns(agent: str, task: str, seed: int, layer: str) -> xr.DataArray:
    """Activations of one layer of one trained agent, dims ``(repetition, condition, unit)``."""
    return model_patterns_by_layer(agent, task, seed, [layer])[layer]
