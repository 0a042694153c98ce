"""Benchmark seed sweeps: the same jobs on 1 and on 2 dask workers, and what each costs.

Usage::

    nice python benchmarks/bench_sweep.py            # 8 jobs (reinforce, a2c x 4 seeds,
                                                     # pavlovian, 6000 steps each)
    python benchmarks/bench_sweep.py --json          # one JSON object
    python benchmarks/bench_sweep.py --smoke         # 2 jobs of 200 steps: checks the script

Both runs train the same jobs (the full budget, not stopping at criterion, so every job
does the same work) into two temporary folders through :func:`neuroalign.zoo.run_sweep`,
each on a LocalCluster opened, and its workers warmed up (imports, one short training),
before the clock starts: a worker's start-up is paid once per worker, not per job. It
prints the speed-up (1 worker / 2 workers, target >= 1.7 on 2 cores), the training cost
per agent (mean seconds per job on its worker), the projected wall time of the same jobs
on 64 workers (total cost / 64, at least the longest job: jobs are independent), the load
average (other processes sharing the cores slow both runs) and whether the two folders
hold byte-identical checkpoints (they must: the same keys give the same bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def _warm() -> None:
    """Import and run the training code once on a worker: imports and torch's first calls
    are a worker's start-up, paid once per worker in a sweep, not per job."""
    import neuroalign.zoo.checkpoint
    import neuroalign.zoo.sweep  # noqa: F401
    from neuroalign.zoo.training import train

    for agent in ("reinforce", "a2c", "ppo", "dqn"):
        train(agent, "pavlovian", 0, budget=40, progress=False)


def _timed(plan: Any, out: Path, workers: int) -> tuple[float, Any]:
    from neuroalign.core.cluster import open_client
    from neuroalign.zoo.sweep import run_sweep

    client, cluster = open_client(None, workers)
    try:
        client.wait_for_workers(workers, timeout=120)
        client.run(_warm)
        start = time.perf_counter()
        summary = run_sweep(plan, out, client=client, progress=False)
        return time.perf_counter() - start, summary
    finally:
        client.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="reinforce,a2c")
    parser.add_argument("--seeds", default="0-3")
    parser.add_argument("--budget", type=int, default=6000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--smoke", action="store_true",
                        help="2 jobs of 200 steps: checks the script in a few seconds")
    args = parser.parse_args()
    if args.smoke:
        args.agents, args.seeds, args.budget = "reinforce", "0-1", 200
    from neuroalign.zoo.sweep import TrainSettings, plan_sweep

    plan = plan_sweep(args.agents, "pavlovian", args.seeds,
                      settings=TrainSettings(budget=args.budget, stop_at_criterion=False))
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        one_s, one = _timed(plan, Path(tmp) / "one", 1)
        two_s, two = _timed(plan, Path(tmp) / "two", 2)
        identical = all(Path(a.path).read_bytes() == Path(b.path).read_bytes()
                        for a, b in zip(one.jobs, two.jobs, strict=True))
    cost: dict[str, list[float]] = {}
    for job in one.jobs:
        cost.setdefault(job.agent, []).append(job.wall_time_s)
    total = sum(sum(v) for v in cost.values())
    result = {
        "jobs": len(plan.jobs), "budget": args.budget, "cores": os.cpu_count(),
        "one_worker_s": round(one_s, 2), "two_workers_s": round(two_s, 2),
        "speedup": round(one_s / two_s, 2), "target_speedup": 1.7,
        "cost_per_job_s": {a: round(sum(v) / len(v), 2) for a, v in cost.items()},
        "projected_64_workers_s": round(max(total / 64, max(max(v) for v in cost.values())),
                                        2),
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "identical_checkpoints": identical,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['jobs']} jobs ({args.agents} on pavlovian, {args.budget} steps each): "
          f"1 worker {one_s:.1f} s, 2 workers {two_s:.1f} s -> speed-up "
          f"{result['speedup']:.2f}x (target >= 1.7 on 2 cores)")
    for agent, mean in result["cost_per_job_s"].items():
        print(f"  {agent}: {mean:.2f} s per job on one worker")
    print(f"projected on 64 workers: {result['projected_64_workers_s']:.1f} s of training")
    print(f"load average (1 min) before {load_before:.1f}, after {result['load_after']:.1f} "
          f"(> {os.cpu_count()} means other processes shared the cores)")
    print(f"checkpoints byte-identical between the runs: {identical}")


if __name__ == "__main__":
    main()
