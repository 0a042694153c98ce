"""Check a batch's layer and region names before any cell is scheduled.

A mistyped name would otherwise fail every cell that holds it, one by one, at run
time. Only cheap metadata is read: the layer list of one zoo checkpoint per
(agent, task), or of the agent's network built without memory when none is trained
yet, and the region table of each local recording (no binning).
"""

from __future__ import annotations

from neuroalign.batch.config import DEFAULT_BRAIN_LOADER, DEFAULT_MODEL_LOADER, BatchConfig
from neuroalign.core.errors import ConfigError, NeuroalignError

__all__ = ["check_layer_names", "check_names", "check_region_names", "regions_held"]


def _agent_layers(agent: str, task: str, seeds: list[int]) -> list[str] | None:
    """Layers the probe returns for ``(agent, task)``: from the first seed with a
    checkpoint, else from the agent's network built on torch's ``meta`` device (no
    memory, no training; e.g. the separate layout's ``actor.<i>`` / ``critic.<i>``).

    ``None`` when neither works (those cells then fail with the zoo's own message).
    """
    import torch

    from neuroalign.zoo import build_agent, checkpoint_path, load_checkpoint

    for seed in seeds:
        try:
            path = checkpoint_path(agent, task, int(seed))
            if path is None:
                continue
            return list(load_checkpoint(path, agent, task, int(seed)).layers)
        except NeuroalignError:
            continue
    try:
        with torch.device("meta"):
            return list(build_agent(agent, task, 0).layers)
    except NeuroalignError:
        return None


def check_layer_names(config: BatchConfig) -> None:
    """Raise :class:`ConfigError` if a layer is not probed for some (agent, task).

    Only with the default model loader (custom loaders name layers their own way).
    """
    if config.engine.model_loader != DEFAULT_MODEL_LOADER:
        return
    for agent in config.zoo_agents():
        for task in config.tasks:
            known = _agent_layers(agent, task, list(config.seeds))
            if known is None:
                continue
            unknown = [layer for layer in config.layers if layer not in known]
            if unknown:
                raise ConfigError(f"layers: unknown {unknown} for agent {agent!r} on task "
                                  f"{task!r}; the probe returns {known}")


def regions_held(config: BatchConfig, locations: list[str]) -> dict[str, set[str]]:
    """The regions (with at least ``min_units`` units) each readable local source holds.

    Only with the default brain loader, and only local files that open: remote
    sources are not downloaded here, and unreadable or missing files fail their own
    cells at run time with the reader's message; such sources are absent from the
    result.
    """
    if config.engine.brain_loader != DEFAULT_BRAIN_LOADER:
        return {}
    from pathlib import Path

    from neuroalign.io import inspect_source

    held: dict[str, set[str]] = {}
    for loc in locations:
        if not Path(loc).is_file():
            continue
        try:
            info = inspect_source(loc)
        except (NeuroalignError, OSError):
            continue
        held[loc] = {str(name) for name, n in info.get("regions", {}).items()
                     if n and int(n) >= config.min_units}
    return held


def check_region_names(config: BatchConfig, locations: list[str],
                       held: dict[str, set[str]] | None = None) -> None:
    """Raise :class:`ConfigError` if a region is held by none of the readable sources
    (``held``: :func:`regions_held`, read here when not given)."""
    held = regions_held(config, locations) if held is None else held
    if not held:
        return
    found = set().union(*held.values())
    unknown = [region for region in config.regions if region not in found]
    if unknown:
        raise ConfigError(f"regions: unknown {unknown}; the sources hold {sorted(found)}")


def check_names(config: BatchConfig, locations: list[str]) -> dict[str, set[str]]:
    """Check the layers and regions of ``config`` (see the two checks above).

    Parameters
    ----------
    config
        The grid.
    locations
        The resolved source locations (globs expanded).

    Returns
    -------
    dict
        :func:`regions_held`: the regions each readable local source holds.

    Raises
    ------
    ConfigError
        Naming the field (``layers`` or ``regions``), the unknown names and the
        valid ones.
    """
    check_layer_names(config)
    held = regions_held(config, locations)
    check_region_names(config, locations, held)
    return held
