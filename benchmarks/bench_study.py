"""Calibration of the study layer on planted truth, and the time of the default run.

Run: ``python benchmarks/bench_study.py`` (``--quick`` for a short run, ``--smoke`` for
a run of a few seconds that checks the script: one study of each kind, no run). Prints

1. planted truth: studies of several simulated animals x sessions, each with a
   wall-around-danger, a wall-around-reward and a symmetric region
   (``neuroalign.simulate.sample_condition_patterns``, the default session
   size); the share of studies whose H2 verdict is supported / contradicted /
   inconclusive respectively, with Clopper-Pearson 95% intervals;
2. null: studies whose regions all have exchangeable valence geometry
   (``symmetric`` planting: equal sharpness for reward and danger); the share
   of region verdicts that are not inconclusive after Holm correction;
3. the wall time and CPU time of ``neuroalign run`` on the default data (every
   shipped seed), against the time of the same run's per-side preparation
   alone (the reference measured in the same run).

Each session's geometry is ``valence_geometry`` (crossnobis, bootstrap over
trials); the study pools sessions with the hierarchical bootstrap of
``neuroalign.study`` exactly as it pools a run's ``results.csv``.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
from scipy import stats

REGIONS = {"wall_danger": "supported", "wall_reward": "contradicted",
           "symmetric": "inconclusive"}


def _session_rows(args: tuple) -> list[dict]:
    """A.brain rows of one simulated study (every animal x session x region)."""
    from neuroalign.geometry import valence_geometry
    from neuroalign.simulate import sample_condition_patterns

    study, plantings, n_animals, n_sessions, n_boot, null = args
    rng = np.random.default_rng([study, int(null)])
    rows = []
    for animal in range(n_animals):
        for session in range(n_sessions):
            for region, planting in plantings.items():
                da = sample_condition_patterns(planting, seed=rng)
                res = valence_geometry(da, n_boot=n_boot, n_perm=0,
                                       seed=int(rng.integers(2**31)))
                a = res["A"]
                rows.append({"measure": "A.brain", "estimate": a.estimate, "ci_low": a.ci_low,
                             "ci_high": a.ci_high, "animal": f"m{animal}",
                             "session": f"m{animal}-s{session}", "region": region,
                             "agent": None, "family": None, "seed": None, "layer": None})
    return rows


def _verdicts(rows: list[dict], seed: int) -> dict[str, str]:
    from neuroalign.study import run_study

    study = run_study(pd.DataFrame(rows), n_boot=2000, seed=seed)
    h2 = study.verdicts("H2")
    return dict(zip(h2["subject"], h2["verdict"], strict=True))


def _share(k: int, n: int) -> str:
    low, high = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k / n:.3f} [{low:.3f}, {high:.3f}] ({k}/{n})"


def calibration(n_planted: int, n_null: int, n_animals: int, n_sessions: int,
                n_boot: int, workers: int) -> None:
    planted = {r: r for r in REGIONS}
    null = {f"null{i}": "symmetric" for i in range(3)}
    jobs = [(s, planted, n_animals, n_sessions, n_boot, False) for s in range(n_planted)]
    jobs += [(s, null, n_animals, n_sessions, n_boot, True) for s in range(n_null)]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        tables = list(pool.map(_session_rows, jobs, chunksize=4))
    sim_s = time.perf_counter() - start
    hits = {r: 0 for r in REGIONS}
    for s, rows in enumerate(tables[:n_planted]):
        got = _verdicts(rows, s)
        for region, expected in REGIONS.items():
            hits[region] += got[region] == expected
    false = total = 0
    for s, rows in enumerate(tables[n_planted:]):
        got = _verdicts(rows, 10_000 + s)
        false += sum(v != "inconclusive" for v in got.values())
        total += len(got)
    print(f"planted truth: {n_planted} studies of {n_animals} animals x {n_sessions} sessions, "
          f"session bootstrap n={n_boot}, study bootstrap n=2000, Holm")
    for region, expected in REGIONS.items():
        print(f"  {region:12s} -> {expected:12s} {_share(hits[region], n_planted)}")
    print(f"null (symmetric regions, exchangeable valences): {n_null} studies x 3 regions")
    print(f"  verdict not inconclusive: {_share(false, total)}")
    print(f"  simulation + session geometry: {sim_s:.0f} s on {workers} worker(s)")


def run_time() -> None:
    """Wall and CPU time of the default ``neuroalign run`` (every shipped seed)."""
    import tempfile

    from neuroalign.pipeline.config import RunConfig
    from neuroalign.pipeline.run import load_inputs, prepare_all, run_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = run_pipeline(RunConfig(), out=f"{tmp}/report", progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    cfg = RunConfig()
    inputs = load_inputs(cfg)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    prepare_all(cfg, inputs)
    prep_wall, prep_cpu = time.perf_counter() - wall1, time.process_time() - cpu1
    print(f"neuroalign run, default data: {result.n_cells} cells, {len(result.results)} rows, "
          f"{len(result.study.table)} study tests")
    print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  reference, preparing every side once: wall {prep_wall:.1f} s, CPU "
          f"{prep_cpu:.1f} s; whole run / preparation = {cpu / max(prep_cpu, 1e-9):.1f}x CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planted", type=int, default=100)
    parser.add_argument("--null", type=int, default=200)
    parser.add_argument("--animals", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-run", action="store_true", help="Skip timing neuroalign run.")
    parser.add_argument("--smoke", action="store_true",
                        help="one planted and one null study of 2 animals, no run timing")
    args = parser.parse_args()
    if args.quick:
        args.planted, args.null = 10, 20
    if args.smoke:
        args.planted, args.null, args.animals, args.n_boot, args.workers = 1, 1, 2, 20, 1
        args.no_run = True
    calibration(args.planted, args.null, args.animals, args.sessions, args.n_boot,
                args.workers)
    if not args.no_run:
        run_time()


if __name__ == "__main__":
    main()
