"""Benchmark of neuroalign.batch: per-cell overhead at scale, scaling over workers, and
the projected wall time of a million-cell grid.

Run: ``python benchmarks/bench_batch.py [--light 100000] [--cells 240] [--work 0.05]
[--workers 2] [--json] [--no-scaling] [--smoke]``

``--smoke`` runs every step on a tiny grid in a few seconds (threads instead of
worker processes, no scaling step, no real cell) to check that the script still runs.

1. A grid of ``--light`` near-zero-cost cells on a LocalCluster of ``--workers``
   workers: wall time, per-cell overhead of scheduling and storage,
   (batch wall time - plain loop time) / cells, where the plain loop calls the cell
   function on cached inputs in this process and stores nothing; result files before
   and after ``compact``; the time of ``load_results``; the peak memory of this
   process (the dask client).
2. A CPU-bound grid (``--cells`` cells of about ``--work`` s of single-threaded numpy
   each): wall time serially in this process (the reference), with 1 worker and with 2
   workers; speed-up of 2 workers over 1 (skipped with ``--no-scaling``).
3. The CPU time of one real cell (the default cell function, RSA and CKA with 100
   bootstrap resamples and 100 permutations, on the shipped session and zoo; the busy
   cell's ``--work`` when those are not built), with its inputs cached (a chunk loads
   them once for hundreds of cells) and, as the worst case, with the loads of these
   few cells counted in (``cell_compute_cold_s``).
4. The projected wall time of 1,000,000 such cells on 64 workers:
   ``T = N * c / (W * e) + N * o``, with ``c`` the per-cell compute (3), ``e`` the
   parallel efficiency of 2 workers (speed-up / 2, from 2; 1 when skipped), ``o`` the
   per-cell overhead (1), counted in full as if none of it ran in parallel
   (``projected_wall_cold_h`` uses the worst-case compute).

Cluster start-up is excluded (clusters are started before the clock runs); the batch
times include planning, submission, the Parquet part of every chunk and the client's
bookkeeping. ``--json`` prints one JSON object instead of the table.

5. Rerunning the finished grid (nothing to compute): the check of every part with
   ``DIR/checked.json`` (unchanged parts are not hashed again: size, mtime and
   manifest) against the same check hashing every part (``rehash_check_s``), and the
   wall time of the whole rerun both ways.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
N_PROJECTED = 1_000_000
W_PROJECTED = 64


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
        agents=[f"agent{i:05d}" for i in range(n_agents)], tasks=["pavlovian"], seeds=[0],
        layers=["trunk.1"], sources=[str(src / "*.npz")], regions=["A", "B"],
        measures=["m1", "m2"], n_boot=0, n_perm=0, options={"work": work},
        engine={"cell": f"{HERE}:{cell}", "brain_loader": f"{HERE}:load_brain",
                "model_loader": f"{HERE}:load_model"}))


def _cluster(n_workers: int, processes: bool = True) -> Any:
    from distributed import Client, LocalCluster

    where = {"host": "127.0.0.1"} if processes else {}  # threads talk in-process
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None, silence_logs=50, **where)
    return cluster, Client(cluster)


def _rerun(cfg: Any, out: Path) -> dict[str, float]:
    """Rerun a finished grid with and without the record of checked parts."""
    from neuroalign.batch import BatchStore, run_batch
    from neuroalign.batch.store import RACY_S

    store = BatchStore(out)
    time.sleep(RACY_S)  # parts younger than this are hashed again (clock granularity)
    store.parts()  # records every part as checked
    t0 = time.perf_counter()
    assert all(p.ok for p in store.parts())
    t_check = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = run_batch(cfg, out, progress=False, allow_code=True)
    t_rerun = time.perf_counter() - t0
    assert summary.skipped == summary.total
    store.checked_path.unlink()
    t0 = time.perf_counter()
    assert all(p.ok for p in store.parts())
    t_rehash = time.perf_counter() - t0
    store.checked_path.unlink()
    t0 = time.perf_counter()
    run_batch(cfg, out, progress=False, allow_code=True)
    t_rerun_rehash = time.perf_counter() - t0
    return {"parts": len(store.parts(verify=False)), "check_s": round(t_check, 4),
            "rehash_check_s": round(t_rehash, 4),
            "rehash_saving": round(1 - t_check / t_rehash, 3) if t_rehash else 0.0,
            "rerun_s": round(t_rerun, 3), "rerun_rehash_s": round(t_rerun_rehash, 3)}


def _timed_batch(cfg: Any, client: Any, out: Path) -> tuple[float, Any]:
    from neuroalign.batch import run_batch

    t0 = time.perf_counter()
    summary = run_batch(cfg, out, client=client, progress=False, allow_code=True)
    dt = time.perf_counter() - t0
    assert summary.done == summary.total, summary.failures
    return dt, summary


def _timed_serial(cfg: Any) -> float:
    from neuroalign.batch import run_serial

    t0 = time.perf_counter()
    run_serial(cfg, allow_code=True)
    return time.perf_counter() - t0


def _timed_plain(cfg: Any) -> float:
    """Only the cell work: cached loads and the cell function, no tables, no storage."""
    from neuroalign.batch import expand_cells
    from neuroalign.batch.worker import WorkerCache, compute_rows

    cells = expand_cells(cfg)
    cache = WorkerCache(cfg.cache_size)
    engine, params = cfg.engine.model_dump(), cfg.cell_params()
    t0 = time.perf_counter()
    for cell in cells:
        compute_rows(cell, engine, params, cfg.base_dir, cache)
    return time.perf_counter() - t0


def _real_cell_seconds() -> tuple[float, float] | None:
    """CPU time of one default cell (RSA or CKA, 100 resamples): inputs cached, and with
    the session and agent layer loaded for these cells alone (the worst case)."""
    from neuroalign.core.resources import package_data

    session = package_data("sessions") / "sub-synthetic-mouse-0_ses-sim-0.nwb"
    if not session.is_file() or not package_data("zoo").is_dir():
        return None
    from neuroalign.batch import expand_cells, validate_config
    from neuroalign.batch.worker import WorkerCache, compute_rows

    cfg = validate_config(dict(
        agents=["dqn"], tasks=["pavlovian"], seeds=[0], layers=["trunk.1"],
        sources=[str(session)], regions=["BLA", "NAc"], measures=["rsa", "cka"],
        n_boot=100, n_perm=100))
    cells = expand_cells(cfg)
    cache = WorkerCache(cfg.cache_size)
    engine, params = cfg.engine.model_dump(), cfg.cell_params()
    t0 = time.process_time()
    for cell in cells:  # with the loads
        compute_rows(cell, engine, params, cfg.base_dir, cache)
    cold = (time.process_time() - t0) / len(cells)
    t0 = time.process_time()
    for cell in cells:
        compute_rows(cell, engine, params, cfg.base_dir, cache)
    return (time.process_time() - t0) / len(cells), cold


def _files(folder: Path) -> int:
    return sum(1 for p in (folder / "results").iterdir() if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", type=int, default=100_000,
                        help="cells of the near-empty grid")
    parser.add_argument("--workers", type=int, default=2, help="workers of the light run")
    parser.add_argument("--cells", type=int, default=240, help="cells of the CPU-bound grid")
    parser.add_argument("--work", type=float, default=0.05, help="CPU seconds per busy cell")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the CPU-bound grid (speed-up over workers)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny grid in a few seconds: checks that the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.light, args.workers, args.no_scaling = 64, 1, True

    from neuroalign.batch import compact, expand_cells, load_results

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    out: dict[str, Any] = {}
    try:
        src = tmp / "src"
        src.mkdir()
        rng = np.random.default_rng(0)
        for name in ("s1", "s2"):
            np.savez(src / f"{name}.npz", A=rng.normal(size=(20, 12, 40)),
                     B=rng.normal(size=(20, 12, 40)))
        light = _config(src, "light_cell", args.light, 0.0)
        n_light = len(expand_cells(light))
        t_plain = _timed_plain(light)

        # 1. the near-empty grid
        cluster, client = _cluster(args.workers, processes=not args.smoke)
        try:
            _timed_batch(_config(src, "light_cell", 64, 0.0), client, tmp / "warmup")
            t_light, summary = _timed_batch(light, client, tmp / "light")
        finally:
            client.close()
            cluster.close()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["rerun"] = _rerun(light, tmp / "light")
        files_before = _files(tmp / "light")
        t0 = time.perf_counter()
        compact(tmp / "light")
        t_compact = time.perf_counter() - t0
        files_after = _files(tmp / "light")
        t0 = time.perf_counter()
        n_rows = len(load_results(tmp / "light"))
        t_load = time.perf_counter() - t0
        assert n_rows == n_light
        overhead = (t_light - t_plain) / n_light
        out.update(cells=n_light, workers=args.workers, wall_s=round(t_light, 3),
                   plain_loop_s=round(t_plain, 3), tasks=summary.chunks,
                   overhead_ms_per_cell=round(overhead * 1e3, 4),
                   result_files=files_before, result_files_compacted=files_after,
                   compact_s=round(t_compact, 3), load_results_s=round(t_load, 3),
                   peak_client_rss_mb=round(rss_mb, 1))

        # 2. the CPU-bound grid: serial, 1 worker, 2 workers
        efficiency = 1.0
        if not args.no_scaling:
            busy = _config(src, "busy_cell", args.cells, args.work)
            t_serial = _timed_serial(busy)
            times = {}
            for n_workers in (1, 2):
                cluster, client = _cluster(n_workers)
                try:
                    _timed_batch(_config(src, "light_cell", 64, 0.0), client,
                                 tmp / f"warm{n_workers}")
                    times[n_workers] = _timed_batch(busy, client, tmp / f"busy{n_workers}")[0]
                finally:
                    client.close()
                    cluster.close()
            speedup = times[1] / times[2]
            efficiency = min(1.0, speedup / 2)
            out.update(busy_cells=len(expand_cells(busy)), busy_cell_s=args.work,
                       busy_serial_s=round(t_serial, 3), busy_1_worker_s=round(times[1], 3),
                       busy_2_workers_s=round(times[2], 3), speedup_2_over_1=round(speedup, 3))

        # 3.-4. the million-cell projection
        real = None if args.smoke else _real_cell_seconds()
        compute, cold = real if real is not None else (args.work, args.work)

        def project(c: float) -> float:
            return N_PROJECTED * c / (W_PROJECTED * efficiency) + N_PROJECTED * overhead

        projected = project(compute)
        out.update(cell_compute_s=round(compute, 4), cell_compute_cold_s=round(cold, 4),
                   cell_compute_from="default cell (rsa/cka, 100 resamples)" if real is not None
                   else "--work (the shipped data are not built)",
                   parallel_efficiency=round(efficiency, 3),
                   projected_cells=N_PROJECTED, projected_workers=W_PROJECTED,
                   projected_wall_s=round(projected, 1),
                   projected_wall_h=round(projected / 3600, 3),
                   projected_wall_cold_h=round(project(cold) / 3600, 3),
                   load_average_before=round(load_before, 2),
                   load_average_after=round(os.getloadavg()[0], 2), cpus=os.cpu_count())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(out))
        return
    print(f"\nneuroalign.batch benchmark ({out['cpus']} CPUs, load average "
          f"{out['load_average_before']} before, {out['load_average_after']} after)")
    width = max(len(k) for k in out)
    for key, value in out.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
