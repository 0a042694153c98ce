"""Typed, documented hyper-parameters of the zoo agents.

Every field carries its help text in ``metadata["help"]`` (see :func:`describe`),
so the documentation and the command line read the same source. All agents share
the trunk (an MLP with ``n_layers`` hidden layers of ``hidden`` tanh units; for the
``-gru`` agents the last of them is a GRU layer; the ``-sep`` agents have two such
networks, an actor and a critic) and,
per task, the environment-step budget (:attr:`neuroalign.zoo.tasks.Task.budget`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from neuroalign.core.errors import ConfigError

__all__ = [
    "A2CConfig",
    "AgentConfig",
    "DQNConfig",
    "PPOConfig",
    "QRDQNConfig",
    "ReinforceConfig",
    "config_from_dict",
    "describe",
]


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class AgentConfig:
    """Fields shared by every agent."""

    hidden: int = _f(64, "units per hidden layer of the trunk (separate layout: "
                                 "of the actor and of the critic each)")
    n_layers: int = _f(2, "hidden layers of the trunk, or of the actor and the critic "
                              "each (GRU trunk: the last is the GRU)")
    lr: float = _f(1e-3, "Adam learning rate")
    gamma: float = _f(0.99, "discount factor")
    max_grad_norm: float = _f(10.0, "gradient-norm clip per update")


@dataclass(frozen=True)
class DQNConfig(AgentConfig):
    """Deep Q-learning with an experience replay and a target network."""

    buffer_size: int = _f(50_000, "replay capacity in transitions")
    batch_size: int = _f(64, "transitions per gradient step")
    learning_starts: int = _f(500, "environment steps before the first update")
    train_every: int = _f(2, "environment steps between gradient steps")
    target_update: int = _f(250, "environment steps between target-network copies")
    eps_start: float = _f(1.0, "initial epsilon of the epsilon-greedy behaviour")
    eps_end: float = _f(0.05, "final epsilon")
    eps_fraction: float = _f(0.4, "share of the budget over which epsilon decays linearly")


@dataclass(frozen=True)
class QRDQNConfig(DQNConfig):
    """Distributional quantile-regression DQN (the return distribution as quantiles)."""

    n_quantiles: int = _f(16, "quantiles of the return distribution per action")
    kappa: float = _f(1.0, "Huber threshold of the quantile-regression loss")


@dataclass(frozen=True)
class ReinforceConfig(AgentConfig):
    """Monte-Carlo policy gradient with a learned state-value baseline (on the shared
    trunk, or on the critic network of the separate layout)."""

    lr: float = _f(3e-3, "Adam learning rate")
    episodes_per_update: int = _f(8, "complete episodes per gradient step")
    value_coef: float = _f(0.5, "weight of the baseline's squared error")
    entropy_coef: float = _f(0.01, "weight of the policy-entropy bonus")


@dataclass(frozen=True)
class PPOConfig(AgentConfig):
    """Proximal policy optimisation, clipped objective, actor and critic on one trunk
    (or on separate networks: the ``-sep`` agents)."""

    lr: float = _f(3e-3, "Adam learning rate")
    n_steps: int = _f(256, "environment steps per rollout")
    n_epochs: int = _f(4, "passes over each rollout")
    minibatch_size: int = _f(64, "transitions per gradient step")
    gae_lambda: float = _f(0.95, "lambda of generalised advantage estimation")
    clip: float = _f(0.2, "clip range of the probability ratio")
    value_coef: float = _f(0.5, "weight of the value loss")
    entropy_coef: float = _f(0.01, "weight of the policy-entropy bonus")
    max_grad_norm: float = _f(0.5, "gradient-norm clip per update")


@dataclass(frozen=True)
class A2CConfig(AgentConfig):
    """Synchronous advantage actor-critic, actor and critic on one trunk (or on separate
    networks: the ``-sep`` agents)."""

    lr: float = _f(3e-3, "Adam learning rate")
    n_steps: int = _f(32, "environment steps per rollout (one gradient step each)")
    gae_lambda: float = _f(1.0, "lambda of generalised advantage estimation (1: n-step)")
    value_coef: float = _f(0.5, "weight of the value loss")
    entropy_coef: float = _f(0.01, "weight of the policy-entropy bonus")
    max_grad_norm: float = _f(0.5, "gradient-norm clip per update")


def describe(config_cls: type[AgentConfig]) -> list[tuple[str, str, Any, str]]:
    """``(name, type, default, help)`` of every field of ``config_cls``."""
    return [(f.name, str(f.type), f.default, f.metadata.get("help", ""))
            for f in dataclasses.fields(config_cls)]


def config_from_dict(config_cls: type[AgentConfig], values: dict[str, Any]) -> AgentConfig:
    """Build ``config_cls`` from a plain dict (e.g. a checkpoint's metadata).

    Raises
    ------
    ConfigError
        If ``values`` holds a field ``config_cls`` does not know; lists the valid ones.
    """
    names = [f.name for f in dataclasses.fields(config_cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(
            f"{config_cls.__name__}: unknown fields {unknown}; valid fields are {names}"
        )
    return config_cls(**values)
