"""The zoo's table of agents: names, families, trunks, layouts, tasks and configs.

Everything a caller needs to know about an agent without training or running it, and
without importing torch: the learning algorithms themselves
(:data:`neuroalign.zoo.agents.AGENTS`, torch) take their names, descriptions and
configs from here and are imported on first training or probing.

Every algorithm comes with the feedforward (MLP) trunk and with a recurrent (GRU) trunk
(a ``-gru`` suffix, the sequential tasks of :data:`RECURRENT_TASKS` only); the
actor-critic ones also with separate actor and critic networks (a ``-sep`` suffix after
the trunk's).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from neuroalign.core.errors import ValidationError
from neuroalign.zoo.configs import (
    A2CConfig,
    AgentConfig,
    DQNConfig,
    PPOConfig,
    QRDQNConfig,
    ReinforceConfig,
)

__all__ = ["AGENT_TABLE", "LAYOUTS", "RECURRENT_TASKS", "TRUNKS", "AgentInfo", "agent_name",
           "agent_parts", "get_agent_info"]

#: network trunks: a feedforward MLP, or a GRU that carries a state across a trial's steps
TRUNKS: tuple[str, ...] = ("mlp", "gru")

#: actor-critic layouts: one trunk shared by every head, or separate actor and critic
#: networks (Stable-Baselines3's default for its actor-critic policies)
LAYOUTS: tuple[str, ...] = ("shared", "separate")

#: the tasks a recurrent agent learns (the sequential ones)
RECURRENT_TASKS: tuple[str, ...] = ("contrast",)

#: name suffix of each trunk and layout (the MLP trunk and the shared layout have none)
_TRUNK_SUFFIX = {"mlp": "", "gru": "-gru"}
_LAYOUT_SUFFIX = {"shared": "", "separate": "-sep"}


@dataclass(frozen=True)
class AgentInfo:
    """What the zoo knows about an agent before its learner is imported.

    Attributes
    ----------
    name, family, description
        The agent's name, ``"value"`` or ``"policy"``, and one line on the algorithm.
    config_cls
        Its configuration class (:mod:`neuroalign.zoo.configs`).
    trunk, layout
        ``"mlp"`` or ``"gru"``; ``"shared"`` or ``"separate"``.
    tasks
        The tasks it can learn (``None``: every task).
    """

    name: str
    family: str
    description: str
    config_cls: type[AgentConfig]
    trunk: str = "mlp"
    tasks: tuple[str, ...] | None = None
    layout: str = "shared"

    def fields(self) -> dict[str, Any]:
        """The attributes as keyword arguments (of :class:`~neuroalign.zoo.AlgorithmSpec`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


_ALGORITHMS: tuple[AgentInfo, ...] = (
    AgentInfo("dqn", "value", "deep Q-learning: replay, target network, epsilon-greedy",
              DQNConfig),
    AgentInfo("qrdqn", "value", "quantile-regression DQN: distributional action values",
              QRDQNConfig),
    AgentInfo("reinforce", "policy", "Monte-Carlo policy gradient with a learned value baseline",
              ReinforceConfig),
    AgentInfo("a2c", "policy", "advantage actor-critic: n-step returns, one update per rollout",
              A2CConfig),
    AgentInfo("ppo", "policy", "proximal policy optimisation (clipped), actor-critic with GAE",
              PPOConfig),
)


def _recurrent(info: AgentInfo) -> AgentInfo:
    return dataclasses.replace(info, name=f"{info.name}{_TRUNK_SUFFIX['gru']}",
                               description=f"{info.description} (GRU trunk)", trunk="gru",
                               tasks=RECURRENT_TASKS)


def _separate(info: AgentInfo) -> AgentInfo:
    return dataclasses.replace(
        info, name=f"{info.name}{_LAYOUT_SUFFIX['separate']}", layout="separate",
        description=f"{info.description} (separate actor and critic networks)")


_SHARED: tuple[AgentInfo, ...] = (*_ALGORITHMS, *(_recurrent(i) for i in _ALGORITHMS))

#: name -> agent: feedforward ones (value-learners first), then the recurrent ones, then
#: the separate-layout twins of the actor-critic ones (MLP, then GRU)
AGENT_TABLE: dict[str, AgentInfo] = {info.name: info for info in (
    *_SHARED, *(_separate(info) for info in _SHARED if info.family == "policy"))}


def get_agent_info(name: str) -> AgentInfo:
    """The table entry of the agent called ``name``.

    Raises
    ------
    ValidationError
        If ``name`` is unknown; the message lists the valid agents.
    """
    if name not in AGENT_TABLE:
        raise ValidationError(f"agent: got {name!r}; expected one of {list(AGENT_TABLE)}")
    return AGENT_TABLE[name]


def agent_parts(name: str) -> tuple[str, str, str]:
    """``(algorithm, trunk, layout)`` of a registered agent, e.g.
    ``"ppo-gru-sep"`` -> ``("ppo", "gru", "separate")``; the inverse of :func:`agent_name`.

    Raises
    ------
    ValidationError
        If ``name`` is unknown; the message lists the valid agents.
    """
    info = get_agent_info(name)
    return (info.name.removesuffix(_TRUNK_SUFFIX[info.trunk] + _LAYOUT_SUFFIX[info.layout]),
            info.trunk, info.layout)


def agent_name(algorithm: str, trunk: str = "mlp", layout: str = "shared") -> str:
    """The registered agent of ``algorithm`` with ``trunk`` and ``layout``, e.g.
    ``("ppo", "gru", "separate")`` -> ``"ppo-gru-sep"``.

    Parameters
    ----------
    algorithm
        ``dqn``, ``qrdqn``, ``reinforce``, ``a2c`` or ``ppo``.
    trunk
        ``"mlp"`` or ``"gru"`` (:data:`neuroalign.zoo.TRUNKS`).
    layout
        ``"shared"`` or ``"separate"`` (:data:`neuroalign.zoo.LAYOUTS`; only the
        actor-critic algorithms have the separate layout).

    Raises
    ------
    ValidationError
        Naming the parameter: an unknown algorithm, trunk or layout, or a combination
        no agent has (a value-learner with the separate layout); the message lists
        what exists.
    """
    parts = {name: agent_parts(name) for name in AGENT_TABLE}
    algorithms = list(dict.fromkeys(p[0] for p in parts.values()))
    if algorithm not in algorithms:
        raise ValidationError(f"algorithm: got {algorithm!r}; expected one of {algorithms}")
    if trunk not in TRUNKS:
        raise ValidationError(f"trunk: got {trunk!r}; expected one of {list(TRUNKS)}")
    if layout not in LAYOUTS:
        raise ValidationError(f"layout: got {layout!r}; expected one of {list(LAYOUTS)}")
    for name, found in parts.items():
        if found == (algorithm, trunk, layout):
            return name
    layouts = sorted({p[2] for p in parts.values() if p[:2] == (algorithm, trunk)})
    trunks = sorted({p[1] for p in parts.values() if p[0] == algorithm and p[2] == layout})
    param, value, have = (("layout", layout, f"layouts {layouts}") if layouts
                          else ("trunk", trunk, f"trunks {trunks}"))
    with_layout = [a for a in algorithms if any(p[0] == a and p[2] == layout
                                                for p in parts.values())]
    raise ValidationError(
        f"{param}: got {value!r} for algorithm {algorithm!r} ({trunk} trunk); it has "
        f"{have}; the algorithms with layout {layout!r} are {with_layout}")
