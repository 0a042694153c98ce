"""Read a Stable-Baselines3 / sb3-contrib ``.zip`` without running code from it.

An SB3 save is a zip archive: ``data`` (JSON; some fields hold a base64 cloudpickle
under ``":serialized:"``), ``policy.pth`` (the policy's ``state_dict``),
``pytorch_variables.pth``, ``policy.optimizer.pth`` and two text files. A pickle can
run any code when it is loaded, so by default nothing is unpickled freely:

* the archive is checked first: a regular file, at most :data:`MAX_ZIP_BYTES` on
  disk and in total uncompressed, members only from :data:`ZIP_MEMBERS`, a JSON
  object in ``data`` and a ``policy.pth``;
* weights are read with ``torch.load(weights_only=True)`` (tensors only);
* of the pickled fields only ``policy_class`` and ``policy_kwargs`` are read, each
  through an unpickler that resolves nothing but the classes allowed for that field
  (:data:`POLICY_CLASSES`; torch activation and optimizer classes, SB3's feature
  extractors and the zoo's trunk extractor,
  :class:`~neuroalign.zoo.foreign.sb3_trunk.ZooTrunk`; plain containers need no
  class); anything else is refused in one line
  naming the field and the class it asked for;
* the observation and action spaces are the task's, checked against the readable
  ``_shape`` and ``n`` the archive stores beside their pickles, and the weights'
  shapes are checked when they are loaded (``load_state_dict(strict=True)``).

``allow_code=True`` hands the archive to SB3's own loader (which unpickles).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroalign.core.atomic import check_regular_file
from neuroalign.core.errors import CheckpointError, DependencyError
from neuroalign.core.limits import format_bytes

__all__ = [
    "MAX_ZIP_BYTES",
    "POLICY_CLASSES",
    "ZIP_MEMBERS",
    "SB3Archive",
    "read_sb3_zip",
    "safe_unpickle",
]

#: largest archive accepted, on disk and uncompressed
MAX_ZIP_BYTES = 512 * 1024**2
#: the members an SB3 save may hold
ZIP_MEMBERS: frozenset[str] = frozenset({
    "data", "policy.pth", "pytorch_variables.pth", "policy.optimizer.pth",
    "_stable_baselines3_version", "system_info.txt",
})
#: policy classes read from ``policy_class`` (module -> class names)
POLICY_CLASSES: dict[str, frozenset[str]] = {
    "stable_baselines3.dqn.policies": frozenset({"DQNPolicy", "MlpPolicy"}),
    "sb3_contrib.qrdqn.policies": frozenset({"QRDQNPolicy", "MlpPolicy"}),
    "stable_baselines3.common.policies": frozenset({"ActorCriticPolicy"}),
    "stable_baselines3.ppo.policies": frozenset({"MlpPolicy"}),
    "stable_baselines3.a2c.policies": frozenset({"MlpPolicy"}),
    "sb3_contrib.common.recurrent.policies": frozenset({"RecurrentActorCriticPolicy"}),
    "sb3_contrib.ppo_recurrent.policies": frozenset({"MlpLstmPolicy"}),
}
_ACTIVATIONS = frozenset({
    "ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Softplus", "Mish",
    "SELU", "CELU", "Hardtanh", "Hardswish", "ReLU6", "Identity",
})
#: classes ``policy_kwargs`` may name (module -> class names)
KWARG_CLASSES: dict[str, frozenset[str]] = {
    "torch.nn.modules.activation": _ACTIVATIONS,
    "torch.nn.modules.linear": frozenset({"Identity"}),
    "torch.optim.adam": frozenset({"Adam"}),
    "torch.optim.adamw": frozenset({"AdamW"}),
    "torch.optim.rmsprop": frozenset({"RMSprop"}),
    "torch.optim.sgd": frozenset({"SGD"}),
    "stable_baselines3.common.sb2_compat.rmsprop_tf_like": frozenset({"RMSpropTFLike"}),
    "stable_baselines3.common.torch_layers": frozenset({"FlattenExtractor"}),
    # the zoo's trunk as a shared features extractor (neuroalign.zoo.foreign.train_sb3)
    "neuroalign.zoo.foreign.sb3_trunk": frozenset({"ZooTrunk"}),
}
#: the pickled fields read (the rest of ``data`` stays unread)
_FIELD_CLASSES = {"policy_class": POLICY_CLASSES, "policy_kwargs": KWARG_CLASSES}


class _Refused(Exception):
    """A class outside the field's allowlist (turned into a CheckpointError)."""


class _AllowlistUnpickler(pickle.Unpickler):
    """Resolves only the classes of its allowlist; plain containers need none."""

    def __init__(self, data: bytes, allowed: dict[str, frozenset[str]]) -> None:
        super().__init__(io.BytesIO(data))
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if name in self._allowed.get(module, frozenset()):
            return super().find_class(module, name)
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused(f"persistent id {pid!r}")


def safe_unpickle(payload: bytes, field: str, allowed: dict[str, frozenset[str]],
                  where: str) -> Any:
    """Unpickle ``payload`` resolving only the classes in ``allowed``.

    Raises
    ------
    CheckpointError
        ``where: field <field> asks for class <module.name>, which is not allowed
        ...``, or a payload that is not a valid pickle.
    """
    try:
        return _AllowlistUnpickler(payload, allowed).load()
    except _Refused as err:
        raise CheckpointError(
            f"{where}: field {field!r} asks for class {err}, which is not allowed without "
            "allow_code (--allow-code); expected only known SB3 policy classes, torch "
            "activation and optimizer classes and plain containers") from None
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError,
            IndexError, KeyError, ImportError) as err:
        raise CheckpointError(f"{where}: field {field!r} is not a readable pickle "
                              f"({type(err).__name__}: {err})") from None


@dataclass(frozen=True)
class SB3Archive:
    """What an SB3 save holds, read safely (see the module docstring).

    Attributes
    ----------
    policy_class
        The policy's class (allowlisted).
    policy_kwargs
        Its constructor's keyword arguments.
    data
        The readable JSON of every field (pickled fields keep their readable keys).
    state_dict
        The policy's weights.
    obs_shape, n_actions
        The spaces' readable ``_shape`` and ``n`` (``None`` when absent).
    """

    policy_class: type
    policy_kwargs: dict[str, Any]
    data: dict[str, Any]
    state_dict: dict[str, Any]
    obs_shape: tuple[int, ...] | None
    n_actions: int | None

    @property
    def algorithm(self) -> str:
        """``DQN``, ``QRDQN``, ``PPO``, ``A2C`` or ``RecurrentPPO`` (from the policy class
        and the hyper-parameters PPO alone stores)."""
        name = self.policy_class.__name__
        module = self.policy_class.__module__
        if "recurrent" in module or name == "RecurrentActorCriticPolicy":
            return "RecurrentPPO"
        if "qrdqn" in module:
            return "QRDQN"
        if "dqn" in module:
            return "DQN"
        return "PPO" if "clip_range" in self.data else "A2C"


def _check_archive(path: Path, where: str) -> zipfile.ZipFile:
    size = path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise CheckpointError(f"{where}: {format_bytes(size)} on disk; expected at most "
                              f"{format_bytes(MAX_ZIP_BYTES)}")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f"{where}: not a zip archive ({err}); expected a "
                              "Stable-Baselines3 save (model.save(...))") from None
    infos = archive.infolist()
    names = [info.filename for info in infos]
    unknown = sorted(set(names) - ZIP_MEMBERS)
    if unknown or len(names) != len(set(names)):
        archive.close()
        raise CheckpointError(f"{where}: holds {unknown or 'duplicate members'}; expected "
                              f"only the members of an SB3 save {sorted(ZIP_MEMBERS)}")
    missing = [m for m in ("data", "policy.pth") if m not in names]
    if missing:
        archive.close()
        raise CheckpointError(f"{where}: lacks {missing}; expected an SB3 save with 'data' "
                              "and 'policy.pth'")
    total = sum(info.file_size for info in infos)
    if total > MAX_ZIP_BYTES:
        archive.close()
        raise CheckpointError(f"{where}: {format_bytes(total)} uncompressed; expected at "
                              f"most {format_bytes(MAX_ZIP_BYTES)}")
    return archive


def _readable_shape(field: Any, key: str) -> Any:
    if not isinstance(field, dict) or key not in field:
        return None
    try:
        return json.loads(str(field[key]))
    except json.JSONDecodeError:
        return None


def read_sb3_zip(path: str | os.PathLike[str]) -> SB3Archive:
    """Read an SB3 / sb3-contrib save without unpickling anything outside the allowlists.

    Raises
    ------
    CheckpointError
        Naming the file and what was wrong: size, members, JSON, a refused class
        (with its field), weights that are not plain tensors.
    DependencyError
        Stable-Baselines3 is not installed (``pip install "neuroalign[sb3]"``).
    """
    import torch

    _require_sb3()
    target = check_regular_file(path, "sb3 model")
    where = f"sb3 model {str(target)!r}"
    with _check_archive(target, where) as archive:
        try:
            data = json.loads(archive.read("data"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"{where}: member 'data' is not JSON ({err})") from None
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: member 'data' holds a {type(data).__name__}; "
                                  "expected a JSON object")
        try:
            state = torch.load(io.BytesIO(archive.read("policy.pth")), map_location="cpu",
                               weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise CheckpointError(f"{where}: 'policy.pth' is not a plain tensor state dict "
                                  f"(read with weights_only=True: {first})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f"{where}: 'policy.pth' holds no state dict of tensors")
    fields: dict[str, Any] = {}
    for field, allowed in _FIELD_CLASSES.items():
        value = data.get(field)
        if isinstance(value, dict) and ":serialized:" in value:
            try:
                payload = base64.b64decode(value[":serialized:"].encode(), validate=True)
            except (binascii.Error, AttributeError, ValueError):
                raise CheckpointError(f"{where}: field {field!r} is not base64") from None
            fields[field] = safe_unpickle(payload, field, allowed, where)
        else:
            fields[field] = value
    policy_class, kwargs = fields["policy_class"], fields["policy_kwargs"] or {}
    if not isinstance(policy_class, type):
        raise CheckpointError(f"{where}: field 'policy_class' holds a "
                              f"{type(policy_class).__name__}; expected a policy class")
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise CheckpointError(f"{where}: field 'policy_kwargs' holds a "
                              f"{type(kwargs).__name__}; expected a mapping of keywords")
    shape = _readable_shape(data.get("observation_space"), "_shape")
    n = _readable_shape(data.get("action_space"), "n")
    return SB3Archive(policy_class=policy_class, policy_kwargs=dict(kwargs), data=data,
                      state_dict=dict(state),
                      obs_shape=tuple(int(v) for v in shape) if isinstance(shape, list) else None,
                      n_actions=int(n) if isinstance(n, int) else None)


def _require_sb3() -> None:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        raise DependencyError('SB3 models need stable-baselines3: pip install '
                              '"neuroalign[sb3]"') from None
