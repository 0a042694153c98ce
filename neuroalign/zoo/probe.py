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
          train_if_missing: bool = True, by: str = "diff",
          levels: Sequence[float] | None = None,
          steps: Sequence[int] | None = None) -> xr.DataArray:
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
    by, levels, steps
        ``contrast`` task only: group trials by the signed contrast difference
        (``"diff"``) or its sign (``"side"``); the levels to probe (all by default);
        the task steps to return (all by default; step ``k`` is the bin starting
        ``0.1 k`` s after stimulus onset).

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
                       probe_seed=probe_seed, include_neutral=include_neutral, by=by,
                       levels=levels, steps=steps)


def probe_agent(zoo_agent: ZooAgent, layers: Sequence[str] | None = None,
                average: bool = False, n_repetitions: int = 8, probe_seed: int = 0,
                include_neutral: bool = False, by: str = "diff",
                levels: Sequence[float] | None = None,
                steps: Sequence[int] | None = None) -> xr.DataArray:
    """:func:`probe` for an agent already loaded."""
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
        inputs = task.probe_inputs(n_repetitions, probe_seed, include_neutral)
        n_rep, n_cond, obs_dim = inputs.shape
        acts = zoo_agent.activations(inputs.reshape(n_rep * n_cond, obs_dim), wanted)
        blocks_by_layer = {name: acts[name].reshape(n_rep, n_cond, -1) for name in wanted}
        cond_coords = task.condition_coords(include_neutral)
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
        source="neuroalign.zoo", agent=zoo_agent.name, task=task.name, seed=zoo_agent.seed,
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


def _contrast_blocks(zoo_agent: ZooAgent, wanted: list[str], n_repetitions: int,
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
    acts = zoo_agent.activations(obs.reshape(n_rep * n_cells, n_steps, obs_dim), wanted)
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
