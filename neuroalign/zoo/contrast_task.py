"""The two-choice contrast task in the registry: evaluation, behaviour, probe trials.

Success criterion (``contrast``)
-------------------------------
On ``n_eval`` greedy test trials per contrast pair (16 pairs), at least
``CONTRAST_THRESHOLD`` (70%) of the trials with a determined answer (unequal
contrasts, or both zero) are correct, and at least ``SUCCESS_THRESHOLD`` (90%) of
the trials at the largest contrast difference (1 vs 0) are. Trials with equal
non-zero contrasts are rewarded at random and do not count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neuroalign.core.contracts import contrast_level, contrast_levels
from neuroalign.core.errors import ValidationError
from neuroalign.zoo.contrast import (
    ACTIONS,
    STEP_S,
    ContrastEnv,
    contrast_pairs,
    correct_choice,
    outcome_valence,
)
from neuroalign.zoo.task_base import SUCCESS_THRESHOLD, Task

__all__ = ["CONTRAST_THRESHOLD", "ContrastTask", "Trials"]

#: share of determined test trials that must be correct
CONTRAST_THRESHOLD = 0.7

SequencePolicy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Trials:
    """A batch of simulated trials: stimulus, observations, choice, outcome."""

    contrast: np.ndarray  # (n, 2)
    obs: np.ndarray  # (n, n_steps, obs_dim), outcome observation included
    choice: np.ndarray  # (n,) action index at the go cue
    valence: np.ndarray  # (n,) +1 water, -1 white noise
    reward: np.ndarray  # (n,)


@dataclass(frozen=True)
class ContrastTask(Task):
    """The two-choice contrast task (see :mod:`neuroalign.zoo.contrast`)."""

    sequential: ClassVar[bool] = True

    def _env(self) -> ContrastEnv:
        env = self.make_env()
        assert isinstance(env, ContrastEnv)
        return env

    @property
    def times_s(self) -> list[float]:
        """Start of every step's time bin, seconds after stimulus onset."""
        return [round(k * STEP_S, 2) for k in range(self._env().n_steps)]

    def run_trials(self, policy: SequencePolicy, contrast: np.ndarray,
                   rng: np.random.Generator) -> Trials:
        """Run whole trials of ``contrast`` ``(n, 2)`` in one batch.

        ``policy`` maps observation sequences ``(n, steps, obs_dim)`` to actions
        ``(n, steps)``; the action at the go-cue step is the choice.
        """
        env = self._env()
        contrast = np.asarray(contrast, dtype=np.float64)
        n = contrast.shape[0]
        # draw the noise of the whole trial first; the outcome only sets the last row's flags
        obs = env.observations(contrast, np.zeros(n, dtype=np.int64), rng)
        choice = np.asarray(policy(obs[:, : env.go_step + 1]))[:, env.go_step].astype(np.int64)
        valence = outcome_valence(contrast[:, 0], contrast[:, 1], choice, rng.random(n))
        obs[:, -1, 3] = valence == 1
        obs[:, -1, 4] = valence == -1
        reward = np.where(valence == 1, 1.0, -(env.punishment + env.timeout_cost))
        return Trials(contrast, obs, choice, valence, reward)

    def evaluate(self, policy: SequencePolicy, seed: int = 12345) -> dict[str, float]:
        """Greedy test trials (``n_eval`` per contrast pair) scored against the criterion.

        Returns
        -------
        dict
            ``success_rate`` (accuracy on determined trials), ``accuracy_max``
            (at contrast difference 1), ``mean_return``, ``n_episodes``,
            ``criterion_met``.
        """
        trials = self.run_trials(policy, np.repeat(contrast_pairs(), self.n_eval, axis=0),
                                 np.random.default_rng(seed))
        target = correct_choice(trials.contrast[:, 0], trials.contrast[:, 1])
        determined = target >= 0
        correct = trials.choice == target
        largest = np.abs(trials.contrast[:, 1] - trials.contrast[:, 0]) == 1.0
        rate = float(correct[determined].mean())
        best = float(correct[largest].mean())
        met = rate >= CONTRAST_THRESHOLD and best >= SUCCESS_THRESHOLD
        return {"success_rate": rate, "accuracy_max": best,
                "mean_return": float(trials.reward.mean()), "n_episodes": float(len(target)),
                "criterion_met": float(met)}

    def probe_trials(self, policy: SequencePolicy, n_repetitions: int = 8, seed: int = 0,
                     by: str = "diff", levels: Sequence[float] | None = None,
                     valences: Sequence[int] = (1, -1), batch: int = 512,
                     max_trials: int = 20_000) -> dict[str, Any]:
        """Closed-loop trials sorted into contrast-level x outcome cells.

        For every level, trials with a contrast pair of that level (drawn uniformly
        among its pairs) run with the agent's own choices, and their outcomes sort
        them into the cells; drawing continues until every cell has
        ``n_repetitions`` trials or the level has used ``max_trials``.

        Returns
        -------
        dict
            ``obs`` ``(repetition, cell, steps, obs_dim)`` (NaN where a cell stayed
            short), ``choice`` (action index, -1 when missing), ``contrast``
            ``(repetition, cell, 2)``, ``levels``, ``valences``, ``filled``
            (trials found per cell, at most ``n_repetitions``) and ``drawn``
            (trials run per level).
        """
        n_rep = int(n_repetitions)
        if n_rep < 1:
            raise ValidationError(f"n_repetitions: got {n_repetitions}; expected >= 1")
        all_levels = contrast_levels(by)
        lev = list(all_levels if levels is None else [float(v) for v in levels])
        bad = [v for v in lev if v not in all_levels]
        if bad or not lev:
            raise ValidationError(f"levels: got {list(lev)}; expected values from {all_levels}")
        env = self._env()
        pairs = contrast_pairs()
        pair_level = contrast_level(pairs[:, 0], pairs[:, 1], by)
        n_cells = len(lev) * len(valences)
        obs = np.full((n_rep, n_cells, env.n_steps, env.obs_dim), np.nan, dtype=np.float32)
        choice = np.full((n_rep, n_cells), -1, dtype=np.int64)
        contrast = np.full((n_rep, n_cells, 2), np.nan)
        filled = np.zeros(n_cells, dtype=np.int64)
        drawn = []
        for li, level in enumerate(lev):
            # one stream per level: a level's trials do not depend on which others are probed
            rng = np.random.default_rng([int(seed), round(level * 100) + 1000])
            candidates = pairs[pair_level == level]
            used = 0
            cells = [li * len(valences) + vi for vi in range(len(valences))]
            while used < max_trials and any(filled[c] < n_rep for c in cells):
                picks = candidates[rng.integers(len(candidates), size=batch)]
                trials = self.run_trials(policy, picks, rng)
                used += batch
                for vi, v in enumerate(valences):
                    c = cells[vi]
                    hit = np.flatnonzero(trials.valence == v)[: n_rep - filled[c]]
                    rows = slice(filled[c], filled[c] + hit.size)
                    obs[rows, c] = trials.obs[hit]
                    choice[rows, c] = trials.choice[hit]
                    contrast[rows, c] = trials.contrast[hit]
                    filled[c] += hit.size
            drawn.append(used)
        return {"obs": obs, "choice": choice, "contrast": contrast, "levels": lev,
                "valences": list(valences), "filled": filled, "drawn": drawn}


def choice_names(choice: np.ndarray) -> np.ndarray:
    """Action indices as names (``nogo``, ``left``, ``right``; ``""`` for -1)."""
    names = np.asarray([*ACTIONS, ""])
    return names[np.asarray(choice, dtype=np.int64)]


CONTRAST_TASK = ContrastTask(
    name="contrast",
    description="two-choice visual contrast task (Steinmetz et al. 2019): turn toward "
                "the higher contrast, hold still when there is none; water or white noise",
    env_factory=ContrastEnv,
    budget=60_000,
    criterion=f">= {CONTRAST_THRESHOLD:.0%} of determined test trials correct and "
              f">= {SUCCESS_THRESHOLD:.0%} at the largest contrast difference",
    n_eval=40,
)
