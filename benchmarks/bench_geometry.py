"""Calibration study of neuroalign.geometry on planted ground truth.

Run: ``python benchmarks/bench_geometry.py`` (``--sessions 200`` by default;
``--quick`` for a short run, ``--smoke`` for a run of a few seconds that checks
the script). Sessions have the default dataset's size
(``neuroalign.simulate.DEFAULT_UNITS_PER_REGION`` units,
``DEFAULT_TRIALS_PER_VALENCE`` trials per valence) unless ``--units`` /
``--trials`` say otherwise. Prints

1. recovery: for regions planted with a wall around danger (funnel around
   reward) and the reverse, the share of simulated sessions whose interval for
   ``A = S_danger - S_reward`` excludes 0 on the planted side, with the mean
   estimated sharpness against the planted one, per distance;
2. calibration: for regions planted with equal sharpness (``symmetric``) and
   with no valence coding (``none``), the share of sessions with a permutation
   p < 0.05 and with an interval excluding 0, with Clopper-Pearson 95% intervals;
3. why cross-validation matters: unequal trial counts per valence under the
   symmetric planting: the plain euclidean ``A`` drifts away from 0, the
   cross-validated one does not;
4. time per session, against a reference loop that rebuilds every resample
   and computes each crossnobis step with rsatoolbox (measured in the same run).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy import stats

from neuroalign.core.errors import InferenceError
from neuroalign.geometry import valence_geometry
from neuroalign.simulate import (
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    sample_condition_patterns,
)

VARIANTS = (("crossnobis", None), ("crossnobis", "eye"), ("euclidean", None))


def _label(distance: str, noise: str | None) -> str:
    return distance if noise is None else f"{distance}+{noise}"


def _session(args: tuple) -> list[dict]:
    planting, seed, n_units, n_reps, n_boot, n_perm, reps_danger = args
    da = sample_condition_patterns(planting, n_units=n_units, n_repetitions=n_reps, seed=seed)
    if reps_danger is not None:  # unbalanced: keep fewer danger trials (NaN padding)
        da = da.copy()
        da[reps_danger:, da["valence"].values == -1, :] = np.nan
    rows = []
    for distance, noise in VARIANTS:
        row = {"planting": planting, "seed": seed, "variant": _label(distance, noise),
               "planted_S_reward": da.attrs["planted_sharpness_reward"],
               "planted_S_danger": da.attrs["planted_sharpness_danger"]}
        try:
            res = valence_geometry(da, distance=distance, noise=noise, n_boot=n_boot,
                                   n_perm=n_perm, seed=seed)
        except InferenceError:
            row["error"] = True
            rows.append(row)
            continue
        a = res["A"]
        row.update(error=False, A=a.estimate, ci_low=a.ci_low, ci_high=a.ci_high, p=a.p_value,
                   S_reward=res["S_reward"].estimate, S_danger=res["S_danger"].estimate,
                   S_reward_lo=res["S_reward"].ci_low, S_reward_hi=res["S_reward"].ci_high,
                   S_danger_lo=res["S_danger"].ci_low, S_danger_hi=res["S_danger"].ci_high)
        rows.append(row)
    return rows


def _run(jobs: list[tuple], workers: int) -> list[dict]:
    if workers <= 1:
        return [r for job in jobs for r in _session(job)]
    with ProcessPoolExecutor(workers) as pool:
        return [r for rows in pool.map(_session, jobs, chunksize=4) for r in rows]


def _rate(hits: np.ndarray) -> str:
    k, n = int(hits.sum()), int(hits.size)
    if n == 0:
        return "n/a"
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k / n:6.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def _table(rows: list[dict], planting: str, title: str) -> None:
    print(f"\n{title}")
    print(f"{'distance':<18}{'n':>5}{'err':>5}  {'CI excl. 0 on planted side':<28}"
          f"{'p<0.05':<26}{'mean A':>8}{'mean S_r':>10}{'mean S_d':>10}"
          f"{'S_r cover':>10}{'S_d cover':>10}")
    for distance, noise in VARIANTS:
        sel = [r for r in rows if r["planting"] == planting and
               r["variant"] == _label(distance, noise)]
        ok = [r for r in sel if not r["error"]]
        if not ok:
            print(f"{_label(distance, noise):<18}{len(sel):>5}{len(sel):>5}")
            continue
        lo = np.array([r["ci_low"] for r in ok])
        hi = np.array([r["ci_high"] for r in ok])
        if np.isnan(lo).all():  # euclidean: valence_geometry refuses bootstrap intervals
            print(f"{_label(distance, noise):<18}{len(sel):>5}{len(sel) - len(ok):>5}  "
                  "no interval (refused for this distance)")
            continue
        p = np.array([r["p"] for r in ok])
        a = np.array([r["A"] for r in ok])
        planted_a = ok[0]["planted_S_danger"] - ok[0]["planted_S_reward"]
        side = lo > 0 if planted_a > 0 else (hi < 0 if planted_a < 0 else (lo > 0) | (hi < 0))
        cover = {}
        for v in ("reward", "danger"):
            key = f"planted_S_{v}"
            s_lo = np.array([r[f"S_{v}_lo"] for r in ok])
            s_hi = np.array([r[f"S_{v}_hi"] for r in ok])
            cover[v] = np.mean((s_lo <= ok[0][key]) & (ok[0][key] <= s_hi))
        print(f"{_label(distance, noise):<18}{len(sel):>5}{len(sel) - len(ok):>5}  "
              f"{_rate(side):<28}{_rate(p < 0.05):<26}{a.mean():>8.3f}"
              f"{np.mean([r['S_reward'] for r in ok]):>10.3f}"
              f"{np.mean([r['S_danger'] for r in ok]):>10.3f}"
              f"{cover['reward']:>10.3f}{cover['danger']:>10.3f}")
    first = next((r for r in rows if r["planting"] == planting), None)
    if first is not None:
        print(f"planted: S_reward={first['planted_S_reward']:.3f}, "
              f"S_danger={first['planted_S_danger']:.3f}; 'cover' = share of intervals "
              "holding the planted S")


def _timing(n_boot: int, n_perm: int, n_units: int, n_reps: int, n_ref: int = 20,
            repeats: int = 5) -> None:
    import rsatoolbox

    da = sample_condition_patterns("wall_danger", n_units=n_units, n_repetitions=n_reps, seed=1)
    t0 = time.perf_counter()
    for _ in range(repeats):
        valence_geometry(da, n_boot=n_boot, n_perm=n_perm, seed=0)
    ours = (time.perf_counter() - t0) / repeats

    # reference: one resample at a time, rebuilt as a dataset, crossnobis by rsatoolbox
    x = {v: da.isel(condition=da["valence"].values == v).sortby("approach").values
         for v in (1, -1)}
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(n_ref):
        for v in (1, -1):
            idx = rng.integers(0, n_reps, n_reps)
            sub = x[v][idx]  # (rep, approach, unit)
            _, k1, p = sub.shape
            keep = np.unique(idx, return_index=True)[1]  # distinct trials only
            sub = sub[keep]
            ds = rsatoolbox.data.Dataset(
                sub.reshape(-1, p),
                obs_descriptors={"cond": np.tile(np.arange(k1), len(keep)),
                                 "rep": np.repeat(np.arange(len(keep)), k1)})
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                rdm = rsatoolbox.rdm.calc_rdm(ds, method="crossnobis", descriptor="cond",
                                              cv_descriptor="rep").get_matrices()[0]
            steps = np.sqrt(np.clip([rdm[a, a + 1] for a in range(k1 - 1)], 0, None))
            _ = steps[0] / steps.sum()
    per_resample_ref = (time.perf_counter() - t0) / n_ref
    ref = per_resample_ref * (n_boot + n_perm)
    print(f"\ntime per session ({n_units} units, {n_reps} trials/valence, K=5, n_boot={n_boot}, "
          f"n_perm={n_perm}):")
    print(f"{'method':<52}{'seconds':>10}{'ratio':>10}")
    print(f"{'neuroalign valence_geometry (batched index arrays)':<52}{ours:>10.3f}{1.0:>10.1f}")
    print(f"{'reference loop: rsatoolbox crossnobis per resample':<52}{ref:>10.3f}"
          f"{ref / ours:>10.1f}")
    print(f"  (reference measured on {n_ref} resamples, {per_resample_ref * 1e3:.1f} ms each, "
          "scaled to the same number of resamples)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="sessions per planting")
    parser.add_argument("--units", type=int, default=DEFAULT_UNITS_PER_REGION)
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS_PER_VALENCE,
                        help="trials per valence")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-perm", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--quick", action="store_true", help="20 sessions, 200 resamples")
    parser.add_argument("--smoke", action="store_true",
                        help="2 sessions, 20 units, 20 resamples, in this process: checks "
                             "that the script runs (a few seconds)")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.n_boot, args.n_perm = 20, 200, 200
    if args.smoke:
        args.sessions, args.n_boot, args.n_perm, args.workers = 2, 20, 20, 1
        args.units = min(args.units, 20)
    n = args.sessions
    print(f"neuroalign.geometry calibration: {n} sessions per planting, {args.units} units, "
          f"{args.trials} trials per valence, K=5, w=1, n_boot={args.n_boot}, "
          f"n_perm={args.n_perm}, level=0.95")
    t0 = time.perf_counter()
    jobs = [(planting, 10_000 * i + s, args.units, args.trials, args.n_boot, args.n_perm, None)
            for i, planting in enumerate(("wall_danger", "wall_reward", "symmetric", "none"))
            for s in range(n)]
    unbalanced = max(5, args.trials // 3)
    jobs += [("symmetric", 50_000 + s, args.units, args.trials, args.n_boot, args.n_perm,
              unbalanced) for s in range(n)]
    rows = _run(jobs[: 4 * n], args.workers)
    unb = _run(jobs[4 * n:], args.workers)
    elapsed = time.perf_counter() - t0
    _table(rows, "wall_danger",
           "1a. recovery, planted wall around danger + funnel around reward (A > 0)")
    _table(rows, "wall_reward",
           "1b. recovery, planted wall around reward + funnel around danger (A < 0)")
    _table(rows, "symmetric",
           "2. calibration, planted equal sharpness (A = 0): rates should be ~0.05")
    _table(rows, "none",
           "2b. calibration, no valence coding at all (labels exchangeable; S itself is "
           "undefined, 'err' = zero path length)")
    _table(unb, "symmetric",
           f"3. unequal trials ({args.trials} reward, {unbalanced} danger), A = 0 planted: "
           "euclidean's noise floor differs by valence")
    print(f"\n{len(jobs)} sessions x {len(VARIANTS)} distances in {elapsed:.1f} s "
          f"({elapsed / len(jobs) / len(VARIANTS):.3f} s per session and distance, "
          f"{args.workers} worker(s))")
    _timing(args.n_boot, args.n_perm, args.units, args.trials,
            *((2, 1) if args.smoke else ()))


if __name__ == "__main__":
    main()
