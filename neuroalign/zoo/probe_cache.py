"""An on-disk cache of zoo agents' probe activations, read without importing torch.

A probe of a zoo checkpoint is a pure function of the checkpoint's bytes, the probe's
options and the code that probes; :func:`cached_probe` keys the activations by exactly
these (the checkpoint's SHA-256, the options, :func:`~neuroalign.zoo.addressing.
code_version` of :data:`PROBE_SOURCES`, neuroalign's version) and keeps them as netCDF
in ``probes/`` of the cache root (:func:`neuroalign.core.cache.cache_root`). A run whose
every agent was probed before reads the files and never imports torch; editing the
probing code, retraining a checkpoint or changing an option makes a new key, so a stale
file is never read.

What a probe returns and what the cache returns are the same array: on a miss the
activations are written, read back and returned as read, so the first run and every
later one compare the very same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from neuroalign.core.cache import cache_root
from neuroalign.core.errors import SourceError
from neuroalign.zoo.addressing import TRAINING_SOURCES, code_version, file_hash

__all__ = ["PROBE_SOURCES", "cached_probe", "probe_cache_path"]

#: the source files (below the ``neuroalign`` package) whose bytes enter a probe's key:
#: the training sources (the networks, the agents, the tasks and their probe episodes),
#: the probe itself and the condition coordinates it writes
PROBE_SOURCES: tuple[str, ...] = (*TRAINING_SOURCES, "zoo/probe.py", "core/contracts.py")


def probe_cache_path(agent: str, task: str, seed: int, *,
                     layers: Sequence[str] | None = None, include_neutral: bool = False,
                     by: str = "diff", steps: Sequence[int] | None = None,
                     cache_dir: str | os.PathLike[str] | None = None,
                     checkpoints: str | os.PathLike[str] | None = None) -> Path:
    """Where the activations of probing ``(agent, task, seed)`` with these options are
    cached (the file may not exist yet).

    Raises
    ------
    ValidationError
        Unknown agent or task.
    SourceError
        No shipped or cached checkpoint of ``(agent, task, seed)``.
    """
    from neuroalign.io.store import cache_key
    from neuroalign.zoo.agents.table import get_agent_info
    from neuroalign.zoo.registry import checkpoint_path, shipped_seeds, zoo_dir
    from neuroalign.zoo.tasks import get_task

    get_agent_info(agent)
    get_task(task)
    found = checkpoint_path(agent, task, int(seed), checkpoints)
    if found is None:
        raise SourceError(
            f"zoo: no checkpoint for agent {agent!r} on task {task!r} seed {int(seed)} in "
            f"{zoo_dir()} or the cache; shipped seeds are {shipped_seeds(agent, task)}")
    key = cache_key(file_hash(found), agent=agent, task=task, seed=int(seed),
                    layers=None if layers is None else [str(x) for x in layers],
                    include_neutral=bool(include_neutral), by=str(by),
                    steps=None if steps is None else [int(k) for k in steps],
                    code=code_version(PROBE_SOURCES))
    return cache_root(cache_dir) / "probes" / f"{agent}_{task}_s{int(seed)}-{key}.nc"


def cached_probe(agent: str, task: str, seed: int, *,
                 layers: Sequence[str] | None = None, include_neutral: bool = False,
                 by: str = "diff", steps: Sequence[int] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None,
                 checkpoints: str | os.PathLike[str] | None = None) -> xr.DataArray:
    """:func:`neuroalign.zoo.probe` of a zoo checkpoint (never trained here), through the
    on-disk cache of activations.

    Parameters
    ----------
    agent, task, seed
        A zoo agent with a shipped or cached checkpoint.
    layers, include_neutral, by, steps
        As :func:`neuroalign.zoo.probe` (``by`` and ``steps``: the ``contrast`` task only);
        repetitions, the probe seed and the contrast levels are the probe's defaults.
    cache_dir
        The cache root of the activations, kept in its ``probes/`` folder (see
        :func:`neuroalign.core.cache.cache_root`).
    checkpoints
        A folder of trained checkpoints searched after the shipped zoo (default the
        user cache): the checkpoint is looked up as :func:`neuroalign.zoo.checkpoint_path`
        does, and probed from there.

    Returns
    -------
    xarray.DataArray
        ``(repetition, condition, unit)``, as :func:`neuroalign.zoo.probe` returns it after
        a netCDF round trip (attrs as :func:`neuroalign.io.store.save_store` writes them).

    Raises
    ------
    ValidationError
        Unknown agent, task or layer.
    SourceError
        No shipped or cached checkpoint.
    """
    from neuroalign.io.store import load_store, save_store

    path = probe_cache_path(agent, task, seed, layers=layers, include_neutral=include_neutral,
                            by=by, steps=steps, cache_dir=cache_dir, checkpoints=checkpoints)
    if not path.is_file():
        from neuroalign.zoo.probe import probe  # torch: only when something is probed

        contrast = task == "contrast"  # by and steps: the contrast task only
        acts = probe(agent, task, int(seed), layers=None if layers is None else list(layers),
                     average=False, include_neutral=include_neutral, cache_dir=checkpoints,
                     train_if_missing=False, by=by if contrast else "diff",
                     steps=steps if contrast else None)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_store(acts, path)
    return load_store(path)
