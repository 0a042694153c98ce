"""Milliseconds per cell and measure at the default options, against two references.

A grid of prepared sides with the default run's sizes (brain: 60 repetitions x 12
conditions x 40 units, ``neuroalign.simulate.sample_condition_patterns``; model layers:
8 repetitions x 12 conditions x 64, 32 or 2 units) is scored cell by cell with
``neuroalign.pipeline.cell.score_cell`` (n_boot = n_perm = 200, 20 split halves), one
measure at a time, as ``neuroalign run`` does. Printed, all from one run:

1. ms per cell for each measure (``rsa``, ``cka``, ``shape``, ``geometry``) and all
   together, with this implementation;
2. the same with the previous implementation of the pattern measures, kept here as
   the reference: repetition means by ``einsum``, the shape distance of each chunk of
   resamples by a full SVD and the rotation in unit space, every prepared
   representation recomputed in every cell (no caches);
3. the anchor: one angular Procrustes distance per replicate with
   ``scipy.linalg.orthogonal_procrustes`` (netrep's ``LinearMetric`` is not installable
   here), against the batched shape distance of the same replicates.

Run ``python benchmarks/bench_cell.py`` (``--json``: one JSON object; ``--smoke``: a
few seconds, fewer cells and repeats). Timings are medians over repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

MEASURES = ("rsa", "cka", "shape", "geometry")


def _sides(n_models: int, n_brains: int, seed: int = 0) -> tuple[list[Any], list[Any]]:
    """Prepared model and brain sides of the default run's sizes."""
    import xarray as xr

    from neuroalign.core.config import MeasureOptions
    from neuroalign.pipeline.sides import prepare_side
    from neuroalign.simulate import sample_condition_patterns

    rng = np.random.default_rng(seed)
    plantings = ("wall_danger", "wall_reward", "symmetric")
    brains = [sample_condition_patterns(plantings[i % 3], seed=rng, region=f"r{i}")
              for i in range(n_brains)]
    coords = {k: v for k, v in brains[0].coords.items() if "condition" in v.dims}
    models = []
    for i in range(n_models):
        units = (64, 32, 2)[i % 3]
        latent = rng.normal(size=(12, 6))
        values = latent @ rng.normal(size=(6, units)) + 0.3 * rng.normal(size=(8, 12, units))
        models.append(xr.DataArray(values, dims=("repetition", "condition", "unit"),
                                   coords=coords))
    settings: dict[str, Any] = {"n_boot": 200, "n_perm": 200, "seed": 0,
                                "options": MeasureOptions(), "measures": list(MEASURES)}
    return ([prepare_side(m, "model", **settings) for m in models],
            [prepare_side(b, "brain", **settings) for b in brains])


def _fresh(sides: list[Any]) -> list[Any]:
    """The same sides with the inference caches emptied (a run fills them once per side
    and scores it against many partners; RDMs, ceilings and geometry are kept)."""
    for side in sides:
        side.memo.pop("inference", None)
    return sides


def _per_cell(models: list[Any], brains: list[Any], measure: str) -> tuple[float, float]:
    """Wall and CPU milliseconds per cell of one measure over the grid."""
    from neuroalign.pipeline.cell import score_cell

    _fresh(models), _fresh(brains)
    start, cpu = time.perf_counter(), time.process_time()
    for model in models:
        for brain in brains:
            score_cell(model, brain, [measure], meta={})
    n = len(models) * len(brains)
    return ((time.perf_counter() - start) / n * 1e3, (time.process_time() - cpu) / n * 1e3)


# --- the previous implementation, kept as the reference -----------------------------

def _old_resampled_means(p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    from neuroalign.compare.inference.resample import index_counts

    counts = index_counts(idx, p.shape[0])
    return np.einsum("br,rnu->bnu", counts / counts.sum(-1, keepdims=True), p)


def _old_shape_distance(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """The previous stacked shape distance: reduce, pad, full SVD, rotate, score."""
    from neuroalign.compare import shape

    xw, yw = shape._reduced_pair(x, y, alpha)
    p = max(xw.shape[-1], yw.shape[-1])
    xw, yw = shape._pad(xw, p), shape._pad(yw, p)
    u, _, vt = np.linalg.svd(np.swapaxes(xw, -1, -2) @ yw)
    return shape._score(xw @ (u @ vt), yw, "angular")


@contextlib.contextmanager
def _previous_implementation() -> Iterator[None]:
    """Swap in the previous pattern-measure path (einsum means, full-SVD shape, no caches)."""
    import importlib

    from neuroalign.compare.inference import pattern_resampling as pr
    from neuroalign.compare.inference.patterns import function_measure

    ev: Any = importlib.import_module("neuroalign.compare.inference.evaluate")  # the module
    saved = (pr._resampled_means, ev.shape_measure, pr._cached)

    def old_shape(alpha: float = 1.0, score: str = "angular") -> Any:
        return function_measure(_old_shape_distance, "shape_distance", alternative="less",
                                angular=True, batched=True, alpha=alpha)

    def no_cache(cache: Any, measure: Any, what: str, arrays: Any,
                 compute: Callable[[], Any]) -> Any:
        return compute()

    pr._resampled_means, ev.shape_measure, pr._cached = _old_resampled_means, old_shape, no_cache
    try:
        yield
    finally:
        pr._resampled_means, ev.shape_measure, pr._cached = saved


def _procrustes_loop(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Angular Procrustes distance per replicate with scipy's orthogonal_procrustes."""
    from scipy.linalg import orthogonal_procrustes

    out = np.empty(len(xs))
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        x = x - x.mean(0)
        y = y - y.mean(0)
        p = max(x.shape[1], y.shape[1])
        x = np.pad(x, ((0, 0), (0, p - x.shape[1])))
        y = np.pad(y, ((0, 0), (0, p - y.shape[1])))
        rot, _ = orthogonal_procrustes(x, y)
        c = np.sum((x @ rot) * y) / (np.linalg.norm(x) * np.linalg.norm(y))
        out[i] = np.arccos(np.clip(c, -1.0, 1.0))
    return out


def _anchor(n_rep: int, repeats: int) -> dict[str, float]:
    from neuroalign.compare import shape_distance

    rng = np.random.default_rng(1)
    xs = rng.normal(size=(n_rep, 12, 64))
    ys = xs[..., :40] @ rng.normal(size=(40, 40)) + rng.normal(size=(n_rep, 12, 40))
    times: dict[str, list[float]] = {"neuroalign": [], "scipy": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours = shape_distance(xs, ys)
        t1 = time.perf_counter()
        ref = _procrustes_loop(xs, ys)
        t2 = time.perf_counter()
        times["neuroalign"].append(t1 - t0)
        times["scipy"].append(t2 - t1)
    return {"n_replicates": n_rep,
            "us_per_distance_neuroalign": float(np.median(times["neuroalign"])) / n_rep * 1e6,
            "us_per_distance_scipy": float(np.median(times["scipy"])) / n_rep * 1e6,
            "max_abs_difference": float(np.abs(np.asarray(ours) - ref).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--smoke", action="store_true", help="a few seconds")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    n_models, n_brains, repeats = (2, 1, 1) if args.smoke else (18, 3, 3)
    models, brains = _sides(n_models, n_brains)
    now: dict[str, list[tuple[float, float]]] = {m: [] for m in MEASURES}
    before: dict[str, list[tuple[float, float]]] = {m: [] for m in MEASURES}
    with threadpool_limits(limits=1, user_api="blas"):  # as neuroalign run computes
        for measure in MEASURES:  # imports, and the per-side work every run does once
            _per_cell(models, brains, measure)  # (RDM ceilings, geometry rows)
        for _ in range(repeats):  # interleaved, so load changes hit both alike
            for measure in MEASURES:
                now[measure].append(_per_cell(models, brains, measure))
                with _previous_implementation():
                    before[measure].append(_per_cell(models, brains, measure))
        anchor = _anchor(20 if args.smoke else 400, repeats)
    out: dict[str, Any] = {"cells": n_models * n_brains, "repeats": repeats}
    for kind, col in (("", 0), ("cpu_", 1)):  # wall clock, and CPU time of this process
        mine, prev, ratio = {}, {}, {}
        for measure in MEASURES:
            a = float(np.median([t[col] for t in now[measure]]))
            b = float(np.median([t[col] for t in before[measure]]))
            mine[measure], prev[measure], ratio[measure] = round(a, 3), round(b, 3), b / a
        mine["all"], prev["all"] = round(sum(mine.values()), 3), round(sum(prev.values()), 3)
        ratio["all"] = prev["all"] / mine["all"]
        out[f"{kind}ms_per_cell"], out[f"{kind}ms_per_cell_previous"] = mine, prev
        out[f"{kind}ratio"] = {k: round(v, 2) for k, v in ratio.items()}
    out["anchor"] = anchor
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['cells']} cells (default sizes), median of {repeats} repeat(s), one BLAS "
          "thread")
    print(f"{'measure':<10} {'ms/cell':>9} {'previous':>9} {'speed-up':>9}   "
          f"{'cpu ms':>8} {'previous':>9} {'speed-up':>9}")
    for m in (*MEASURES, "all"):
        print(f"{m:<10} {out['ms_per_cell'][m]:>9.2f} {out['ms_per_cell_previous'][m]:>9.2f} "
              f"{out['ratio'][m]:>8.1f}x   {out['cpu_ms_per_cell'][m]:>8.2f} "
              f"{out['cpu_ms_per_cell_previous'][m]:>9.2f} {out['cpu_ratio'][m]:>8.1f}x")
    print(f"anchor, one angular Procrustes distance (12 x 64 vs 12 x 40), "
          f"{anchor['n_replicates']} replicates: neuroalign "
          f"{anchor['us_per_distance_neuroalign']:.1f} us, scipy orthogonal_procrustes loop "
          f"{anchor['us_per_distance_scipy']:.1f} us "
          f"({anchor['us_per_distance_scipy'] / anchor['us_per_distance_neuroalign']:.1f}x); "
          f"largest difference {anchor['max_abs_difference']:.1e}")


if __name__ == "__main__":
    main()
