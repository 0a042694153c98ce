"""Any ``torch.nn.Module`` as a probed agent: layers by module name, forward hooks.

A layer is a module of ``module.named_modules()``; its activation is the module's
output during one forward pass (the first element when the module returns a tuple,
as ``nn.GRU`` and ``nn.LSTM`` do), flattened to ``(n, units)``. Named *aliases* map a
probe layer name to a module and an optional transform of its output (the SB3
adapter's ``readout.pi`` is the softmax of ``action_net``).

Actions, by default: the argmax over the last axis of the forward pass's output
(its first element when the output is a tuple or list). Pass ``act`` (observations
-> actions) for any other rule, or ``action_of`` (the forward output -> actions) to
keep a single forward pass.

A recurrent network (``sequences=True``) takes whole episodes, ``(trial, step,
obs_dim)``: its ``forward`` gets them with that shape, the recurrent state starting
at zero at each trial's first step, and a hooked module may return either
``(trial * step, units)`` or ``(trial, step, units)``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from neuroalign.core.errors import ValidationError
from neuroalign.core.validation import check_choice
from neuroalign.core.vocabulary import AGENT_FAMILIES
from neuroalign.zoo.networks import PROBE_DTYPE, current_float64_copy, torch_threads
from neuroalign.zoo.tasks import Task
from neuroalign.zoo.user_tasks import EnvTask, resolve_task

__all__ = ["LayerAlias", "TorchAgent", "default_action"]

Transform = Callable[[torch.Tensor], torch.Tensor]

#: module -> its float64 copy and the weights it was made from, shared by every
#: TorchAgent of the module (``probe(model, ...)`` builds one per call)
_FLOAT64: weakref.WeakKeyDictionary[nn.Module, tuple[nn.Module, list[torch.Tensor]]] = \
    weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LayerAlias:
    """A probe layer name standing for a module's output (optionally transformed).

    Attributes
    ----------
    module
        The module's ``named_modules()`` name.
    role
        What the layer is (``trunk``, ``q``, ``actor``, ``critic``, ...).
    transform
        Applied to the module's output (e.g. a softmax); ``None`` keeps it.
    """

    module: str
    role: str
    transform: Transform | None = None


def default_action(output: Any) -> torch.Tensor:
    """The documented default action rule: argmax over the last axis of the forward
    output (of its first element when it is a tuple or list).

    Raises
    ------
    ValidationError
        For an output that is not a tensor (a dict, say): pass ``act`` then.
    """
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise ValidationError(f"act: the module's output is a {type(output).__name__}, not a "
                              "tensor; pass act= (observations -> actions)")
    return output.argmax(dim=-1)


def _first_tensor(output: Any) -> torch.Tensor:
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise ValidationError(f"layers: a hooked module returned a {type(output).__name__}; "
                              "expected a tensor (or a tuple whose first element is one)")
    return output


class TorchAgent:
    """A ``torch.nn.Module`` probed on a task's condition grid through forward hooks.

    Parameters
    ----------
    module
        The network. Probes run a float64 copy of it (kept, for every TorchAgent of
        this module, while its weights do not change;
        :func:`neuroalign.zoo.networks.current_float64_copy`), in ``eval`` mode
        under ``torch.no_grad()``, as zoo agents are probed, so the same weights give
        the same activations to ~1e-12 on any CPU; ``module`` itself is not modified.
    task
        A zoo task name or :class:`~neuroalign.zoo.Task` (the grid and probe episodes),
        or a user's environment (:func:`neuroalign.zoo.user_tasks.resolve_task`).
    layers
        Default layers of :meth:`check_layers` (``None``: every alias, else every
        leaf module).
    act
        Observations ``(n, obs_dim)`` -> actions ``(n,)``; ``None`` uses ``action_of``.
    name, family, seed
        Written on every unit; ``family`` is ``value``, ``policy`` or ``other``.
    forward
        ``forward(module, obs) -> output``; ``None`` calls ``module(obs)``.
    action_of
        The forward output -> actions (default :func:`default_action`).
    aliases
        Probe layer name -> :class:`LayerAlias`.
    source, checkpoint_hash
        Provenance written in the probe's attrs.
    sequences
        A recurrent network: observations must be episodes ``(trial, step, obs_dim)``,
        passed to ``forward`` with that shape (see the module docstring).
    allow_code
        Allow a task given as an import path (its module runs).

    Raises
    ------
    ValidationError
        ``module`` is not a torch module, or ``family`` is not one of the families.
    """

    def __init__(self, module: nn.Module, task: str | Task | EnvTask,
                 layers: Sequence[str] | None = None,
                 act: Callable[[np.ndarray], np.ndarray] | None = None, *,
                 name: str = "torch-module", family: str = "other", seed: int = 0,
                 forward: Callable[[nn.Module, torch.Tensor], Any] | None = None,
                 action_of: Callable[[Any], torch.Tensor] | None = None,
                 aliases: Mapping[str, LayerAlias] | None = None,
                 source: str = "torch.nn.Module", checkpoint_hash: str | None = None,
                 sequences: bool = False, allow_code: bool = False) -> None:
        if not isinstance(module, nn.Module):
            raise ValidationError(f"module: got {type(module).__name__}; expected a "
                                  "torch.nn.Module")
        self.module = module
        self.task = resolve_task(task, allow_code)
        self.name = str(name)
        self.family = str(check_choice(family, "family", AGENT_FAMILIES))
        self.seed = int(seed)
        self.source = source
        self.checkpoint_hash = checkpoint_hash
        self.sequences = bool(sequences)
        self._act = act
        self._forward = forward
        self._action_of = action_of or default_action
        self.aliases: dict[str, LayerAlias] = dict(aliases or {})
        self._modules = dict(module.named_modules())
        self._modules.pop("", None)
        self._default = (list(layers) if layers is not None else
                         list(self.aliases) or [n for n, m in self._modules.items()
                                                if not any(True for _ in m.children())])
        self._default = self.check_layers(self._default)

    @property
    def layers(self) -> list[str]:
        """Every name :meth:`check_layers` accepts: the aliases, then every module."""
        return [*self.aliases, *self._modules]

    def check_layers(self, layers: Sequence[str] | None) -> list[str]:
        """``layers`` validated (the default layers when ``None``).

        Raises
        ------
        ValidationError
            Naming the unknown layers and listing the valid ones.
        """
        if layers is None:
            return list(self._default)
        if isinstance(layers, str):
            layers = [layers]
        bad = [name for name in layers if name not in self.aliases
               and name not in self._modules]
        if bad or not layers:
            raise ValidationError(f"layers: got unknown {bad or list(layers)}; {self.name} has "
                                  f"aliases {list(self.aliases)} and modules "
                                  f"{list(self._modules)}")
        return list(layers)

    def role(self, layer: str) -> str:
        """The alias's role, or ``module`` for a layer named by module."""
        return self.aliases[layer].role if layer in self.aliases else "module"

    def _run(self, obs: np.ndarray, layers: Sequence[str]) -> tuple[dict[str, np.ndarray], Any]:
        x = np.asarray(obs)
        lead = x.shape[:-1]
        if x.ndim not in (2, 3):
            raise ValidationError(f"obs: got shape {x.shape}; expected (n, obs_dim) or "
                                  "(trial, step, obs_dim)")
        if self.sequences and x.ndim != 3:
            raise ValidationError(f"obs: got shape {x.shape}; the recurrent agent {self.name} "
                                  "takes episodes (trial, step, obs_dim)")
        flat = np.asarray(x, dtype=np.float32).reshape(-1, x.shape[-1])
        kept = current_float64_copy(self.module, _FLOAT64.get(self.module))
        _FLOAT64[self.module] = kept
        net = kept[0]
        modules = dict(net.named_modules())
        wanted = {name: self.aliases.get(name, LayerAlias(name, "module")) for name in layers}
        captured: dict[str, list[torch.Tensor]] = {m.module: [] for m in wanted.values()}

        def hook_for(mod_name: str) -> Callable[..., None]:
            def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
                captured[mod_name].append(_first_tensor(output).detach())
            return hook

        handles = [modules[m].register_forward_hook(hook_for(m)) for m in captured]
        try:
            net.eval()
            with torch.no_grad(), torch_threads(1):
                t = torch.as_tensor(flat).to(PROBE_DTYPE)
                if self.sequences:
                    t = t.reshape(x.shape)
                output = self._forward(net, t) if self._forward is not None else net(t)
                out: dict[str, np.ndarray] = {}
                for name, alias in wanted.items():
                    runs = captured[alias.module]
                    if len(runs) != 1:
                        raise ValidationError(
                            f"layers: module {alias.module!r} ran {len(runs)} times in one "
                            "forward pass; expected once (name a module that runs once)")
                    value = runs[0]
                    if self.sequences and tuple(value.shape[:2]) == tuple(lead):
                        value = value.reshape(flat.shape[0], *value.shape[2:])
                    if alias.transform is not None:
                        value = alias.transform(value)
                    if value.shape[0] != flat.shape[0]:
                        raise ValidationError(
                            f"layers: {name!r} has shape {tuple(value.shape)}; expected a "
                            f"leading batch axis of {flat.shape[0]}")
                    out[name] = value.reshape(*lead, -1).numpy()
        finally:
            for handle in handles:
                handle.remove()
        return out, output

    def activations_and_actions(self, obs: np.ndarray, layers: Sequence[str]
                                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Activations ``(n, units)`` of ``layers`` and the actions, from one forward pass
        (two when ``act`` is given)."""
        out, output = self._run(obs, self.check_layers(layers))
        if self._act is not None:
            return out, self.act(obs)
        lead = np.asarray(obs).shape[:-1]
        with torch.no_grad():
            actions = self._action_of(output)
        return out, np.asarray(actions).reshape(lead)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions for observations ``(n, obs_dim)`` or ``(trial, step, obs_dim)``."""
        x = np.asarray(obs)
        if self._act is not None:
            flat = x.reshape(-1, x.shape[-1])
            return np.asarray(self._act(flat)).reshape(x.shape[:-1])
        return self.activations_and_actions(x, self._default[:1])[1]
