"""What every learning algorithm receives and reports while it trains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from neuroalign.zoo.configs import AgentConfig
from neuroalign.zoo.networks import ZooNet

__all__ = ["AlgorithmSpec", "LearnContext", "Monitor"]


class Monitor:
    """Counts environment steps, episode returns and periodic evaluations.

    Parameters
    ----------
    budget
        Environment steps allowed.
    eval_every
        Steps between evaluations against the task's criterion.
    evaluate
        Callable returning the task's evaluation dict for the current network.
    stop_at_criterion
        Stop training once ``patience`` consecutive evaluations meet the criterion.
    patience
        Consecutive successful evaluations needed to stop.
    on_update
        Called after every evaluation and episode with the monitor (progress display).
    """

    def __init__(self, budget: int, eval_every: int, evaluate: Callable[[], dict[str, float]],
                 stop_at_criterion: bool = False, patience: int = 2,
                 on_update: Callable[[Monitor], None] | None = None) -> None:
        self.budget = int(budget)
        self.eval_every = max(1, int(eval_every))
        self._evaluate = evaluate
        self.stop_at_criterion = stop_at_criterion
        self.patience = max(1, int(patience))
        self._streak = 0
        self.on_update = on_update
        self.steps = 0
        self.episodes = 0
        self.returns: list[float] = []
        self.history: list[dict[str, float]] = []
        self.steps_to_criterion: int | None = None
        self.stopped = False
        self._next_eval = self.eval_every

    @property
    def recent_return(self) -> float:
        """Mean return of the last 50 training episodes (NaN before the first)."""
        return float(np.mean(self.returns[-50:])) if self.returns else float("nan")

    @property
    def last_success(self) -> float:
        """Success rate of the latest evaluation (NaN before the first)."""
        return self.history[-1]["success_rate"] if self.history else float("nan")

    def episode(self, total: float) -> None:
        """Record the return of a finished training episode."""
        self.episodes += 1
        self.returns.append(float(total))

    def step(self) -> bool:
        """Count one environment step; evaluate when due. True when training must stop."""
        self.steps += 1
        if self.steps >= self._next_eval or self.steps >= self.budget:
            self._next_eval += self.eval_every
            self.evaluate_now()
        self.stopped = self.stopped or self.steps >= self.budget
        return self.stopped

    def evaluate_now(self) -> dict[str, float]:
        """Evaluate the current network and record it."""
        result = dict(self._evaluate())
        result["step"] = float(self.steps)
        result["train_return"] = self.recent_return
        self.history.append(result)
        if result["criterion_met"] and self.steps_to_criterion is None:
            self.steps_to_criterion = self.steps
        self._streak = self._streak + 1 if result["criterion_met"] else 0
        if self.stop_at_criterion and self._streak >= self.patience:
            self.stopped = True
        if self.on_update is not None:
            self.on_update(self)
        return result


@dataclass
class LearnContext:
    """Everything a learning algorithm needs: env, network, config, randomness."""

    env: gym.Env
    net: ZooNet
    config: AgentConfig
    rng: np.random.Generator
    monitor: Monitor

    def reset(self) -> np.ndarray:
        """Reset the environment with a seed drawn from ``rng``; return the observation."""
        obs, _ = self.env.reset(seed=int(self.rng.integers(2**31 - 1)))
        return obs

    def obs_tensor(self, obs: np.ndarray) -> torch.Tensor:
        """A float32 tensor of ``obs`` (a batch of one when ``obs`` is 1-d)."""
        t = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        return t[None, :] if t.ndim == 1 else t

    def update(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One gradient step on ``loss``, the gradient norm clipped at ``max_grad_norm``."""
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.config.max_grad_norm)
        opt.step()


@dataclass(frozen=True)
class AlgorithmSpec:
    """A learning algorithm of the zoo.

    ``heads(n_actions, config)`` gives the head sizes; ``learn(ctx)`` trains
    ``ctx.net`` in place; ``readouts(raw, config)`` turns raw head outputs into the
    named ``readout.*`` layers; ``roles`` labels each layer (trunk, q, actor, critic).
    ``trunk`` is the network's trunk (``"mlp"`` or ``"gru"``); ``layout`` its
    actor-critic layout (``"shared"``: one trunk under every head, every value-learner
    included; ``"separate"``: actor and critic networks, see
    :class:`neuroalign.zoo.networks.ZooNet`); ``tasks`` the tasks the algorithm can learn
    (``None``: every task).
    """

    name: str
    family: str
    description: str
    config_cls: type[AgentConfig]
    heads: Callable[[int, Any], dict[str, int]]
    learn: Callable[[LearnContext], None]
    readouts: Callable[[dict[str, torch.Tensor], Any], dict[str, torch.Tensor]]
    roles: dict[str, str]
    trunk: str = "mlp"
    tasks: tuple[str, ...] | None = None
    layout: str = "shared"

    def greedy_action(self, readouts: dict[str, torch.Tensor]) -> torch.Tensor:
        """Greedy actions from the readouts (argmax of Q or of the policy)."""
        key = "readout.q" if self.family == "value" else "readout.pi"
        return readouts[key].argmax(dim=-1)
