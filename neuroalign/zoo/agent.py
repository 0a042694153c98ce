"""A trained (or freshly built) zoo agent: network, config, task and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from gymnasium import spaces

from neuroalign.core.errors import ValidationError
from neuroalign.zoo.agents import AlgorithmSpec, get_agent_spec
from neuroalign.zoo.configs import AgentConfig
from neuroalign.zoo.networks import PROBE_DTYPE, ZooNet, current_float64_copy, torch_threads
from neuroalign.zoo.tasks import Task, get_task
from neuroalign.zoo.user_tasks import EnvTask

__all__ = ["ProbedAgent", "ZooAgent", "build_agent"]


@runtime_checkable
class ProbedAgent(Protocol):
    """What :func:`neuroalign.zoo.probe_agent` needs of an agent: the zoo's
    :class:`ZooAgent`, or an adapter of a foreign one
    (:class:`neuroalign.zoo.foreign.TorchAgent`, :func:`neuroalign.zoo.foreign.sb3_agent`).

    Attributes
    ----------
    name, family, seed, task
        Identity written on every unit (``family``: ``value``, ``policy`` or ``other``).
    checkpoint_hash
        SHA-256 of the file the weights came from (``None``: built in memory).
    """

    @property
    def name(self) -> str:
        """Name written on every unit."""
        ...

    @property
    def family(self) -> str:
        """``value``, ``policy`` or ``other``."""
        ...

    @property
    def task(self) -> Task | EnvTask:
        """The task whose grid the agent is probed on."""
        ...

    seed: int
    checkpoint_hash: str | None

    def check_layers(self, layers: Sequence[str] | None) -> list[str]:
        """``layers`` validated (all by default); unknown names list the valid ones."""
        ...

    def role(self, layer: str) -> str:
        """What ``layer`` is (``trunk``, ``recurrent``, ``q``, ``actor``, ``critic``, ...)."""
        ...

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions for a batch ``(n, obs_dim)`` or sequences ``(trial, step, obs_dim)``."""
        ...

    def activations_and_actions(self, obs: np.ndarray, layers: Sequence[str]
                                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Activations of ``layers`` and the greedy actions, from one forward pass."""
        ...


@dataclass
class ZooAgent:
    """One agent of the zoo.

    Attributes
    ----------
    spec
        The learning algorithm (name, family, readouts).
    task
        The task it was trained on.
    seed
        The training seed.
    config
        Its hyper-parameters.
    net
        The torch network (trunk and heads).
    metrics
        Training metrics (steps, criterion, evaluations); empty before training.
    path, checkpoint_hash
        Where it was loaded from and the SHA-256 of that file, when loaded.
    """

    spec: AlgorithmSpec
    task: Task
    seed: int
    config: AgentConfig
    net: ZooNet
    metrics: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    checkpoint_hash: str | None = None
    #: the float64 copy of ``net`` and the float32 weights it was made from
    _net64: tuple[ZooNet, list[torch.Tensor]] | None = field(
        default=None, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        """Algorithm name, e.g. ``"dqn"``."""
        return self.spec.name

    @property
    def family(self) -> str:
        """``"value"`` or ``"policy"``."""
        return self.spec.family

    @property
    def trunk(self) -> str:
        """``"mlp"`` or ``"gru"``."""
        return self.spec.trunk

    @property
    def layout(self) -> str:
        """``"shared"`` (one trunk) or ``"separate"`` (actor and critic networks)."""
        return self.spec.layout

    @property
    def layers(self) -> list[str]:
        """Names of the layers :meth:`activations` can return, hidden layers first
        (``trunk.<i>``, or ``actor.<i>`` then ``critic.<i>``), then the readouts."""
        return self.net.feature_layers + list(self.spec.roles)

    def role(self, layer: str) -> str:
        """What ``layer`` is: ``trunk`` (a hidden tanh layer, of the shared trunk or of
        the separate layout's actor or critic network: the layer's name says which),
        ``recurrent`` (a GRU state), or the readout's ``q``, ``actor`` or ``critic``."""
        if layer in self.net.recurrent_layers:
            return "recurrent"
        return self.spec.roles.get(layer, "trunk")

    def _float64_net(self) -> ZooNet:
        """The float64 copy of ``net``, made again whenever a weight has changed
        (:func:`neuroalign.zoo.networks.current_float64_copy`)."""
        self._net64 = current_float64_copy(self.net, self._net64)
        return self._net64[0]

    def _outputs(self, obs: np.ndarray,
                 dtype: torch.dtype = PROBE_DTYPE) -> dict[str, torch.Tensor]:
        x = np.asarray(obs, dtype=np.float32)
        if x.ndim == 2 and self.net.recurrent:
            raise ValidationError(
                f"obs: got shape {x.shape}; the recurrent agent {self.name} takes sequences "
                "(trial, step, obs_dim)"
            )
        if x.ndim not in (2, 3):
            raise ValidationError(f"obs: got shape {x.shape}; expected (n, obs_dim) or "
                                  "(trial, step, obs_dim)")
        if dtype not in (torch.float32, torch.float64):
            raise ValidationError(f"dtype: got {dtype}; expected torch.float64 (probing) "
                                  "or torch.float32 (training)")
        with torch.no_grad(), torch_threads(1):
            net = self._float64_net() if dtype == torch.float64 else self.net
            t = torch.as_tensor(x).to(dtype)
            if x.ndim == 2:
                raw = net(t)
            else:
                raw = {k: v.reshape(x.shape[0] * x.shape[1], -1)
                       for k, v in net.forward_seq(t)[0].items()}
            hidden = set(net.feature_layers)
            out = {k: v for k, v in raw.items() if k in hidden}
            out.update(self.spec.readouts(raw, self.config))
        if x.ndim == 3:
            out = {k: v.reshape(x.shape[0], x.shape[1], -1) for k, v in out.items()}
        return out

    def activations(self, obs: np.ndarray,
                    layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Activations of ``layers`` (all by default), float64.

        ``obs`` is a batch ``(n, obs_dim)`` (feedforward agents) or a batch of
        sequences ``(trial, step, obs_dim)`` (every agent; the recurrent state starts
        at zero at step 0); outputs keep the leading axes. The forward pass runs in
        float64 on an exact up-cast of the float32 weights
        (:data:`neuroalign.zoo.networks.PROBE_DTYPE`), so the same checkpoint gives
        the same activations to ~1e-12 on any CPU.

        Raises
        ------
        ValidationError
            If a layer does not exist (the message lists the valid layers), or ``obs``
            has the wrong shape.
        """
        wanted = self.check_layers(layers)
        out = self._outputs(obs)
        return {name: out[name].numpy() for name in wanted}

    def activations_and_actions(self, obs: np.ndarray, layers: Sequence[str]
                                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """:meth:`activations` and :meth:`act` from one forward pass."""
        wanted = self.check_layers(layers)
        out = self._outputs(obs)
        actions = self.spec.greedy_action(out).numpy()
        return {name: out[name].numpy() for name in wanted}, actions

    def check_layers(self, layers: Sequence[str] | None) -> list[str]:
        """``layers`` validated (all layers when ``None``)."""
        if layers is None:
            return self.layers
        if isinstance(layers, str):
            layers = [layers]
        bad = [name for name in layers if name not in self.layers]
        if bad or not layers:
            raise ValidationError(
                f"layers: got {list(layers)}; {self.name} has layers {self.layers}"
            )
        return list(layers)

    def act(self, obs: np.ndarray, dtype: torch.dtype = PROBE_DTYPE) -> np.ndarray:
        """Greedy actions for a batch of observations (or of sequences: ``(trial, step)``).

        ``dtype`` is that of the forward pass: float64 (the default, as for
        :meth:`activations`, so that the closed-loop probe episodes take the same
        actions on any CPU) or float32 (what training's evaluations use).
        """
        return self.spec.greedy_action(self._outputs(obs, dtype)).numpy()

    def evaluate(self, seed: int = 12345, dtype: torch.dtype = PROBE_DTYPE) -> dict[str, float]:
        """Score the greedy policy against the task's success criterion (``dtype``: see
        :meth:`act`)."""
        return self.task.evaluate(lambda obs: self.act(obs, dtype), seed=seed)


def build_agent(agent: str, task: str, seed: int,
                config: AgentConfig | None = None) -> ZooAgent:
    """An untrained agent (network built in the current torch RNG state).

    Raises
    ------
    ValidationError
        For an unknown agent or task, or a config of the wrong type.
    """
    spec = get_agent_spec(agent)
    task_obj = get_task(task)
    if spec.tasks is not None and task not in spec.tasks:
        raise ValidationError(
            f"task: got {task!r}; agent {agent!r} ({spec.trunk} trunk) learns only "
            f"{list(spec.tasks)}"
        )
    cfg = config if config is not None else spec.config_cls()
    if type(cfg) is not spec.config_cls:
        raise ValidationError(
            f"config: got {type(cfg).__name__}; agent {agent!r} takes "
            f"{spec.config_cls.__name__}"
        )
    env = task_obj.make_env()
    assert isinstance(env.action_space, spaces.Discrete)
    assert isinstance(env.observation_space, spaces.Box)
    n_actions = int(env.action_space.n)
    obs_dim = int(env.observation_space.shape[0])
    net = ZooNet(obs_dim, spec.heads(n_actions, cfg), hidden=cfg.hidden, n_layers=cfg.n_layers,
                 trunk=spec.trunk, layout=spec.layout)
    return ZooAgent(spec=spec, task=task_obj, seed=int(seed), config=cfg, net=net)
