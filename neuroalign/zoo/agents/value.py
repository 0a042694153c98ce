"""Value-learners: DQN and quantile-regression DQN.

Both learn action values off-policy from an experience replay with a target
network and act epsilon-greedily. DQN regresses Q(s, a) on the one-step target
``r + gamma * max_a' Q_target(s', a')`` (Huber loss). QR-DQN learns ``n``
quantiles of the return per action (quantile Huber loss, midpoints
``tau_i = (i + 0.5) / n``) and acts on their mean.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from neuroalign.zoo.agents.base import AlgorithmSpec, LearnContext
from neuroalign.zoo.agents.table import AGENT_TABLE
from neuroalign.zoo.configs import DQNConfig, QRDQNConfig

__all__ = ["DQN", "QRDQN", "dqn_td_loss", "epsilon", "q_values", "qr_td_loss"]


class _Replay:
    """Fixed-capacity ring buffer of transitions."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.act = np.zeros(capacity, dtype=np.int64)
        self.rew = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(self, obs: np.ndarray, act: int, rew: float, next_obs: np.ndarray,
            done: bool) -> None:
        i = self.pos
        self.obs[i], self.act[i], self.rew[i] = obs, act, rew
        self.next_obs[i], self.done[i] = next_obs, float(done)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(self.size, size=n)
        return (torch.from_numpy(self.obs[idx]), torch.from_numpy(self.act[idx]),
                torch.from_numpy(self.rew[idx]), torch.from_numpy(self.next_obs[idx]),
                torch.from_numpy(self.done[idx]))


def dqn_td_loss(pred: torch.Tensor, nxt: torch.Tensor, act: torch.Tensor, rew: torch.Tensor,
                done: torch.Tensor, cfg: DQNConfig, n_actions: int) -> torch.Tensor:
    """Huber loss of Q(s, a) (rows of ``pred``) against ``r + gamma max_a' Q_target(s', a')``
    (``nxt``: the target network's outputs for the next observations)."""
    q = pred.gather(1, act[:, None]).squeeze(1)
    with torch.no_grad():
        q_next = nxt.max(dim=1).values
        y = rew + cfg.gamma * (1.0 - done) * q_next
    return F.smooth_l1_loss(q, y)


def qr_td_loss(pred: torch.Tensor, nxt_raw: torch.Tensor, act: torch.Tensor,
               rew: torch.Tensor, done: torch.Tensor, cfg: QRDQNConfig,
               n_actions: int) -> torch.Tensor:
    """Quantile Huber loss of the taken action's quantiles against the target's
    quantiles of its greedy next action."""
    n = cfg.n_quantiles
    theta = pred.view(-1, n_actions, n)
    theta = theta[torch.arange(len(act)), act]  # (B, n)
    with torch.no_grad():
        nxt = nxt_raw.view(-1, n_actions, n)
        a_star = nxt.mean(dim=2).argmax(dim=1)
        y = rew[:, None] + cfg.gamma * (1.0 - done[:, None]) * nxt[torch.arange(len(act)),
                                                                   a_star]
    u = y[:, None, :] - theta[:, :, None]  # (B, n_pred, n_target)
    huber = torch.where(u.abs() <= cfg.kappa, 0.5 * u**2, cfg.kappa * (u.abs() - 0.5 * cfg.kappa))
    tau = (torch.arange(n, dtype=torch.float32) + 0.5) / n
    weight = (tau[None, :, None] - (u.detach() < 0).float()).abs()
    return (weight * huber / cfg.kappa).mean(dim=2).sum(dim=1).mean()


def epsilon(cfg: DQNConfig, step: int, budget: int) -> float:
    """Exploration rate at ``step`` (counted from 1): linear from ``eps_start`` to
    ``eps_end`` over the first ``eps_fraction`` of the ``budget`` steps, then ``eps_end``."""
    decay = max(1.0, cfg.eps_fraction * budget)
    return max(cfg.eps_end, cfg.eps_start + (cfg.eps_end - cfg.eps_start) * step / decay)


def _learn(ctx: LearnContext, td_loss: Callable[..., torch.Tensor]) -> None:
    """Replay, target network and epsilon-greedy acting; ``td_loss`` is
    :func:`dqn_td_loss` or :func:`qr_td_loss`."""
    cfg = ctx.config
    assert isinstance(cfg, DQNConfig)
    env, net, rng, mon = ctx.env, ctx.net, ctx.rng, ctx.monitor
    assert isinstance(env.action_space, spaces.Discrete)
    assert isinstance(env.observation_space, spaces.Box)
    n_actions = int(env.action_space.n)
    replay = _Replay(min(cfg.buffer_size, mon.budget), int(env.observation_space.shape[0]))
    target = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    obs, ep_ret = ctx.reset(), 0.0
    while True:
        step = mon.steps + 1
        if rng.random() < epsilon(cfg, step, mon.budget):
            action = int(rng.integers(n_actions))
        else:
            with torch.no_grad():
                q = q_values(net(ctx.obs_tensor(obs))["q"], n_actions)
            action = int(q.argmax(dim=1)[0])
        next_obs, rew, term, trunc, _ = env.step(action)
        replay.add(obs, action, float(rew), next_obs, term)
        ep_ret += float(rew)
        if term or trunc:
            mon.episode(ep_ret)
            obs, ep_ret = ctx.reset(), 0.0
        else:
            obs = next_obs
        if step >= cfg.learning_starts and step % cfg.train_every == 0:
            b_obs, act, rew, next_obs, done = replay.sample(rng, cfg.batch_size)
            pred = net(b_obs)["q"]
            with torch.no_grad():
                nxt = target(next_obs)["q"]
            ctx.update(opt, td_loss(pred, nxt, act, rew, done, cfg, n_actions))
        if step % cfg.target_update == 0:
            target.load_state_dict(net.state_dict())
        if mon.step():
            return


def q_values(raw: torch.Tensor, n_actions: int) -> torch.Tensor:
    """Action values from the ``q`` head (the quantile mean when it holds quantiles)."""
    if raw.shape[1] == n_actions:
        return raw
    return raw.view(raw.shape[0], n_actions, -1).mean(dim=2)


def _dqn_readouts(raw: dict[str, torch.Tensor], cfg: DQNConfig) -> dict[str, torch.Tensor]:
    return {"readout.q": raw["q"]}


def _qr_readouts(raw: dict[str, torch.Tensor], cfg: QRDQNConfig) -> dict[str, torch.Tensor]:
    quant = raw["q"]
    n_actions = quant.shape[1] // cfg.n_quantiles
    return {"readout.q": q_values(quant, n_actions), "readout.quantiles": quant}


DQN = AlgorithmSpec(
    **AGENT_TABLE["dqn"].fields(),
    heads=lambda n_actions, cfg: {"q": n_actions},
    learn=lambda ctx: _learn(ctx, dqn_td_loss),
    readouts=_dqn_readouts,
    roles={"readout.q": "q"},
)

QRDQN = AlgorithmSpec(
    **AGENT_TABLE["qrdqn"].fields(),
    heads=lambda n_actions, cfg: {"q": n_actions * cfg.n_quantiles},
    learn=lambda ctx: _learn(ctx, qr_td_loss),
    readouts=_qr_readouts,
    roles={"readout.q": "q", "readout.quantiles": "q"},
)
