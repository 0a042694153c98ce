"""Retrain the shipped zoo: every agent x task x seed, saved to neuroalign/data/zoo/.

Usage::

    python data/train_zoo.py                 # every agent x its tasks x seeds 0 1 2, 2 processes
    python data/train_zoo.py --tasks contrast    # the two-choice contrast task only
    python data/train_zoo.py --jobs 1 --agents dqn ppo --tasks pavlovian --seeds 0

Feedforward agents learn every task; the recurrent (``-gru``) agents learn the
``contrast`` task only. The separate-layout (``-sep``) agents are not shipped and
not trained by default (name them with ``--agents``). Runs are independent and
seeded, so the result does not depend on ``--jobs`` or on the order the runs finish in.

Each run trains with the task's shared step budget as an upper bound and stops
once two consecutive evaluations meet the task's success criterion (the default
of ``neuroalign zoo`` training to criterion); ``--full-budget`` trains every run
for the whole budget instead. A summary table is printed and written, with the
metrics of every run, to ``<out>/zoo.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from neuroalign.core.resources import package_data


def _run(job: tuple[str, str, int, str, bool, int | None]) -> dict:
    agent, task, seed, out, full, budget = job
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from neuroalign.zoo.checkpoint import checkpoint_name, save_checkpoint
    from neuroalign.zoo.training import train

    trained = train(agent, task, seed, budget=budget, stop_at_criterion=not full,
                    progress=False, threads=1)
    path = save_checkpoint(trained, Path(out) / checkpoint_name(agent, task, seed))
    m = trained.metrics
    return {"agent": agent, "task": task, "seed": seed, "file": path.name,
            "criterion_met": m["criterion_met"], "success_rate": m["success_rate"],
            "steps": m["steps"], "budget": m["budget"],
            "steps_to_criterion": m["steps_to_criterion"], "wall_time_s": m["wall_time_s"]}


def main() -> None:
    from neuroalign.zoo.agents import AGENTS
    from neuroalign.zoo.tasks import task_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # the shipped zoo: every agent of the shared layout (the -sep agents train on demand)
    parser.add_argument("--agents", nargs="+",
                        default=[n for n, spec in AGENTS.items() if spec.layout == "shared"])
    parser.add_argument("--tasks", nargs="+", default=task_names())
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes")
    parser.add_argument("--out", type=Path, default=package_data("zoo"))
    parser.add_argument("--full-budget", action="store_true",
                        help="train for the whole budget instead of stopping at criterion")
    parser.add_argument("--budget", type=int, default=None,
                        help="steps per run instead of the task's budget (for quick checks; "
                             "such a zoo is not the shipped one)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(a, t, s, str(args.out), args.full_budget, args.budget)
            for t in args.tasks for a in args.agents for s in args.seeds
            if AGENTS[a].tasks is None or t in AGENTS[a].tasks]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = []
        for row in pool.map(_run, jobs):
            rows.append(row)
            flag = "ok " if row["criterion_met"] else "MISS"
            print(f"{flag} {row['agent']:>13} {row['task']:>9} seed {row['seed']}: success "
                  f"{row['success_rate']:.0%}, {row['steps']:>6}/{row['budget']} steps, "
                  f"{row['wall_time_s']:6.1f} s", flush=True)
    total = time.perf_counter() - start
    missed = [r for r in rows if not r["criterion_met"]]
    summary = {"wall_time_s": round(total, 1), "jobs": args.jobs, "cpu_count": os.cpu_count(),
               "full_budget": args.full_budget, "runs": rows,
               "missed": [f"{r['agent']}/{r['task']}/s{r['seed']}" for r in missed]}
    manifest = args.out / "zoo.json"
    if manifest.exists():
        old = json.loads(manifest.read_text())
        keep = {(r["agent"], r["task"], r["seed"]): r for r in old.get("runs", [])}
        keep.update({(r["agent"], r["task"], r["seed"]): r for r in rows})
        summary["runs"] = sorted(keep.values(), key=lambda r: (r["task"], r["agent"], r["seed"]))
    manifest.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(rows)} runs in {total:.1f} s wall ({args.jobs} processes); "
          f"criterion missed by {len(missed)}: {summary['missed']}")


if __name__ == "__main__":
    main()
