"""Users' own tasks: a gymnasium environment that labels each step's condition.

The protocol: the ``info`` dict that comes with every observation (from ``reset`` and
from each ``step`` that does not end the episode) holds

``valence``
    ``1`` / ``"reward"``, ``-1`` / ``"danger"`` or ``0`` / ``"neutral"``: one value per
    episode (one trial has one valence);
``approach``
    a non-negative integer: steps (or bins) before the outcome, 0 at the outcome.

The agent's own greedy actions drive the episodes (closed loop); each observation
it acts on goes to the cell its labels name. Episodes run until no new cell has
appeared for :data:`SETTLE_EPISODES` episodes (or twice ``n_repetitions``) and every
cell has ``n_repetitions`` observations (the first ones are kept), at most
:data:`EPISODES_PER_REPETITION` x ``n_repetitions`` episodes. The grid is every
valence seen x every approach seen, valence-major (reward, danger, neutral) and
approach descending as for the zoo's tasks, and every cell must get
``n_repetitions`` observations. The
observation that comes with the end of an episode is not acted on and not probed.

Environments come by gymnasium id (registered by the user's package, imported
first) or, with ``allow_code``, by import path ``package.module:EnvClass`` (or a
gymnasium id that names its module, ``package.module:EnvName-v0``): both run code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from neuroalign.core.contracts import VALENCE_CODES, VALENCE_NAMES, condition_coords
from neuroalign.core.errors import DataError, ValidationError
from neuroalign.core.validation import check_positive_int

__all__ = ["EnvTask", "resolve_task"]

#: episodes run per requested repetition before the probe gives up on a short cell
EPISODES_PER_REPETITION = 50
#: steps one episode may last
MAX_EPISODE_STEPS = 10_000
#: episodes without a new cell after which the grid counts as complete
SETTLE_EPISODES = 20


def _valence(value: Any, where: str) -> int:
    if isinstance(value, str) and value in VALENCE_CODES:
        return VALENCE_CODES[value]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
            and int(value) in VALENCE_NAMES:
        return int(value)
    raise DataError(f"{where}: info['valence'] = {value!r}; expected one of "
                    f"{sorted(VALENCE_NAMES)} or {sorted(VALENCE_CODES)}")


def _approach(value: Any, where: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise DataError(f"{where}: info['approach'] = {value!r}; expected a non-negative integer "
                    "(steps before the outcome)")


@dataclass(frozen=True)
class EnvTask:
    """A user's gymnasium environment as a probe task (see the module docstring).

    Attributes
    ----------
    name
        The gymnasium id or import path it was made from.
    env_factory
        Builds a fresh environment.
    """

    name: str
    env_factory: Callable[[], gym.Env]
    sequential = False
    closed_loop = True

    def make_env(self) -> gym.Env:
        """A fresh environment."""
        return self.env_factory()

    def closed_loop_inputs(self, act: Callable[[np.ndarray], np.ndarray], n_repetitions: int,
                           seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
        """Observations the agent acts on, sorted into the grid its labels name.

        Returns
        -------
        tuple
            ``(inputs, coords)``: ``inputs`` of shape ``(repetition, condition,
            obs_dim)`` and the condition coords (``valence``, ``approach``, ``label``).

        Raises
        ------
        DataError
            A step whose ``info`` lacks a label or holds an invalid one (naming the
            episode, the step and the key), a valence that changes within an episode,
            or cells that stay short of ``n_repetitions`` (named).
        """
        n_rep = check_positive_int(n_repetitions, "n_repetitions")
        env = self.make_env()
        rng = np.random.default_rng(int(seed))
        cells: dict[tuple[int, int], list[np.ndarray]] = {}
        max_episodes = EPISODES_PER_REPETITION * n_rep
        last_new = 0
        for episode in range(max_episodes):
            obs, info = env.reset(seed=int(rng.integers(2**31 - 1)))
            valence: int | None = None
            for step in range(MAX_EPISODE_STEPS):
                where = f"env {self.name!r}: episode {episode}, step {step}"
                for key in ("valence", "approach"):
                    if key not in info or info[key] is None:
                        raise DataError(f"{where}: info lacks {key!r}; expected every step "
                                        "labelled with 'valence' and 'approach'")
                v, a = _valence(info["valence"], where), _approach(info["approach"], where)
                if valence is not None and v != valence:
                    raise DataError(f"{where}: info['valence'] changed from {valence} to {v}; "
                                    "expected one valence per episode")
                valence = v
                flat = np.asarray(obs, dtype=np.float32).reshape(-1)
                if (v, a) not in cells:
                    cells[(v, a)], last_new = [], episode
                cells[(v, a)].append(flat)
                action = np.asarray(act(flat[None]))[0]
                obs, _, terminated, truncated, info = env.step(action.item())
                if terminated or truncated:
                    break
            else:
                raise DataError(f"env {self.name!r}: episode {episode} ran "
                                f"{MAX_EPISODE_STEPS} steps without ending")
            settled = episode - last_new >= max(SETTLE_EPISODES, 2 * n_rep)
            if settled and all(len(x) >= n_rep for x in cells.values()):
                break
        valences = [v for v in (1, -1, 0) if any(k[0] == v for k in cells)]
        approaches = sorted({k[1] for k in cells})
        coords = condition_coords(valences, approaches)
        keys = [(int(v), int(a)) for v, a in zip(coords["valence"][1], coords["approach"][1],
                                                 strict=True)]
        short = [f"{lab} ({len(cells.get(k, []))}/{n_rep})"
                 for k, lab in zip(keys, coords["label"][1], strict=True)
                 if len(cells.get(k, [])) < n_rep]
        if short:
            raise DataError(f"env {self.name!r}: cells with fewer than {n_rep} observations "
                            f"after {episode + 1} episodes: {', '.join(short)}; expected every "
                            "valence seen at every approach seen")
        inputs = np.stack([np.stack(cells[k][:n_rep]) for k in keys], axis=1)
        return inputs, coords

    def condition_coords(self, include_neutral: bool = False) -> dict[str, Any]:
        """Not known before the episodes run: use :meth:`closed_loop_inputs`."""
        raise ValidationError(f"task {self.name!r}: its grid comes from the labels of the "
                              "probed episodes")


def _gym_factory(env_id: str, allow_code: bool) -> Callable[[], gym.Env]:
    if ":" in env_id:
        if not allow_code:
            raise ValidationError(f"task: got {env_id!r}, which imports a module; pass "
                                  "allow_code=True (--allow-code) to run its code")
        module, _, attr = env_id.partition(":")
        if attr.isidentifier():
            try:
                cls = getattr(importlib.import_module(module), attr, None)
            except ImportError as err:
                raise ValidationError(f"task: got {env_id!r}; cannot import {module!r} "
                                      f"({err})") from None
            if not (isinstance(cls, type) and issubclass(cls, gym.Env)):
                raise ValidationError(f"task: got {env_id!r}; {attr!r} is not a "
                                      "gymnasium.Env class of that module")
            return cls
        # a gymnasium id that names the module registering it: gym.make imports it
        return lambda: gym.make(env_id, disable_env_checker=True)
    try:
        gym.spec(env_id)
    except gym.error.Error:
        raise ValidationError(f"task: got {env_id!r}; expected a zoo task, a registered "
                              "gymnasium id (import the package that registers it first) or, "
                              "with allow_code, 'package.module:EnvClass'") from None
    return lambda: gym.make(env_id, disable_env_checker=True)


def resolve_task(task: Any, allow_code: bool = False) -> Any:
    """A zoo :class:`~neuroalign.zoo.Task` or an :class:`EnvTask` for ``task``.

    Parameters
    ----------
    task
        A zoo task name, a Task / EnvTask, a registered gymnasium id, or (with
        ``allow_code``) ``package.module:EnvClass``.

    Raises
    ------
    ValidationError
        An unknown name, or an import path without ``allow_code``.
    """
    from neuroalign.zoo.tasks import Task, get_task, task_names

    if isinstance(task, (Task, EnvTask)):
        return task
    if not isinstance(task, str):
        raise ValidationError(f"task: got {type(task).__name__}; expected a task name")
    if task in task_names():
        return get_task(task)
    return EnvTask(name=task, env_factory=_gym_factory(task, allow_code))
