"""Benchmark neuroalign.compare measures against rsatoolbox, measured in the same run.

Cases
-----
1. crossnobis, balanced: 100 conditions x 8 runs x 500 channels, shrinkage precision;
   rsatoolbox ``calc_rdm`` vs ``compute_rdm``.
2. crossnobis, unbalanced: the same data with 10% of the (run, condition) observations
   missing (NaN rows), with the precision; rsatoolbox ``calc_rdm_unbalanced`` (given only
   the present rows) vs ``compute_rdm``.
3. crossnobis with scattered NaN entries (2% of values), no precision;
   ``calc_rdm_unbalanced`` vs ``compute_rdm``.
4. Kendall tau-a between all pairs of 20 RDMs of 100 conditions (400 comparisons);
   rsatoolbox ``compare(..., 'tau-a')`` vs ``compare_vectors``.

Every row also reports the largest absolute difference between the two results.
Runs of both tools alternate and the best time of each is kept (the unbalanced case
with a precision runs rsatoolbox once).
The numba kernel for tau-a is compiled (or loaded from its cache) before timing.

Usage: ``python benchmarks/bench_compare_measures.py [--quick] [--repeat N] [--threads T]``.
``--quick`` shrinks case 2 to 40 conditions x 6 runs x 200 channels, because
rsatoolbox's unbalanced estimator with a precision takes about a minute at full size.
``--smoke`` shrinks every case (12 conditions x 4 runs x 20 channels, 4 RDMs) and
times once: a few seconds, to check that the script runs.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import numpy as np
import xarray as xr

from neuroalign.compare import compare_vectors, compute_rdm, noise_precision, upper_tri


def interleaved(ref_fn, ours_fn, repeat, ref_repeat=None):
    """Best times of both, alternating the runs so that load changes hit both alike."""
    ref_repeat = repeat if ref_repeat is None else ref_repeat
    t_ref = t_ours = np.inf
    ref = ours = None
    for i in range(max(repeat, ref_repeat)):
        if i < ref_repeat:
            t0 = time.perf_counter()
            ref = ref_fn()
            t_ref = min(t_ref, time.perf_counter() - t0)
        if i < repeat:
            t0 = time.perf_counter()
            ours = ours_fn()
            t_ours = min(t_ours, time.perf_counter() - t0)
    return t_ref, ref, t_ours, ours


def make_data(n_cond, n_runs, n_chan, seed):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((1, n_cond, n_chan))
    mixing = np.eye(n_chan) + 0.1 * rng.standard_normal((n_chan, n_chan))
    noise = rng.standard_normal((n_runs, n_cond, n_chan)) @ mixing
    x = signal + noise
    labels = np.asarray([f"c{i:03d}" for i in range(n_cond)])
    da = xr.DataArray(x, dims=("repetition", "condition", "unit"),
                      coords={"label": ("condition", labels)})
    return da


def rsa_dataset(da, keep=None):
    from rsatoolbox.data import Dataset

    x = da.values
    n_runs, n_cond, n_chan = x.shape
    obs = x.reshape(-1, n_chan)
    conds = np.tile(da.label.values, n_runs)
    runs = np.repeat(np.arange(n_runs), n_cond)
    if keep is not None:
        obs, conds, runs = obs[keep], conds[keep], runs[keep]
    return Dataset(obs, obs_descriptors={"conds": conds, "runs": runs})


def in_order(rdm, order_labels):
    pos = {lab: i for i, lab in enumerate(rdm.label.values)}
    idx = [pos[lab] for lab in order_labels]
    return upper_tri(rdm.values[np.ix_(idx, idx)])


#: conditions, runs, channels of the full-size cases (``--smoke`` shrinks them)
SIZE = {"cond": 100, "runs": 8, "chan": 500, "rdms": 20}


def case_balanced(repeat):
    from rsatoolbox.rdm import calc_rdm

    da = make_data(SIZE["cond"], SIZE["runs"], SIZE["chan"], seed=0)
    prec = noise_precision(da, shrinkage="diag")
    ds = rsa_dataset(da)
    t_ref, ref, t_ours, ours = interleaved(
        lambda: calc_rdm(ds, method="crossnobis", descriptor="conds", noise=prec,
                         cv_descriptor="runs"),
        lambda: compute_rdm(da, "crossnobis", noise=prec), repeat)
    diff = np.abs(in_order(ours, ref.pattern_descriptors["conds"]) - ref.get_vectors()[0]).max()
    return (f"crossnobis balanced {SIZE['cond']}c x {SIZE['runs']}r x {SIZE['chan']}ch",
            t_ref, t_ours, diff)


def case_unbalanced(repeat, quick):
    from rsatoolbox.rdm import calc_rdm_unbalanced

    n_cond, n_runs, n_chan = ((40, 6, 200) if quick and SIZE["cond"] > 40
                              else (SIZE["cond"], SIZE["runs"], SIZE["chan"]))
    da = make_data(n_cond, n_runs, n_chan, seed=1)
    prec = noise_precision(da, shrinkage="diag")
    rng = np.random.default_rng(2)
    x = da.values.copy()
    missing = rng.random((n_runs, n_cond)) < 0.1
    x[missing] = np.nan
    da = da.copy(data=x)
    keep = ~missing.reshape(-1)
    ds = rsa_dataset(da, keep)
    t_ref, ref, t_ours, ours = interleaved(
        lambda: calc_rdm_unbalanced(ds, method="crossnobis", descriptor="conds", noise=prec,
                                    cv_descriptor="runs"),
        lambda: compute_rdm(da, "crossnobis", noise=prec), repeat, ref_repeat=1)
    diff = np.abs(in_order(ours, ref.pattern_descriptors["conds"]) - ref.get_vectors()[0]).max()
    name = f"crossnobis unbalanced {n_cond}c x {n_runs}r x {n_chan}ch, precision"
    return name, t_ref, t_ours, diff


def case_nan_entries(repeat):
    from rsatoolbox.rdm import calc_rdm_unbalanced

    da = make_data(SIZE["cond"], SIZE["runs"], SIZE["chan"], seed=3)
    x = da.values.copy()
    x[np.random.default_rng(4).random(x.shape) < 0.02] = np.nan
    da = da.copy(data=x)
    ds = rsa_dataset(da)
    t_ref, ref, t_ours, ours = interleaved(
        lambda: calc_rdm_unbalanced(ds, method="crossnobis", descriptor="conds",
                                    cv_descriptor="runs"),
        lambda: compute_rdm(da, "crossnobis"), repeat)
    diff = np.abs(in_order(ours, ref.pattern_descriptors["conds"]) - ref.get_vectors()[0]).max()
    return (f"crossnobis 2% NaN entries {SIZE['cond']}c x {SIZE['runs']}r x "
            f"{SIZE['chan']}ch", t_ref, t_ours, diff)


def case_tau_a(repeat):
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    rng = np.random.default_rng(5)
    n_rdms, n_cond = SIZE["rdms"], SIZE["cond"]
    v = rng.random((n_rdms, n_cond * (n_cond - 1) // 2))
    v[:5] = np.round(v[:5] * 10)  # model RDMs with ties
    compare_vectors(v[:2, None], v[None, :2], "kendall_tau_a")  # compile / load the kernel
    rdms = RDMs(v)
    t_ref, ref, t_ours, ours = interleaved(
        lambda: rsa_compare(rdms, rdms, "tau-a"),
        lambda: compare_vectors(v[:, None], v[None], "kendall_tau_a"), repeat)
    return (f"tau-a {n_rdms} x {n_rdms} RDMs of {n_cond} conditions", t_ref, t_ours,
            np.abs(ours - ref).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="shrink the unbalanced case with precision to 40c x 6r x 200ch")
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats (best is kept)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and numba threads for both tools (default 1: stable timings "
                             "on a shared machine; 0 leaves the libraries' defaults)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one repeat: checks that the script runs")
    args = parser.parse_args()
    if args.smoke:
        SIZE.update(cond=12, runs=4, chan=20, rdms=4)
        args.repeat = 1
    warnings.simplefilter("ignore")  # rsatoolbox's descriptor casts
    with contextlib.ExitStack() as stack:
        if args.threads > 0:
            import numba
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=args.threads))
            numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        rows = [case_balanced(args.repeat), case_unbalanced(args.repeat, args.quick),
                case_nan_entries(args.repeat), case_tau_a(args.repeat)]
    print(f"threads: {args.threads or 'library defaults'}, repeats: {args.repeat}")
    head = (f"{'case':<52} {'rsatoolbox s':>12} {'neuroalign s':>12} {'speed-up':>9} "
            f"{'max |diff|':>11}")
    print(head)
    print("-" * len(head))
    for name, t_ref, t_ours, diff in rows:
        print(f"{name:<52} {t_ref:>12.4f} {t_ours:>12.4f} {t_ref / t_ours:>8.1f}x {diff:>11.2e}")


if __name__ == "__main__":
    main()
