"""Policy-learners: REINFORCE with a learned baseline, A2C and PPO.

All put an actor head (action logits) and a critic head (state value) on the
shared trunk, or, in the separate layout (the ``-sep`` agents), the actor head on an
actor network and the critic head on a critic network (:class:`~neuroalign.zoo.networks.
ZooNet`), and sample actions from the softmax policy. The learners read the heads by
name, so one learner serves both layouts; one Adam optimises every parameter (both
networks in the separate layout, as Stable-Baselines3 does).

REINFORCE
    After ``episodes_per_update`` complete episodes, ascend
    ``sum_t log pi(a_t|s_t) (G_t - V(s_t))`` with Monte-Carlo returns ``G_t``;
    the baseline ``V`` regresses on ``G_t``.
A2C
    Synchronous advantage actor-critic: rollouts of ``n_steps``, advantages by
    GAE(lambda) (lambda = 1: n-step returns), one gradient step per rollout on
    ``log pi(a|s) A`` plus value loss and entropy bonus.
PPO
    Rollouts of ``n_steps``; advantages by GAE(lambda); ``n_epochs`` passes of the
    clipped surrogate ``min(rho A, clip(rho, 1 - eps, 1 + eps) A)`` plus value loss
    and entropy bonus. A truncated episode bootstraps from the critic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from neuroalign.zoo.agents.base import AlgorithmSpec, LearnContext
from neuroalign.zoo.agents.table import AGENT_TABLE
from neuroalign.zoo.configs import A2CConfig, PPOConfig, ReinforceConfig

__all__ = ["A2C", "PPO", "REINFORCE", "actor_critic_learners", "gae_advantages"]


def _sample(probs: torch.Tensor, rng: np.random.Generator) -> int:
    """Draw one action from ``probs`` (a batch of one) with the numpy generator."""
    cdf = np.cumsum(probs[0].detach().numpy().astype(np.float64))
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(cdf) - 1))


def gae_advantages(rew: Sequence[float], value: Sequence[float], next_value: Sequence[float],
                   nonterminal: Sequence[float], gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates (GAE(lambda)) of one rollout.

    ``delta_t = r_t + gamma V(s_{t+1}) m_t - V(s_t)`` and
    ``A_t = delta_t + gamma lambda m_t A_{t+1}``, where ``m_t`` is 0 after a
    terminal step (the episode ends: nothing is bootstrapped or carried over) and 1
    otherwise; ``lambda = 1`` gives n-step returns minus the baseline.

    Parameters
    ----------
    rew, value, next_value, nonterminal
        Per step: reward, critic value ``V(s_t)``, critic value of the next
        observation ``V(s_{t+1})``, and ``m_t``.
    gamma, lam
        Discount factor and GAE lambda.

    Returns
    -------
    numpy.ndarray
        ``A_t`` per step, float32.
    """
    n = len(rew)
    adv = np.zeros(n, dtype=np.float32)
    gae = 0.0
    for t in reversed(range(n)):
        delta = rew[t] + gamma * next_value[t] * nonterminal[t] - value[t]
        gae = delta + gamma * lam * nonterminal[t] * gae
        adv[t] = gae
    return adv


def _learn_reinforce(ctx: LearnContext) -> None:
    cfg = ctx.config
    assert isinstance(cfg, ReinforceConfig)
    net, env, mon = ctx.net, ctx.env, ctx.monitor
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    batch_obs: list[np.ndarray] = []
    batch_act: list[int] = []
    batch_ret: list[float] = []
    n_batch = 0
    while not mon.stopped:
        obs, done = ctx.reset(), False
        ep_obs, ep_act, ep_rew = [], [], []
        while not done and not mon.stopped:
            with torch.no_grad():
                probs = F.softmax(net(ctx.obs_tensor(obs))["pi"], dim=-1)
            action = _sample(probs, ctx.rng)
            next_obs, rew, term, trunc, _ = env.step(action)
            ep_obs.append(obs)
            ep_act.append(action)
            ep_rew.append(float(rew))
            obs, done = next_obs, term or trunc
            mon.step()
        if not done:
            break
        mon.episode(sum(ep_rew))
        g, rets = 0.0, []
        for r in reversed(ep_rew):
            g = r + cfg.gamma * g
            rets.append(g)
        batch_obs.extend(ep_obs)
        batch_act.extend(ep_act)
        batch_ret.extend(reversed(rets))
        n_batch += 1
        if n_batch < cfg.episodes_per_update:
            continue
        out = net(ctx.obs_tensor(np.stack(batch_obs)))
        logp = F.log_softmax(out["pi"], dim=-1)
        value = out["v"].squeeze(1)
        ret = torch.as_tensor(batch_ret, dtype=torch.float32)
        act = torch.as_tensor(batch_act)
        adv = ret - value.detach()
        pg = -(logp.gather(1, act[:, None]).squeeze(1) * adv).mean()
        entropy = -(logp.exp() * logp).sum(dim=1).mean()
        loss = pg + cfg.value_coef * F.mse_loss(value, ret) - cfg.entropy_coef * entropy
        ctx.update(opt, loss)
        batch_obs, batch_act, batch_ret, n_batch = [], [], [], 0


def actor_critic_learners(
    loop: Callable[..., None],
) -> tuple[Callable[[LearnContext], None], Callable[[LearnContext], None]]:
    """The PPO and A2C learners of one actor-critic loop.

    Parameters
    ----------
    loop
        ``loop(ctx, n_epochs, minibatch_size, clip, normalize)``: rollouts, GAE,
        then ``n_epochs`` passes over minibatches of about ``minibatch_size`` steps
        (``None``: the whole rollout at once) of the policy gradient, clipped at
        ``clip`` (``None``: not clipped), advantages normalized per minibatch or not.

    Returns
    -------
    tuple
        ``(learn_ppo, learn_a2c)``: PPO takes ``n_epochs``, ``minibatch_size`` and
        ``clip`` from its config and normalizes advantages; A2C takes one unclipped
        step on the whole rollout with raw advantages.
    """

    def learn_ppo(ctx: LearnContext) -> None:
        cfg = ctx.config
        assert isinstance(cfg, PPOConfig)
        loop(ctx, cfg.n_epochs, cfg.minibatch_size, cfg.clip, True)

    def learn_a2c(ctx: LearnContext) -> None:
        assert isinstance(ctx.config, A2CConfig)
        loop(ctx, 1, None, None, False)

    return learn_ppo, learn_a2c


def _learn_actor_critic(ctx: LearnContext, n_epochs: int, minibatch_size: int | None,
                        clip: float | None, normalize: bool) -> None:
    """Rollouts, GAE, then ``n_epochs`` passes of the (clipped) policy gradient."""
    cfg = ctx.config
    assert isinstance(cfg, (PPOConfig, A2CConfig))
    net, env, mon, rng = ctx.net, ctx.env, ctx.monitor, ctx.rng
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    obs, ep_ret = ctx.reset(), 0.0
    while not mon.stopped:
        b_obs, b_act, b_logp, b_val, b_rew, b_done = [], [], [], [], [], []
        for _ in range(cfg.n_steps):
            with torch.no_grad():
                out = net(ctx.obs_tensor(obs))
                probs = F.softmax(out["pi"], dim=-1)
            action = _sample(probs, rng)
            next_obs, step_rew, term, trunc, _ = env.step(action)
            rew = float(step_rew)
            ep_ret += rew
            if trunc and not term:
                with torch.no_grad():
                    rew += cfg.gamma * float(net(ctx.obs_tensor(next_obs))["v"][0, 0])
            b_obs.append(obs)
            b_act.append(action)
            b_logp.append(float(torch.log(probs[0, action])))
            b_val.append(float(out["v"][0, 0]))
            b_rew.append(rew)
            b_done.append(term or trunc)
            if term or trunc:
                mon.episode(ep_ret)
                obs, ep_ret = ctx.reset(), 0.0
            else:
                obs = next_obs
            if mon.step():
                break
        if mon.stopped:
            return
        with torch.no_grad():
            last_val = float(net(ctx.obs_tensor(obs))["v"][0, 0])
        n = len(b_rew)
        adv = gae_advantages(b_rew, b_val, [*b_val[1:], last_val],
                             [0.0 if d else 1.0 for d in b_done], cfg.gamma, cfg.gae_lambda)
        ret_t = torch.as_tensor(adv + np.asarray(b_val, dtype=np.float32))
        adv_t = torch.as_tensor(adv)
        obs_t = ctx.obs_tensor(np.stack(b_obs))
        act_t = torch.as_tensor(b_act)
        logp_old = torch.as_tensor(b_logp, dtype=torch.float32)
        size = n if minibatch_size is None else minibatch_size
        for _ in range(n_epochs):
            order = rng.permutation(n)
            for start in range(0, n, size):
                idx = torch.as_tensor(order[start:start + size])
                out = net(obs_t[idx])
                logp_all = F.log_softmax(out["pi"], dim=-1)
                logp = logp_all.gather(1, act_t[idx][:, None]).squeeze(1)
                a = adv_t[idx]
                if normalize and len(idx) > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                if clip is None:
                    surr = logp * a
                else:
                    ratio = torch.exp(logp - logp_old[idx])
                    surr = torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a)
                v_loss = F.mse_loss(out["v"].squeeze(1), ret_t[idx])
                entropy = -(logp_all.exp() * logp_all).sum(dim=1).mean()
                loss = -surr.mean() + cfg.value_coef * v_loss - cfg.entropy_coef * entropy
                ctx.update(opt, loss)


_learn_ppo, _learn_a2c = actor_critic_learners(_learn_actor_critic)


def _readouts(raw: dict[str, torch.Tensor], cfg: object) -> dict[str, torch.Tensor]:
    return {"readout.pi": F.softmax(raw["pi"], dim=-1), "readout.v": raw["v"]}


_ROLES = {"readout.pi": "actor", "readout.v": "critic"}


def _policy_spec(name: str, learn: Callable[[LearnContext], None]) -> AlgorithmSpec:
    """An actor-critic agent: policy head ``pi`` and value head ``v`` on the trunk (its
    name, description and config from the table)."""
    return AlgorithmSpec(
        **AGENT_TABLE[name].fields(),
        heads=lambda n_actions, cfg: {"pi": n_actions, "v": 1},
        learn=learn,
        readouts=_readouts,
        roles=_ROLES,
    )


REINFORCE = _policy_spec("reinforce", _learn_reinforce)
PPO = _policy_spec("ppo", _learn_ppo)
A2C = _policy_spec("a2c", _learn_a2c)
