"""Learning algorithms of the zoo: value-learners and policy-learners.

Every algorithm comes with the feedforward (MLP) trunk, named ``dqn``, ``qrdqn``,
``reinforce``, ``a2c``, ``ppo``, and with a recurrent (GRU) trunk, named with a
``-gru`` suffix (``dqn-gru`` ...; they learn the sequential ``contrast`` task). The
actor-critic algorithms (``reinforce``, ``a2c``, ``ppo``) also come with separate
actor and critic networks, named with a ``-sep`` suffix after the trunk's
(``ppo-sep``, ``ppo-gru-sep`` ...): :func:`agent_name` and :func:`agent_parts` map
between names and ``(algorithm, trunk, layout)``.
"""

from __future__ import annotations

import dataclasses

from neuroalign.core.errors import ValidationError
from neuroalign.zoo.agents.base import AlgorithmSpec, LearnContext, Monitor
from neuroalign.zoo.agents.policy import A2C, PPO, REINFORCE
from neuroalign.zoo.agents.recurrent import RECURRENT_AGENTS
from neuroalign.zoo.agents.value import DQN, QRDQN
from neuroalign.zoo.networks import LAYOUTS, TRUNKS

__all__ = ["AGENTS", "AlgorithmSpec", "LearnContext", "Monitor", "agent_name", "agent_parts",
           "get_agent_spec"]

#: name suffix of each trunk and layout (the MLP trunk and the shared layout have none)
_TRUNK_SUFFIX = {"mlp": "", "gru": "-gru"}
_LAYOUT_SUFFIX = {"shared": "", "separate": "-sep"}


def _separate(spec: AlgorithmSpec) -> AlgorithmSpec:
    """The ``separate``-layout twin of an actor-critic algorithm (same learner)."""
    return dataclasses.replace(
        spec, name=f"{spec.name}{_LAYOUT_SUFFIX['separate']}", layout="separate",
        description=f"{spec.description} (separate actor and critic networks)")


_SHARED: tuple[AlgorithmSpec, ...] = (DQN, QRDQN, REINFORCE, A2C, PPO, *RECURRENT_AGENTS)

#: name -> algorithm: feedforward ones (value-learners first), then the recurrent ones,
#: then the separate-layout twins of the actor-critic ones (MLP, then GRU)
AGENTS: dict[str, AlgorithmSpec] = {spec.name: spec for spec in (
    *_SHARED, *(_separate(spec) for spec in _SHARED if spec.family == "policy"))}


def get_agent_spec(name: str) -> AlgorithmSpec:
    """The algorithm called ``name``.

    Raises
    ------
    ValidationError
        If ``name`` is unknown; the message lists the valid agents.
    """
    if name not in AGENTS:
        raise ValidationError(f"agent: got {name!r}; expected one of {list(AGENTS)}")
    return AGENTS[name]


def agent_parts(name: str) -> tuple[str, str, str]:
    """``(algorithm, trunk, layout)`` of a registered agent, e.g.
    ``"ppo-gru-sep"`` -> ``("ppo", "gru", "separate")``; the inverse of :func:`agent_name`.

    Raises
    ------
    ValidationError
        If ``name`` is unknown; the message lists the valid agents.
    """
    spec = get_agent_spec(name)
    return (spec.name.removesuffix(_TRUNK_SUFFIX[spec.trunk] + _LAYOUT_SUFFIX[spec.layout]),
            spec.trunk, spec.layout)


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
    parts = {name: agent_parts(name) for name in AGENTS}
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
