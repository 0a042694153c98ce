"""The zoo's algorithms on the recurrent (GRU) trunk: learning from whole episodes.

A recurrent network's output at a step depends on the episode so far, so these
learners store and replay whole episodes and run the network over them from a
zero state (episodes are trials of a few steps). The losses are those of the
feedforward learners:

``dqn-gru``, ``qrdqn-gru``
    A replay of episodes (``buffer_size`` transitions' worth); each gradient step
    samples ``batch_size // L`` episodes (``L`` the mean episode length), runs the
    online and target networks over them and applies the DQN / QR-DQN loss to every
    valid step (recurrent DQN with whole-episode replay and zero initial state).
``reinforce-gru``
    As REINFORCE, the batch of ``episodes_per_update`` episodes run as sequences.
``a2c-gru``, ``ppo-gru``
    Rollouts of whole episodes until at least ``n_steps`` steps; GAE per episode (a
    truncated episode bootstraps from the critic); A2C takes one gradient step on
    the rollout, PPO ``n_epochs`` passes over minibatches of episodes holding about
    ``minibatch_size`` steps.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from neuroalign.zoo.agents.base import AlgorithmSpec, LearnContext
from neuroalign.zoo.agents.policy import (
    A2C,
    PPO,
    REINFORCE,
    _sample,
    actor_critic_learners,
    gae_advantages,
)
from neuroalign.zoo.agents.table import AGENT_TABLE, RECURRENT_TASKS, agent_name, agent_parts
from neuroalign.zoo.agents.value import DQN, QRDQN, dqn_td_loss, epsilon, q_values, qr_td_loss
from neuroalign.zoo.configs import A2CConfig, DQNConfig, PPOConfig, ReinforceConfig
from neuroalign.zoo.networks import ZooNet

__all__ = ["RECURRENT_AGENTS", "RECURRENT_TASKS"]



@dataclass
class _Episode:
    obs: np.ndarray  # (T + 1, obs_dim): every observation, the last one included
    act: list[int]
    rew: list[float]
    terminated: bool
    logp: list[float]
    value: list[float]
    last_value: float = 0.0  # critic at the last observation (truncated episodes)


def _run_episode(ctx: LearnContext,
                 choose: Callable[[dict[str, torch.Tensor]], tuple[int, float]]
                 ) -> _Episode | None:
    """Play one episode, carrying the recurrent state; ``None`` if the budget ran out.

    ``choose(outputs)`` returns the action and its log-probability.
    """
    env, net, mon = ctx.env, ctx.net, ctx.monitor
    obs = ctx.reset()
    state = net.initial_state(1)
    rows, acts, rews, logps, values = [obs], [], [], [], []
    while True:
        with torch.no_grad():
            out, state = net.step(ctx.obs_tensor(obs), state)
        action, logp = choose(out)
        obs, rew, term, trunc, _ = env.step(action)
        rows.append(obs)
        acts.append(action)
        rews.append(float(rew))
        logps.append(logp)
        values.append(float(out["v"][0, 0]) if "v" in out else 0.0)
        stop = mon.step()
        if term or trunc:
            mon.episode(sum(rews))
            ep = _Episode(np.stack(rows).astype(np.float32), acts, rews, bool(term), logps,
                          values)
            if trunc and not term and "v" in out:
                with torch.no_grad():
                    ep.last_value = float(net.step(ctx.obs_tensor(obs), state)[0]["v"][0, 0])
            return ep
        if stop:
            return None


def _pad(episodes: list[_Episode]) -> dict[str, torch.Tensor]:
    """Episodes as padded tensors: ``obs (B, T+1, D)``, ``act/rew/done/mask (B, T)``."""
    b, t = len(episodes), max(len(e.act) for e in episodes)
    d = episodes[0].obs.shape[1]
    obs = np.zeros((b, t + 1, d), dtype=np.float32)
    act = np.zeros((b, t), dtype=np.int64)
    rew = np.zeros((b, t), dtype=np.float32)
    done = np.zeros((b, t), dtype=np.float32)
    mask = np.zeros((b, t), dtype=bool)
    for i, e in enumerate(episodes):
        n = len(e.act)
        obs[i, : n + 1] = e.obs
        act[i, :n], rew[i, :n], mask[i, :n] = e.act, e.rew, True
        done[i, n - 1] = float(e.terminated)
    return {k: torch.from_numpy(v) for k, v in
            {"obs": obs, "act": act, "rew": rew, "done": done, "mask": mask}.items()}


# ---------------------------------------------------------------------- value-learners
def _learn_value(ctx: LearnContext, quantile: bool) -> None:
    cfg = ctx.config
    assert isinstance(cfg, DQNConfig)
    net, rng, mon = ctx.net, ctx.rng, ctx.monitor
    assert isinstance(ctx.env.action_space, spaces.Discrete)
    n_actions = int(ctx.env.action_space.n)
    target = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    replay: list[_Episode] = []
    stored = 0
    loss_fn: Callable[..., torch.Tensor] = qr_td_loss if quantile else dqn_td_loss

    def choose(out: dict[str, torch.Tensor]) -> tuple[int, float]:
        if rng.random() < epsilon(cfg, mon.steps + 1, mon.budget):
            return int(rng.integers(n_actions)), 0.0
        return int(q_values(out["q"], n_actions).argmax(dim=1)[0]), 0.0

    updates_done = 0
    targets_done = 0
    while not mon.stopped:
        ep = _run_episode(ctx, choose)
        if ep is None:
            return
        replay.append(ep)
        stored += len(ep.act)
        while stored > min(cfg.buffer_size, mon.budget) and len(replay) > 1:
            stored -= len(replay.pop(0).act)
        # as many gradient steps and target copies as the feedforward learner makes
        due = (mon.steps // cfg.train_every - (cfg.learning_starts - 1) // cfg.train_every
               if mon.steps >= cfg.learning_starts else 0)
        mean_len = stored / len(replay)
        per_batch = max(1, round(cfg.batch_size / mean_len))
        while updates_done < due:
            updates_done += 1
            pick = [replay[i] for i in rng.integers(len(replay), size=per_batch)]
            batch = _pad(pick)
            pred = net.forward_seq(batch["obs"])[0]["q"]
            with torch.no_grad():
                nxt = target.forward_seq(batch["obs"])[0]["q"]
            m = batch["mask"]
            loss = loss_fn(pred[:, :-1][m], nxt[:, 1:][m], batch["act"][m], batch["rew"][m],
                           batch["done"][m], cfg, n_actions)
            ctx.update(opt, loss)
        if mon.steps // cfg.target_update > targets_done:
            targets_done = mon.steps // cfg.target_update
            target.load_state_dict(net.state_dict())


# ---------------------------------------------------------------------- policy-learners
def _policy_choice(rng: np.random.Generator) -> Callable[[dict[str, torch.Tensor]],
                                                          tuple[int, float]]:
    def choose(out: dict[str, torch.Tensor]) -> tuple[int, float]:
        probs = F.softmax(out["pi"], dim=-1)
        action = _sample(probs, rng)
        return action, float(torch.log(probs[0, action]))
    return choose


def _policy_terms(net: ZooNet, batch: dict[str, torch.Tensor]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Log-probabilities of the taken actions, all log-probabilities and values, valid steps."""
    out = net.forward_seq(batch["obs"][:, :-1])[0]
    m = batch["mask"]
    logp_all = F.log_softmax(out["pi"], dim=-1)[m]
    logp = logp_all.gather(1, batch["act"][m][:, None]).squeeze(1)
    return logp, logp_all, out["v"][..., 0][m], m


def _learn_reinforce(ctx: LearnContext) -> None:
    cfg = ctx.config
    assert isinstance(cfg, ReinforceConfig)
    net, mon = ctx.net, ctx.monitor
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    choose = _policy_choice(ctx.rng)
    episodes: list[_Episode] = []
    while not mon.stopped:
        ep = _run_episode(ctx, choose)
        if ep is None:
            return
        episodes.append(ep)
        if len(episodes) < cfg.episodes_per_update:
            continue
        batch = _pad(episodes)
        ret = np.zeros(batch["rew"].shape, dtype=np.float32)
        for i, e in enumerate(episodes):
            g = 0.0
            for t in reversed(range(len(e.rew))):
                g = e.rew[t] + cfg.gamma * g
                ret[i, t] = g
        logp, logp_all, value, m = _policy_terms(net, batch)
        ret_t = torch.from_numpy(ret)[m]
        adv = ret_t - value.detach()
        pg = -(logp * adv).mean()
        entropy = -(logp_all.exp() * logp_all).sum(dim=1).mean()
        loss = pg + cfg.value_coef * F.mse_loss(value, ret_t) - cfg.entropy_coef * entropy
        ctx.update(opt, loss)
        episodes = []


def _learn_actor_critic(ctx: LearnContext, n_epochs: int, minibatch_size: int | None,
                        clip: float | None, normalize: bool) -> None:
    cfg = ctx.config
    assert isinstance(cfg, (PPOConfig, A2CConfig))
    net, mon, rng = ctx.net, ctx.monitor, ctx.rng
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    choose = _policy_choice(rng)
    while not mon.stopped:
        episodes: list[_Episode] = []
        steps = 0
        while steps < cfg.n_steps:
            ep = _run_episode(ctx, choose)
            if ep is None:
                return
            episodes.append(ep)
            steps += len(ep.act)
        batch = _pad(episodes)
        adv = np.zeros(batch["rew"].shape, dtype=np.float32)
        old = np.zeros(batch["rew"].shape, dtype=np.float32)
        val = np.zeros(batch["rew"].shape, dtype=np.float32)
        for i, e in enumerate(episodes):
            n = len(e.act)
            # within an episode every step carries on; a terminated episode ends at 0
            nxt = [*e.value[1:], 0.0 if e.terminated else e.last_value]
            adv[i, :n] = gae_advantages(e.rew, e.value, nxt, [1.0] * n, cfg.gamma,
                                        cfg.gae_lambda)
            old[i, :n], val[i, :n] = e.logp, e.value
        adv_t, old_t = torch.from_numpy(adv), torch.from_numpy(old)
        ret_t = adv_t + torch.from_numpy(val)
        per_batch = (len(episodes) if minibatch_size is None
                     else max(1, round(minibatch_size * len(episodes) / steps)))
        for _ in range(n_epochs):
            order = rng.permutation(len(episodes))
            for start in range(0, len(episodes), per_batch):
                idx = torch.as_tensor(order[start:start + per_batch])
                sub = {k: v[idx] for k, v in batch.items()}
                logp, logp_all, value, m = _policy_terms(net, sub)
                a = adv_t[idx][m]
                if normalize and a.numel() > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                if clip is None:
                    surr = logp * a
                else:
                    ratio = torch.exp(logp - old_t[idx][m])
                    surr = torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a)
                v_loss = F.mse_loss(value, ret_t[idx][m])
                entropy = -(logp_all.exp() * logp_all).sum(dim=1).mean()
                loss = -surr.mean() + cfg.value_coef * v_loss - cfg.entropy_coef * entropy
                ctx.update(opt, loss)


_learn_ppo, _learn_a2c = actor_critic_learners(_learn_actor_critic)


def _recurrent(spec: AlgorithmSpec, learn: Callable[[LearnContext], None]) -> AlgorithmSpec:
    # name, description, trunk and tasks: the table's entry of the GRU variant
    return dataclasses.replace(
        spec, **AGENT_TABLE[agent_name(agent_parts(spec.name)[0], "gru")].fields(), learn=learn)


#: the recurrent variant of every algorithm, in the order of the feedforward ones
RECURRENT_AGENTS: tuple[AlgorithmSpec, ...] = (
    _recurrent(DQN, lambda ctx: _learn_value(ctx, quantile=False)),
    _recurrent(QRDQN, lambda ctx: _learn_value(ctx, quantile=True)),
    _recurrent(REINFORCE, _learn_reinforce),
    _recurrent(A2C, _learn_a2c),
    _recurrent(PPO, _learn_ppo),
)
