"""Benchmark of neuroalign.compare.inference against rsatoolbox, measured in the same run.

1. Bootstrap model evaluation (subjects x conditions, rsatoolbox ``eval_bootstrap``
   with its default bootstrapped noise ceiling): 3 model RDMs, 20 subjects,
   40 conditions, 1,000 bootstraps, Spearman and Pearson. neuroalign is fed the very
   indices rsatoolbox draws, so the estimates must agree to round-off.
2. Debiased linear CKA with a 1,000-permutation null, 200 conditions x 10,000 units.

Run ``python benchmarks/bench_compare_inference.py`` (``--quick``: rsatoolbox runs
100 bootstraps and its time is scaled by 10, which the table says; ``--smoke``: tiny
sizes, a few seconds, to check that the script runs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings

import numpy as np


def _timed(fn, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _rdm_data(rng, n_models=3, n_sub=20, n_cond=40, n_units=60):
    from scipy.spatial.distance import pdist

    latent = rng.normal(size=(n_cond, n_units))
    data = np.array([pdist(latent + rng.normal(size=latent.shape)) for _ in range(n_sub)])
    models = np.array([pdist(latent + s * rng.normal(size=latent.shape))
                       for s in (0.5, 2.0, 8.0)[:n_models]])
    return models, data


def _rsatoolbox_bootstrap(models, data, method, n_boot):
    """rsatoolbox eval_bootstrap, recording the indices it draws."""
    import rsatoolbox
    from rsatoolbox.inference import eval_bootstrap

    mods = [rsatoolbox.model.ModelFixed(f"m{i}", rsatoolbox.rdm.RDMs(m[None]))
            for i, m in enumerate(models)]
    draws = []
    original = np.random.randint
    state = np.random.RandomState(0)

    def randint(low, high=None, size=None):
        out = state.randint(low, high, size=size)
        draws.append(out)
        return out

    np.random.randint = randint
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            res = eval_bootstrap(mods, rsatoolbox.rdm.RDMs(data), method=method, N=n_boot)
            elapsed = time.perf_counter() - t0
    finally:
        np.random.randint = original
    return elapsed, res, np.array(draws[0::2]), np.array(draws[1::2])


def bench_bootstrap(quick: bool, smoke: bool = False) -> list[tuple[str, str, str, str, str]]:
    from neuroalign.compare.inference import evaluate, rdm_bootstrap_evaluations

    rng = np.random.default_rng(0)
    n_cond = 8 if smoke else 40
    models, data = _rdm_data(rng, n_sub=4, n_cond=n_cond, n_units=10) if smoke else \
        _rdm_data(rng)
    n_boot = 20 if smoke else 1000
    n_ref = n_boot if smoke else 100 if quick else n_boot
    rows = []
    for method, ours_name in (("spearman", "spearman"), ("corr", "pearson")):
        t_ref, res, subj, cond = _rsatoolbox_bootstrap(models, data, method, n_ref)
        t_ref_full = t_ref * n_boot / n_ref
        # same indices as rsatoolbox (and as many of them), same work (noise ceiling per resample)
        t_same, same = _timed(lambda s=subj, c=cond, m=ours_name: rdm_bootstrap_evaluations(
            models, data, n_cond, m, c, s, noise_ceiling=True), repeat=3)
        diff = max(float(np.nanmax(np.abs(same["evaluations"] - res.evaluations))),
                   float(np.nanmax(np.abs(same["nc_low"] - res.noise_ceiling[0]))),
                   float(np.nanmax(np.abs(same["nc_high"] - res.noise_ceiling[1]))))
        t_same_full = t_same * n_boot / n_ref
        # the public entry point: 1,000 own draws, full table, full-data noise ceiling
        t_eval, _ = _timed(lambda m=ours_name: evaluate(
            m, models, data, bootstrap="two-level", n_boot=n_boot, noise_ceiling=True, seed=0),
            repeat=3)
        t_torch, _ = _timed(lambda m=ours_name: evaluate(
            m, models, data, bootstrap="two-level", n_boot=n_boot, seed=0, backend="torch"))
        note = f" (measured {n_ref}, x{n_boot // n_ref})" if quick else ""
        label = f"bootstrap {method} 3x20x40, 1000"
        rows.append((label, f"{t_ref_full:.2f}{note}", f"{t_same_full:.3f}",
                     f"{t_ref_full / t_same_full:.0f}x", f"max |diff| {diff:.1e}"))
        rows.append((label + " evaluate()", "", f"{t_eval:.3f}",
                     f"{t_ref_full / t_eval:.0f}x", "table + LOSO ceiling"))
        rows.append((label + " torch", "", f"{t_torch:.3f}",
                     f"{t_ref_full / t_torch:.0f}x", "backend='torch' (CPU)"))
    return rows


def bench_cka(quick: bool, smoke: bool = False) -> list[tuple[str, str, str, str, str]]:
    from neuroalign.compare.cka import gram_linear, hsic_unbiased
    from neuroalign.compare.inference import evaluate

    rng = np.random.default_rng(1)
    n_cond, n_units = (20, 50) if smoke else (200, 10_000)
    latent = rng.normal(size=(n_cond, 20))
    x = latent @ rng.normal(size=(20, n_units)) + rng.normal(size=(n_cond, n_units))
    y = latent @ rng.normal(size=(20, n_units)) + rng.normal(size=(n_cond, n_units))
    t_perm, table = _timed(lambda: evaluate("cka", x, y, permutation=True, n_perm=1000, seed=0))

    def naive(n_perm):
        ky = gram_linear(y)
        hyy = hsic_unbiased(ky, ky)
        for p in rng.permuted(np.tile(np.arange(n_cond), (n_perm, 1)), axis=1):
            kx = gram_linear(x[p])
            hsic_unbiased(kx, ky) / np.sqrt(hsic_unbiased(kx, kx) * hyy)

    n_naive = 2 if smoke else 10 if quick else 50
    t_naive, _ = _timed(lambda: naive(n_naive))
    t_naive_full = t_naive * 1000 / n_naive
    return [
        ("debiased CKA 200x10000, 1000 perms", f"{t_naive_full:.1f} (loop, x{1000 // n_naive})",
         f"{t_perm:.2f}", f"{t_naive_full / t_perm:.0f}x",
         f"cka={table.estimate[0]:.3f} p={table.p_value[0]:.4f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="rsatoolbox runs 100 bootstraps; its time is scaled by 10")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, a few seconds: checks that the script runs")
    args = parser.parse_args()
    rows = bench_bootstrap(args.quick, args.smoke) + bench_cka(args.quick, args.smoke)
    header = ("case", "reference s", "neuroalign s", "speed-up", "check")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    line = "  ".join("{:<" + str(w) + "}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    print("reference: rsatoolbox eval_bootstrap (bootstrap rows); a per-permutation Gram "
          "recomputation loop (CKA row)")


if __name__ == "__main__":
    main()
