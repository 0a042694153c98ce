"""Training: the one seeding point, the training loop and its progress display."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np
import torch

from neuroalign.core.errors import ValidationError
from neuroalign.zoo.agent import ZooAgent, build_agent
from neuroalign.zoo.agents import LearnContext, Monitor
from neuroalign.zoo.configs import AgentConfig
from neuroalign.zoo.networks import torch_threads

__all__ = ["seeded", "train"]


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[np.random.Generator]:
    """The zoo's single seeding point.

    Inside the block torch's global generator is seeded with ``seed`` (network
    initialisation) and the yielded ``numpy.random.Generator`` (seeded with the
    same ``seed``) drives every other random choice: environment resets,
    exploration, sampled actions, minibatches. torch's RNG state outside the block
    is restored on exit, so library users' global state is left alone.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield np.random.default_rng(int(seed))


def train(agent: str, task: str, seed: int, config: AgentConfig | None = None,
          budget: int | None = None, eval_every: int | None = None,
          stop_at_criterion: bool = False, patience: int = 2, progress: bool = True,
          threads: int | None = 1) -> ZooAgent:
    """Train one agent on one task from ``seed``.

    Parameters
    ----------
    agent, task
        Registered names (see :func:`neuroalign.zoo.list_agents`,
        :func:`neuroalign.zoo.list_tasks`).
    seed
        The only source of randomness; the same seed gives identical weights on CPU.
    config
        Hyper-parameters; the agent's default config when ``None``.
    budget
        Environment steps; the task's shared budget when ``None``.
    eval_every
        Steps between evaluations against the criterion (``budget // 20`` by default).
    stop_at_criterion
        Stop once ``patience`` consecutive evaluations meet the criterion (the
        budget is then an upper bound); otherwise train for the whole budget.
    patience
        Consecutive successful evaluations needed to stop early.
    progress
        Show a rich progress bar with the training return and the success rate.
    threads
        torch intra-op threads during training (1 is fastest for these small nets;
        ``None`` leaves torch's setting alone).

    Returns
    -------
    ZooAgent
        With ``metrics``: budget, steps, episodes, wall time, steps to criterion,
        the final evaluation and the evaluation history.
    """
    with seeded(seed) as rng, torch_threads(threads):
        zoo_agent = build_agent(agent, task, seed, config)
        task_obj = zoo_agent.task
        steps = int(budget if budget is not None else task_obj.budget)
        if steps < 1:
            raise ValidationError(f"budget: got {budget}; expected a positive step count")
        every = int(eval_every if eval_every is not None else max(1, steps // 20))
        display = _Display(f"{agent}/{task}/seed {seed}", steps) if progress else None
        # training, its evaluations included, stays in float32 (retraining is exact on
        # one machine only); everything after it runs in float64 (PROBE_DTYPE)
        monitor = Monitor(steps, every, lambda: zoo_agent.evaluate(dtype=torch.float32),
                          stop_at_criterion, patience,
                          on_update=display.update if display else None)
        ctx = LearnContext(env=task_obj.make_env(), net=zoo_agent.net,
                           config=zoo_agent.config, rng=rng, monitor=monitor)
        start = time.perf_counter()
        try:
            zoo_agent.spec.learn(ctx)
        finally:
            if display is not None:
                display.close()
        wall = time.perf_counter() - start
    final = (monitor.history[-1] if monitor.history
             else zoo_agent.evaluate(dtype=torch.float32))
    zoo_agent.metrics = {
        "budget": steps,
        "steps": monitor.steps,
        "episodes": monitor.episodes,
        "wall_time_s": round(wall, 3),
        "steps_to_criterion": monitor.steps_to_criterion,
        "criterion_met": bool(final["criterion_met"]),
        "success_rate": final["success_rate"],
        "mean_return": final["mean_return"],
        "train_return": monitor.recent_return,
        "stop_at_criterion": stop_at_criterion,
        "patience": patience,
        "eval_every": every,
        "history": monitor.history,
    }
    return zoo_agent


class _Display:
    """rich progress bar: steps done, training return, latest success rate."""

    def __init__(self, label: str, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("return {task.fields[ret]}  success {task.fields[success]}"),
            TimeElapsedColumn(), transient=False,
        )
        self.progress.start()
        self.task_id = self.progress.add_task(label, total=total, ret="-", success="-")

    def update(self, monitor: Monitor) -> None:
        self.progress.update(self.task_id, completed=monitor.steps,
                             ret=f"{monitor.recent_return:+.2f}",
                             success=f"{monitor.last_success:.0%}")

    def close(self) -> None:
        self.progress.stop()
