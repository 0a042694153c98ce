"""Agents from outside the zoo, probed on the same grid as the zoo's own.

* :class:`TorchAgent`: any ``torch.nn.Module``, layers by ``named_modules()`` name
  through forward hooks, actions from ``act`` or the documented default rule;
* :func:`sb3_agent`: Stable-Baselines3 / sb3-contrib models (DQN, QR-DQN, A2C, PPO, RecurrentPPO),
  the object or a saved ``.zip`` read without free unpickling;
* :func:`read_activations`: precomputed activations (an NWB file of
  ``neuroalign zoo export-nwb``, or the netCDF layout of
  ``neuroalign zoo probe --out``), validated against the task's grid.

:func:`neuroalign.zoo.probe` takes all of them directly.
"""

from neuroalign.zoo.foreign.activations import read_activations
from neuroalign.zoo.foreign.hooks import LayerAlias, TorchAgent, default_action
from neuroalign.zoo.foreign.sb3 import SUPPORTED, is_sb3_model, load_sb3_policy, sb3_agent

__all__ = [
    "SUPPORTED",
    "LayerAlias",
    "TorchAgent",
    "default_action",
    "is_sb3_model",
    "load_sb3_policy",
    "read_activations",
    "sb3_agent",
]
