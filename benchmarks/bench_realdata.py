"""Benchmark of the real-data example: import, round trip and ``neuroalign run``.

Measured in the same run, on the shipped Steinmetz et al. (2019) sessions:

(a) the raw read of the seven .npz files (``numpy.load`` of every array: the I/O floor);
(b) ``neuroalign.io.convert.convert_binned`` of all seven sessions, every neuron, and the
    round trip ``load_responses(--align cue --window 0 0.4 --bin 0.01)`` of each written
    file, checked to give back exactly the original counts;
(c) ``neuroalign run neuroalign/data/configs/steinmetz.yaml`` (the contrast-task agents, 60
    layers, against 13 session/areas on the contrast grid) in a fresh process with an empty
    cache, limited to ``--threads`` threads (default 2), against the 3-minute budget and
    against the shipped synthetic example
    (``neuroalign/data/configs/example-run.yaml``) run the same way.

Run: ``python benchmarks/bench_realdata.py [--threads 2] [--skip-run] [--smoke]``
(``--smoke``: (a) and (b) on one session, no run; a few seconds, to check the script).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "neuroalign").is_dir() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # time this checkout, not another installed copy

BUDGET_S = 180.0


def _run(config: Path, out: Path, threads: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEUROALIGN_CACHE": str(out.parent / "cache"),
           "NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "neuroalign.cli", "run", str(config), "--out", str(out)]
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[:threads]
        cmd = ["taskset", "-c", ",".join(map(str, cores)), *cmd]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"run failed ({config.name}):\n{done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Print the timings; return 1 when the run misses its budget or a round trip differs."""
    from neuroalign.io import load_responses
    from neuroalign.io.convert import convert_binned
    from neuroalign.pipeline.config import default_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-run", action="store_true", help="only (a) and (b)")
    parser.add_argument("--smoke", action="store_true",
                        help="(a) and (b) on one session: checks that the script runs")
    args = parser.parse_args(argv)
    data = default_data_dir()
    sessions = sorted((data / "steinmetz" / "npz").glob("*.npz"))
    if args.smoke:
        sessions, args.skip_run = sessions[:1], True
    start = time.perf_counter()
    raw = {}
    for path in sessions:
        with np.load(path, allow_pickle=False) as npz:
            raw[path] = {k: npz[k] for k in npz.files}
    t_raw = time.perf_counter() - start
    n_spikes = sum(int(r["spks"].sum()) for r in raw.values())
    print(f"(a) raw read of {len(sessions)} .npz ({n_spikes:,} spikes): {t_raw:.2f} s")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        files = [convert_binned(p, Path(tmp) / f"{p.stem}.nwb") for p in sessions]
        t_conv = time.perf_counter() - start
        start = time.perf_counter()
        for path, nwb in zip(sessions, files, strict=True):
            resp = load_responses(nwb, profile="steinmetz", align="cue", window=(0.0, 0.4),
                                  bin_size=0.01, cache=False)
            same = np.array_equal(resp.values, raw[path]["spks"].transpose(1, 0, 2))
            bad += not same
        t_load = time.perf_counter() - start
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"(b) convert all {len(sessions)}: {t_conv:.2f} s ({t_conv / t_raw:.1f}x the raw "
              "read; "
              f"{size:.1f} MB of NWB); import back: {t_load:.2f} s ({t_load / t_raw:.1f}x); "
              f"counts {'identical' if not bad else 'DIFFER'} in all {len(sessions)}")
        if args.skip_run:
            return 1 if bad else 0
        t_real = _run(data / "configs" / "steinmetz.yaml", Path(tmp) / "real" / "out",
                      args.threads)
        t_syn = _run(data / "configs" / "example-run.yaml", Path(tmp) / "syn" / "out",
                     args.threads)
    print(f"(c) neuroalign run neuroalign/data/configs/steinmetz.yaml on {args.threads} thread(s): "
          f"{t_real:.1f} s = {t_real / BUDGET_S:.2f} of the {BUDGET_S:.0f} s budget; "
          f"{t_real / t_syn:.2f}x the synthetic example ({t_syn:.1f} s)")
    return 1 if bad or t_real > BUDGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
