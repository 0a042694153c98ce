"""Valence gridworld: an arena with a reward site and a hazard.

The agent starts on a random free cell of a ``size x size`` arena and moves
up, down, left or right (bumping into the boundary leaves it in place). Reaching
the reward site pays ``+1`` and ends the episode; every step that ends on the
hazard costs ``hazard_cost`` (-1 by default) without ending the episode; every
step costs ``step_cost`` (0.02). Episodes are truncated after ``max_steps``.

Observation (float32, 2 + 27 values, plus Gaussian noise of ``obs_noise``): the
position scaled to [-1, 1] and a 3x3 local view with three channels (hazard,
reward site, outside the arena).

Approach, for the condition grid, is the path (Manhattan) distance to the reward
site or to the hazard. A cell belongs to the reward zone at approach ``a`` when it
is ``a`` steps from the reward and strictly further from the hazard, and to the
danger zone symmetrically; a shortest path towards a site never leaves its zone.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

#: observations are clipped to [-OBS_BOUND, OBS_BOUND]
OBS_BOUND = 3.0

__all__ = ["GridworldEnv"]

_MOVES = np.array([(0, -1), (0, 1), (-1, 0), (1, 0)], dtype=np.int64)  # up, down, left, right


class GridworldEnv(gym.Env[np.ndarray, np.int64]):
    """Arena with a rewarded site and a costly hazard.

    Parameters
    ----------
    size
        Side length of the square arena.
    reward_site, hazard
        ``(x, y)`` cells of the reward site and of the hazard.
    obs_noise
        Standard deviation of the Gaussian noise added to every observation.
    step_cost, hazard_cost, max_steps
        Reward scheme and episode length, see the module docstring.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium convention

    def __init__(self, size: int = 7, reward_site: tuple[int, int] = (5, 5),
                 hazard: tuple[int, int] = (2, 3), obs_noise: float = 0.05,
                 step_cost: float = 0.02, hazard_cost: float = 1.0,
                 max_steps: int = 30) -> None:
        self.size = int(size)
        self.reward_site = (int(reward_site[0]), int(reward_site[1]))
        self.hazard = (int(hazard[0]), int(hazard[1]))
        self.obs_noise = float(obs_noise)
        self.step_cost = float(step_cost)
        self.hazard_cost = float(hazard_cost)
        self.max_steps = int(max_steps)
        self.obs_dim = 2 + 27
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (self.obs_dim,), np.float32)
        self.action_space = gym.spaces.Discrete(4)
        self.start_cells = [(x, y) for x in range(self.size) for y in range(self.size)
                            if (x, y) not in (self.reward_site, self.hazard)]
        self._pos = self.start_cells[0]
        self._t = 0
        self._hazard_hits = 0

    # ------------------------------------------------------------------ geometry
    def distance(self, cell: tuple[int, int], site: tuple[int, int]) -> int:
        """Path (Manhattan) distance between two cells of the open arena."""
        return abs(cell[0] - site[0]) + abs(cell[1] - site[1])

    def zone(self, valence: int, approach: int) -> list[tuple[int, int]]:
        """Cells ``approach`` steps from the site of ``valence`` and nearer to it."""
        site, other = ((self.reward_site, self.hazard) if valence == 1
                       else (self.hazard, self.reward_site))
        return [(x, y) for x in range(self.size) for y in range(self.size)
                if self.distance((x, y), site) == approach
                and self.distance((x, y), other) > approach]

    def clean_obs(self, cell: tuple[int, int]) -> np.ndarray:
        """Noise-free observation at ``cell``."""
        obs = np.zeros(self.obs_dim, dtype=np.float32)
        scale = (self.size - 1) / 2.0
        obs[0] = (cell[0] - scale) / scale
        obs[1] = (cell[1] - scale) / scale
        view = obs[2:].reshape(3, 3, 3)
        for i, dy in enumerate((-1, 0, 1)):
            for j, dx in enumerate((-1, 0, 1)):
                c = (cell[0] + dx, cell[1] + dy)
                view[0, i, j] = c == self.hazard
                view[1, i, j] = c == self.reward_site
                view[2, i, j] = not (0 <= c[0] < self.size and 0 <= c[1] < self.size)
        return obs

    def _obs(self) -> np.ndarray:
        noise = self.np_random.normal(0.0, self.obs_noise, self.obs_dim)
        return np.clip(self.clean_obs(self._pos) + noise, -OBS_BOUND, OBS_BOUND).astype(
            np.float32)

    def _info(self) -> dict[str, Any]:
        return {"position": self._pos, "hazard_hits": self._hazard_hits,
                "distance_reward": self.distance(self._pos, self.reward_site),
                "distance_hazard": self.distance(self._pos, self.hazard)}

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at a random free cell; ``options={"start": (x, y)}`` fixes it."""
        super().reset(seed=seed)
        if options and "start" in options:
            self._pos = (int(options["start"][0]), int(options["start"][1]))
        else:
            self._pos = self.start_cells[int(self.np_random.integers(len(self.start_cells)))]
        self._t = 0
        self._hazard_hits = 0
        info = self._info()
        info["shortest"] = info["distance_reward"]
        return self._obs(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move one cell (0 up, 1 down, 2 left, 3 right)."""
        move = _MOVES[int(action)]
        x = min(max(self._pos[0] + int(move[0]), 0), self.size - 1)
        y = min(max(self._pos[1] + int(move[1]), 0), self.size - 1)
        self._pos = (x, y)
        self._t += 1
        reward = -self.step_cost
        terminated = self._pos == self.reward_site
        if terminated:
            reward += 1.0
        if self._pos == self.hazard:
            reward -= self.hazard_cost
            self._hazard_hits += 1
        truncated = (not terminated) and self._t >= self.max_steps
        return self._obs(), float(reward), terminated, truncated, self._info()

    # ------------------------------------------------------------------ probing
    def expert_episode(self, valence: int, approach: int,
                       rng: np.random.Generator) -> np.ndarray:
        """Noise-free observations along a shortest path towards a site.

        Starts on a random cell of ``zone(valence, approach)`` and steps to the
        site (reward for ``valence=1``, hazard for ``-1``), choosing among the
        shortest moves at random. Rows are ordered by approach ``approach .. 0``.
        """
        site = self.reward_site if valence == 1 else self.hazard
        cells = self.zone(valence, approach)
        cell = cells[int(rng.integers(len(cells)))]
        rows = [self.clean_obs(cell)]
        while cell != site:
            options = []
            for dx, dy in _MOVES:
                nxt = (cell[0] + int(dx), cell[1] + int(dy))
                if self.distance(nxt, site) < self.distance(cell, site):
                    options.append(nxt)
            cell = options[int(rng.integers(len(options)))]
            rows.append(self.clean_obs(cell))
        return np.stack(rows)
