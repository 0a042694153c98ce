"""Benchmark of neuroalign.batch: scaling over workers and per-cell overhead.

Run: ``python benchmarks/bench_batch.py [--cells 240] [--work 0.05] [--light 400]``

1. A CPU-bound grid (>= 200 cells, each about ``--work`` seconds of single-threaded
   numpy work): wall time serially in this process (the reference), on a dask
   LocalCluster with 1 worker and with 2 workers; speed-up of 2 workers over 1.
2. A grid of near-zero-cost cells: the per-cell overhead of scheduling and storage,
   (batch wall time - plain loop time) / cells, with 1 and 2 workers; the plain loop
   calls the cell function on cached inputs in this process and stores nothing.

Cluster start-up is excluded (the clusters are started before the clock runs); the
batch times include planning, submission, the Parquet part of every cell and the
client's bookkeeping.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()


# -- the cell functions (imported by the workers from this file) -----------------------
def load_brain(spec: dict[str, Any], **grid: Any) -> dict[str, np.ndarray]:
    """Region -> patterns of one ``.npz`` source."""
    with np.load(spec["path"]) as data:
        return {k: data[k] for k in data.files}


def load_model(agent: str, task: str, seed: int, layer: str) -> np.ndarray:
    """Deterministic pseudo-activations of one agent layer."""
    key = zlib.crc32(f"{agent}|{task}|{seed}|{layer}".encode())
    return np.random.default_rng(key).normal(size=(12, 32))


def busy_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], *, n_boot: int,
              n_perm: int, seed: int, meta: dict[str, Any], options: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """CPU-bound: bootstrap a correlation until ``options['work']`` seconds have passed."""
    rng = np.random.default_rng(seed)
    target = float(options["work"])
    start = time.process_time()
    n, acc = 0, 0.0
    while time.process_time() - start < target:
        idx = rng.integers(0, brain.shape[0], brain.shape[0])
        acc += float(np.corrcoef(model.ravel(), brain[idx].mean(0)[:, :32].ravel())[0, 1])
        n += 1
    return [{**meta, "measure": measures[0], "estimate": acc / max(n, 1), "n": n}]


def light_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], *, n_boot: int,
               n_perm: int, seed: int, meta: dict[str, Any], options: dict[str, Any]
               ) -> list[dict[str, Any]]:
    """Near-zero cost: one row."""
    return [{**meta, "measure": measures[0], "estimate": float(model[0, 0] + brain[0, 0, 0])}]


# -- the benchmark --------------------------------------------------------------------
def _config(src: Path, cell: str, n_cells: int, work: float):
    from neuroalign.batch import validate_config

    n_agents = max(1, n_cells // 8)  # 2 sources x 2 regions x 2 measures per agent
    return validate_config(dict(
        agents=[f"agent{i:03d}" for i in range(n_agents)], tasks=["pavlovian"], seeds=[0],
        layers=["trunk.1"], sources=[str(src / "*.npz")], regions=["A", "B"],
        measures=["m1", "m2"], n_boot=0, n_perm=0, options={"work": work},
        engine={"cell": f"{HERE}:{cell}", "brain_loader": f"{HERE}:load_brain",
                "model_loader": f"{HERE}:load_model"}))


def _timed_batch(cfg: Any, client: Any, tmp: Path, name: str) -> float:
    from neuroalign.batch import run_batch

    out = tmp / name
    t0 = time.perf_counter()
    summary = run_batch(cfg, out, client=client, progress=False)
    dt = time.perf_counter() - t0
    assert summary.done == summary.total, summary.failures
    shutil.rmtree(out)
    return dt


def _timed_serial(cfg: Any) -> float:
    from neuroalign.batch import run_serial

    t0 = time.perf_counter()
    run_serial(cfg)
    return time.perf_counter() - t0


def _timed_plain(cfg: Any) -> float:
    """Only the cell work: cached loads and the cell function, no frames, no storage."""
    from neuroalign.batch import expand_cells
    from neuroalign.batch.worker import WorkerCache, compute_rows

    cells = expand_cells(cfg)
    cache = WorkerCache(cfg.cache_size)
    engine, params = cfg.engine.model_dump(), cfg.cell_params()
    t0 = time.perf_counter()
    for cell in cells:
        compute_rows(cell, engine, params, cfg.base_dir, cache)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=240, help="cells of the CPU-bound grid")
    parser.add_argument("--work", type=float, default=0.05, help="CPU seconds per busy cell")
    parser.add_argument("--light", type=int, default=400, help="cells of the overhead grid")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from neuroalign.batch import expand_cells

    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        src = tmp / "src"
        src.mkdir()
        rng = np.random.default_rng(0)
        for name in ("s1", "s2"):
            np.savez(src / f"{name}.npz", A=rng.normal(size=(20, 12, 40)),
                     B=rng.normal(size=(20, 12, 40)))
        busy = _config(src, "busy_cell", args.cells, args.work)
        light = _config(src, "light_cell", args.light, 0.0)
        n_busy, n_light = len(expand_cells(busy)), len(expand_cells(light))

        rows = []
        t_serial = _timed_serial(busy)
        t_light_serial = _timed_plain(light)
        times: dict[int, tuple[float, float]] = {}
        for n_workers in (1, 2):
            with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0", silence_logs=50) as cluster, \
                    Client(cluster) as client:
                _timed_batch(light, client, tmp, "warmup")  # workers import and cache
                t_busy = _timed_batch(busy, client, tmp, f"busy{n_workers}")
                t_light = _timed_batch(light, client, tmp, f"light{n_workers}")
                times[n_workers] = (t_busy, t_light)
        rows.append(("CPU-bound grid", n_busy, "serial, in process", t_serial, 1.0, ""))
        for n_workers in (1, 2):
            t_busy = times[n_workers][0]
            rows.append(("CPU-bound grid", n_busy, f"dask, {n_workers} worker(s)", t_busy,
                         t_serial / t_busy, ""))
        rows.append(("light grid", n_light, "plain loop, no storage", t_light_serial, 1.0,
                     ""))
        for n_workers in (1, 2):
            t_light = times[n_workers][1]
            overhead = (t_light - t_light_serial) / n_light * 1e3
            rows.append(("light grid", n_light, f"dask, {n_workers} worker(s)", t_light,
                         t_light_serial / t_light, f"{overhead:.1f} ms/cell"))

        print(f"\nneuroalign.batch benchmark ({os.cpu_count()} CPUs, "
              f"busy cell {args.work * 1e3:.0f} ms CPU)")
        print(f"{'grid':<16}{'cells':>6}  {'run':<22}{'wall s':>9}{'vs serial':>11}"
              f"{'overhead':>16}")
        for grid, n, run, t, ratio, extra in rows:
            print(f"{grid:<16}{n:>6}  {run:<22}{t:>9.2f}{ratio:>10.2f}x{extra:>16}")
        speedup = times[1][0] / times[2][0]
        overhead_1 = (times[1][1] - t_light_serial) / n_light * 1e3
        print(f"\nspeed-up of 2 workers over 1: {speedup:.2f}x (goal >= 1.7x)")
        print(f"per-cell overhead, 1 worker: {overhead_1:.1f} ms (goal < 50 ms)")
        print(f"load average during the run: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
