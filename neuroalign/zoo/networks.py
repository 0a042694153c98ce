"""The network every zoo agent uses: a shared MLP trunk and named heads.

Layer names (what :func:`neuroalign.zoo.probe` accepts):

``trunk.0`` .. ``trunk.{n_layers-1}``
    post-activation (tanh) of each hidden layer of the shared trunk;
``readout.q``
    action values (value-learners; the mean of the quantiles for QR-DQN);
``readout.quantiles``
    QR-DQN only: the return quantiles, ``action``-major;
``readout.pi``
    action probabilities (policy-learners: the actor);
``readout.v``
    state value (policy-learners: the critic, the baseline for REINFORCE).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["ZooNet", "torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (``None``: leave the setting).

    One thread is fastest for these small networks, and far faster than several
    when other processes share the cores.
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ZooNet(nn.Module):
    """MLP trunk plus linear heads.

    Parameters
    ----------
    obs_dim
        Observation size.
    heads
        Head name -> output size, e.g. ``{"q": 2}`` or ``{"pi": 4, "v": 1}``.
    hidden, n_layers
        Trunk width and depth.
    """

    def __init__(self, obs_dim: int, heads: dict[str, int], hidden: int = 64,
                 n_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = obs_dim
        for _ in range(n_layers):
            layers.append(nn.Linear(size, hidden))
            size = hidden
        self.trunk = nn.ModuleList(layers)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, out) for name, out in heads.items()})

    def features(self, obs: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation of every trunk layer."""
        out = []
        h = obs
        for layer in self.trunk:
            h = torch.tanh(layer(h))
            out.append(h)
        return out

    def forward(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs (and ``trunk.i`` features) for a batch of observations."""
        feats = self.features(obs)
        out = {f"trunk.{i}": f for i, f in enumerate(feats)}
        for name, head in self.heads.items():
            out[name] = head(feats[-1])
        return out
