"""Learning algorithms of the zoo: value-learners and policy-learners.

Every algorithm comes with the feedforward (MLP) trunk, named ``dqn``, ``qrdqn``,
``reinforce``, ``a2c``, ``ppo``, and with a recurrent (GRU) trunk, named with a
``-gru`` suffix (``dqn-gru`` ...; they learn the sequential ``contrast`` task).
"""

from __future__ import annotations

from neuroalign.core.errors import ValidationError
from neuroalign.zoo.agents.base import AlgorithmSpec, LearnContext, Monitor
from neuroalign.zoo.agents.policy import A2C, PPO, REINFORCE
from neuroalign.zoo.agents.recurrent import RECURRENT_AGENTS
from neuroalign.zoo.agents.value import DQN, QRDQN

__all__ = ["AGENTS", "AlgorithmSpec", "LearnContext", "Monitor", "get_agent_spec"]

#: name -> algorithm: feedforward ones (value-learners first), then the recurrent ones
AGENTS: dict[str, AlgorithmSpec] = {spec.name: spec for spec in
                                (DQN, QRDQN, REINFORCE, A2C, PPO, *RECURRENT_AGENTS)}


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
