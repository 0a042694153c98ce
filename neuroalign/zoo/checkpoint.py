"""Checkpoints: safetensors weights with JSON metadata; loading never unpickles.

A checkpoint is one ``.safetensors`` file. Its header metadata holds one key,
``neuroalign.zoo``, a JSON object with ``format_version``, ``agent``, ``family``,
``task``, ``seed``, ``config`` (the dataclass fields), ``metrics`` (training
metrics), ``neuroalign_version`` and ``created`` (left out of content-addressed
checkpoints, whose bytes are a function of their key), ``trunk`` (``"gru"``) for a
recurrent agent (absent: the MLP trunk) and ``layout`` (``"separate"``) for separate
actor and critic networks (absent: the shared trunk). A GRU trunk's weights are the
tensors ``rnn.*`` beside ``trunk.*`` and ``heads.*``; the separate layout has
``actor.*`` and ``critic.*`` (and ``actor_rnn.*``, ``critic_rnn.*``) instead of
``trunk.*`` (and ``rnn.*``). Only tensors and that JSON are
read back, so a checkpoint cannot execute code.

The metadata are validated by one schema (:class:`CheckpointMetadata`: each field
by its type) and every floating-point tensor must be finite (a diverged or
damaged training run leaves NaN or inf weights, which would probe into NaN
activations): both are refused with a :class:`~neuroalign.core.errors.CheckpointError`
naming the field or tensor.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from neuroalign.core.atomic import atomic_file, check_regular_file
from neuroalign.core.config import format_validation_error
from neuroalign.core.errors import CheckpointError, ConfigError, ValidationError
from neuroalign.core.limits import check_memory
from neuroalign.core.provenance import neuroalign_version
from neuroalign.zoo.addressing import checkpoint_name, file_hash
from neuroalign.zoo.agent import ZooAgent, build_agent
from neuroalign.zoo.configs import config_from_dict
from neuroalign.zoo.networks import rnn_name, tower_names

__all__ = [
    "FORMAT_VERSION",
    "METADATA_KEY",
    "CheckpointMetadata",
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


class CheckpointMetadata(BaseModel):
    """The JSON metadata of a checkpoint: the one schema every reader relies on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: StrictInt = Field(description="Checkpoint layout version.")
    agent: StrictStr = Field(description="Zoo agent name, e.g. 'dqn'.")
    family: StrictStr = Field(description="Learning family, 'value' or 'policy'.")
    task: StrictStr = Field(description="Task the agent learned.")
    seed: StrictInt = Field(description="Training seed.")
    config: dict[str, Any] = Field(description="The agent's hyper-parameters (checked "
                                   "against its config class and the weights).")
    metrics: dict[str, Any] = Field(default_factory=dict,
                                    description="Training metrics (JSON values).")
    neuroalign_version: StrictStr = Field(description="Version that wrote the file.")
    created: StrictStr | None = Field(
        None, description="UTC time of writing (ISO 8601); absent from a content-addressed "
        "checkpoint, whose bytes depend only on what it was trained from.")
    trunk: Literal["mlp", "gru"] = Field("mlp", description="Trunk of the network.")
    layout: Literal["shared", "separate"] = Field(
        "shared", description="Actor-critic layout: one shared trunk or separate actor and "
        "critic networks.")


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become ``None``, tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def save_checkpoint(agent: ZooAgent, path: str | os.PathLike[str], *,
                    reproducible: bool = False) -> Path:
    """Write ``agent`` to ``path`` atomically; return the path.

    Parameters
    ----------
    agent
        The trained agent.
    path
        Target file.
    reproducible
        Leave out what differs between two runs of the same training (the time of
        writing, ``created``, and the training's wall time, ``metrics.wall_time_s``),
        so that the same training writes the same bytes: the form of the
        content-addressed checkpoints (:mod:`neuroalign.zoo.addressing`).
    """
    metrics = dict(agent.metrics)
    if reproducible:
        metrics.pop("wall_time_s", None)
    meta = {
        "format_version": FORMAT_VERSION,
        "agent": agent.name,
        "family": agent.family,
        "task": agent.task.name,
        "seed": agent.seed,
        "config": _clean(vars(agent.config)),
        "metrics": _clean(metrics),
        "neuroalign_version": neuroalign_version(),
    }
    if not reproducible:
        meta["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if agent.trunk != "mlp":
        meta["trunk"] = agent.trunk
    if agent.layout != "shared":  # absent for the shared layout: its files are unchanged
        meta["layout"] = agent.layout
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
    target = check_regular_file(path, "checkpoint")  # a FIFO would block the reader
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
    try:
        checked = CheckpointMetadata.model_validate(meta)
    except PydanticValidationError as err:
        raise CheckpointError(format_validation_error(
            err, CheckpointMetadata, f"checkpoint {target}: metadata")) from None
    if tensors:
        _check_finite(weights, target)
    return checked.model_dump(exclude_unset=True), weights


def _check_finite(weights: dict[str, torch.Tensor], path: str | os.PathLike[str]) -> None:
    """Refuse weights holding NaN or inf (they would probe into NaN activations)."""
    for key, tensor in weights.items():
        if not tensor.is_floating_point():
            continue
        bad = int(tensor.numel() - torch.isfinite(tensor).sum())
        if bad:
            raise CheckpointError(
                f"checkpoint {path}: tensor {key} holds {bad} non-finite value(s) (NaN or "
                f"inf) of {tensor.numel()}; expected finite weights (a diverged or damaged "
                "training run: retrain it with `neuroalign zoo train`)")


def _check_trunk(cfg: Any, weights: dict[str, torch.Tensor], path: str | os.PathLike[str],
                 trunk: str = "mlp", layout: str = "shared") -> None:
    """Refuse metadata whose trunk (``hidden``, ``n_layers``) the weights do not hold.

    Runs before the network is built, so that tampered metadata (``hidden: 100000``,
    ``n_layers: 200000``) costs nothing: the size is checked against the memory
    limit, then against the tensors actually stored in the file, network by network
    (the shared trunk, or the actor and the critic).
    """
    hidden, n_layers = cfg.hidden, cfg.n_layers
    for name, value in (("hidden", hidden), ("n_layers", n_layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CheckpointError(f"checkpoint {path}: config.{name}: got {value!r}; "
                                  "expected a positive integer")
    towers = tower_names(layout)
    check_memory(4.0 * len(towers) * n_layers * hidden * (hidden + 1),
                 f"checkpoint {path}: "
                 + ("a trunk" if len(towers) == 1 else f"{len(towers)} networks ("
                    + " and ".join(towers) + ")")
                 + f" of {n_layers} layers x {hidden} units (float32)")
    parts = [k.split(".") for k in weights]
    recurrent = trunk == "gru"  # tanh layers, then one GRU layer (rnn.*)
    for tower in towers:
        stored = sorted(int(p[1]) for p in parts
                        if len(p) == 3 and p[0] == tower and p[1].isdigit() and p[2] == "weight")
        width_key, axis = ((f"{rnn_name(tower)}.weight_hh_l0", 1) if recurrent
                           else (f"{tower}.0.weight", 0))
        width = int(weights[width_key].shape[axis]) if width_key in weights else 0
        if stored != list(range(n_layers - 1 if recurrent else n_layers)) or width != hidden:
            raise CheckpointError(
                f"checkpoint {path}: metadata or weights do not fit: the metadata say "
                f"config.hidden={hidden}, config.n_layers={n_layers}; the weights hold "
                f"{len(stored)} {tower} layer(s){' and a GRU' if recurrent else ''} of "
                f"{width} units (tampered or mismatched metadata)")


def _check_shapes(meta: dict[str, Any], cfg: Any, weights: dict[str, torch.Tensor],
                  path: str | os.PathLike[str]) -> None:
    """Build the network on the meta device (no memory) and compare it with the weights.

    Every size the metadata sets (heads, quantiles, ...) is checked against the
    memory limit and the stored tensors before the real network is built.
    """
    with torch.device("meta"):
        shadow = build_agent(meta["agent"], meta["task"], int(meta["seed"]), cfg)
    expected = {k: tuple(v.shape) for k, v in shadow.net.state_dict().items()}
    check_memory(4.0 * sum(math.prod(shape) for shape in expected.values()),
                 f"checkpoint {path}: the network its metadata describe (float32)")
    stored = {k: tuple(v.shape) for k, v in weights.items()}
    for key in sorted(set(expected) | set(stored)):
        if expected.get(key) != stored.get(key):
            raise CheckpointError(
                f"checkpoint {path}: metadata or weights do not fit: the metadata give "
                f"{key} the shape {expected.get(key, 'absent')}; the file holds "
                f"{stored.get(key, 'none')}")


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
        if meta.get("layout", "shared") != spec.layout:
            raise CheckpointError(
                f"checkpoint {path}: holds the {meta.get('layout', 'shared')!r} layout; "
                f"agent {meta['agent']!r} has the {spec.layout!r} layout"
            )
        cfg = config_from_dict(spec.config_cls, meta.get("config", {}))
        _check_trunk(cfg, weights, path, spec.trunk, spec.layout)
        _check_shapes(meta, cfg, weights, path)
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
