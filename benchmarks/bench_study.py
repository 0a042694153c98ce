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
    """The brain-side ``A`` rows of one simulated study (every animal x session x region),
    built as a run builds them (``neuroalign.core.results.side_row``)."""
    from neuroalign.core.results import BrainKey, Estimate, SideStatistic, side_row
    from neuroalign.geometry import valence_geometry
    from neuroalign.simulate import sample_condition_patterns

    study, plantings, n_animals, n_sessions, n_boot, null = args
    rng = np.random.default_rng([study, int(null)])
    rows = []
    for animal in range(n_animals):
        for session in range(n_sessions):
            for region, planting in plantings.items():
                da = sample_condition_patterns(planting, seed=rng)
                seed = int(rng.integers(2**31))
                res = valence_geometry(da, n_boot=n_boot, n_perm=0, seed=seed)
                key = BrainKey(f"m{animal}", f"m{animal}-s{session}", region)
                stat = SideStatistic("brain", key, "A", Estimate.from_record(res["A"].to_row()))
                rows.append(side_row(stat, n_boot=n_boot, n_perm=0, rng_seed=seed))
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


# --- sensitivity: the plan's power, false absence, null ----------------------------------

#: planted variance components of the power calibration: sd between animals and between
#: sessions of one animal (A units); the cells' own standard errors are measured on
#: simulated sessions (valence_geometry of sample_condition_patterns)
SD_ANIMAL, SD_SESSION, SESSIONS = 0.12, 0.08, 2
#: the three effect sizes are those the plan says need these numbers of animals
TARGET_ANIMALS = (4, 8, 16)
MARGIN = 0.2


def cell_standard_errors(n_sessions: int, n_boot: int) -> np.ndarray:
    """Standard errors of A of simulated sessions (the default size), from their
    bootstrap intervals: the bottom level of the planted studies."""
    from neuroalign.geometry import valence_geometry
    from neuroalign.simulate import sample_condition_patterns
    from neuroalign.study.hierarchy import se_from_interval

    rng = np.random.default_rng(1234)
    out = []
    for _ in range(n_sessions):
        da = sample_condition_patterns("symmetric", seed=rng)
        a = valence_geometry(da, n_boot=n_boot, n_perm=0, seed=int(rng.integers(2**31)))["A"]
        out.append(float(se_from_interval(np.array([a.ci_low]), np.array([a.ci_high]),
                                          0.95)[0]))
    return np.asarray(out)


def planted_table(effects: dict[str, float], n_animals: int, cell_se: np.ndarray,
                  rng: np.random.Generator) -> pd.DataFrame:
    """Brain-side A rows of one planted study: per region, A = effect + animal + session +
    the cell's own noise, with the cell's bootstrap se and 95% normal interval."""
    from scipy.stats import norm

    from neuroalign.core.results import results_table

    z = norm.ppf(0.975)
    rows = []
    for region, effect in effects.items():
        for a in range(n_animals):
            animal = rng.normal(0.0, SD_ANIMAL)
            for s in range(SESSIONS):
                se = float(rng.choice(cell_se))
                est = effect + animal + rng.normal(0.0, SD_SESSION) + rng.normal(0.0, se)
                rows.append({"measure": "A", "side": "brain", "estimate": est,
                             "ci_low": est - z * se, "ci_high": est + z * se, "level": 0.95,
                             "boot_se": se, "animal": f"m{a}", "session": f"m{a}-s{s}",
                             "region": region, "agent": None, "family": None, "seed": None,
                             "layer": None})
    return results_table(pd.DataFrame(rows), name="planted study")


def _h2(table: pd.DataFrame, seed: int, n_boot: int, margin: float | None = None
        ) -> pd.DataFrame:
    from neuroalign.study import run_study

    study = run_study(table, n_boot=n_boot, seed=seed, equivalence_margin=margin)
    return study.verdicts("H2").set_index("subject")


def power_calibration(n_studies: int, n_cells: int, n_boot: int, pilot_animals: int,
                      margin_animals: int, n_sim: int = 300) -> None:
    """Planted studies at the n ``neuroalign plan`` recommends; false absence; null."""
    from neuroalign.study.plan import design_variance, plan_study, power_of

    start = time.perf_counter()
    cell_se = cell_standard_errors(n_cells, 100)
    print(f"sensitivity: cell se of A on {n_cells} simulated sessions: median "
          f"{np.median(cell_se):.3f} (range {cell_se.min():.3f} to {cell_se.max():.3f}); "
          f"planted sd between animals {SD_ANIMAL}, between sessions {SD_SESSION}, "
          f"{SESSIONS} sessions per animal; 3 regions per study (one planted, two at 0), "
          f"study bootstrap n={n_boot}, Holm")
    from scipy.optimize import brentq

    from neuroalign.study.plan import _region_leaves

    pilot = planted_table({"target": 0.2, "zero1": 0.0, "zero2": 0.0}, pilot_animals, cell_se,
                          np.random.default_rng(7))
    comps = _region_leaves(pilot, 0.95)["target"]
    alpha_test = float(plan_study(pilot, 0.2, hypothesis="H2", n_boot=n_boot)
                       ["alpha_test"].iloc[0])
    print(f"  pilot of {pilot_animals} animals: sd between animals "
          f"{np.sqrt(comps.top):.3f}, between sessions {np.sqrt(comps.middle):.3f}, cell se "
          f"(rms) {np.sqrt(comps.bottom):.3f}; per-test alpha {alpha_test:.4f}")
    for e_i, n_target in enumerate(TARGET_ANIMALS):
        # the effect that the plan says needs exactly n_target animals
        def gap(e: float, n: int = n_target) -> float:
            return power_of(e, [design_variance(comps, n, SESSIONS)], alpha_test) - 0.8

        effect = float(np.round(brentq(gap, 1e-3, 5.0) + 5e-4, 3))
        regions = {"target": effect, "zero1": 0.0, "zero2": 0.0}
        plan = plan_study(pilot, effect, hypothesis="H2", n_boot=n_boot,
                          n_sim=n_sim).set_index("subject")
        n = int(plan.loc["target", "animals"])
        predicted = power_of(effect, [design_variance(comps, n, SESSIONS)], alpha_test)
        hits = 0
        for s in range(n_studies):
            table = planted_table(regions, n, cell_se, np.random.default_rng([e_i, s]))
            hits += _h2(table, s, n_boot).loc["target", "verdict"] == "supported"
        print(f"  |A| = {effect}: plan (pilot {pilot_animals} animals) -> {n} animals x "
              f"{SESSIONS} sessions (analytic alone: {n_target}, power {predicted:.3f} "
              f"there by the analytic model); supported in {_share(hits, n_studies)}")
    absent = 0
    regions = {"target": MARGIN, "zero1": 0.0, "zero2": 0.0}
    for s in range(n_studies):
        table = planted_table(regions, margin_animals, cell_se, np.random.default_rng([99, s]))
        absent += _h2(table, s, n_boot, MARGIN).loc["target", "verdict"] == "absent"
    print(f"  true |A| = margin = {MARGIN}, {margin_animals} animals: absent in "
          f"{_share(absent, n_studies)}")
    decided = total = 0
    regions = {"zero0": 0.0, "zero1": 0.0, "zero2": 0.0}
    for s in range(n_studies):
        table = planted_table(regions, margin_animals, cell_se, np.random.default_rng([98, s]))
        got = _h2(table, s, n_boot)["verdict"]
        decided += int((got != "inconclusive").sum())
        total += len(got)
    print(f"  null (A = 0 in 3 regions, {margin_animals} animals, no margin): not "
          f"inconclusive in {_share(decided, total)}")
    print(f"  {time.perf_counter() - start:.0f} s")


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
                        help="one planted and one null study of 2 animals, a tiny power "
                        "calibration, no run timing")
    parser.add_argument("--part", choices=("all", "planted", "sensitivity", "run"),
                        default="all", help="Run one part only.")
    parser.add_argument("--power-studies", type=int, default=200,
                        help="Planted studies per point of the power calibration.")
    args = parser.parse_args()
    # power calibration: cells measured, study replicates, pilot animals, animals of the
    # absence and null studies, planted studies of the plan's simulation check
    sensitivity = (24, 2000, 3000, 20, 300)
    if args.quick:
        args.planted, args.null, args.power_studies = 10, 20, 20
    if args.smoke:
        args.planted, args.null, args.animals, args.n_boot, args.workers = 1, 1, 2, 20, 1
        args.no_run, args.power_studies = True, 2
        sensitivity = (1, 199, 12, 4, 5)
    if args.part in ("all", "planted"):
        calibration(args.planted, args.null, args.animals, args.sessions, args.n_boot,
                    args.workers)
    if args.part in ("all", "sensitivity"):
        power_calibration(args.power_studies, *sensitivity)
    if args.part in ("all", "run") and not args.no_run:
        run_time()


if __name__ == "__main__":
    main()
