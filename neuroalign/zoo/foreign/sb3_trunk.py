"""The zoo's trunk as a Stable-Baselines3 features extractor (needs stable-baselines3).

:class:`ZooTrunk` is the MLP every feedforward zoo agent shares between its heads
(:class:`neuroalign.zoo.networks.ZooNet`: ``n_layers`` linear layers of ``hidden``
units, each followed by tanh). Given to an actor-critic policy as its features
extractor with ``share_features_extractor=True`` and empty ``net_arch``, the actor
and the critic are linear heads on one shared trunk, as in the zoo
(:func:`neuroalign.zoo.foreign.sb3_train.train_sb3` builds it so). The safe
``.zip`` reader resolves this class by name (:data:`~neuroalign.zoo.foreign.sb3_zip.KWARG_CLASSES`).
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["ZooTrunk"]


class ZooTrunk(BaseFeaturesExtractor):
    """``n_layers`` x (linear ``hidden``, tanh) on a vector observation.

    Parameters
    ----------
    observation_space
        A 1-d ``Box`` space.
    hidden
        Units per layer (the zoo's ``AgentConfig.hidden``).
    n_layers
        Layers (the zoo's ``AgentConfig.n_layers``).

    Notes
    -----
    Its tanh modules are ``trunk.1``, ``trunk.3`` ...; the SB3 probe adapter
    (:func:`neuroalign.zoo.foreign.sb3_agent`) names their outputs ``trunk.0``,
    ``trunk.1`` ... as the zoo's layers.
    """

    def __init__(self, observation_space: gym.spaces.Box, hidden: int = 64,
                 n_layers: int = 2) -> None:
        super().__init__(observation_space, features_dim=int(hidden))
        size = int(observation_space.shape[0])
        layers: list[nn.Module] = []
        for _ in range(int(n_layers)):
            layers += [nn.Linear(size, int(hidden)), nn.Tanh()]
            size = int(hidden)
        self.trunk = nn.Sequential(*layers)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """The last layer's tanh output, ``(batch, hidden)``."""
        return self.trunk(observations)
