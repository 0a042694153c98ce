"""Two-choice visual contrast task (Steinmetz et al. 2019) as a gymnasium environment.

One episode is one trial. A grating of contrast ``c_left`` appears on the left and
one of ``c_right`` on the right (each 0, 0.25, 0.5 or 1, drawn uniformly and
independently). The stimulus stays in view; ``go_step`` steps later a go cue
sounds, and the action at the go-cue step is the response: hold still (no-go,
action 0), turn left (1) or turn right (2). One step later the outcome arrives
and the episode ends. Actions before the go cue have no consequence (the wheel
is not read before the go cue).

Correct response: turn toward the higher contrast; with both contrasts zero hold
still (no-go); with equal non-zero contrasts either turn is rewarded with
probability 1/2 (and no-go is wrong).

Reward scheme (defaults): a correct response earns water ``+1``; a wrong one a
white-noise burst ``-punishment`` (1.0) plus the cost of the timeout that follows
it, ``-timeout_cost`` (0.5), so ``-1.5`` in all.

Observation (float32, 5 values, clipped to ``[-3, 3]``): the two perceived
contrasts, the go-cue flag, the water flag and the white-noise flag (the last
two are 1 only in the outcome observation). The perceived contrast is the true
contrast plus *trial noise* (``trial_noise``, drawn once per trial and side: a
percept that stays wrong for the whole trial) plus *step noise* (``step_noise``,
drawn afresh every step). Integrating over steps averages out only the step
noise, so both feedforward and recurrent agents show a graded psychometric curve.

Time axis
---------
Step ``k`` stands for the ``STEP_S`` (0.1 s) bin ``[k * 0.1, (k + 1) * 0.1)`` s after
stimulus onset: steps 0-4 are the open-loop stimulus period (0-0.5 s), step 5
(0.5 s) the go cue and the response, step 6 (0.6 s) the outcome. In the mice's
trials the go cue comes 0.5-1.2 s after stimulus onset, the wheel response
about 0.2-0.4 s later and the feedback at the response; the agent's trial is that
trial with the go cue at its earliest time and the response collapsed onto the
go-cue step. Recordings binned with :func:`neuroalign.io.grid.contrast_grid` use
the same 0.1 s bins, so stimulus-period conditions line up with the agents' exactly.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike

from neuroalign.core.contracts import CONTRAST_STEP_S

__all__ = [
    "ACTIONS",
    "CONTRASTS",
    "OBS_BOUND",
    "STEP_S",
    "ContrastEnv",
    "contrast_pairs",
    "correct_choice",
    "outcome_valence",
]

#: contrast levels of each side
CONTRASTS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
#: action index -> choice name
ACTIONS: tuple[str, ...] = ("nogo", "left", "right")
#: seconds of the real trial per task step (the contrast grid's step, defined in core)
STEP_S = CONTRAST_STEP_S
#: observations are clipped to [-OBS_BOUND, OBS_BOUND]
OBS_BOUND = 3.0


def contrast_pairs() -> np.ndarray:
    """All 16 ``(c_left, c_right)`` pairs, left-major, shape ``(16, 2)``."""
    return np.asarray([(cl, cr) for cl in CONTRASTS for cr in CONTRASTS], dtype=np.float64)


def correct_choice(c_left: ArrayLike, c_right: ArrayLike) -> np.ndarray:
    """Correct action per trial: 1 left, 2 right, 0 no-go, -1 either turn (equal, non-zero)."""
    cl, cr = np.asarray(c_left, dtype=np.float64), np.asarray(c_right, dtype=np.float64)
    out = np.where(cl > cr, 1, np.where(cr > cl, 2, -1))
    return np.where((cl == 0) & (cr == 0), 0, out).astype(np.int64)


def outcome_valence(c_left: ArrayLike, c_right: ArrayLike, action: ArrayLike,
                    coin: ArrayLike) -> np.ndarray:
    """+1 (water) or -1 (white noise) per trial.

    ``coin`` (uniform draws in [0, 1)) decides trials with equal non-zero contrasts:
    a turn is rewarded when ``coin < 0.5``.
    """
    target = correct_choice(c_left, c_right)
    act = np.asarray(action, dtype=np.int64)
    either = (target == -1) & (act != 0) & (np.asarray(coin) < 0.5)
    return np.where((act == target) | either, 1, -1).astype(np.int64)


class ContrastEnv(gym.Env[np.ndarray, np.int64]):
    """Two-choice contrast discrimination with a no-go option; one episode is one trial.

    Parameters
    ----------
    go_step
        Step of the go cue and the response (steps before it show the stimulus only).
    trial_noise, step_noise
        Standard deviations of the perceptual noise (see the module docstring).
    punishment, timeout_cost
        Cost of the white-noise burst and of the timeout after a wrong response.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium convention

    obs_dim = 5

    def __init__(self, go_step: int = 5, trial_noise: float = 0.2, step_noise: float = 0.25,
                 punishment: float = 1.0, timeout_cost: float = 0.5) -> None:
        self.go_step = int(go_step)
        self.trial_noise = float(trial_noise)
        self.step_noise = float(step_noise)
        self.punishment = float(punishment)
        self.timeout_cost = float(timeout_cost)
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (self.obs_dim,),
                                                np.float32)
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        self._contrast = np.zeros(2)
        self._bias = np.zeros(2)
        self._step = 0

    @property
    def n_steps(self) -> int:
        """Observations per trial: stimulus steps, go-cue step, outcome step."""
        return self.go_step + 2

    # ------------------------------------------------------------------ helpers
    def observations(self, contrast: np.ndarray, valence: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
        """Noisy observations of whole trials, vectorised.

        Parameters
        ----------
        contrast
            ``(n, 2)`` left and right contrasts.
        valence
            ``(n,)`` outcome of each trial (+1 water, -1 white noise), shown in the
            last observation.
        rng
            Draws the trial and step noise.

        Returns
        -------
        numpy.ndarray
            ``(n, n_steps, 5)`` float32: steps ``0 .. go_step + 1``.
        """
        contrast = np.asarray(contrast, dtype=np.float64)
        n, t = contrast.shape[0], self.n_steps
        bias = rng.normal(0.0, self.trial_noise, (n, 1, 2))
        seen = contrast[:, None, :] + bias + rng.normal(0.0, self.step_noise, (n, t, 2))
        obs = np.zeros((n, t, self.obs_dim))
        obs[:, :, :2] = seen
        obs[:, self.go_step, 2] = 1.0
        val = np.asarray(valence)
        obs[:, t - 1, 3] = val == 1
        obs[:, t - 1, 4] = val == -1
        return np.clip(obs, -OBS_BOUND, OBS_BOUND).astype(np.float32)

    def _obs(self, valence: int = 0) -> np.ndarray:
        seen = self._contrast + self._bias + self.np_random.normal(0.0, self.step_noise, 2)
        obs = np.zeros(self.obs_dim)
        obs[:2] = seen
        obs[2] = float(self._step == self.go_step)
        obs[3] = float(valence == 1)
        obs[4] = float(valence == -1)
        return np.clip(obs, -OBS_BOUND, OBS_BOUND).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        cl, cr = self._contrast
        return {"contrast_left": float(cl), "contrast_right": float(cr),
                "step": self._step, "time_s": self._step * STEP_S}

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a trial; ``options={"contrast": (c_left, c_right)}`` forces the stimulus."""
        super().reset(seed=seed)
        if options and "contrast" in options:
            self._contrast = np.asarray(options["contrast"], dtype=np.float64).reshape(2)
        else:
            self._contrast = np.asarray(CONTRASTS)[self.np_random.integers(len(CONTRASTS), size=2)]
        self._bias = self.np_random.normal(0.0, self.trial_noise, 2)
        self._step = 0
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step; the action counts only at the go-cue step."""
        if self._step < self.go_step:
            self._step += 1
            return self._obs(), 0.0, False, False, self._info()
        act = int(action)
        valence = int(outcome_valence(self._contrast[0], self._contrast[1], act,
                                      self.np_random.random()))
        reward = 1.0 if valence == 1 else -(self.punishment + self.timeout_cost)
        self._step += 1
        info = self._info()
        info.update(choice=ACTIONS[act], valence=valence)
        return self._obs(valence), reward, True, False, info
