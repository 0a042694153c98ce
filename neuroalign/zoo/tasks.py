"""Task registry: environments, success criteria, condition grids and probe inputs.

Every task publishes

* ``make_env()``: a fresh gymnasium environment;
* ``budget``: the environment-step budget shared by every agent on the task;
* ``evaluate(policy, seed)``: test episodes of a greedy policy against the task's
  documented success criterion;
* ``probe_inputs(n_repetitions, seed)``: observations for every cell of the
  valence x approach condition grid, several repetitions per cell.

Success criteria
----------------
``pavlovian``
    At least 90% of test trials (``n_eval`` per cue type) are correct: reward
    trial -> lick at the outcome step and on at least half of the delay steps;
    danger trial -> withdrawn at the outcome step; neutral trial -> not licking at
    the outcome step.
``gridworld``
    At least 90% of test episodes (two from every free start cell) reach the
    reward site without entering the hazard, within the shortest path plus 2 steps.
``contrast``
    See :mod:`neuroalign.zoo.contrast_task` (a sequential task: its policies map
    observation sequences to actions).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from neuroalign.core.errors import ValidationError
from neuroalign.zoo.contrast_task import CONTRAST_TASK
from neuroalign.zoo.gridworld import GridworldEnv
from neuroalign.zoo.pavlovian import PavlovianEnv
from neuroalign.zoo.task_base import APPROACH_STEPS, SUCCESS_THRESHOLD, Task

__all__ = ["APPROACH_STEPS", "SUCCESS_THRESHOLD", "Task", "get_task", "make_env", "task_names"]

_TASKS: dict[str, Task] = {
    "pavlovian": Task(
        name="pavlovian",
        description="cue (reward/danger/neutral), 5-step delay, outcome; lick or withdraw",
        env_factory=PavlovianEnv,
        budget=12_000,
        criterion=">= 90% of test trials correct (anticipatory licking on reward trials, "
                  "withdrawn at the outcome on danger and neutral trials)",
    ),
    "gridworld": Task(
        name="gridworld",
        description="7x7 arena, reward site (+1, ends) and hazard (-1 per entry), "
                    "random starts",
        env_factory=GridworldEnv,
        budget=20_000,
        criterion=">= 90% of test episodes reach the reward, avoid the hazard, "
                  "within shortest path + 2 steps",
    ),
    "contrast": CONTRAST_TASK,
}


def _registry() -> dict[str, Task]:
    return _TASKS


def task_names() -> list[str]:
    """Names of the registered tasks."""
    return list(_registry())


def get_task(name: str) -> Task:
    """The task called ``name``.

    Raises
    ------
    ValidationError
        If ``name`` is not a registered task; the message lists the valid ones.
    """
    tasks = _registry()
    if name not in tasks:
        raise ValidationError(f"task: got {name!r}; expected one of {task_names()}")
    return tasks[name]


def make_env(task: str, seed: int | None = None) -> gym.Env:
    """The gymnasium environment of a zoo task, exactly as the zoo trains on it.

    The zoo's own learners train on this environment unwrapped (same observation
    noise, reward scheme, episode length and truncation), so an agent trained on it
    with another library (e.g. Stable-Baselines3) learned the same task.

    Parameters
    ----------
    task
        A zoo task: ``pavlovian``, ``gridworld`` or ``contrast``.
    seed
        Seeds the environment's random stream (``env.reset(seed=seed)``) and its
        action and observation spaces; ``None`` leaves them unseeded.

    Returns
    -------
    gymnasium.Env
        A fresh environment.

    Raises
    ------
    ValidationError
        Unknown task (the message lists the valid ones) or a seed that is not a
        non-negative integer.
    """
    env = get_task(task).make_env()
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValidationError(f"seed: got {seed!r}; expected a non-negative integer "
                                  "or None")
        env.reset(seed=int(seed))
        env.action_space.seed(int(seed))
        env.observation_space.seed(int(seed))
    return env
