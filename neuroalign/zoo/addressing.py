"""Content-addressed checkpoints: one key per training, one file per key.

A trained checkpoint is named after everything that determines its weights::

    {agent}_{task}_s{seed}-{key12}.safetensors      e.g. ppo_pavlovian_s4-3f9c0a1b2d4e.safetensors

``key`` is the SHA-256 of a canonical JSON document (:func:`key_document`) holding
the algorithm, the task, the trunk, the actor-critic layout, the full
hyper-parameter config (defaults filled in), the training settings (budget, stop at
criterion, patience, evaluation interval), the seed and the code version
(:func:`code_version`): neuroalign's version and a digest of the source files that
determine training (:data:`TRAINING_SOURCES`). The first 12 hex digits go into the
file name. Change any of these and the key changes, so a new file is trained; keep
them and the file found is the one to use: a finished checkpoint is never
retrained. Such files are written with :func:`~neuroalign.zoo.checkpoint.save_checkpoint`'s
``reproducible`` form (no time of writing, no wall time), so the same key always
gives the same bytes on one machine.

Both the seed sweeps (:mod:`neuroalign.zoo.sweep`) and
:func:`~neuroalign.zoo.load_agent`'s training on demand train through
:func:`train_addressed`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroalign.core.errors import ValidationError
from neuroalign.core.provenance import neuroalign_version
from neuroalign.core.validation import check_positive_int
from neuroalign.zoo.agents.table import get_agent_info
from neuroalign.zoo.configs import AgentConfig, config_from_dict
from neuroalign.zoo.tasks import get_task

__all__ = [
    "KEY_LENGTH",
    "TRAINING_SOURCES",
    "TrainSettings",
    "addressed_name",
    "checkpoint_key",
    "checkpoint_name",
    "code_version",
    "file_hash",
    "key_document",
    "resolve_config",
    "train_addressed",
]

#: hex digits of the key in a file name (48 bits: collisions need ~16 million files)
KEY_LENGTH = 12

#: the source files (relative to the ``neuroalign`` package) whose bytes enter the code
#: version: the learning algorithms, the networks, the training loop, the agent and
#: its configs, and the tasks. Editing any of them (a docstring included) changes every
#: key, so checkpoints are retrained by the next sweep.
TRAINING_SOURCES: tuple[str, ...] = (
    "zoo/agents/*.py",
    "zoo/agent.py",
    "zoo/configs.py",
    "zoo/networks.py",
    "zoo/training.py",
    "zoo/tasks.py",
    "zoo/task_base.py",
    "zoo/pavlovian.py",
    "zoo/gridworld.py",
    "zoo/contrast.py",
    "zoo/contrast_task.py",
)


@dataclass(frozen=True)
class TrainSettings:
    """How long and until when an agent trains (part of its key).

    The defaults train as the shipped zoo was trained: the task's budget as an upper
    bound, stopping once ``patience`` consecutive evaluations meet the task's
    criterion.

    Attributes
    ----------
    budget
        Environment steps (``None``: the task's budget).
    stop_at_criterion
        Stop at criterion (otherwise train the whole budget).
    patience
        Consecutive successful evaluations needed to stop.
    eval_every
        Steps between evaluations (``None``: ``budget // 20``).
    """

    budget: int | None = None
    stop_at_criterion: bool = True
    patience: int = 2
    eval_every: int | None = None

    def __post_init__(self) -> None:
        if self.budget is not None:
            check_positive_int(self.budget, "budget")
        check_positive_int(self.patience, "patience")
        if self.eval_every is not None:
            check_positive_int(self.eval_every, "eval_every")

    def resolved(self, task: str) -> dict[str, Any]:
        """The settings with the task's defaults filled in (what the key holds)."""
        budget = self.budget if self.budget is not None else int(get_task(task).budget)
        every = self.eval_every if self.eval_every is not None else max(1, budget // 20)
        return {"budget": int(budget), "stop_at_criterion": bool(self.stop_at_criterion),
                "patience": int(self.patience), "eval_every": int(every)}


def _package_root() -> Path:
    return Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=4)
def code_version(sources: tuple[str, ...] = TRAINING_SOURCES) -> str:
    """neuroalign's version and a digest of the source files ``sources`` (patterns below
    the ``neuroalign`` package; by default :data:`TRAINING_SOURCES`), e.g.
    ``"0.2.0+src.1a2b3c4d5e6f"``."""
    root = _package_root()
    digest = hashlib.sha256()
    for pattern in sources:
        files = sorted(root.glob(pattern))
        if not files:
            raise ValidationError(f"code version: no source file matches {pattern!r} below "
                                  f"{root}; expected the zoo's training sources")
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return f"{neuroalign_version()}+src.{digest.hexdigest()[:KEY_LENGTH]}"


def resolve_config(agent: str, config: AgentConfig | Mapping[str, Any] | None = None
                   ) -> AgentConfig:
    """The full config of ``agent``: its defaults, with ``config``'s fields over them.

    Raises
    ------
    ValidationError
        Unknown agent.
    ConfigError
        A field the agent's config does not have, or a value of the wrong type.
    """
    spec = get_agent_info(agent)
    if config is None:
        return spec.config_cls()
    if isinstance(config, AgentConfig):
        if not isinstance(config, spec.config_cls):
            raise ValidationError(f"config: got a {type(config).__name__}; agent {agent!r} "
                                  f"expects a {spec.config_cls.__name__}")
        return config
    return config_from_dict(spec.config_cls, dict(config))


def key_document(agent: str, task: str, seed: int,
                 config: AgentConfig | Mapping[str, Any] | None = None,
                 settings: TrainSettings | None = None) -> dict[str, Any]:
    """Everything that determines the weights of a training, as a JSON-ready dict."""
    spec = get_agent_info(agent)
    get_task(task)
    seed = check_positive_int(seed, "seed", minimum=0)
    cfg = resolve_config(agent, config)
    return {
        "algorithm": agent,
        "task": task,
        "trunk": spec.trunk,
        "layout": spec.layout,
        "config": dataclasses.asdict(cfg),
        "settings": (settings or TrainSettings()).resolved(task),
        "seed": seed,
        "code_version": code_version(),
    }


def checkpoint_key(agent: str, task: str, seed: int,
                   config: AgentConfig | Mapping[str, Any] | None = None,
                   settings: TrainSettings | None = None) -> str:
    """The content key (64 hex digits) of training ``agent`` on ``task`` from ``seed``."""
    doc = key_document(agent, task, seed, config, settings)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_name(agent: str, task: str, seed: int) -> str:
    """File name of a checkpoint, e.g. ``"dqn_pavlovian_s0.safetensors"``."""
    return f"{agent}_{task}_s{int(seed)}.safetensors"


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, as ``"sha256:<hex>"``."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"sha256:{digest}"


def addressed_name(agent: str, task: str, seed: int, key: str) -> str:
    """File name of a content-addressed checkpoint, e.g.
    ``"ppo_pavlovian_s4-3f9c0a1b2d4e.safetensors"``."""
    return f"{agent}_{task}_s{int(seed)}-{key[:KEY_LENGTH]}.safetensors"


def train_addressed(agent: str, task: str, seed: int, folder: str | os.PathLike[str],
                    config: AgentConfig | Mapping[str, Any] | None = None,
                    settings: TrainSettings | None = None, *, progress: bool = False,
                    threads: int | None = 1) -> tuple[Path, dict[str, Any]]:
    """Train ``agent`` on ``task`` from ``seed`` into its content-addressed file in
    ``folder``, unless that file exists.

    Parameters
    ----------
    agent, task, seed
        What to train.
    folder
        Where the checkpoint goes (created if needed).
    config
        Hyper-parameters over the agent's defaults (a config or a mapping of fields).
    settings
        Budget and stopping rule (default: as the shipped zoo).
    progress
        Show the training's progress bar.
    threads
        torch threads while training (1: the fastest for these small networks, and
        what a worker of a sweep uses).

    Returns
    -------
    tuple
        ``(path, info)``: ``info`` holds ``status`` (``"trained"`` or ``"existing"``),
        ``wall_time_s`` (0 for an existing file) and ``criterion_met`` (read from the
        checkpoint's metrics).
    """
    from neuroalign.zoo.checkpoint import read_metadata, save_checkpoint
    from neuroalign.zoo.training import train

    settings = settings or TrainSettings()
    key = checkpoint_key(agent, task, seed, config, settings)
    target = Path(folder) / addressed_name(agent, task, seed, key)
    if target.is_file():
        met = read_metadata(target).get("metrics", {}).get("criterion_met")
        return target, {"status": "existing", "wall_time_s": 0.0, "criterion_met": met}
    resolved = settings.resolved(task)
    start = time.perf_counter()
    trained = train(agent, task, seed, config=resolve_config(agent, config),
                    budget=resolved["budget"], eval_every=resolved["eval_every"],
                    stop_at_criterion=resolved["stop_at_criterion"],
                    patience=resolved["patience"], progress=progress, threads=threads)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(trained, target, reproducible=True)
    wall = time.perf_counter() - start
    return target, {"status": "trained", "wall_time_s": round(wall, 3),
                    "criterion_met": bool(trained.metrics["criterion_met"])}
