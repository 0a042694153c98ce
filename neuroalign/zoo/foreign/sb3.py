"""Stable-Baselines3 and sb3-contrib models as probed agents.

Supported: :data:`SUPPORTED` (DQN, QR-DQN, A2C, PPO and sb3-contrib's RecurrentPPO
with discrete actions and a vector observation), given as the model object, its
policy, or a saved ``.zip`` (read safely, see :mod:`neuroalign.zoo.foreign.sb3_zip`).

Layers are the policy's modules by ``named_modules()`` name (``q_net.q_net.1``,
``mlp_extractor.value_net.3``, ``action_net`` ...) plus aliases that mean what they
mean for zoo agents:

``trunk.<i>``
    the output of the ``i``-th activation of the trunk MLP: ``q_net.q_net`` (DQN),
    ``quantile_net.quantile_net`` (QR-DQN), ``mlp_extractor.policy_net`` (A2C, PPO;
    with SB3's default separate actor and critic networks this is the actor's, the
    critic's layers are ``mlp_extractor.value_net.<j>`` by name); for A2C and PPO the
    activations inside the actor's features extractor come first (a trunk built as a
    shared features extractor, :class:`~neuroalign.zoo.foreign.sb3_trunk.ZooTrunk`,
    as :func:`~neuroalign.zoo.foreign.sb3_train.train_sb3` builds it);
``readout.q``
    action values (QR-DQN: the mean of the quantiles);
``readout.quantiles``
    QR-DQN: the return quantiles, ``action``-major as the zoo's;
``readout.pi``
    action probabilities (softmax of ``action_net``'s logits);
``readout.v``
    the critic's state value (``value_net``).

RecurrentPPO (``MlpLstmPolicy``) is probed on sequential tasks (``contrast``), whose
closed-loop trials are episodes: the LSTM state starts at zero at each trial's first
step (``episode_start``) and is carried across its steps, as ``model.predict(obs,
state, episode_start)`` carries it. Its layers: ``trunk.0`` is the actor LSTM's
hidden state ``h`` at each step (its last layer; role ``recurrent``; the module
``lstm_actor``), ``trunk.<i>`` for ``i >= 1`` the activations of
``mlp_extractor.policy_net``, ``readout.pi`` and ``readout.v`` as above. The critic
follows the policy's settings: its own LSTM (``enable_critic_lstm``, the default:
module ``lstm_critic``), the actor's (``shared_lstm``) or a linear layer
(``critic``). ``lstm_kwargs`` keep their meaning (the probe runs the LSTMs over each
trial at once, in eval mode).

The probe's actions are the deterministic actions, ``model.predict(obs,
deterministic=True)``: the argmax of Q (of the mean quantile) or of the logits. As for
zoo agents, probes run a float64 copy of the policy (SB3 itself runs float32, so its
outputs differ from the probe's by float32 rounding, ~1e-7).
Observation wrappers outside the policy (``VecNormalize``, frame stacks) are not
applied: the policy sees the task's observations.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuroalign.core.errors import CheckpointError, ValidationError
from neuroalign.core.provenance import file_sha256
from neuroalign.core.validation import check_choice
from neuroalign.core.vocabulary import AGENT_FAMILIES
from neuroalign.zoo.foreign.hooks import LayerAlias, TorchAgent
from neuroalign.zoo.tasks import Task
from neuroalign.zoo.user_tasks import EnvTask, resolve_task

__all__ = ["SUPPORTED", "is_sb3_model", "load_sb3_policy", "sb3_agent"]

#: algorithm -> family of the models this adapter probes
SUPPORTED: dict[str, str] = {"DQN": "value", "QRDQN": "value", "A2C": "policy",
                             "PPO": "policy", "RecurrentPPO": "policy"}
_SB3_MODULES = ("stable_baselines3", "sb3_contrib")


def _class_names(obj: Any) -> list[str]:
    return [cls.__name__ for cls in type(obj).__mro__]


def is_sb3_model(obj: Any) -> bool:
    """Whether ``obj`` is an SB3 / sb3-contrib model or policy (by its class's module)."""
    return any(cls.__module__.split(".")[0] in _SB3_MODULES for cls in type(obj).__mro__
               if cls.__module__)


def _policy_kind(policy: nn.Module, what: str) -> str:
    names = _class_names(policy)
    if "RecurrentActorCriticPolicy" in names:
        kind = "recurrent"
    elif "QRDQNPolicy" in names:
        kind = "qrdqn"
    elif "DQNPolicy" in names:
        kind = "dqn"
    elif "ActorCriticPolicy" in names:
        kind = "actor-critic"
    else:
        kind = type(policy).__name__
    if kind in ("dqn", "qrdqn", "actor-critic", "recurrent"):
        return kind
    raise ValidationError(f"{what}: a {type(policy).__name__} policy is not supported; "
                          f"supported SB3 models: {sorted(SUPPORTED)} (discrete actions, "
                          "vector observations)")


def _activations_of(seq: nn.Module, prefix: str) -> list[str]:
    """Names of the activation modules of an MLP ``Sequential``, in order."""
    return [f"{prefix}.{name}" for name, mod in seq.named_children()
            if type(mod).__module__ == "torch.nn.modules.activation"]


def _extractor_activations(policy: Any) -> list[str]:
    """Names of the activation modules inside the actor's features extractor, in order
    (none for SB3's default ``FlattenExtractor``; the layers of a trunk built as a shared
    extractor, e.g. :class:`~neuroalign.zoo.foreign.sb3_trunk.ZooTrunk`)."""
    shared = bool(getattr(policy, "share_features_extractor", True))
    extractor = policy.features_extractor if shared else policy.pi_features_extractor
    prefix = "features_extractor" if shared else "pi_features_extractor"
    return [f"{prefix}.{name}" for name, mod in extractor.named_modules()
            if name and type(mod).__module__ == "torch.nn.modules.activation"]


def _ac_forward(policy: Any, obs: torch.Tensor) -> torch.Tensor:
    """Logits of an actor-critic policy; the critic runs too (its hooks fire).

    The features extractors get the observations as they are: SB3's preprocessing of
    a vector (Box) observation only casts it to float32, which would undo the float64
    probe.
    """
    if policy.share_features_extractor:
        pi_features = vf_features = policy.features_extractor(obs)
    else:
        pi_features = policy.pi_features_extractor(obs)
        vf_features = policy.vf_features_extractor(obs)
    latent_pi = policy.mlp_extractor.forward_actor(pi_features)
    latent_vf = policy.mlp_extractor.forward_critic(vf_features)
    policy.value_net(latent_vf)
    return policy.action_net(latent_pi)


def _lstm_sequence(lstm: nn.LSTM, features: torch.Tensor, shape: tuple[int, ...]
                   ) -> torch.Tensor:
    """An LSTM over whole trials ``(trial, step)`` from a zero state, flattened trial-major.

    The probe's float64 copy reads its input batch-first, so that a hook on the LSTM
    sees ``(trial, step, hidden)``; SB3's original is not modified.
    """
    lstm.batch_first = True
    out, _ = lstm(features.reshape(*shape[:2], -1))
    return out.reshape(shape[0] * shape[1], -1)


def _recurrent_forward(policy: Any, obs: torch.Tensor) -> torch.Tensor:
    """Logits of a RecurrentPPO policy for episodes ``(trial, step, obs_dim)``; the
    critic runs too. As ``RecurrentActorCriticPolicy.forward`` with ``episode_start``
    at each trial's first step, without SB3's float32 preprocessing."""
    shape = tuple(obs.shape)
    flat = obs.reshape(shape[0] * shape[1], shape[2])
    if policy.share_features_extractor:
        pi_features = vf_features = policy.features_extractor(flat)
    else:
        pi_features = policy.pi_features_extractor(flat)
        vf_features = policy.vf_features_extractor(flat)
    latent_pi = _lstm_sequence(policy.lstm_actor, pi_features, shape)
    if policy.lstm_critic is not None:
        latent_vf = _lstm_sequence(policy.lstm_critic, vf_features, shape)
    elif policy.shared_lstm:
        latent_vf = latent_pi
    else:
        latent_vf = policy.critic(vf_features)
    policy.value_net(policy.mlp_extractor.forward_critic(latent_vf))
    return policy.action_net(policy.mlp_extractor.forward_actor(latent_pi))


def _plan(policy: Any, kind: str) -> tuple[dict[str, LayerAlias],
                                           Callable[[nn.Module, torch.Tensor], Any],
                                           Callable[[Any], torch.Tensor]]:
    """Aliases, forward pass and action rule of one supported policy kind."""
    if kind == "dqn":
        trunk = _activations_of(policy.q_net.q_net, "q_net.q_net")
        aliases = {"readout.q": LayerAlias("q_net.q_net", "q")}

        def forward(p: Any, x: torch.Tensor) -> Any:  # q_net(x) without the float32 cast
            return p.q_net.q_net(p.q_net.features_extractor(x))

        def action_of(out: Any) -> torch.Tensor:
            return out.argmax(dim=-1)
    elif kind == "qrdqn":
        trunk = _activations_of(policy.quantile_net.quantile_net, "quantile_net.quantile_net")
        n_q, n_a = int(policy.quantile_net.n_quantiles), int(policy.action_space.n)

        def quantiles(x: torch.Tensor) -> torch.Tensor:  # action-major, as the zoo's
            return x.reshape(-1, n_q, n_a).transpose(1, 2).reshape(x.shape[0], -1)

        def q_values(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(-1, n_q, n_a).mean(dim=1)

        aliases = {"readout.q": LayerAlias("quantile_net.quantile_net", "q", q_values),
                   "readout.quantiles": LayerAlias("quantile_net.quantile_net", "q",
                                                   quantiles)}

        def forward(p: Any, x: torch.Tensor) -> Any:  # quantile_net(x), no float32 cast
            net = p.quantile_net
            return net.quantile_net(net.features_extractor(x)).reshape(-1, n_q, n_a)

        def action_of(out: Any) -> torch.Tensor:
            return out.mean(dim=1).argmax(dim=-1)
    else:
        trunk = [*_extractor_activations(policy),
                 *_activations_of(policy.mlp_extractor.policy_net, "mlp_extractor.policy_net")]
        if kind == "recurrent":
            trunk = ["lstm_actor", *trunk]

        def softmax(x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(x, dim=-1)

        aliases = {"readout.pi": LayerAlias("action_net", "actor", softmax),
                   "readout.v": LayerAlias("value_net", "critic")}

        def forward(p: Any, x: torch.Tensor) -> Any:
            return _recurrent_forward(p, x) if kind == "recurrent" else _ac_forward(p, x)

        def action_of(out: Any) -> torch.Tensor:
            return out.argmax(dim=-1)
    trunk_aliases = {f"trunk.{i}": LayerAlias(name, "recurrent" if name.startswith("lstm")
                                              else "trunk") for i, name in enumerate(trunk)}
    return {**trunk_aliases, **aliases}, forward, action_of


def _check_spaces(obs_shape: tuple[int, ...] | None, n_actions: int | None, task: Task | EnvTask,
                  what: str) -> None:
    env: Any = task.make_env()
    want_obs, want_n = tuple(env.observation_space.shape), int(env.action_space.n)
    if obs_shape is not None and tuple(obs_shape) != want_obs:
        raise ValidationError(f"{what}: observations of shape {tuple(obs_shape)}; task "
                              f"{task.name!r} has {want_obs} (train on "
                              f"neuroalign.zoo.make_env({task.name!r}))")
    if n_actions is not None and int(n_actions) != want_n:
        raise ValidationError(f"{what}: {n_actions} actions; task {task.name!r} has {want_n}")


def _check_sequential(task: Task | EnvTask) -> None:
    if not task.sequential:
        raise ValidationError(f"task: got {task.name!r} for a RecurrentPPO model; its LSTM "
                              "state is carried across the steps of an episode, so it is "
                              "probed on a sequential task's trials; expected 'contrast'")


def load_sb3_policy(path: str | os.PathLike[str], task: str | Task | EnvTask,
                    allow_code: bool = False) -> tuple[nn.Module, str]:
    """The policy of a saved SB3 model and its algorithm name.

    Without ``allow_code`` the archive is read by
    :func:`~neuroalign.zoo.foreign.sb3_zip.read_sb3_zip` (no free unpickling) and the
    policy is built on the task's spaces; with it, by SB3's own loader.

    Raises
    ------
    CheckpointError
        An archive refused by the safe reader, or weights that do not fit the policy.
    ValidationError
        An unsupported model class (the message names the supported ones) or spaces
        that differ from the task's.
    """
    from neuroalign.zoo.foreign.sb3_zip import read_sb3_zip

    task_obj = resolve_task(task, allow_code)
    where = f"sb3 model {str(path)!r}"
    env = task_obj.make_env()
    cls: Any
    state: Any
    kwargs: dict[str, Any]
    obs_shape: tuple[int, ...] | None
    n_actions: int | None
    probe_data: dict[str, Any]
    if allow_code:
        from stable_baselines3.common.save_util import load_from_zip_file

        loaded: Any = load_from_zip_file(str(path), device="cpu")
        probe_data, params = dict(loaded[0] or {}), loaded[1] or {}
        cls, state = probe_data["policy_class"], params["policy"]
        kwargs = dict(probe_data.get("policy_kwargs") or {})
        obs_shape = tuple(probe_data["observation_space"].shape)
        n_actions = int(getattr(probe_data["action_space"], "n", -1))
        extra = ({"n_quantiles": probe_data["n_quantiles"]} if "n_quantiles" in probe_data
                 else {})
    else:
        archive = read_sb3_zip(path)
        cls, kwargs, state = archive.policy_class, archive.policy_kwargs, archive.state_dict
        obs_shape, n_actions = archive.obs_shape, archive.n_actions
        extra = ({"n_quantiles": int(archive.data["n_quantiles"])}
                 if "n_quantiles" in archive.data else {})
        probe_data = archive.data
    if "recurrent" in cls.__module__:
        _check_sequential(task_obj)
    _check_spaces(obs_shape, n_actions, task_obj, where)
    if "qrdqn" in cls.__module__:
        kwargs = {**extra, **kwargs}
    try:
        policy = cls(env.observation_space, env.action_space, lambda _: 0.0, **kwargs)
    except TypeError as err:
        raise CheckpointError(f"{where}: policy_kwargs do not fit {cls.__name__} ({err})") \
            from None
    try:
        policy.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{where}: policy.pth does not fit {cls.__name__} on task "
                              f"{task_obj.name!r} ({first})") from None
    if "recurrent" in cls.__module__:
        algorithm = "RecurrentPPO"
    elif "qrdqn" in cls.__module__:
        algorithm = "QRDQN"
    elif "dqn" in cls.__module__:
        algorithm = "DQN"
    else:
        algorithm = "PPO" if "clip_range" in probe_data else "A2C"
    return policy.eval(), algorithm


def sb3_agent(model: Any, task: str | Task | EnvTask, *, name: str | None = None,
              family: str | None = None, seed: int = 0,
              allow_code: bool = False) -> TorchAgent:
    """An SB3 / sb3-contrib model as an agent :func:`neuroalign.zoo.probe_agent` probes.

    Parameters
    ----------
    model
        The model (``DQN``, ``QRDQN``, ``A2C``, ``PPO``, ``RecurrentPPO``), its
        ``policy``, or the path of a saved ``.zip``.
    task
        The zoo task (name or :class:`~neuroalign.zoo.Task`) or the user's environment
        (:func:`neuroalign.zoo.user_tasks.resolve_task`) the model acts in.
    name, family, seed
        Written on every unit; by default ``sb3-<algorithm>`` (or the file's stem),
        the algorithm's family (:data:`SUPPORTED`) and 0.
    allow_code
        For a ``.zip``: use SB3's own loader, which unpickles (runs code from the file);
        also allows a task given as an import path.

    Returns
    -------
    TorchAgent
        Aliases ``trunk.<i>``, ``readout.*`` (see the module docstring) and every
        module of the policy by name; the aliases are the default layers.

    Raises
    ------
    ValidationError
        An unsupported model (the message names the supported ones), spaces that
        differ from the task's, an unknown family, or a RecurrentPPO model on a task
        that is not sequential.
    CheckpointError
        A ``.zip`` refused by the safe reader.
    """
    task_obj = resolve_task(task, allow_code)
    checkpoint_hash = None
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        policy, algorithm = load_sb3_policy(path, task_obj, allow_code=allow_code)
        default_name, source = path.stem, f"stable-baselines3:{path}"
        checkpoint_hash = file_sha256(path)
    else:
        if not is_sb3_model(model):
            raise ValidationError(f"model: got {type(model).__name__}; expected a "
                                  f"Stable-Baselines3 model ({sorted(SUPPORTED)}), its "
                                  "policy, or a saved .zip")
        policy = model.policy if hasattr(model, "policy") else model
        algorithm = type(model).__name__ if hasattr(model, "policy") else ""
        if algorithm and algorithm not in SUPPORTED:
            raise ValidationError(f"model: a {algorithm} model is not supported; supported "
                                  f"SB3 models: {sorted(SUPPORTED)}")
        if "RecurrentActorCriticPolicy" in _class_names(policy):
            _check_sequential(task_obj)
        shape = getattr(policy.observation_space, "shape", None)
        _check_spaces(tuple(shape) if shape is not None else None,
                      getattr(policy.action_space, "n", None), task_obj, "model")
        default_name, source = f"sb3-{(algorithm or type(policy).__name__).lower()}", \
            "stable-baselines3"
    kind = _policy_kind(policy, "model")
    if not algorithm:
        algorithm = {"dqn": "DQN", "qrdqn": "QRDQN", "recurrent": "RecurrentPPO"}.get(kind,
                                                                                  "PPO")

    fam = family if family is not None else SUPPORTED.get(algorithm, "policy")
    check_choice(fam, "family", AGENT_FAMILIES)
    aliases, forward, action_of = _plan(policy, kind)
    return TorchAgent(policy, task_obj, name=name or default_name, family=fam, seed=seed,
                      forward=forward, action_of=action_of, aliases=aliases, source=source,
                      checkpoint_hash=checkpoint_hash, sequences=kind == "recurrent",
                      allow_code=allow_code)
