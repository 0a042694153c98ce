"""Stable-Baselines3 twins of the zoo agents: SB3's learners on the zoo's trunks and tasks.

:func:`train_sb3` trains Stable-Baselines3 DQN, A2C, PPO or sb3-contrib QR-DQN on a
zoo task with what the zoo agent of the same name has:

- the trunk: ``n_layers`` tanh layers of ``hidden`` units
  (:class:`~neuroalign.zoo.configs.AgentConfig`). DQN and QR-DQN: the Q-network's
  MLP (``net_arch``), linear output. A2C and PPO: one trunk shared by actor and critic,
  built as a shared features extractor (:class:`~neuroalign.zoo.foreign.sb3_trunk.ZooTrunk`,
  ``share_features_extractor=True``) with linear heads (``net_arch`` empty); with
  ``layout="separate"``, actor and critic MLPs of the trunk's size (SB3's default
  architecture; the twins of the zoo's ``a2c-sep``, ``ppo-sep``);
- the hyper-parameters SB3 has (:func:`sb3_settings`; the mapping is the table in
  docs/parts/zoo.md, "Stable-Baselines3 twins"); SB3's defaults for the rest;
- the task's budget, and the zoo's stopping rule: every ``budget // 20`` steps the
  greedy policy is scored by the task's own evaluation (:meth:`Task.evaluate`, through
  the zoo's :class:`~neuroalign.zoo.agents.Monitor`), and training stops after 2
  consecutive evaluations that meet the criterion;
- one seed for everything (SB3's ``seed``, inside the zoo's
  :func:`~neuroalign.zoo.training.seeded` block, the caller's global random state
  restored after), one torch thread.

The model is saved atomically under a content-addressed name
(:func:`sb3_checkpoint_name`: algorithm, task, seed and a key of the settings, the
SB3 / sb3-contrib / torch versions and neuroalign's version), with a sidecar JSON of
its training metrics (``criterion_met``, ``steps``, ``wall_time_s`` ...). A model whose
files exist is not trained again. The saved model is probed like any SB3 model
(:func:`neuroalign.zoo.probe`), its layers named as the zoo's (``trunk.0``,
``trunk.1``, ``readout.*``).

Feedforward only: the tasks are ``pavlovian``, ``gridworld`` and ``contrast``
(feedforward on its steps, as the zoo's MLP agents); recurrent SB3 learners
(RecurrentPPO) are not trained here.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from neuroalign.core.atomic import atomic_file, check_output_path
from neuroalign.core.errors import CheckpointError, DependencyError, ValidationError
from neuroalign.core.provenance import neuroalign_version
from neuroalign.core.validation import check_choice, check_positive_int
from neuroalign.zoo.addressing import code_version
from neuroalign.zoo.configs import A2CConfig, AgentConfig, DQNConfig, PPOConfig, QRDQNConfig
from neuroalign.zoo.sweep import (
    JobKind,
    SweepJob,
    SweepPlan,
    TrainSettings,
    plan_sweep,
    register_job_kind,
)

__all__ = [
    "SB3_ALGORITHMS",
    "SB3_JOB_KIND",
    "SB3_TASKS",
    "plan_sb3_sweep",
    "read_sb3_metrics",
    "sb3_checkpoint_name",
    "sb3_content_key",
    "sb3_settings",
    "train_sb3",
]

#: zoo agent name -> the SB3 / sb3-contrib class trained as its twin
SB3_ALGORITHMS: dict[str, str] = {"dqn": "DQN", "qrdqn": "QRDQN", "a2c": "A2C", "ppo": "PPO"}
#: tasks the twins learn (feedforward: contrast step by step, as the zoo's MLP agents)
SB3_TASKS: tuple[str, ...] = ("pavlovian", "gridworld", "contrast")
#: consecutive evaluations meeting the criterion that stop training (the zoo's rule)
PATIENCE = 2
#: evaluations per budget (every ``budget // EVALUATIONS`` steps, the zoo's rule)
EVALUATIONS = 20

_CONFIGS: dict[str, type[AgentConfig]] = {"dqn": DQNConfig, "qrdqn": QRDQNConfig,
                                          "a2c": A2CConfig, "ppo": PPOConfig}


def _algorithm(algorithm: str) -> str:
    name = str(algorithm).lower().replace("-", "")
    check_choice(name, "algorithm", list(SB3_ALGORITHMS))
    return name


def _layout(name: str, layout: str) -> str:
    from neuroalign.zoo.networks import LAYOUTS

    check_choice(layout, "layout", LAYOUTS)
    if layout == "separate" and name in ("dqn", "qrdqn"):
        raise ValidationError(f"layout: got 'separate' for {name}; only the actor-critic "
                              "algorithms ('a2c', 'ppo') have separate actor and critic "
                              "networks")
    return layout


def _budget(task: str, budget: int | None) -> int:
    from neuroalign.zoo.tasks import get_task

    check_choice(task, "task", SB3_TASKS)
    if budget is None:
        return int(get_task(task).budget)
    return check_positive_int(budget, "budget")


def _hyperparameters(name: str, cfg: Any) -> dict[str, Any]:
    """The SB3 constructor arguments that carry the zoo config's values."""
    common = {"learning_rate": cfg.lr, "gamma": cfg.gamma, "max_grad_norm": cfg.max_grad_norm}
    if name in ("dqn", "qrdqn"):
        return {**common, "buffer_size": cfg.buffer_size, "batch_size": cfg.batch_size,
                "learning_starts": cfg.learning_starts, "train_freq": cfg.train_every,
                "gradient_steps": 1, "target_update_interval": cfg.target_update,
                "exploration_initial_eps": cfg.eps_start,
                "exploration_final_eps": cfg.eps_end,
                "exploration_fraction": cfg.eps_fraction}
    ac = {**common, "n_steps": cfg.n_steps, "gae_lambda": cfg.gae_lambda,
          "ent_coef": cfg.entropy_coef, "vf_coef": cfg.value_coef}
    if name == "ppo":
        # the zoo's PPO normalizes advantages per minibatch (SB3's default too)
        return {**ac, "n_epochs": cfg.n_epochs, "batch_size": cfg.minibatch_size,
                "clip_range": cfg.clip, "normalize_advantage": True}
    # the zoo's A2C: Adam, raw advantages (SB3's A2C defaults to RMSprop)
    return {**ac, "use_rms_prop": False, "normalize_advantage": False}


def sb3_settings(algorithm: str, task: str, *, budget: int | None = None,
                 layout: str = "shared") -> dict[str, Any]:
    """Everything :func:`train_sb3` sets, as plain JSON values.

    Parameters
    ----------
    algorithm
        ``dqn``, ``qrdqn``, ``a2c`` or ``ppo`` (:data:`SB3_ALGORITHMS`; SB3's spelling,
        e.g. ``"QRDQN"``, is accepted).
    task
        ``pavlovian``, ``gridworld`` or ``contrast``.
    budget
        Environment steps (the task's budget when ``None``).
    layout
        A2C and PPO: ``"shared"`` (one trunk, a shared features extractor, linear
        heads: the zoo's ``a2c``, ``ppo``) or ``"separate"`` (actor and critic MLPs of
        the trunk's size on SB3's default extractor: SB3's default architecture and the
        zoo's ``a2c-sep``, ``ppo-sep``).

    Returns
    -------
    dict
        ``class`` (the SB3 class), ``layout``, ``hyperparameters`` (constructor
        arguments), ``policy_kwargs`` (classes by name), ``budget``, ``eval_every``,
        ``patience``.

    Raises
    ------
    ValidationError
        An unknown algorithm, task or layout (the message lists the valid ones), the
        separate layout for a value-learner, or a budget that is not a positive integer.
    """
    name = _algorithm(algorithm)
    layout = _layout(name, layout)
    steps = _budget(task, budget)
    cfg = _CONFIGS[name]()
    trunk = {"hidden": cfg.hidden, "n_layers": cfg.n_layers}
    if name in ("dqn", "qrdqn"):
        policy: dict[str, Any] = {"net_arch": [cfg.hidden] * cfg.n_layers,
                                  "activation_fn": "torch.nn.Tanh"}
        if name == "qrdqn":
            assert isinstance(cfg, QRDQNConfig)
            if cfg.kappa != 1.0:  # sb3-contrib's quantile Huber loss has kappa = 1
                raise ValidationError(f"kappa: the zoo's QR-DQN has {cfg.kappa}; sb3-contrib's "
                                      "loss has 1.0")
            policy["n_quantiles"] = cfg.n_quantiles
    elif layout == "separate":
        policy = {"net_arch": {"pi": [cfg.hidden] * cfg.n_layers,
                               "vf": [cfg.hidden] * cfg.n_layers},
                  "activation_fn": "torch.nn.Tanh"}
    else:
        policy = {"features_extractor_class": "neuroalign.zoo.foreign.sb3_trunk.ZooTrunk",
                  "features_extractor_kwargs": trunk, "share_features_extractor": True,
                  "net_arch": {"pi": [], "vf": []}, "activation_fn": "torch.nn.Tanh"}
    return {"class": SB3_ALGORITHMS[name], "layout": layout,
            "hyperparameters": _hyperparameters(name, cfg),
            "policy_kwargs": policy, "budget": steps,
            "eval_every": max(1, steps // EVALUATIONS), "patience": PATIENCE}


def _versions(name: str) -> dict[str, str]:
    out = {"neuroalign": neuroalign_version(), "zoo_code": code_version()}
    packages = ["stable-baselines3", "torch", *(["sb3-contrib"] if name == "qrdqn" else [])]
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            raise DependencyError(f"SB3 twins need {package}: pip install "
                                  '"neuroalign[sb3]"') from None
    return out


def sb3_content_key(algorithm: str, task: str, seed: int, *,
                    budget: int | None = None, layout: str = "shared") -> str:
    """The content key of a twin: 16 hex digits of the SHA-256 of the canonical JSON of
    its algorithm, task, seed, :func:`sb3_settings` and the versions: neuroalign's, the
    zoo's training code (:func:`~neuroalign.zoo.addressing.code_version`: its tasks,
    configs and training loop), stable-baselines3's and torch's (sb3-contrib's for QR-DQN).

    Any change to what the model would be trained with gives another key, hence
    another file; the same inputs give the same key in every process.
    """
    name = _algorithm(algorithm)
    payload = {"algorithm": name, "task": task, "seed": _seed(seed),
               "settings": sb3_settings(name, task, budget=budget, layout=layout),
               "versions": _versions(name)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValidationError(f"seed: got {seed!r}; expected a non-negative integer")
    return int(seed)


def sb3_checkpoint_name(algorithm: str, task: str, seed: int, *,
                        budget: int | None = None, layout: str = "shared") -> str:
    """File name of a twin: ``sb3-<agent>_<task>_s<seed>_<key>.zip``, ``agent`` the
    zoo agent it twins (``ppo``, ``ppo-sep`` ...; ``key``: :func:`sb3_content_key`); the
    sidecar is the same stem with ``.json``."""
    name = _algorithm(algorithm)
    key = sb3_content_key(name, task, seed, budget=budget, layout=layout)
    suffix = "-sep" if layout == "separate" else ""
    return f"sb3-{name}{suffix}_{task}_s{_seed(seed)}_{key}.zip"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def read_sb3_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The sidecar JSON of a model :func:`train_sb3` saved (``<stem>.json``).

    Raises
    ------
    CheckpointError
        No sidecar beside the model, or one that is not a JSON object.
    """
    side = _sidecar(Path(path))
    try:
        data = json.loads(side.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"sb3 model {str(path)!r}: no metrics file {str(side)!r}; "
                              "expected the sidecar train_sb3 writes") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"sb3 metrics {str(side)!r}: not JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"sb3 metrics {str(side)!r}: holds a {type(data).__name__}; "
                              "expected a JSON object")
    return data


@contextlib.contextmanager
def _global_random_kept() -> Iterator[None]:
    """Restore Python's and numpy's global random state on exit (SB3's ``seed`` sets them;
    torch's is restored by :func:`~neuroalign.zoo.training.seeded`)."""
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002 (SB3's global)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002


def _greedy(model: Any, obs_dim: int) -> Callable[[np.ndarray], np.ndarray]:
    """The model's deterministic actions for ``(n, obs_dim)`` or ``(trial, step, obs_dim)``
    (a sequential task's trials, acted on step by step)."""

    def policy(obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32)
        actions, _ = model.predict(x.reshape(-1, obs_dim), deterministic=True)
        return np.asarray(actions).reshape(x.shape[:-1])

    return policy


def _callback(monitor: Any) -> Any:
    """An SB3 callback that counts every step on the zoo's ``monitor`` and stops
    training when the monitor says so (budget spent, or the criterion met)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class _ZooStopping(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                episode = info.get("episode")
                if episode is not None:
                    monitor.episode(float(episode["r"]))
            return not monitor.step()

    return _ZooStopping()


def _build(name: str, task: str, seed: int, settings: dict[str, Any]) -> Any:
    import torch

    from neuroalign.zoo.tasks import make_env

    cls: Any
    if name == "qrdqn":
        import sb3_contrib

        cls = sb3_contrib.QRDQN
    else:
        import stable_baselines3

        cls = getattr(stable_baselines3, SB3_ALGORITHMS[name])
    policy = dict(settings["policy_kwargs"])
    policy["activation_fn"] = torch.nn.Tanh
    if "features_extractor_class" in policy:
        from neuroalign.zoo.foreign.sb3_trunk import ZooTrunk

        policy["features_extractor_class"] = ZooTrunk
    return cls("MlpPolicy", make_env(task), seed=seed, device="cpu", verbose=0,
               policy_kwargs=policy, **settings["hyperparameters"])


def train_sb3(algorithm: str, task: str, seed: int, out: str | os.PathLike[str], *,
              budget: int | None = None, layout: str = "shared",
              progress: bool = False) -> Path:
    """Train the Stable-Baselines3 twin of a zoo agent (see the module docs) and save it.

    Parameters
    ----------
    algorithm
        ``dqn``, ``qrdqn``, ``a2c`` or ``ppo`` (SB3's spelling accepted).
    task
        ``pavlovian``, ``gridworld`` or ``contrast``.
    seed
        The only source of randomness: the same seed gives the same weights (CPU).
    out
        Folder of the saved models (made if missing).
    budget
        Environment steps (the task's budget when ``None``); training stops earlier at
        the task's criterion (evaluated every ``budget // 20`` steps, patience 2).
    layout
        A2C and PPO: ``"shared"`` (the default: the zoo's ``a2c``, ``ppo``) or
        ``"separate"`` (SB3's default actor and critic networks, the zoo's ``a2c-sep``,
        ``ppo-sep``); see :func:`sb3_settings`.
    progress
        Show the zoo's progress bar (steps, training return, success rate).

    Returns
    -------
    pathlib.Path
        The saved model, ``out / sb3_checkpoint_name(...)``; its sidecar JSON
        (:func:`read_sb3_metrics`) holds ``criterion_met``, ``steps``,
        ``steps_to_criterion``, ``episodes``, ``wall_time_s``, the final and every
        evaluation, the settings and the versions. A model whose ``.zip`` and sidecar
        already exist is returned as it is, not trained again.

    Raises
    ------
    ValidationError
        An unknown algorithm, task or layout, a bad seed or budget.
    DependencyError
        stable-baselines3 (or sb3-contrib for QR-DQN) is not installed.
    OutputError
        ``out`` cannot be written.
    """
    name = _algorithm(algorithm)
    seed = _seed(seed)
    settings = sb3_settings(name, task, budget=budget, layout=layout)
    folder = check_output_path(out, kind="folder")
    path = folder / sb3_checkpoint_name(name, task, seed, budget=budget, layout=layout)
    if path.is_file() and _sidecar(path).is_file():
        return path
    versions = _versions(name)

    from neuroalign.zoo.agents import Monitor
    from neuroalign.zoo.networks import torch_threads
    from neuroalign.zoo.tasks import get_task
    from neuroalign.zoo.training import _Display, seeded

    task_obj = get_task(task)
    steps = int(settings["budget"])
    with seeded(seed), _global_random_kept(), torch_threads(1):
        model = _build(name, task, seed, settings)
        obs_dim = int(model.observation_space.shape[0])
        display = _Display(f"sb3-{name}/{task}/seed {seed}", steps) if progress else None
        monitor = Monitor(steps, settings["eval_every"],
                          lambda: task_obj.evaluate(_greedy(model, obs_dim)),
                          stop_at_criterion=True, patience=settings["patience"],
                          on_update=display.update if display else None)
        start = time.perf_counter()
        try:
            model.learn(total_timesteps=steps, callback=_callback(monitor))
        finally:
            if display is not None:
                display.close()
        wall = time.perf_counter() - start
        final = monitor.history[-1] if monitor.history else task_obj.evaluate(
            _greedy(model, obs_dim))
        metrics = {
            "algorithm": name, "sb3_class": settings["class"], "layout": settings["layout"],
            "task": task, "seed": seed,
            "family": "value" if name in ("dqn", "qrdqn") else "policy",
            "budget": steps, "steps": monitor.steps, "episodes": monitor.episodes,
            "wall_time_s": round(wall, 3), "steps_to_criterion": monitor.steps_to_criterion,
            "criterion_met": bool(final["criterion_met"]),
            "success_rate": final["success_rate"], "mean_return": final["mean_return"],
            "train_return": monitor.recent_return, "stop_at_criterion": True,
            "patience": settings["patience"], "eval_every": settings["eval_every"],
            "history": monitor.history, "settings": settings, "versions": versions,
            "torch_threads": 1,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        # the sidecar first: a model file always has its sidecar (what the sweep reads)
        with atomic_file(_sidecar(path), suffix=".json") as tmp:
            tmp.write_text(json.dumps(metrics, indent=1, default=_json_value) + "\n")
        with atomic_file(path, suffix=".zip") as tmp:
            model.save(tmp)
    return path


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


# -- the "sb3" job kind of the seed sweeps ---------------------------------------------------


def _sweep_settings(job: SweepJob) -> int | None:
    """The budget of an ``sb3`` job; its other settings must be the ones the twins use."""
    if job.config:
        raise ValidationError(f"sb3 job {job.label()}: got config fields {sorted(job.config)}; "
                              "the twins take the zoo agent's default config")
    if job.trunk != "mlp":
        raise ValidationError(f"sb3 job {job.label()}: got trunk {job.trunk!r}; the twins are "
                              "feedforward ('mlp')")
    st = job.settings
    if not st.stop_at_criterion or st.patience != PATIENCE or st.eval_every is not None:
        raise ValidationError(f"sb3 job {job.label()}: got settings {st}; the twins stop at "
                              f"the criterion with patience {PATIENCE}, evaluating every "
                              f"budget // {EVALUATIONS} steps")
    return st.budget


def _sweep_key(job: SweepJob) -> str:
    return sb3_content_key(job.algorithm, job.task, job.seed, budget=_sweep_settings(job),
                           layout=job.layout)


def _sweep_path(job: SweepJob, out: Path) -> Path:
    return out / sb3_checkpoint_name(job.algorithm, job.task, job.seed,
                                     budget=_sweep_settings(job), layout=job.layout)


def _sweep_train(job: SweepJob, out: Path) -> dict[str, Any]:
    existing = _sweep_path(job, out).is_file()
    path = train_sb3(job.algorithm, job.task, job.seed, out, budget=_sweep_settings(job),
                     layout=job.layout)
    metrics = read_sb3_metrics(path)
    return {"status": "existing" if existing else "trained",
            "wall_time_s": 0.0 if existing else float(metrics["wall_time_s"]),
            "criterion_met": bool(metrics["criterion_met"])}


def _sweep_criterion(path: Path) -> bool | None:
    value = read_sb3_metrics(path).get("criterion_met")
    return None if value is None else bool(value)


#: the ``sb3`` job kind of :func:`neuroalign.zoo.run_sweep` (registered on import)
SB3_JOB_KIND = JobKind("sb3", _sweep_key, _sweep_path, _sweep_train, _sweep_criterion)
register_job_kind(SB3_JOB_KIND, replace=True)


def plan_sb3_sweep(algorithms: str | Sequence[str], tasks: str | Sequence[str],
                   seeds: str | int | Sequence[int], layouts: str | Sequence[str] = ("shared",),
                   *, budget: int | None = None) -> SweepPlan:
    """The sweep of SB3 twins: :func:`~neuroalign.zoo.plan_sweep`'s jobs of the zoo
    agents they twin (feedforward), as ``sb3`` jobs for :func:`~neuroalign.zoo.run_sweep`.

    Parameters
    ----------
    algorithms
        Of ``dqn``, ``qrdqn``, ``a2c``, ``ppo`` (a list or a comma-separated string).
    tasks
        Of ``pavlovian``, ``gridworld``, ``contrast``.
    seeds
        Integers, or a string of values and ranges (``"0-4"``).
    layouts
        ``"shared"`` and/or ``"separate"`` (A2C and PPO; value-learners have one).
    budget
        Environment steps (the task's budget when ``None``).

    Returns
    -------
    SweepPlan
        One ``sb3`` job per algorithm x layout x task x seed; the value-learners'
        separate layout listed as skipped.

    Raises
    ------
    ValidationError
        An algorithm or task the twins do not have (the message lists them), or what
        :func:`~neuroalign.zoo.plan_sweep` refuses.
    """
    import dataclasses

    names = [algorithms] if isinstance(algorithms, str) else list(algorithms)
    for given in (a.strip() for n in names for a in n.split(",")):
        check_choice(given, "algorithms", list(SB3_ALGORITHMS))
    task_list = [tasks] if isinstance(tasks, str) else list(tasks)
    for given in (t.strip() for n in task_list for t in n.split(",")):
        check_choice(given, "tasks", SB3_TASKS)
    plan = plan_sweep(algorithms, tasks, seeds, ("mlp",), layouts,
                      settings=TrainSettings(budget=budget))
    return SweepPlan([dataclasses.replace(job, kind="sb3") for job in plan.jobs],
                     plan.skipped)
