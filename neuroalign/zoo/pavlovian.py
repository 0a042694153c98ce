"""Pavlovian valence conditioning as a gymnasium environment.

One episode is one trial. Step 0 shows the cue (reward, danger or neutral),
then come ``delay`` steps, and at the last step (approach 0) the outcome is
delivered: sucrose, an aversive air puff, or nothing. At every step the agent
chooses to withdraw (action 0) or to approach and lick (action 1).

Reward scheme (defaults)
------------------------
* every approach/lick step costs ``lick_cost`` (0.05): effort;
* reward trial, licking at the outcome step: ``+(base + bonus * n_ant / delay)``
  with ``base = 0.4``, ``bonus = 0.6`` and ``n_ant`` the licks during the delay
  (anticipatory licking pays: each one earns 0.12 for a cost of 0.05);
* danger trial, approaching at the outcome step: an air puff of
  ``-(base + bonus * n_ant / delay)``; withdrawing at the outcome avoids it;
* neutral trial: nothing, so licking only costs effort.

The optimal policy licks throughout reward trials (return 0.70) and withdraws on
danger and neutral trials (0.0); a uniformly random policy averages -0.15 per trial.

Observation (float32, ``3 + (delay + 1) + 1`` values, plus Gaussian noise of
``obs_noise``): the cue one-hot (reward, danger, neutral; held in view through the
trial, a trace the MLP can read), a one-hot of the approach step (delay .. 0), and
the fraction of delay steps licked so far (which keeps the task Markov).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

#: observations are clipped to [-OBS_BOUND, OBS_BOUND]
OBS_BOUND = 3.0

__all__ = ["CUE_VALENCES", "PavlovianEnv"]

#: cue index -> valence code (reward, danger, neutral)
CUE_VALENCES: tuple[int, ...] = (1, -1, 0)


class PavlovianEnv(gym.Env[np.ndarray, np.int64]):
    """Cue-delay-outcome conditioning; one episode is one trial.

    Parameters
    ----------
    delay
        Number of steps between the cue step and the outcome step (``K``); a trial
        lasts ``delay + 1`` steps, approach ``delay .. 0``.
    obs_noise
        Standard deviation of the Gaussian noise added to every observation.
    lick_cost, base, bonus
        Reward scheme, see the module docstring.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium convention

    def __init__(self, delay: int = 5, obs_noise: float = 0.1, lick_cost: float = 0.1,
                 base: float = 0.4, bonus: float = 2.0) -> None:
        self.delay = int(delay)
        self.obs_noise = float(obs_noise)
        self.lick_cost = float(lick_cost)
        self.base = float(base)
        self.bonus = float(bonus)
        self.obs_dim = 3 + (self.delay + 1) + 1
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (self.obs_dim,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._cue = 0
        self._step = 0
        self._n_ant = 0
        self._licked_outcome = False

    # ------------------------------------------------------------------ helpers
    def clean_obs(self, cue: int, step: int, n_ant: int) -> np.ndarray:
        """Noise-free observation for cue index ``cue`` at trial step ``step``."""
        obs = np.zeros(self.obs_dim, dtype=np.float32)
        obs[cue] = 1.0
        obs[3 + step] = 1.0
        obs[-1] = n_ant / self.delay
        return obs

    def _obs(self) -> np.ndarray:
        obs = self.clean_obs(self._cue, self._step, self._n_ant)
        noise = self.np_random.normal(0.0, self.obs_noise, self.obs_dim)
        return np.clip(obs + noise, -OBS_BOUND, OBS_BOUND).astype(np.float32)

    @property
    def valence(self) -> int:
        """Valence code of the current trial's cue."""
        return CUE_VALENCES[self._cue]

    def _info(self) -> dict[str, Any]:
        return {"valence": self.valence, "approach": self.delay - self._step,
                "n_anticipatory": self._n_ant}

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a trial; ``options={"valence": v}`` forces the cue."""
        super().reset(seed=seed)
        if options and "valence" in options:
            self._cue = CUE_VALENCES.index(int(options["valence"]))
        else:
            self._cue = int(self.np_random.integers(3))
        self._step = 0
        self._n_ant = 0
        self._licked_outcome = False
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Withdraw (0) or approach/lick (1) for one step."""
        lick = int(action) == 1
        reward = -self.lick_cost if lick else 0.0
        terminated = self._step == self.delay
        if terminated:
            self._licked_outcome = lick
            gain = self.base + self.bonus * self._n_ant / self.delay
            if lick and self.valence == 1:
                reward += gain
            elif lick and self.valence == -1:
                reward -= gain
            info = self._info()
            info["licked_outcome"] = lick
            return self._obs(), float(reward), True, False, info
        if lick:
            self._n_ant += 1
        self._step += 1
        return self._obs(), float(reward), False, False, self._info()

    # ------------------------------------------------------------------ probing
    def expert_episode(self, valence: int) -> np.ndarray:
        """Noise-free observations of the correct behaviour on one trial.

        Licks throughout reward trials, withdraws on danger and neutral trials.
        Rows are ordered by approach ``delay .. 0``.
        """
        cue = CUE_VALENCES.index(int(valence))
        rows = []
        for step in range(self.delay + 1):
            n_ant = step if valence == 1 else 0
            rows.append(self.clean_obs(cue, step, n_ant))
        return np.stack(rows)
