"""The network every zoo agent uses: a trunk (MLP or GRU) and named heads.

Two layouts (:data:`LAYOUTS`): ``shared``, one trunk under every head (every
value-learner, and the actor-critic agents without a suffix), and ``separate``, an
actor network under the policy head and a critic network of the same size under the
value head (the ``-sep`` agents; Stable-Baselines3's default for actor-critic
policies).

Layer names (what :func:`neuroalign.zoo.probe` accepts):

``trunk.0`` .. ``trunk.{n_layers-1}``
    post-activation (tanh) of each hidden layer of the shared trunk; with the
    recurrent trunk (``trunk="gru"``) the last one, ``trunk.{n_layers-1}``, is the
    GRU's hidden state (the recurrent state) and the ones before it are tanh layers
    feeding it;
``actor.0`` .. ``actor.{n_layers-1}``, ``critic.0`` .. ``critic.{n_layers-1}``
    the same for the actor and the critic network of the separate layout (with the
    GRU, ``actor.{n_layers-1}`` and ``critic.{n_layers-1}`` are the two GRU states);
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

from neuroalign.zoo.agents.table import LAYOUTS, TRUNKS

__all__ = ["CRITIC_HEADS", "LAYOUTS", "PROBE_DTYPE", "TRUNKS", "ZooNet", "current_float64_copy",
           "float64_copy", "rnn_name", "torch_threads", "tower_names"]


#: the heads that sit on the critic network in the ``separate`` layout (the state value)
CRITIC_HEADS: tuple[str, ...] = ("v",)


def tower_names(layout: str) -> tuple[str, ...]:
    """The hidden networks of a layout: ``("trunk",)`` (shared) or ``("actor", "critic")``.

    These are the prefixes of the probed layer names (``trunk.0``, ``actor.1`` ...) and
    of the parameter names in a checkpoint.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout: got {layout!r}; expected one of {LAYOUTS}")
    return ("trunk",) if layout == "shared" else ("actor", "critic")


def rnn_name(tower: str) -> str:
    """Module name of a network's GRU: ``rnn`` for the shared trunk, ``<tower>_rnn``
    otherwise (``actor_rnn``, ``critic_rnn``)."""
    return "rnn" if tower == "trunk" else f"{tower}_rnn"

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
    """Trunk (MLP, or tanh layers then a GRU) plus linear heads, in one of two layouts.

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
    layout
        ``"shared"``: one trunk under every head; ``"separate"``: an actor network and
        a critic network, each ``n_layers`` x ``hidden`` like the shared trunk
        (Stable-Baselines3's default for actor-critic policies), the value head
        (:data:`CRITIC_HEADS`) on the critic and every other head on the actor.

    Notes
    -----
    The shared MLP trunk's parameters are named ``trunk.<i>.*``; the GRU trunk keeps
    ``trunk.<i>.*`` for its tanh layers and adds ``rnn.*``. The separate layout has
    ``actor.<i>.*`` and ``critic.<i>.*`` (and ``actor_rnn.*``, ``critic_rnn.*`` with the
    GRU). Module names for forward hooks (:class:`neuroalign.zoo.foreign.TorchAgent`):
    ``trunk_act.<i>`` is the layer ``trunk.<i>`` of the probe (``actor_act.<i>``,
    ``critic_act.<i>`` in the separate layout), ``rnn`` the GRU (``actor_rnn``,
    ``critic_rnn``), ``heads.<name>`` the raw heads. A feedforward network treats every
    row on its own; :meth:`forward_seq` and :meth:`step` accept it too, so code
    written for sequences serves both trunks. The recurrent state of the separate
    layout stacks the actor's and the critic's GRU states: ``(2, batch, hidden)``.
    """

    def __init__(self, obs_dim: int, heads: dict[str, int], hidden: int = 64,
                 n_layers: int = 2, trunk: str = "mlp", layout: str = "shared") -> None:
        super().__init__()
        if trunk not in TRUNKS:
            raise ValueError(f"trunk: got {trunk!r}; expected one of {TRUNKS}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout: got {layout!r}; expected one of {LAYOUTS}")
        if layout == "separate" and not any(name in CRITIC_HEADS for name in heads):
            raise ValueError(f"layout: 'separate' needs a critic head {CRITIC_HEADS}; got "
                             f"heads {list(heads)}")
        self.kind = trunk
        self.layout = layout
        self.towers: tuple[str, ...] = tower_names(layout)
        recurrent = trunk == "gru"
        # built in this order (layers, GRU, per network; then the heads) so that the
        # shared layout draws its initial weights exactly as it always has
        for tower in self.towers:
            layers: list[nn.Module] = []
            size = obs_dim
            for _ in range(n_layers - 1 if recurrent else n_layers):
                layers.append(nn.Linear(size, hidden))
                size = hidden
            self.add_module(tower, nn.ModuleList(layers))
            # the tanh of each layer as a module, so that forward hooks see the
            # post-activation under a name (``trunk_act.<i>``); no parameters
            self.add_module(f"{tower}_act", nn.ModuleList([nn.Tanh() for _ in layers]))
            self.add_module(rnn_name(tower),
                            nn.GRU(size, hidden, batch_first=True) if recurrent else None)
        self.hidden = int(hidden)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, out) for name, out in heads.items()})
        self._head_tower = {name: self.towers[-1] if layout == "separate"
                            and name in CRITIC_HEADS else self.towers[0] for name in heads}

    def _tower(self, tower: str) -> tuple[nn.ModuleList, nn.ModuleList, nn.GRU | None]:
        """The linear layers, their tanh modules and the GRU (or ``None``) of ``tower``."""
        layers, acts, rnn = (getattr(self, tower), getattr(self, f"{tower}_act"),
                             getattr(self, rnn_name(tower)))
        return layers, acts, rnn

    @property
    def recurrent(self) -> bool:
        """True for the GRU trunk."""
        return self.kind == "gru"

    @property
    def n_trunk_layers(self) -> int:
        """Layers of each network (the shared trunk, or the actor and the critic each),
        the GRU included."""
        return len(self._tower(self.towers[0])[0]) + (1 if self.recurrent else 0)

    @property
    def feature_layers(self) -> list[str]:
        """Names of the hidden layers, network by network: ``trunk.<i>``, or
        ``actor.<i>`` then ``critic.<i>``."""
        return [f"{tower}.{i}" for tower in self.towers for i in range(self.n_trunk_layers)]

    @property
    def recurrent_layers(self) -> list[str]:
        """The layers that are a GRU's hidden state (the last of each network; none for
        the MLP)."""
        if not self.recurrent:
            return []
        return [f"{tower}.{self.n_trunk_layers - 1}" for tower in self.towers]

    def initial_state(self, batch: int) -> torch.Tensor | None:
        """Zero recurrent state for ``batch`` sequences (``None`` for the MLP):
        ``(networks, batch, hidden)``, one GRU state per network."""
        if not self.recurrent:
            return None
        rnn = self._tower(self.towers[0])[2]
        assert rnn is not None
        return torch.zeros(len(self.towers), batch, self.hidden,
                           dtype=next(rnn.parameters()).dtype)

    def forward_seq(self, obs: torch.Tensor, state: torch.Tensor | None = None
                    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Outputs for sequences ``(batch, time, obs_dim)``, and the final state.

        Every output has shape ``(batch, time, size)``; ``state`` is the GRU state
        ``(networks, batch, hidden)`` to start from (zeros when ``None``).
        """
        out: dict[str, torch.Tensor] = {}
        last: dict[str, torch.Tensor] = {}
        states: list[torch.Tensor] = []
        if self.recurrent and state is None:
            state = self.initial_state(obs.shape[0])
        for k, tower in enumerate(self.towers):
            layers, acts, rnn = self._tower(tower)
            h = obs
            for i, layer in enumerate(layers):
                h = acts[i](layer(h))
                out[f"{tower}.{i}"] = h
            if rnn is not None:
                assert state is not None
                h, h_state = rnn(h, state[k:k + 1].contiguous())
                states.append(h_state)
                out[f"{tower}.{len(layers)}"] = h
            last[tower] = h
        for name, head in self.heads.items():
            out[name] = head(last[self._head_tower[name]])
        return out, (torch.cat(states, dim=0) if states else state)

    def step(self, obs: torch.Tensor, state: torch.Tensor | None
             ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """One time step for a batch ``(batch, obs_dim)``; returns outputs and new state."""
        out, state = self.forward_seq(obs[:, None, :], state)
        return {k: v[:, 0] for k, v in out.items()}, state

    def features(self, obs: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation of every hidden layer, in the order of :attr:`feature_layers`
        (MLP trunk: rows are independent)."""
        if self.recurrent:
            raise ValueError("features: the GRU trunk needs sequences; use forward_seq")
        out = []
        for tower in self.towers:
            layers, acts, _ = self._tower(tower)
            h = obs
            for layer, act in zip(layers, acts, strict=True):
                h = act(layer(h))
                out.append(h)
        return out

    def forward(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw head outputs (and the hidden layers by name) for a batch of observations."""
        out = dict(zip(self.feature_layers, self.features(obs), strict=True))
        n = self.n_trunk_layers
        for name, head in self.heads.items():
            out[name] = head(out[f"{self._head_tower[name]}.{n - 1}"])
        return out
