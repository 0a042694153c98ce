"""Probe an agent's layers on its task's condition grid (design section 3)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import xarray as xr

from neuroalign.core.errors import ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.zoo.agent import ZooAgent

__all__ = ["probe", "probe_agent"]


def probe(agent: str | ZooAgent, task: str | None = None, seed: int = 0,
          layers: Sequence[str] | None = None, average: bool = False,
          n_repetitions: int = 8, probe_seed: int = 0, include_neutral: bool = False,
          cache_dir: str | os.PathLike[str] | None = None,
          train_if_missing: bool = True) -> xr.DataArray:
    """Activations of an agent on the valence x approach condition grid.

    Parameters
    ----------
    agent
        Agent name (loaded with :func:`neuroalign.zoo.load_agent`) or a loaded
        :class:`~neuroalign.zoo.ZooAgent`.
    task, seed
        Task and training seed when ``agent`` is a name.
    layers
        Layers to return (all by default): ``trunk.0``, ``trunk.1`` and the named
        readouts ``readout.q`` / ``readout.quantiles`` (value-learners) or
        ``readout.pi`` / ``readout.v`` (policy-learners).
    average
        Average over repetitions: dims ``(condition, unit)`` instead of
        ``(repetition, condition, unit)``.
    n_repetitions
        Probe episodes per valence (each gives one repetition of every approach).
    probe_seed
        Seed of the probe episodes (observation noise, start cells).
    include_neutral
        Add the neutral condition (Pavlovian task only).
    cache_dir, train_if_missing
        Passed to :func:`neuroalign.zoo.load_agent`.

    Returns
    -------
    xarray.DataArray
        float32, condition coords ``valence``, ``approach``, ``label`` (from
        :func:`neuroalign.core.contracts.condition_coords`), unit coords
        ``unit_id``, ``layer``, ``role``, ``agent``, ``seed``, ``task``, ``family``,
        provenance ``attrs``.

    Raises
    ------
    ValidationError
        Unknown agent, task or layer (the message lists the valid ones).
    """
    if isinstance(agent, ZooAgent):
        zoo_agent = agent
        if task is not None and task != zoo_agent.task.name:
            raise ValidationError(
                f"task: got {task!r}; the agent given was trained on {zoo_agent.task.name!r}"
            )
    else:
        if task is None:
            raise ValidationError("task: required when agent is given by name")
        from neuroalign.zoo.registry import load_agent

        zoo_agent = load_agent(agent, task, seed, cache_dir=cache_dir,
                               train_if_missing=train_if_missing)
    return probe_agent(zoo_agent, layers=layers, average=average, n_repetitions=n_repetitions,
                       probe_seed=probe_seed, include_neutral=include_neutral)


def probe_agent(zoo_agent: ZooAgent, layers: Sequence[str] | None = None,
                average: bool = False, n_repetitions: int = 8, probe_seed: int = 0,
                include_neutral: bool = False) -> xr.DataArray:
    """:func:`probe` for an agent already loaded."""
    wanted = zoo_agent.check_layers(layers)
    task = zoo_agent.task
    inputs = task.probe_inputs(n_repetitions, probe_seed, include_neutral)
    n_rep, n_cond, obs_dim = inputs.shape
    acts = zoo_agent.activations(inputs.reshape(n_rep * n_cond, obs_dim), wanted)
    blocks, unit_layer, unit_index = [], [], []
    for name in wanted:
        block = acts[name].reshape(n_rep, n_cond, -1)
        blocks.append(block)
        unit_layer.extend([name] * block.shape[2])
        unit_index.extend(range(block.shape[2]))
    data = np.concatenate(blocks, axis=2)
    n_units = data.shape[2]
    unit_coords = {
        "unit_id": ("unit", np.asarray([f"{ly}:{i}" for ly, i in
                                        zip(unit_layer, unit_index, strict=True)])),
        "layer": ("unit", np.asarray(unit_layer)),
        "role": ("unit", np.asarray([zoo_agent.role(ly) for ly in unit_layer])),
        "agent": ("unit", np.full(n_units, zoo_agent.name)),
        "seed": ("unit", np.full(n_units, zoo_agent.seed, dtype=np.int64)),
        "task": ("unit", np.full(n_units, task.name)),
        "family": ("unit", np.full(n_units, zoo_agent.family)),
    }
    coords = {**task.condition_coords(include_neutral), **unit_coords,
              "repetition": ("repetition", np.arange(n_rep))}
    attrs = provenance_attrs(
        source="neuroalign.zoo", agent=zoo_agent.name, task=task.name, seed=zoo_agent.seed,
        family=zoo_agent.family, checkpoint_hash=zoo_agent.checkpoint_hash or "untrained",
        layers=",".join(wanted), probe_seed=int(probe_seed), n_repetitions=n_rep,
        value_units="activation", synthetic=False,
    )
    da = xr.DataArray(data.astype(np.float32), dims=("repetition", "condition", "unit"),
                      coords=coords, attrs=attrs, name="activation")
    if average:
        da = da.mean("repetition", keep_attrs=True)
        da.attrs["averaged_over"] = "repetition"
    return da
