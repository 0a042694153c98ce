"""Benchmark retraining the whole shipped zoo, and check that it is deterministic.

Usage::

    nice python benchmarks/bench_zoo_train.py                    # every task, 2 processes
    nice python benchmarks/bench_zoo_train.py --tasks contrast   # one task
    python benchmarks/bench_zoo_train.py --smoke                 # checks the script: one
                                                                 # short run, not compared

Runs ``data/train_zoo.py`` into a temporary folder (the shipped ``neuroalign/data/zoo`` is not
touched), prints the wall time and its ratio to the 20-minute target on this
machine's cores, the load average before and after (other processes sharing the
cores slow every run down), and compares every retrained checkpoint's tensors with
the shipped one of the same name: equal tensors mean the shipped zoo is reproduced
bit for bit (only the ``created`` time in the metadata differs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 20 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--smoke", action="store_true",
                        help="train dqn on pavlovian for 200 steps (not compared with the "
                             "shipped zoo): checks the script in a few seconds")
    args = parser.parse_args()
    from safetensors.torch import load_file

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(ROOT / "data" / "train_zoo.py"), "--out", tmp,
               "--jobs", str(args.jobs)]
        if args.tasks:
            cmd += ["--tasks", *args.tasks]
        if args.smoke:
            args.jobs = 1
            cmd = [*cmd[:-2], "--jobs", "1", "--agents", "dqn", "--tasks", "pavlovian",
                   "--seeds", "0", "--budget", "200"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        same, differ, missing = 0, [], []
        for path in sorted(Path(tmp).glob("*.safetensors")) if not args.smoke else []:
            shipped = ROOT / "neuroalign" / "data" / "zoo" / path.name
            if not shipped.is_file():
                missing.append(path.name)
                continue
            a, b = load_file(str(path)), load_file(str(shipped))
            if a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a):
                same += 1
            else:
                differ.append(path.name)
    print(f"retrained in {wall:.0f} s wall with {args.jobs} processes on {os.cpu_count()} "
          f"cores: {wall / TARGET_S:.2f} x the 20-minute target")
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f} "
          f"(> {os.cpu_count()} means other processes shared the cores)")
    print(f"tensors identical to the shipped zoo: {same}; different: {differ or 'none'}; "
          f"not shipped: {missing or 'none'}")


if __name__ == "__main__":
    main()
