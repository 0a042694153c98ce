"""The zoo registry: which agents and tasks exist, and where their checkpoints live.

Checkpoints are looked up first in the shipped zoo folder (``neuroalign/data/zoo``,
package data, or the folder named by the ``NEUROALIGN_ZOO`` environment variable),
then in the user cache (``cache_dir`` argument, else ``$NEUROALIGN_CACHE/zoo``, else
``$XDG_CACHE_HOME/neuroalign/zoo``, else ``~/.cache/neuroalign/zoo``). In the cache
the content-addressed file of the current code comes first
(``{agent}_{task}_s{seed}-{key12}.safetensors``, see
:mod:`neuroalign.zoo.addressing`: what ``neuroalign zoo sweep`` and training on
demand write), then a plain-named file (``{agent}_{task}_s{seed}.safetensors``, as
``neuroalign zoo train`` and earlier versions write). A missing agent is trained
like the shipped ones (default config, task budget as upper bound, stop at
criterion) and saved to the cache under its content-addressed name.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroalign.core.cache import cache_root
from neuroalign.core.errors import SourceError
from neuroalign.core.resources import package_data
from neuroalign.zoo.addressing import checkpoint_name
from neuroalign.zoo.agents.table import AGENT_TABLE, get_agent_info
from neuroalign.zoo.tasks import get_task, task_names

if TYPE_CHECKING:
    from neuroalign.zoo.agent import ZooAgent

__all__ = [
    "checkpoint_path",
    "default_cache_dir",
    "list_agents",
    "list_tasks",
    "load_agent",
    "shipped_seeds",
    "without_shipped",
    "zoo_dir",
]

_NAME = re.compile(r"^(?P<agent>[a-z0-9-]+)_(?P<task>[a-z0-9]+)_s(?P<seed>\d+)\.safetensors$")


def zoo_dir() -> Path:
    """Folder of the shipped checkpoints (``NEUROALIGN_ZOO`` overrides it)."""
    env = os.environ.get("NEUROALIGN_ZOO")
    if env:
        return Path(env)
    return package_data("zoo")


@contextlib.contextmanager
def without_shipped(aside: bool = True) -> Iterator[None]:
    """Inside the block, the shipped folder reads as an empty one (when ``aside``).

    ``NEUROALIGN_ZOO`` points at an empty temporary folder, so every lookup
    (:func:`checkpoint_path`, :func:`load_agent`), in this process and in the processes
    it starts or forks inside the block, finds only the cache's checkpoints: a seed
    sweep run inside it trains every network, the shipped seeds included. The variable
    is restored on exit.
    """
    if not aside:
        yield
        return
    before = os.environ.get("NEUROALIGN_ZOO")
    with tempfile.TemporaryDirectory(prefix="neuroalign-no-shipped-") as empty:
        os.environ["NEUROALIGN_ZOO"] = empty
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("NEUROALIGN_ZOO", None)
            else:
                os.environ["NEUROALIGN_ZOO"] = before


def default_cache_dir() -> Path:
    """The user cache for checkpoints trained on demand (``zoo/`` in the cache root)."""
    return cache_root() / "zoo"


def shipped_seeds(agent: str, task: str) -> list[int]:
    """Seeds of ``agent`` on ``task`` present in the shipped zoo folder."""
    folder = zoo_dir()
    if not folder.is_dir():
        return []
    seeds = []
    for path in folder.glob("*.safetensors"):
        match = _NAME.match(path.name)
        if match and match["agent"] == agent and match["task"] == task:
            seeds.append(int(match["seed"]))
    return sorted(seeds)


def _agent_tasks(name: str) -> list[str]:
    spec = get_agent_info(name)
    return [t for t in task_names() if spec.tasks is None or t in spec.tasks]


def list_agents() -> list[dict[str, Any]]:
    """Every agent: ``name``, ``family``, ``trunk``, ``layout``, ``description``, ``config``,
    ``tasks``, ``shipped_seeds``.

    ``layout`` is ``"shared"`` (one trunk) or ``"separate"`` (actor and critic
    networks; :func:`neuroalign.zoo.agent_name` finds an agent by its parts).

    ``tasks`` are the tasks the agent can learn; ``shipped_seeds`` maps every task
    to the seeds with a shipped checkpoint (empty for tasks the agent cannot learn).
    """
    return [
        {"name": spec.name, "family": spec.family, "trunk": spec.trunk, "layout": spec.layout,
         "description": spec.description, "config": spec.config_cls.__name__,
         "tasks": _agent_tasks(spec.name),
         "shipped_seeds": {t: shipped_seeds(spec.name, t) for t in task_names()}}
        for spec in AGENT_TABLE.values()
    ]


def list_tasks() -> list[dict[str, Any]]:
    """Every task: ``name``, ``description``, ``budget``, ``criterion``, ``valences``."""
    out = []
    for name in task_names():
        task = get_task(name)
        out.append({"name": name, "description": task.description, "budget": task.budget,
                    "criterion": task.criterion, "valences": list(task.valences),
                    "approaches": list(task.approaches)})
    return out


def checkpoint_path(agent: str, task: str, seed: int,
                    cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the checkpoint of ``(agent, task, seed)`` is: shipped, cached, or ``None``.

    In order: the shipped file, the cache's content-addressed file trained as the
    shipped zoo was (default config and settings) by the current code, the cache's
    plain-named file.
    """
    from neuroalign.zoo.addressing import addressed_name, checkpoint_key

    name = checkpoint_name(agent, task, seed)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    candidates = [zoo_dir() / name]
    if agent in AGENT_TABLE and task in task_names():
        key = checkpoint_key(agent, task, int(seed))
        candidates.append(cache / addressed_name(agent, task, seed, key))
    candidates.append(cache / name)
    for path in candidates:
        if path.is_file():
            return path
    return None


def load_agent(agent: str, task: str, seed: int = 0,
               cache_dir: str | os.PathLike[str] | None = None,
               train_if_missing: bool = True, progress: bool = False) -> ZooAgent:
    """Load ``(agent, task, seed)``; train and cache it when no checkpoint exists.

    Parameters
    ----------
    agent, task, seed
        What to load (see :func:`list_agents`).
    cache_dir
        User cache folder (see the module docstring for the default).
    train_if_missing
        When no checkpoint is found, train as the shipped zoo was trained (default
        config, the task budget as upper bound, stopping at criterion); otherwise
        raise.
    progress
        Show training progress when training.

    Raises
    ------
    ValidationError
        Unknown agent or task (the message lists the valid ones).
    SourceError
        No checkpoint and ``train_if_missing`` is false.
    CheckpointError
        The checkpoint found is unreadable or belongs to another agent/task/seed.
    """
    from neuroalign.zoo.checkpoint import load_checkpoint  # torch: on first loading

    get_agent_info(agent)
    get_task(task)
    seed = int(seed)
    path = checkpoint_path(agent, task, seed, cache_dir)
    if path is not None:
        return load_checkpoint(path, agent=agent, task=task, seed=seed)
    if not train_if_missing:
        raise SourceError(
            f"zoo: no checkpoint for agent {agent!r} on task {task!r} seed {seed} in "
            f"{zoo_dir()} or the cache; shipped seeds are {shipped_seeds(agent, task)}; "
            "pass train_if_missing=True or run `neuroalign zoo train`"
        )
    from neuroalign.zoo.addressing import train_addressed

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target, _ = train_addressed(agent, task, seed, cache, progress=progress)
    return load_checkpoint(target, agent=agent, task=task, seed=seed)
