"""Benchmark the zoo: wall time to train each agent to criterion, and time to probe.

Usage::

    python benchmarks/bench_zoo.py                  # seed 0, every agent x task
    python benchmarks/bench_zoo.py --seeds 0 1 2    # more seeds
    python benchmarks/bench_zoo.py --probe-only     # probing the shipped zoo only
    python benchmarks/bench_zoo.py --layouts --seeds 0 1 2   # separate vs shared layout
    python benchmarks/bench_zoo.py --smoke          # a few seconds

Training and probing run one process, one torch thread; training stops once two consecutive
evaluations meet the task's criterion (as ``data/train_zoo.py`` does). There is no
external RL library to compare with here, so training ratios are against the
fastest agent on the same task, and probing is compared with the bare float32 torch
forward pass on the same inputs (the cost of the float64 forward pass the probe
uses, of the closed-loop trials and of building the labelled DataArray).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def _timeit(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_training(agents: list[str], tasks: list[str], seeds: list[int]) -> None:
    from neuroalign.zoo import train

    rows = []
    for task in tasks:
        for agent in agents:
            for seed in seeds:
                start = time.perf_counter()
                trained = train(agent, task, seed, stop_at_criterion=True, progress=False)
                wall = time.perf_counter() - start
                m = trained.metrics
                rows.append((task, agent, seed, m["steps_to_criterion"], m["steps"], m["budget"],
                             m["success_rate"], wall))
    print("\nTraining to criterion (1 process, 1 torch thread)")
    print(f"{'task':<10}{'agent':<10}{'seed':>5}{'steps to crit':>15}{'steps':>8}{'budget':>8}"
          f"{'success':>9}{'wall s':>9}{'x fastest':>11}")
    for task in tasks:
        task_rows = [r for r in rows if r[0] == task]
        fastest = min(r[7] for r in task_rows)
        for r in task_rows:
            crit = "-" if r[3] is None else str(r[3])
            print(f"{r[0]:<10}{r[1]:<10}{r[2]:>5}{crit:>15}{r[4]:>8}{r[5]:>8}{r[6]:>9.0%}"
                  f"{r[7]:>9.1f}{r[7] / fastest:>11.1f}")
    total = sum(r[7] for r in rows)
    print(f"total training wall time {total:.1f} s for {len(rows)} runs "
          f"({total / max(len(rows), 1):.1f} s per run)")


def bench_layouts(seeds: list[int], tasks: list[str] | None = None,
                  algorithms: list[str] | None = None) -> None:
    """Every actor-critic algorithm trained to criterion in both layouts, side by side.

    Per task x trunk x algorithm x seed: steps to criterion, success rate and wall time
    of the shared-trunk agent and of its separate-layout twin, trained in this run, and
    the ratio of their wall times.
    """
    from neuroalign.zoo import agent_name, agent_parts, list_agents, train

    combos = []
    for entry in list_agents():
        name = entry["name"]
        if entry["layout"] != "separate":
            continue
        algorithm, trunk, _ = agent_parts(name)
        for task in entry["tasks"]:
            if (tasks is None or task in tasks) and (algorithms is None
                                                     or algorithm in algorithms):
                combos.append((task, trunk, algorithm))
    print("\nShared vs separate layout, trained to criterion at the task's budget "
          "(1 process, 1 torch thread); crit = steps to criterion, '-' = not met")
    print(f"{'task':<10}{'trunk':<6}{'algorithm':<10}{'seed':>5}{'crit shared':>12}"
          f"{'crit sep':>10}{'success sh':>11}{'success sep':>12}{'wall sh':>9}{'wall sep':>9}"
          f"{'sep/sh':>8}")
    failures = 0
    ratios = []
    for task, trunk, algorithm in combos:
        for seed in seeds:
            row = {}
            for layout in ("shared", "separate"):
                name = agent_name(algorithm, trunk, layout)
                start = time.perf_counter()
                m = train(name, task, seed, stop_at_criterion=True, progress=False).metrics
                row[layout] = (m["steps_to_criterion"], m["success_rate"],
                               time.perf_counter() - start, m["criterion_met"])
            sh, sep = row["shared"], row["separate"]
            failures += not sep[3]
            ratios.append(sep[2] / sh[2])
            print(f"{task:<10}{trunk:<6}{algorithm:<10}{seed:>5}"
                  f"{sh[0] if sh[3] else '-':>12}{sep[0] if sep[3] else '-':>10}"
                  f"{sh[1]:>11.0%}{sep[1]:>12.0%}{sh[2]:>9.1f}{sep[2]:>9.1f}"
                  f"{sep[2] / sh[2]:>8.1f}", flush=True)
    print(f"separate layout: {len(ratios) - failures}/{len(ratios)} runs met the criterion; "
          f"wall time separate / shared: median {statistics.median(ratios):.2f}")


def bench_probe(pairs: list[tuple[str, str]], repeat: int = 7) -> None:
    """Probe time of seed 0 of each ``(task, agent)``, against the bare forward pass."""
    import copy

    import numpy as np
    import torch

    from neuroalign.zoo import load_agent, probe, probe_agent
    from neuroalign.zoo.networks import torch_threads

    print(f"\nProbing the shipped seed-0 agents (8 repetitions, all layers; median of "
          f"{repeat}); probe s = probe(name) including the checkpoint load; fwd32 / fwd64 = "
          "the bare torch forward pass of the probe's inputs with the float32 weights / "
          "with a float64 copy of them; copy s = making that copy (once per probe)")
    print(f"{'task':<10}{'agent':<14}{'units':>7}{'load s':>9}{'probe s':>9}"
          f"{'fwd32 s':>10}{'fwd64 s':>10}{'copy s':>9}{'fwd64/fwd32':>13}{'probe/fwd32':>13}")
    total = 0.0
    for task, agent in pairs:
        load = _timeit(lambda a=agent, t=task: load_agent(a, t, 0, train_if_missing=False),
                       repeat)
        zoo_agent = load_agent(agent, task, 0, train_if_missing=False)
        if zoo_agent.task.sequential:  # the closed-loop trials' observations
            obs = zoo_agent.task.probe_trials(zoo_agent.act, 8, 0)["obs"]
            obs = np.nan_to_num(obs.reshape(-1, *obs.shape[2:]))
        else:
            obs = zoo_agent.task.probe_inputs(8, 0)
        x = torch.as_tensor(obs)

        def forward(net=zoo_agent.net, x=x):
            with torch.no_grad(), torch_threads(1):
                return net.forward_seq(x)

        def copy64(net=zoo_agent.net):
            return copy.deepcopy(net).to(torch.float64)

        fwd32 = _timeit(forward, repeat)
        copy_s = _timeit(copy64, repeat)
        fwd64 = _timeit(lambda n=copy64(), x=x.to(torch.float64): forward(n, x), repeat)
        prb = _timeit(lambda z=zoo_agent: probe_agent(z), repeat)
        full = _timeit(lambda a=agent, t=task: probe(a, t, 0, train_if_missing=False),
                       repeat)
        total += full
        units = probe_agent(zoo_agent).sizes["unit"]
        print(f"{task:<10}{agent:<14}{units:>7}{load:>9.4f}{full:>9.4f}{fwd32:>10.5f}"
              f"{fwd64:>10.5f}{copy_s:>9.5f}{fwd64 / fwd32:>13.2f}{prb / fwd32:>13.1f}")
        assert np.isfinite(prb)
    print(f"total probe s (sum of the medians above) {total:.3f}")


def main() -> None:
    from neuroalign.zoo import AGENTS, task_names

    parser = argparse.ArgumentParser(description="zoo benchmark")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS))
    parser.add_argument("--tasks", nargs="+", default=task_names())
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--probe-only", action="store_true")
    parser.add_argument("--layouts", action="store_true",
                        help="train every actor-critic algorithm in both layouts (shared, "
                             "separate) to criterion and compare")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds: probe dqn and a2c-gru once each, no training")
    args = parser.parse_args()
    if args.smoke:
        bench_probe([("pavlovian", "dqn"), ("contrast", "ppo")], repeat=1)
        bench_layouts([0], ["pavlovian"], ["ppo"])
        return
    if args.layouts:
        bench_layouts(args.seeds, None if args.tasks == task_names() else args.tasks)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cpus {os.cpu_count()}, load average at start {load:.1f} "
          "(other processes share the cores; times are wall-clock)")
    if not args.probe_only:
        bench_training(args.agents, args.tasks, args.seeds)
    from neuroalign.zoo import shipped_seeds

    bench_probe([(t, a) for t in args.tasks for a in args.agents if 0 in shipped_seeds(a, t)])


if __name__ == "__main__":
    main()
