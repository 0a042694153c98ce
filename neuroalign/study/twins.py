"""The zoo against its Stable-Baselines3 twins, from training to the table of differences.

:func:`sb3_comparison` trains what is missing (the zoo agents through
:func:`neuroalign.zoo.load_agent`, which caches them; the SB3 twins through
:func:`neuroalign.zoo.foreign.sb3_train.train_sb3`, content-addressed under ``out``),
probes every agent, computes each layer's valence geometry as ``neuroalign run``
computes a model side's (:func:`neuroalign.pipeline.sides.prepare_side`,
:func:`neuroalign.pipeline.cell.side_rows`; the contrast task on its valence x time
grid), and compares the implementations with
:func:`neuroalign.study.implementations.implementation_differences`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from neuroalign.core.errors import ValidationError
from neuroalign.core.validation import check_choice

__all__ = ["SIDES_FILE", "TABLE_FILE", "implementation_sides", "sb3_comparison"]

#: the comparison table :func:`sb3_comparison` writes in ``out``
TABLE_FILE = "sb3_comparison.csv"
#: the side rows (A and the other geometry statistics of every agent x seed x layer)
SIDES_FILE = "sb3_comparison_sides.csv"

_Job = tuple[str, str, str, int]  # implementation, zoo agent ("ppo", "ppo-sep"), task, seed

#: SB3's names of the critic network's activations in the separate layout, by depth
#: (``create_mlp``: linear, activation, linear, activation ...)
_CRITIC = "mlp_extractor.value_net.{}"


def _check(algorithms: Sequence[str], tasks: Sequence[str], seeds: Sequence[int],
           layouts: Sequence[str]) -> tuple[list[str], list[str], list[int]]:
    """The zoo agents compared (value-learners once, actor-critics once per layout),
    tasks and seeds, validated."""
    from neuroalign.zoo.agents import agent_name
    from neuroalign.zoo.foreign.sb3_train import SB3_ALGORITHMS, SB3_TASKS
    from neuroalign.zoo.networks import LAYOUTS

    algos = [str(a).lower().replace("-", "") for a in algorithms]
    for a in algos:
        check_choice(a, "algorithms", list(SB3_ALGORITHMS))
    for lay in layouts:
        check_choice(lay, "layouts", LAYOUTS)
    agents = [agent_name(a, "mlp", lay) for a in algos
              for lay in (["shared"] if a in ("dqn", "qrdqn") else layouts)]
    for t in tasks:
        check_choice(t, "tasks", SB3_TASKS)
    clean = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValidationError(f"seeds: got {s!r}; expected non-negative integers")
        clean.append(int(s))
    if not agents or not tasks or not clean:
        raise ValidationError("algorithms, tasks, seeds, layouts: expected at least one of "
                              "each")
    return list(dict.fromkeys(agents)), list(dict.fromkeys(tasks)), sorted(set(clean))


def _train_all(algos: list[str], tasks: list[str], seeds: list[int], layouts: list[str],
               models: Path, workers: int | None, checkpoints: str | None
               ) -> tuple[dict[_Job, tuple[str | None, bool]], list[_Job]]:
    """Train what is missing through the seed sweeps: the zoo seeds a probe cannot find
    into ``checkpoints`` (:func:`neuroalign.pipeline.replication.train_missing`), the SB3
    twins into ``models``. Returns every trained agent's file (``None`` for a zoo agent)
    and criterion, and the SB3 jobs that failed.

    Raises
    ------
    SourceError
        A zoo seed failed to train (the comparison needs every zoo seed).
    """
    from neuroalign.core.errors import SourceError
    from neuroalign.pipeline.replication import train_missing
    from neuroalign.zoo.foreign.sb3_train import plan_sb3_sweep
    from neuroalign.zoo.sweep import plan_sweep, run_sweep

    zoo = train_missing(plan_sweep(algos, tasks, seeds, ("mlp",), layouts), checkpoints,
                        workers=workers)
    sb3 = run_sweep(plan_sb3_sweep(algos, tasks, seeds, layouts), models, workers=workers,
                    progress=False)
    found: dict[_Job, tuple[str | None, bool]] = {}
    failed: list[_Job] = []
    for res in sb3.jobs:
        job = ("sb3", res.agent, res.task, int(res.seed))
        if res.status == "failed":
            failed.append(job)
        else:
            found[job] = (res.path, bool(res.criterion_met))
    for ck in zoo:
        if ck.status == "failed":
            raise SourceError(f"zoo: agent {ck.agent!r} on task {ck.task!r} seed {ck.seed} "
                              f"failed to train ({ck.error}); expected every zoo seed of the "
                              "comparison trained (see failures.jsonl in the checkpoints "
                              "folder)")
        found[("zoo", ck.agent, ck.task, ck.seed)] = (None, bool(ck.criterion_met))
    return found, failed


def implementation_sides(job: _Job, path: str | None, criterion_met: bool, *,
                         n_boot: int = 200, n_perm: int = 0, rng_seed: int = 0,
                         cache_dir: str | os.PathLike[str] | None = None
                         ) -> list[dict[str, Any]]:
    """The geometry side rows of every layer of one trained agent.

    Parameters
    ----------
    job
        ``(implementation, agent, task, seed)``: implementation ``zoo`` or ``sb3``, the
        zoo agent (``dqn``, ``ppo``, ``ppo-sep`` ...; for ``sb3`` the one it twins).
    path
        The SB3 twin's ``.zip`` (``None`` for a zoo agent).
    criterion_met
        Written on every row.
    n_boot, n_perm, rng_seed
        The cells' resampling, as ``neuroalign run``'s (``n_perm = 0``: no permutation
        p-value of A, its interval and standard error are what the comparison uses).
    cache_dir
        Folder of the zoo's trained checkpoints, searched after the shipped zoo
        (default: the user zoo cache).

    Returns
    -------
    list of dict
        Result rows (:func:`neuroalign.core.results.side_row`) with the extra columns
        ``implementation``, ``algorithm`` (the zoo agent's name, so the two layouts of
        an algorithm are compared apart), ``layout`` and ``criterion_met``; the agent is
        named as the zoo's (``ppo-sep``) or ``sb3-`` and that name. A separate-layout
        twin's layers take the zoo's names: the actor's ``trunk.<i>`` become
        ``actor.<i>``, the critic's ``mlp_extractor.value_net`` activations
        ``critic.<i>``.
    """
    from neuroalign.core.config import AgentSpec
    from neuroalign.pipeline.replication import agent_geometry_rows
    from neuroalign.zoo.agents.table import agent_parts, get_agent_info

    impl, agent, task, seed = job
    algorithm, _, layout = agent_parts(agent)
    family = get_agent_info(agent).family
    name = agent if impl == "zoo" else f"sb3-{agent}"
    spec = (AgentSpec(name=name, task=task, sb3=path, family=family) if impl == "sb3"
            else None)
    layers: list[str] | None = None
    rename: dict[str, str] = {}
    if impl == "sb3" and layout == "separate":
        from neuroalign.zoo.foreign.sb3_train import sb3_settings

        depth = len(sb3_settings(algorithm, task, layout=layout)["policy_kwargs"]
                    ["net_arch"]["vf"])
        rename = {**{f"trunk.{i}": f"actor.{i}" for i in range(depth)},
                  **{_CRITIC.format(2 * i + 1): f"critic.{i}" for i in range(depth)}}
        layers = [*rename, "readout.pi", "readout.v"]
    extra = {"implementation": impl, "algorithm": agent, "layout": layout,
             "criterion_met": criterion_met}
    return agent_geometry_rows(name, family, task, seed, layers=layers, rename=rename,
                               spec=spec, cache_dir=cache_dir, n_boot=n_boot, n_perm=n_perm,
                               seed_stats=rng_seed, extra=extra)


def sb3_comparison(algorithms: Sequence[str], tasks: Sequence[str], seeds: Sequence[int],
                   out: str | os.PathLike[str], *, workers: int | None = None,
                   n_boot: int = 200, study_boot: int = 4000, level: float = 0.95,
                   correction: str = "holm", by: Literal["stage", "layer"] = "stage",
                   layouts: Sequence[str] = ("shared",), criterion_only: bool = True,
                   rng_seed: int = 0, checkpoints: str | os.PathLike[str] | None = None,
                   from_scratch: bool = False) -> pd.DataFrame:
    """Train, probe and compare the zoo agents and their SB3 twins: SB3 - zoo of A.

    Parameters
    ----------
    algorithms
        Of ``dqn``, ``qrdqn``, ``a2c``, ``ppo``.
    tasks
        Of ``pavlovian``, ``gridworld``, ``contrast``.
    seeds
        Training seeds, the same for both implementations (zoo seeds beyond the shipped
        ones are trained and cached by :func:`neuroalign.zoo.load_agent`).
    out
        Folder of the SB3 models (``out/sb3``) and the two tables, :data:`TABLE_FILE`
        and :data:`SIDES_FILE`, written atomically.
    workers
        Workers of the training sweeps (:func:`neuroalign.zoo.run_sweep`, a dask
        LocalCluster) and processes of the probes and geometries (default: one per
        usable CPU).
    n_boot
        Bootstrap resamples of each side's A (its interval and standard error).
    study_boot, level, correction, by
        Of :func:`~neuroalign.study.implementations.implementation_differences`.
    layouts
        Actor-critic layouts compared (``"shared"``, ``"separate"``): each is its own
        ``algorithm`` in the table (``ppo``, ``ppo-sep``); value-learners have one.
    criterion_only
        Leave out the agents that did not meet their task's criterion (how many: in
        each row's note).
    rng_seed
        Seed of every resampling.
    checkpoints
        Folder of the zoo's trained checkpoints (default: the user zoo cache); with it,
        the twins go to ``checkpoints/sb3`` (default ``out/sb3``), so a later comparison
        finds them.
    from_scratch
        Leave the shipped zoo checkpoints aside (:func:`neuroalign.zoo.without_shipped`):
        every zoo seed is trained into (and read from) ``checkpoints``.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`~neuroalign.study.implementations.implementation_differences`
        (columns :data:`~neuroalign.study.implementations.COMPARISON_COLUMNS`).

    Raises
    ------
    ValidationError
        An unknown algorithm, task or layout, a bad seed.
    """
    from neuroalign.core.atomic import check_output_path
    from neuroalign.core.csvsafe import write_csv
    from neuroalign.core.results import results_table
    from neuroalign.core.workers import forked_map
    from neuroalign.study.implementations import implementation_differences
    from neuroalign.zoo.registry import without_shipped

    agents, task_list, seed_list = _check(algorithms, tasks, seeds, layouts)
    folder = check_output_path(out, kind="folder")
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = None if checkpoints is None else str(checkpoints)
    models = (Path(ckpt) if ckpt is not None else folder) / "sb3"
    jobs: list[_Job] = [(impl, a, t, s) for impl in ("zoo", "sb3") for t in task_list
                        for a in agents for s in seed_list]
    base = list(dict.fromkeys(a.split("-")[0] for a in agents))
    with without_shipped(from_scratch):
        found, failed = _train_all(base, task_list, seed_list, list(layouts), models,
                                   workers, ckpt)
        jobs = [job for job in jobs if job in found]

        def sides(i: int) -> list[dict[str, Any]]:
            path, met = found[jobs[i]]
            return implementation_sides(jobs[i], path, met, n_boot=n_boot,
                                        rng_seed=rng_seed, cache_dir=ckpt)

        rows = [row for part in forked_map(sides, list(range(len(jobs))), workers,
                                           here_first=1) for row in part]
    table = results_table(pd.DataFrame(rows))
    write_csv(table, folder / SIDES_FILE, index=False)
    missed = table[~table["criterion_met"].astype(bool)] if criterion_only else table.iloc[:0]
    used = table.drop(index=missed.index)
    result = implementation_differences(used, by=by, n_boot=study_boot, level=level,
                                        correction=correction, seed=rng_seed)
    more: dict[tuple[str, str], list[str]] = {}
    for _, agent, task, seed in failed:
        more.setdefault((agent, task), []).append(
            f"sb3 seed {seed} failed to train (see sb3/failures.jsonl)")
    if not missed.empty:
        left = (missed.drop_duplicates(["implementation", "algorithm", "task", "seed"])
                .groupby(["algorithm", "task", "implementation"]).size())
        for (agent, task, impl), n in left.items():
            more.setdefault((agent, task), []).append(
                f"{n} {impl} seed(s) below the criterion left out")
    if more:
        result["note"] = [
            "; ".join([*([note] if isinstance(note, str) and note else []),
                       *more.get((agent, task), [])]) or None
            for note, agent, task in zip(result["note"], result["algorithm"],
                                         result["task"], strict=True)]
    write_csv(result, folder / TABLE_FILE, index=False)
    return result
