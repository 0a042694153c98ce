"""The task type of the zoo: environments, success criteria, condition grids, probe inputs.

:class:`Task` is what every registered task is (the registry is
:mod:`neuroalign.zoo.tasks`; the sequential contrast task,
:mod:`neuroalign.zoo.contrast_task`, extends it). See :mod:`neuroalign.zoo.tasks`
for the success criteria of each task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from neuroalign.core.contracts import condition_coords
from neuroalign.core.errors import ValidationError
from neuroalign.zoo.gridworld import GridworldEnv
from neuroalign.zoo.pavlovian import PavlovianEnv

__all__ = ["APPROACH_STEPS", "SUCCESS_THRESHOLD", "Policy", "Task"]

#: largest approach step of every grid (K)
APPROACH_STEPS = 5
#: share of correct test episodes that counts as success
SUCCESS_THRESHOLD = 0.9

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Task:
    """One valence task of the zoo (see the module docstring for the criteria).

    Attributes
    ----------
    name, description
        Registry name and one-line description.
    env_factory
        Builds a fresh environment.
    budget
        Environment-step budget shared by every agent on this task.
    criterion
        The success criterion, in words.
    valences
        Valences of the default condition grid (reward, danger).
    n_eval
        Pavlovian test trials per cue type.
    """

    name: str
    description: str
    env_factory: Callable[[], gym.Env]
    budget: int
    criterion: str
    valences: tuple[int, ...] = (1, -1)
    n_eval: int = 40
    #: True when policies see whole observation sequences (trial, step, obs_dim)
    sequential: ClassVar[bool] = False

    def make_env(self) -> gym.Env:
        """A fresh environment of this task."""
        return self.env_factory()

    @property
    def approaches(self) -> range:
        """Approach steps of the grid, ``0 .. K``."""
        return range(APPROACH_STEPS + 1)

    def condition_coords(self, include_neutral: bool = False) -> dict[str, tuple[str, Any]]:
        """Coords of this task's condition grid (valence-major, approach descending)."""
        return condition_coords(self._valences(include_neutral), self.approaches)

    def _valences(self, include_neutral: bool) -> tuple[int, ...]:
        if include_neutral:
            if self.name != "pavlovian":
                raise ValidationError(
                    f"include_neutral: task {self.name!r} has no neutral condition; only "
                    "'pavlovian' has"
                )
            return (*self.valences, 0)
        return self.valences

    # ------------------------------------------------------------------ probing
    def probe_episodes(self, n_repetitions: int = 8, seed: int = 0,
                       include_neutral: bool = False) -> np.ndarray:
        """Probe observations, one approach-ordered episode per (repetition, valence).

        Returns
        -------
        numpy.ndarray
            Shape ``(n_repetitions, n_valences, K + 1, obs_dim)``; the third axis runs
            over approach ``K .. 0``. Episodes follow the correct behaviour (licking
            on reward trials, withdrawing otherwise; shortest paths to a site) and
            carry fresh observation noise, so repetitions differ.
        """
        if int(n_repetitions) < 1:
            raise ValidationError(f"n_repetitions: got {n_repetitions}; expected >= 1")
        env = self.make_env()
        if not isinstance(env, (PavlovianEnv, GridworldEnv)):
            raise ValidationError(f"task {self.name!r}: probe episodes follow the pavlovian or "
                                  f"gridworld environment; got {type(env).__name__}")
        valences = self._valences(include_neutral)
        # one stream per valence: the reward and danger episodes do not depend on
        # whether neutral ones are drawn too
        streams = {v: np.random.default_rng([int(seed), v + 1]) for v in valences}
        eps = []
        for _ in range(int(n_repetitions)):
            row = []
            for v in valences:
                rng = streams[v]
                if isinstance(env, PavlovianEnv):
                    clean = env.expert_episode(v)
                else:
                    clean = env.expert_episode(v, APPROACH_STEPS, rng)
                noise = rng.normal(0.0, env.obs_noise, clean.shape)
                row.append(clean + noise)
            eps.append(np.stack(row))
        return np.stack(eps).astype(np.float32)

    def probe_inputs(self, n_repetitions: int = 8, seed: int = 0,
                     include_neutral: bool = False) -> np.ndarray:
        """Probe observations laid out on the grid: ``(repetition, condition, obs_dim)``."""
        eps = self.probe_episodes(n_repetitions, seed, include_neutral)
        r, v, a, d = eps.shape
        return eps.reshape(r, v * a, d)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, policy: Policy, seed: int = 12345) -> dict[str, float]:
        """Run greedy test episodes and score them against the success criterion.

        Parameters
        ----------
        policy
            Maps a batch of observations ``(n, obs_dim)`` to actions ``(n,)``.
        seed
            Seed of the test episodes (cues, starts, observation noise).

        Returns
        -------
        dict
            ``success_rate``, ``mean_return``, ``n_episodes`` and ``criterion_met``
            (1.0 when ``success_rate >= SUCCESS_THRESHOLD``).
        """
        probe_env = self.make_env()
        if not isinstance(probe_env, (PavlovianEnv, GridworldEnv)):
            raise ValidationError(f"task {self.name!r}: evaluate runs the pavlovian or "
                                  f"gridworld environment; got {type(probe_env).__name__}")
        if isinstance(probe_env, PavlovianEnv):
            plans: list[dict[str, Any]] = [{"valence": v} for v in (1, -1, 0)
                                           for _ in range(self.n_eval)]
        else:
            plans = [{"start": c} for c in probe_env.start_cells for _ in range(2)]
        # all test episodes step in lockstep so the policy sees one batch per step
        envs = [self.make_env() for _ in plans]
        obs, infos = zip(*(env.reset(seed=seed + i, options=opt)
                           for i, (env, opt) in enumerate(zip(envs, plans, strict=True))),
                         strict=True)
        current = np.stack(obs)
        shortest = [info.get("shortest", 0) for info in infos]
        returns = np.zeros(len(envs))
        steps = np.zeros(len(envs), dtype=np.int64)
        hazard = np.zeros(len(envs), dtype=bool)
        terminated = np.zeros(len(envs), dtype=bool)
        active = np.ones(len(envs), dtype=bool)
        last_info: list[dict[str, Any]] = list(infos)
        while active.any():
            idx = np.flatnonzero(active)
            actions = np.asarray(policy(current[idx]))
            for i, action in zip(map(int, idx), actions, strict=True):
                o, reward, term, trunc, info = envs[i].step(int(action))
                current[i] = o
                returns[i] += reward
                steps[i] += 1
                hazard[i] |= info.get("hazard_hits", 0) > 0
                last_info[i] = info
                if term or trunc:
                    active[i] = False
                    terminated[i] = term
        successes = []
        for i, options in enumerate(plans):
            info = last_info[i]
            if isinstance(probe_env, PavlovianEnv):
                v, lick_out = options["valence"], info["licked_outcome"]
                ok = ((v == 1 and lick_out and info["n_anticipatory"] >= probe_env.delay / 2)
                      or (v != 1 and not lick_out))
            else:
                ok = terminated[i] and not hazard[i] and steps[i] <= shortest[i] + 2
            successes.append(bool(ok))
        rate = float(np.mean(successes))
        return {"success_rate": rate, "mean_return": float(np.mean(returns)),
                "n_episodes": float(len(plans)),
                "criterion_met": float(rate >= SUCCESS_THRESHOLD)}
