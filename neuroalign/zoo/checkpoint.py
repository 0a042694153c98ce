"""Checkpoints: safetensors weights with JSON metadata; loading never unpickles.

A checkpoint is one ``.safetensors`` file. Its header metadata holds one key,
``neuroalign.zoo``, a JSON object with ``format_version``, ``agent``, ``family``,
``task``, ``seed``, ``config`` (the dataclass fields), ``metrics`` (training
metrics), ``neuroalign_version`` and ``created``, and ``trunk`` (``"gru"``) for a
recurrent agent (absent: the MLP trunk). A GRU trunk's weights are the tensors
``rnn.*`` beside ``trunk.*`` and ``heads.*``. Only tensors and that JSON are
read back, so a checkpoint cannot execute code.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import CheckpointError, ConfigError, SourceError, ValidationError
from neuroalign.core.provenance import neuroalign_version
from neuroalign.zoo.agent import ZooAgent, build_agent
from neuroalign.zoo.configs import config_from_dict

__all__ = [
    "FORMAT_VERSION",
    "METADATA_KEY",
    "checkpoint_name",
    "file_hash",
    "load_checkpoint",
    "read_metadata",
    "save_checkpoint",
]

#: version of the checkpoint layout; a file with another version is refused
FORMAT_VERSION = 1
#: key of the JSON metadata in the safetensors header
METADATA_KEY = "neuroalign.zoo"


def checkpoint_name(agent: str, task: str, seed: int) -> str:
    """File name of a checkpoint, e.g. ``"dqn_pavlovian_s0.safetensors"``."""
    return f"{agent}_{task}_s{int(seed)}.safetensors"


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, as ``"sha256:<hex>"``."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"sha256:{digest}"


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become ``None``, tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def save_checkpoint(agent: ZooAgent, path: str | os.PathLike[str]) -> Path:
    """Write ``agent`` to ``path`` atomically; return the path."""
    meta = {
        "format_version": FORMAT_VERSION,
        "agent": agent.name,
        "family": agent.family,
        "task": agent.task.name,
        "seed": agent.seed,
        "config": _clean(vars(agent.config)),
        "metrics": _clean(agent.metrics),
        "neuroalign_version": neuroalign_version(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if agent.trunk != "mlp":
        meta["trunk"] = agent.trunk
    tensors = {k: v.detach().contiguous() for k, v in agent.net.state_dict().items()}
    target = Path(path)
    with atomic_file(target, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(meta, allow_nan=False)})
        os.chmod(tmp, 0o644)  # temporary files are created private; checkpoints are shared
    return target


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata of a checkpoint (no tensors are read).

    Raises
    ------
    SourceError
        If the file does not exist.
    CheckpointError
        If the file is not a readable safetensors checkpoint of neuroalign, or its
        format version is not :data:`FORMAT_VERSION`.
    """
    meta, _ = _read(path, tensors=False)
    return meta


def _read(path: str | os.PathLike[str],
          tensors: bool) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    target = Path(path)
    if not target.is_file():
        raise SourceError(f"checkpoint {target}: no such file")
    try:
        with safe_open(str(target), framework="pt") as handle:
            header = handle.metadata() or {}
            weights = {k: handle.get_tensor(k) for k in handle.keys()} if tensors else {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint {target}: corrupted or truncated ({err}); delete it and retrain"
        ) from None
    if METADATA_KEY not in header:
        raise CheckpointError(
            f"checkpoint {target}: no '{METADATA_KEY}' metadata; not a neuroalign zoo checkpoint"
        )
    try:
        meta = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"checkpoint {target}: metadata is not valid JSON ({err})") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {target}: format version {version!r} (written by neuroalign "
            f"{meta.get('neuroalign_version', '?') if isinstance(meta, dict) else '?'}); "
            f"this neuroalign {neuroalign_version()} reads format version {FORMAT_VERSION}; "
            "retrain it with `neuroalign zoo train`"
        )
    return meta, weights


def load_checkpoint(path: str | os.PathLike[str], agent: str | None = None,
                    task: str | None = None, seed: int | None = None) -> ZooAgent:
    """Load a checkpoint, optionally checking that it is the expected agent/task/seed.

    Raises
    ------
    SourceError
        If the file does not exist.
    CheckpointError
        Corrupted or truncated file, incompatible format version, a checkpoint of
        another agent, task or seed, or weights that do not fit the network.
    """
    meta, weights = _read(path, tensors=True)
    for key, expected in (("agent", agent), ("task", task), ("seed", seed)):
        if expected is not None and meta.get(key) != expected:
            raise CheckpointError(
                f"checkpoint {path}: holds {key} {meta.get(key)!r}; expected {expected!r}"
            )
    try:
        from neuroalign.zoo.agents import get_agent_spec

        spec = get_agent_spec(meta["agent"])
        if meta.get("trunk", "mlp") != spec.trunk:
            raise CheckpointError(
                f"checkpoint {path}: holds a {meta.get('trunk')!r} trunk; agent "
                f"{meta['agent']!r} has a {spec.trunk!r} trunk"
            )
        cfg = config_from_dict(spec.config_cls, meta.get("config", {}))
        zoo_agent = build_agent(meta["agent"], meta["task"], int(meta["seed"]), cfg)
        zoo_agent.net.load_state_dict(weights, strict=True)
    except (KeyError, ValidationError, ConfigError, RuntimeError, TypeError) as err:
        raise CheckpointError(
            f"checkpoint {path}: metadata or weights do not fit this neuroalign ({err})"
        ) from None
    zoo_agent.metrics = dict(meta.get("metrics", {}))
    zoo_agent.path = Path(path)
    zoo_agent.checkpoint_hash = file_hash(path)
    return zoo_agent
