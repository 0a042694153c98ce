"""Agents from outside the zoo, probed on the same grid as the zoo's own.

* :class:`TorchAgent`: any ``torch.nn.Module``, layers by ``named_modules()`` name
  through forward hooks, actions from ``act`` or the documented default rule;
* :func:`sb3_agent`: Stable-Baselines3 / sb3-contrib models (DQN, QR-DQN, A2C, PPO, RecurrentPPO),
  the object or a saved ``.zip`` read without free unpickling;
* :func:`train_sb3`: the Stable-Baselines3 twin of a zoo agent (SB3's DQN, QR-DQN, A2C,
  PPO on the zoo's trunk, task, budget and stopping rule), saved content-addressed;
* :func:`read_activations`: precomputed activations (an NWB file of
  ``neuroalign zoo export-nwb``, or the netCDF layout of
  ``neuroalign zoo probe --out``), validated against the task's grid.

:func:`neuroalign.zoo.probe` takes all of them directly.
"""

from neuroalign.zoo.foreign.activations import read_activations
from neuroalign.zoo.foreign.hooks import LayerAlias, TorchAgent, default_action
from neuroalign.zoo.foreign.sb3 import SUPPORTED, is_sb3_model, load_sb3_policy, sb3_agent
from neuroalign.zoo.foreign.sb3_train import (
    SB3_ALGORITHMS,
    SB3_JOB_KIND,
    SB3_TASKS,
    plan_sb3_sweep,
    read_sb3_metrics,
    sb3_checkpoint_name,
    sb3_content_key,
    sb3_settings,
    train_sb3,
)

__all__ = [
    "SB3_ALGORITHMS",
    "SB3_JOB_KIND",
    "SB3_TASKS",
    "SUPPORTED",
    "LayerAlias",
    "TorchAgent",
    "default_action",
    "is_sb3_model",
    "load_sb3_policy",
    "plan_sb3_sweep",
    "read_activations",
    "read_sb3_metrics",
    "sb3_agent",
    "sb3_checkpoint_name",
    "sb3_content_key",
    "sb3_settings",
    "train_sb3",
]
