"""Every agent of the table with its learner (torch): :data:`AGENTS`.

Imported on first training or probing (``neuroalign.zoo.agents.AGENTS``,
:func:`~neuroalign.zoo.agents.get_agent_spec`); what an agent is without its learner
is in :mod:`neuroalign.zoo.agents.table`.
"""

from __future__ import annotations

import dataclasses

from neuroalign.zoo.agents.base import AlgorithmSpec
from neuroalign.zoo.agents.policy import A2C, PPO, REINFORCE
from neuroalign.zoo.agents.recurrent import RECURRENT_AGENTS
from neuroalign.zoo.agents.table import AGENT_TABLE
from neuroalign.zoo.agents.value import DQN, QRDQN

__all__ = ["AGENTS"]

_SHARED: tuple[AlgorithmSpec, ...] = (DQN, QRDQN, REINFORCE, A2C, PPO, *RECURRENT_AGENTS)
_LEARNERS = {spec.name: spec for spec in _SHARED}


def _spec(name: str) -> AlgorithmSpec:
    """The algorithm of table entry ``name``: its learner (a separate-layout twin shares
    the shared layout's) with the entry's name, description and layout."""
    info = AGENT_TABLE[name]
    if name in _LEARNERS:
        return _LEARNERS[name]
    shared = name.removesuffix("-sep")
    return dataclasses.replace(_LEARNERS[shared], **info.fields())


#: name -> algorithm, in the order of :data:`~neuroalign.zoo.agents.table.AGENT_TABLE`
AGENTS: dict[str, AlgorithmSpec] = {name: _spec(name) for name in AGENT_TABLE}
