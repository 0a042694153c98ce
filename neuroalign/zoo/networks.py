"""The network every zoo agent uses: a shared trunk (MLP or GRU) and named heads.

Layer names (what :func:`neuroalign.zoo.probe` accepts):

``trunk.0`` .. ``trunk.{n_layers-1}``
    post-activation (tanh) of each hidden layer of the shared trunk; with the
    recurrent trunk (``trunk="gru"``) the last one, ``trunk.{n_layers-1}``, is the
    GRU's hidden state (the recurrent state) and the ones before it are tanh layers
    feeding it;
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
import copy
from collections.abc import Iterator
from typing import TypeVar

import torch
from torch import nn

__all__ = ["PROBE_DTYPE", "TRUNKS", "ZooNet", "current_float64_copy", "float64_copy",
           "torch_threads"]

#: trunk kinds: a feedforward MLP or tanh layers followed by one GRU layer
TRUNKS: tuple[str, ...] = ("mlp", "gru")

#: dtype of every forward pass after training (probe activations, the actions of probe
#: and evaluation episodes): float64 on an exact up-cast of the float32 weights, so that
#: a checkpoint gives the same numbers to ~1e-12 on any CPU (float32 rounding depends
#: on the CPU's kernels); training itself runs in float32
PROBE_DTYPE: torch.dtype = torch.float64


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


_Module = TypeVar("_Module", bound=nn.Module)


def _detached_memo(net: nn.Module, depth: int = 4) -> dict[int, object]:
    """A ``deepcopy`` memo mapping the non-leaf tensors a module keeps in plain
    attributes (e.g. the last distribution of a trained Stable-Baselines3 policy,
    which still holds its autograd graph) to detached copies; such tensors refuse
    ``deepcopy``."""
    memo: dict[int, object] = {}
    seen: set[int] = set()

    def walk(obj: object, level: int) -> None:
        if id(obj) in seen or level > depth:
            return
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            if not obj.is_leaf:
                memo[id(obj)] = obj.detach().clone()
            return
        if isinstance(obj, dict):
            items: list[object] = list(obj.values())
        elif isinstance(obj, (list, tuple, set)):
            items = list(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            items = list(vars(obj).values())
        else:
            return
        for item in items:
            walk(item, level + 1)

    for module in net.modules():
        for key, value in vars(module).items():
            if key not in ("_parameters", "_buffers", "_modules"):
                walk(value, 0)
    return memo


def float64_copy(net: _Module) -> _Module:
    """A float64 copy of ``net``: every float32 weight up-cast, which is exact.

    The forward pass of the copy differs from the exact real-number result by
    float64 rounding (~1e-16 relative per operation) whatever the CPU's kernels,
    so its outputs agree across machines to ~1e-12; ``net`` itself is not changed.
    Tensors the module keeps outside its parameters and buffers that are part of an
    autograd graph are copied detached.
    """
    return copy.deepcopy(net, _detached_memo(net)).to(torch.float64)


def current_float64_copy(net: _Module, kept: tuple[_Module, list[torch.Tensor]] | None
                         ) -> tuple[_Module, list[torch.Tensor]]:
    """``kept`` (a float64 copy and the weights it was made from) while ``net``'s
    weights are unchanged, else a new :func:`float64_copy` of ``net``.

    Comparing the weights costs a fraction of making the copy, which a closed-loop
    probe would otherwise do for each of its batches.
    """
    weights = [p.detach() for p in net.parameters()]
    if kept is not None:
        made_from = kept[1]
        if len(made_from) == len(weights) and all(
                a.shape == b.shape and torch.equal(a, b)
                for a, b in zip(made_from, weights, strict=True)):
            return kept
    return float64_copy(net), [w.clone() for w in weights]


class ZooNet(nn.Module):
    """Trunk (MLP, or tanh layers then a GRU) plus linear heads.

    Parameters
    ----------
    obs_dim
        Observation size.
    heads
        Head name -> output size, e.g. ``{"q": 2}`` or ``{"pi": 4, "v": 1}``.
    hidden, n_layers
        Trunk width and depth (the GRU counts as one layer).
    trunk
        ``"mlp"`` (feedforward) or ``"gru"`` (recurrent; the last trunk layer is a GRU).

    Notes
    -----
    The MLP trunk's parameters are named ``trunk.<i>.*``; the GRU trunk keeps
    ``trunk.<i>.*`` for its tanh layers and adds ``rnn.*``. Module names for forward
    hooks (:class:`neuroalign.zoo.foreign.TorchAgent`): ``trunk_act.<i>`` is the
    layer ``trunk.<i>`` of the probe, ``rnn`` the GRU, ``heads.<name>`` the raw heads. A feedforward
    network treats every row on its own; :meth:`forward_seq` and :meth:`step`
    accept it too, so code written for sequences serves both trunks.
    """

    def __init__(self, obs_dim: int, heads: dict[str, int], hidden: int = 64,
                 n_layers: int = 2, trunk: str = "mlp") -> None:
        super().__init__()
        if trunk not in TRUNKS:
            raise ValueError(f"trunk: got {trunk!r}; expected one of {TRUNKS}")
        self.kind = trunk
        recurrent = trunk == "gru"
        layers: list[nn.Module] = []
        size = obs_dim
        for _ in range(n_layers - 1 if recurrent else n_layers):
            layers.append(nn.Linear(size, hidden))
            size = hidden
        self.trunk = nn.ModuleList(layers)
        # the tanh of each trunk layer as a module, so that forward hooks see the
        # post-activation under a name (``trunk_act.<i>``); no parameters
        self.trunk_act = nn.ModuleList([nn.Tanh() for _ in layers])
        self.rnn = nn.GRU(size, hidden, batch_first=True) if recurrent else None
        self.hidden = int(hidden)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, out) for name, out in heads.items()})

    @property
    def recurrent(self) -> bool:
        """True for the GRU trunk."""
        return self.rnn is not None

    @property
    def n_trunk_layers(self) -> int:
        """Trunk layers, the GRU included."""
        return len(self.trunk) + (1 if self.recurrent else 0)

    def initial_state(self, batch: int) -> torch.Tensor | None:
        """Zero recurrent state for ``batch`` sequences (``None`` for the MLP)."""
        if self.rnn is None:
            return None
        return torch.zeros(1, batch, self.hidden, dtype=next(self.rnn.parameters()).dtype)

    def forward_seq(self, obs: torch.Tensor, state: torch.Tensor | None = None
                    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Outputs for sequences ``(batch, time, obs_dim)``, and the final state.

        Every output has shape ``(batch, time, size)``; ``state`` is the GRU state
        ``(1, batch, hidden)`` to start from (zeros when ``None``).
        """
        h = obs
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.trunk):
            h = self.trunk_act[i](layer(h))
            out[f"trunk.{i}"] = h
        if self.rnn is not None:
            if state is None:
                state = self.initial_state(obs.shape[0])
            h, state = self.rnn(h, state)
            out[f"trunk.{len(self.trunk)}"] = h
        for name, head in self.heads.items():
            out[name] = head(h)
        return out, state

    def step(self, obs: torch.Tensor, state: torch.Tensor | None
             ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """One time step for a batch ``(batch, obs_dim)``; returns outputs and new state."""
        out, state = self.forward_seq(obs[:, None, :], state)
        return {k: v[:, 0] for k, v in out.items()}, state

    def features(self, obs: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation of every trunk layer (MLP trunk: rows are independent)."""
        if self.rnn is not None:
            raise ValueError("features: the GRU trunk needs sequences; use forward_seq")
        out = []
        h = obs
        for layer, act in zip(self.trunk, self.trunk_act, strict=True):
            h = act(layer(h))
            out.append(h)
        return out

    def forward(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs (and ``trunk.i`` features) for a batch of observations."""
        feats = self.features(obs)
        out = {f"trunk.{i}": f for i, f in enumerate(feats)}
        for name, head in self.heads.items():
            out[name] = head(feats[-1])
        return out
