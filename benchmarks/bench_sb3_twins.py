"""Benchmark the Stable-Baselines3 twins: training wall time against the zoo's own agent.

Usage::

    python benchmarks/bench_sb3_twins.py                       # seed 0, 4 algorithms x 3 tasks
    python benchmarks/bench_sb3_twins.py --algorithms dqn --tasks gridworld
    python benchmarks/bench_sb3_twins.py --smoke               # a few seconds

For each algorithm x task, the zoo agent (``neuroalign.zoo.train``, stopping at the
criterion) and its SB3 twin (``neuroalign.zoo.foreign.train_sb3``, same budget, same
stopping rule) train one after the other in this process, one torch thread each; the
ratio is SB3 / zoo measured in the same run. The last line projects the cost of
``--project-seeds`` seeds of every pair on one core from the per-agent times measured.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def bench(algorithms: list[str], tasks: list[str], seed: int, budget: int | None,
          project_seeds: int) -> None:
    from neuroalign.zoo import train
    from neuroalign.zoo.foreign.sb3_train import read_sb3_metrics, train_sb3

    print(f"{'task':<10}{'algo':<7}{'zoo steps':>10}{'zoo s':>8}{'sb3 steps':>10}{'sb3 s':>8}"
          f"{'sb3 crit':>9}{'sb3/zoo':>9}")
    zoo_total = sb3_total = 0.0
    with tempfile.TemporaryDirectory() as out:
        for task in tasks:
            for algo in algorithms:
                start = time.perf_counter()
                zoo = train(algo, task, seed, budget=budget, stop_at_criterion=True,
                            progress=False)
                zoo_s = time.perf_counter() - start
                start = time.perf_counter()
                path = train_sb3(algo, task, seed, out, budget=budget)
                sb3_s = time.perf_counter() - start
                m = read_sb3_metrics(path)
                zoo_total += zoo_s
                sb3_total += sb3_s
                print(f"{task:<10}{algo:<7}{zoo.metrics['steps']:>10}{zoo_s:>8.1f}"
                      f"{m['steps']:>10}{sb3_s:>8.1f}{m['criterion_met']!s:>9}"
                      f"{sb3_s / zoo_s:>9.2f}")
    n = len(algorithms) * len(tasks)
    print(f"total: zoo {zoo_total:.1f} s, sb3 {sb3_total:.1f} s for {n} agents each "
          f"(sb3/zoo {sb3_total / zoo_total:.2f})")
    print(f"projected, {project_seeds} seeds of both implementations on one core: "
          f"{project_seeds * (zoo_total + sb3_total) / 60:.1f} min (sb3 alone "
          f"{project_seeds * sb3_total / 60:.1f} min)")


def main() -> None:
    parser = argparse.ArgumentParser(description="SB3 twins vs zoo training time")
    parser.add_argument("--algorithms", nargs="+", default=["dqn", "qrdqn", "a2c", "ppo"])
    parser.add_argument("--tasks", nargs="+", default=["pavlovian", "gridworld", "contrast"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=None,
                        help="environment steps (default: each task's budget)")
    parser.add_argument("--project-seeds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: one small pair")
    args = parser.parse_args()
    if args.smoke:
        bench(["a2c"], ["pavlovian"], 0, 300, args.project_seeds)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cpus {os.cpu_count()}, load average at start {load:.1f} "
          "(other processes share the cores; times are wall-clock)")
    bench(args.algorithms, args.tasks, args.seed, args.budget, args.project_seeds)


if __name__ == "__main__":
    main()
