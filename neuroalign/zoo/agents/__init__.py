"""Learning algorithms of the zoo: value-learners and policy-learners.

Every algorithm comes with the feedforward (MLP) trunk, named ``dqn``, ``qrdqn``,
``reinforce``, ``a2c``, ``ppo``, and with a recurrent (GRU) trunk, named with a
``-gru`` suffix (``dqn-gru`` ...; they learn the sequential ``contrast`` task). The
actor-critic algorithms (``reinforce``, ``a2c``, ``ppo``) also come with separate
actor and critic networks, named with a ``-sep`` suffix after the trunk's
(``ppo-sep``, ``ppo-gru-sep`` ...): :func:`agent_name` and :func:`agent_parts` map
between names and ``(algorithm, trunk, layout)``.

The table of agents (:data:`AGENT_TABLE`, :func:`get_agent_info`; names, families,
trunks, layouts, tasks, configs) imports no torch; the learners (:data:`AGENTS`,
:func:`get_agent_spec`) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neuroalign.zoo.agents.table import (
    AGENT_TABLE,
    AgentInfo,
    agent_name,
    agent_parts,
    get_agent_info,
)

if TYPE_CHECKING:
    from neuroalign.zoo.agents.base import AlgorithmSpec, LearnContext, Monitor
    from neuroalign.zoo.agents.specs import AGENTS

__all__ = ["AGENTS", "AGENT_TABLE", "AgentInfo", "AlgorithmSpec", "LearnContext", "Monitor",
           "agent_name", "agent_parts", "get_agent_info", "get_agent_spec"]

#: names imported on first use, with torch: the learners and what they train with
_LEARNING = {"AGENTS": "specs", "AlgorithmSpec": "base", "LearnContext": "base",
             "Monitor": "base"}


def __getattr__(name: str) -> Any:
    if name in _LEARNING:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LEARNING[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_agent_spec(name: str) -> AlgorithmSpec:
    """The algorithm called ``name``, its learner included (imports torch; the table's
    entry, :func:`get_agent_info`, does not).

    Raises
    ------
    ValidationError
        If ``name`` is unknown; the message lists the valid agents.
    """
    get_agent_info(name)
    from neuroalign.zoo.agents.specs import AGENTS

    return AGENTS[name]
