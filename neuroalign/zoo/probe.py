"""Probe an agent's layers on its task's condition grid (design section 3).

Pavlovian and gridworld: the valence x approach grid. The two-choice ``contrast``
task: the mice's grid, contrast level x outcome x time since stimulus onset
(:func:`neuroalign.core.contracts.contrast_condition_coords`), from closed-loop
trials in which the agent makes its own choices, so that errors are the agent's.

Every forward pass here, the closed-loop trials' choices included, runs in float64 on
an exact up-cast of the float32 weights (:data:`neuroalign.zoo.networks.PROBE_DTYPE`):
float32 results depend on the CPU's kernels at ~1e-6 relative, float64 ones agree to
~1e-12, so a checkpoint gives the same activations, and the agent the same choices, on
any machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.errors import ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.zoo.agent import ProbedAgent, ZooAgent
from neuroalign.zoo.user_tasks import EnvTask

__all__ = ["probe", "probe_agent"]


def probe(agent: str | os.PathLike[str] | ZooAgent | ProbedAgent | Any,
          task: str | None = None, seed: int = 0,
          layers: Sequence[str] | None = None, average: bool = False,
          n_repetitions: int = 8, probe_seed: int = 0, include_neutral: bool = False,
          cache_dir: str | os.PathLike[str] | None = None,
          train_if_missing: bool = True, by: str = "diff",
          levels: Sequence[float] | None = None,
          steps: Sequence[int] | None = None, *,
          act: Callable[[np.ndarray], np.ndarray] | None = None,
          name: str | None = None, family: str | None = None,
          allow_code: bool = False) -> xr.DataArray:
    """Activations of an agent on the valence x approach condition grid.

    Parameters
    ----------
    agent
        Any agent: a zoo agent's name (loaded with :func:`neuroalign.zoo.load_agent`)
        or a loaded :class:`~neuroalign.zoo.ZooAgent`; a Stable-Baselines3 /
        sb3-contrib model or the path of its saved ``.zip``
        (:func:`neuroalign.zoo.foreign.sb3_agent`); any ``torch.nn.Module``, probed by
        module name through forward hooks (:class:`neuroalign.zoo.foreign.TorchAgent`);
        the path of an activations file (an NWB file of ``neuroalign zoo export-nwb``,
        ``.nwb``, or a netCDF file, ``.nc``, in the layout of ``neuroalign zoo
        probe --out``; :func:`neuroalign.zoo.foreign.read_activations`); or any
        :class:`~neuroalign.zoo.agent.ProbedAgent`.
    task, seed
        The task (required for a name, a torch module or an SB3 model) and the
        training seed (of a zoo agent by name; written on the units of the others).
        Foreign agents also take a user's gymnasium environment that labels its
        steps (:mod:`neuroalign.zoo.user_tasks`): a registered id, or an import path
        with ``allow_code``; its grid comes from the labels, closed loop.
    layers
        Layers to return (all by default): ``trunk.0``, ``trunk.1`` (the separate
        layout's ``-sep`` agents: ``actor.0``, ``actor.1``, ``critic.0``,
        ``critic.1``) and the named readouts ``readout.q`` / ``readout.quantiles``
        (value-learners) or ``readout.pi`` / ``readout.v`` (policy-learners).
    average
        Average over repetitions: dims ``(condition, unit)`` instead of
        ``(repetition, condition, unit)``.
    n_repetitions
        Probe episodes per valence (each gives one repetition of every approach).
    probe_seed
        Seed of the probe episodes (observation noise, start cells).
    include_neutral
        Add the neutral condition (Pavlovian task only); an activations file's neutral
        conditions are left out without it (and required with it).
    cache_dir, train_if_missing
        Passed to :func:`neuroalign.zoo.load_agent`.
    by, levels, steps
        ``contrast`` task only: group trials by the signed contrast difference
        (``"diff"``) or its sign (``"side"``); the levels to probe (all by default);
        the task steps to return (all by default; step ``k`` is the bin starting
        ``0.1 k`` s after stimulus onset).
    act
        A torch module's actions, observations ``(n, obs_dim)`` -> ``(n,)``; by default
        the argmax over the last axis of its output (:func:`~neuroalign.zoo.foreign.
        default_action`).
    name, family
        A foreign agent's name and family (``value``, ``policy`` or ``other``).
    allow_code
        A saved SB3 ``.zip`` is read by SB3's own loader, which unpickles (runs code
        from the file); without it nothing outside an allowlist is unpickled. Also
        allows a user's task given as an import path (``package.module:EnvClass``).

    Returns
    -------
    xarray.DataArray
        float64 (a float64 forward pass of the float32 weights: the same
        checkpoint gives the same activations to ~1e-12 on any CPU), condition
        coords ``valence``, ``approach``, ``label`` (from
        :func:`neuroalign.core.contracts.condition_coords`); for the ``contrast``
        task instead ``contrast``, ``valence`` (outcome), ``time_s``, ``label`` and,
        on ``(repetition, condition)``, the trial's ``choice`` (``nogo``, ``left``,
        ``right``), ``contrast_left`` and ``contrast_right``; unit coords
        ``unit_id``, ``layer``, ``role``, ``agent``, ``seed``, ``task``, ``family``,
        provenance ``attrs``.

    Raises
    ------
    ValidationError
        Unknown agent, task or layer (the message lists the valid ones).
    """
    foreign = _foreign(agent, task, seed, layers, act, name, family, allow_code,
                       include_neutral)
    if isinstance(foreign, xr.DataArray):
        if average and "repetition" in foreign.dims:
            foreign = foreign.mean("repetition", keep_attrs=True)
            foreign.attrs["averaged_over"] = "repetition"
        return foreign
    if foreign is not None:
        return probe_agent(foreign, layers=layers, average=average,
                           n_repetitions=n_repetitions, probe_seed=probe_seed,
                           include_neutral=include_neutral, by=by, levels=levels,
                           steps=steps)
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

        zoo_agent = load_agent(str(agent), task, seed, cache_dir=cache_dir,
                               train_if_missing=train_if_missing)
    return probe_agent(zoo_agent, layers=layers, average=average, n_repetitions=n_repetitions,
                       probe_seed=probe_seed, include_neutral=include_neutral, by=by,
                       levels=levels, steps=steps)


def _foreign(agent: Any, task: str | None, seed: int, layers: Sequence[str] | None,
             act: Callable[[np.ndarray], np.ndarray] | None, name: str | None,
             family: str | None, allow_code: bool,
             include_neutral: bool = False) -> ProbedAgent | xr.DataArray | None:
    """A non-zoo agent made probeable (or an activations file read); ``None`` for the zoo."""
    if isinstance(agent, ZooAgent):
        return None
    if isinstance(agent, (str, os.PathLike)):
        suffix = os.path.splitext(str(agent))[1].lower()
        if suffix in (".nc", ".nwb"):
            from neuroalign.zoo.foreign.activations import read_activations

            return read_activations(agent, task, layers=layers, name=name, family=family,
                                    include_neutral=include_neutral)
        if suffix == ".zip":
            from neuroalign.zoo.foreign.sb3 import sb3_agent

            return sb3_agent(agent, _need_task(task), name=name, family=family, seed=seed,
                             allow_code=allow_code)
        if suffix:
            raise ValidationError(f"agent: got {str(agent)!r}; expected a zoo agent's name, "
                                  "an SB3 .zip or an activations file (.nc, or .nwb from "
                                  "zoo export-nwb)")
        return None
    if isinstance(agent, ProbedAgent):
        return agent
    from neuroalign.zoo.foreign.sb3 import is_sb3_model, sb3_agent

    if is_sb3_model(agent):
        return sb3_agent(agent, _need_task(task), name=name, family=family, seed=seed,
                         allow_code=allow_code)
    from torch import nn

    if isinstance(agent, nn.Module):
        from neuroalign.zoo.foreign.hooks import TorchAgent

        return TorchAgent(agent, _need_task(task), layers, act, name=name or "torch-module",
                          family=family or "other", seed=seed, allow_code=allow_code)
    raise ValidationError(f"agent: got a {type(agent).__name__}; expected a zoo agent's name "
                          "or ZooAgent, an SB3 model or .zip, a torch.nn.Module or a netCDF "
                          "activations file")


def _need_task(task: str | None) -> str:
    if task is None:
        raise ValidationError("task: required for an SB3 model or a torch module (the zoo "
                              "task it acts in)")
    return task


def probe_agent(zoo_agent: ProbedAgent, layers: Sequence[str] | None = None,
                average: bool = False, n_repetitions: int = 8, probe_seed: int = 0,
                include_neutral: bool = False, by: str = "diff",
                levels: Sequence[float] | None = None,
                steps: Sequence[int] | None = None) -> xr.DataArray:
    """:func:`probe` for an agent already loaded: a :class:`~neuroalign.zoo.ZooAgent` or
    any :class:`~neuroalign.zoo.agent.ProbedAgent` (a torch module or an SB3 model
    through :mod:`neuroalign.zoo.foreign`).

    On ``pavlovian`` and ``gridworld`` every agent sees the same documented probe
    episodes (:meth:`~neuroalign.zoo.Task.probe_episodes`), so agents are compared on
    identical inputs; the agent's greedy action at each probed step is the
    ``action`` coord on ``(repetition, condition)``. On the ``contrast`` task the
    agent's own choices drive the trials (closed loop).
    """
    wanted = zoo_agent.check_layers(layers)
    task = zoo_agent.task
    extra: dict[str, tuple[tuple[str, str], np.ndarray]] = {}
    notes: dict[str, object] = {}
    if task.sequential:
        if include_neutral:
            raise ValidationError(f"include_neutral: task {task.name!r} has no neutral "
                                  "condition; only 'pavlovian' has")
        blocks_by_layer, cond_coords, extra, notes = _contrast_blocks(
            zoo_agent, wanted, n_repetitions, probe_seed, by, levels, steps)
        n_rep = next(iter(blocks_by_layer.values())).shape[0]
    else:
        if by != "diff" or levels is not None or steps is not None:
            raise ValidationError(f"by/levels/steps: only the 'contrast' task takes them; "
                                  f"this agent learned {task.name!r}")
        if isinstance(task, EnvTask):  # a user's env: the agent drives it
            inputs, cond_coords = task.closed_loop_inputs(zoo_agent.act, n_repetitions,
                                                          probe_seed)
        else:
            inputs = task.probe_inputs(n_repetitions, probe_seed, include_neutral)
            cond_coords = task.condition_coords(include_neutral)
        n_rep, n_cond, obs_dim = inputs.shape
        acts, actions = zoo_agent.activations_and_actions(
            inputs.reshape(n_rep * n_cond, obs_dim), wanted)
        blocks_by_layer = {name: acts[name].reshape(n_rep, n_cond, -1) for name in wanted}
        extra = {"action": (("repetition", "condition"),
                            np.asarray(actions, dtype=np.int64).reshape(n_rep, n_cond))}
    blocks, unit_layer = [], []
    unit_index: list[int] = []
    for name in wanted:
        block = blocks_by_layer[name]
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
    coords = {**cond_coords, **unit_coords, **extra,
              "repetition": ("repetition", np.arange(n_rep))}
    attrs = provenance_attrs(
        source=getattr(zoo_agent, "source", "neuroalign.zoo"), agent=zoo_agent.name,
        task=task.name, seed=zoo_agent.seed,
        family=zoo_agent.family, checkpoint_hash=zoo_agent.checkpoint_hash or "untrained",
        layers=",".join(wanted), probe_seed=int(probe_seed), n_repetitions=n_rep,
        value_units="activation", synthetic=False, **notes,
    )
    da = xr.DataArray(data.astype(np.float64), dims=("repetition", "condition", "unit"),
                      coords=coords, attrs=attrs, name="activation")
    if average:
        da = da.mean("repetition", keep_attrs=True)
        da.attrs["averaged_over"] = "repetition"
    return da


def _contrast_blocks(zoo_agent: ProbedAgent, wanted: list[str], n_repetitions: int,
                     probe_seed: int, by: str, levels: Sequence[float] | None,
                     steps: Sequence[int] | None) -> tuple[dict[str, np.ndarray], dict, dict, dict]:
    """Activations ``(repetition, condition, size)`` per layer on the contrast grid."""
    from neuroalign.core.contracts import contrast_condition_coords
    from neuroalign.zoo.contrast_task import ContrastTask, choice_names

    task = zoo_agent.task
    assert isinstance(task, ContrastTask)  # the caller checked task.sequential
    times = task.times_s
    keep = list(range(len(times))) if steps is None else [int(k) for k in steps]
    if not keep or any(k < 0 or k >= len(times) for k in keep):
        raise ValidationError(f"steps: got {list(steps or [])}; expected step indices in "
                              f"0..{len(times) - 1} (0.1 s each after stimulus onset)")
    trials = task.probe_trials(zoo_agent.act, n_repetitions, probe_seed, by=by, levels=levels)
    obs = trials["obs"]
    n_rep, n_cells, n_steps, obs_dim = obs.shape
    acts, _ = zoo_agent.activations_and_actions(
        obs.reshape(n_rep * n_cells, n_steps, obs_dim), wanted)
    blocks = {name: a.reshape(n_rep, n_cells, n_steps, -1)[:, :, keep]
              .reshape(n_rep, n_cells * len(keep), -1) for name, a in acts.items()}
    coords = contrast_condition_coords(trials["levels"], trials["valences"],
                                       [times[k] for k in keep], by)
    per_step = len(keep)

    def spread(x: np.ndarray) -> np.ndarray:
        return np.repeat(x, per_step, axis=1)

    extra = {
        "choice": (("repetition", "condition"), spread(choice_names(trials["choice"]))),
        "contrast_left": (("repetition", "condition"), spread(trials["contrast"][..., 0])),
        "contrast_right": (("repetition", "condition"), spread(trials["contrast"][..., 1])),
    }
    labels = coords["label"][1][::per_step]
    short = [f"{lab.rsplit(':', 1)[0]} ({n}/{n_rep})"
             for lab, n in zip(labels, trials["filled"], strict=True) if n < n_rep]
    notes: dict[str, object] = {"contrast_by": by, "trials_drawn": int(sum(trials["drawn"]))}
    if short:
        notes["note"] = ("cells with fewer trials than repetitions (NaN-padded): "
                         + ", ".join(short))
    return blocks, coords, extra, notes
