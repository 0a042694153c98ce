"""Benchmark of neuroalign.io binning against the raw read and the hand-written loop.

Generates an NWB file with 800 units, about 30 million spikes and 600 trials
(written with bulk columns), then bins all units around all trials into 40 bins,
measuring in the same run:

(a) the raw h5py read of ``units/spike_times`` and ``spike_times_index`` (the I/O floor);
(b) the loop users write by hand: pynwb ``get_unit_spike_times`` per unit and
    ``np.histogram`` per trial (timed on a subset of units and extrapolated when
    the full loop would take too long; the output says so);
(c) ``neuroalign.io.load_responses`` (open, read, check, resolve regions, bin, label).

Peak memory of (a) and (c) is measured with tracemalloc in separate runs.

Run: ``python benchmarks/bench_io.py [--units 800] [--spikes 30e6] [--trials 600]``
(``--smoke``: 20 units, 20,000 spikes, 40 trials, one repeat; a few seconds, to check
that the script runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "neuroalign").is_dir() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # time this checkout, not another installed copy


def make_file(path: Path, n_units: int, n_spikes: float, n_trials: int, seed: int = 0) -> None:
    """Write the benchmark session with pynwb, spike columns in bulk."""
    from hdmf.common import VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals
    from pynwb.misc import Units

    rng = np.random.default_rng(seed)
    iti = 6.0
    start = 2.0 + iti * np.arange(n_trials)
    duration = float(start[-1] + iti + 2.0)
    rates = rng.lognormal(np.log(n_spikes / n_units / duration), 0.5, n_units)
    rates *= n_spikes / (rates.sum() * duration)
    counts = rng.poisson(rates * duration)
    times = np.empty(int(counts.sum()), dtype=np.float64)
    ends = np.cumsum(counts)
    for u in range(n_units):
        seg = times[ends[u] - counts[u]:ends[u]]
        seg[:] = rng.uniform(0.0, duration, counts[u])
        seg.sort()
    nwb = NWBFile(session_description="benchmark session", identifier="bench-io",
                  session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank", "shank", location="BLA", device=device)
    for _ in range(4):
        nwb.add_electrode(group=group, location="BLA")
    kinds = np.where(np.arange(n_trials) % 2 == 0, "sucrose", "shock")
    nwb.trials = TimeIntervals(name="trials", description="trials", id=np.arange(n_trials),
                               columns=[
        VectorData(name="start_time", description="start", data=start),
        VectorData(name="stop_time", description="stop", data=start + 4.0),
        VectorData(name="cue_time", description="cue", data=start + 1.0),
        VectorData(name="outcome_time", description="outcome", data=start + 2.5),
        VectorData(name="trial_type", description="kind", data=kinds.tolist()),
    ])
    spike_col = VectorData(name="spike_times", description="spike times", data=times)
    nwb.units = Units(name="units", description="units", id=np.arange(n_units), columns=[
        spike_col, VectorIndex(name="spike_times_index", data=ends, target=spike_col)])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def raw_read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(a) The I/O floor: both datasets in one read each."""
    with h5py.File(path, "r") as f:
        return f["units/spike_times"][()], f["units/spike_times_index"][()]


def hand_loop(path: Path, rel_edges: np.ndarray, units: range) -> np.ndarray:
    """(b) What users write: per-unit pynwb reads, np.histogram per trial."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        align = nwb.trials["outcome_time"][:]
        out = np.zeros((len(align), len(units), len(rel_edges) - 1), dtype=np.int64)
        for i, u in enumerate(units):
            spikes = nwb.units.get_unit_spike_times(u)
            for j, t in enumerate(align):
                out[j, i], _ = np.histogram(spikes, bins=t + rel_edges)
    return out


def neuroalign_load(path: Path) -> np.ndarray:
    """(c) neuroalign: the whole load, no cache."""
    from neuroalign.io import load_responses

    resp = load_responses(path, profile="amygdala", align="outcome", window=(-2.0, 2.0),
                          bin_size=0.1, cache=False)
    return resp.values


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Best wall time and best CPU time (all threads) of ``repeat`` calls, last result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, result


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak traced allocation of one call, MiB."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=800)
    parser.add_argument("--spikes", type=float, default=30e6)
    parser.add_argument("--trials", type=int, default=600)
    parser.add_argument("--loop-units", type=int, default=40,
                        help="units timed in the hand loop (extrapolated to all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny file, one repeat: checks that the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.units, args.spikes, args.trials, args.loop_units, args.repeat = 20, 2e4, 40, 5, 1
    rel = -2.0 + 0.1 * np.arange(41)
    import neuroalign

    print(f"neuroalign {neuroalign.__version__} from {Path(neuroalign.__file__).parent}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.nwb"
        t0 = time.perf_counter()
        make_file(path, args.units, args.spikes, args.trials)
        print(f"generated {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t0:.1f}"
              f" s: {args.units} units, {args.trials} trials")
        raw_read(path)  # warm the page cache for every contender
        neuroalign_load(path)  # and the imports / compiled kernels
        t_raw, c_raw, (times, index) = best_of(lambda: raw_read(path), args.repeat)
        n_spikes = times.size
        spike_mib = (times.nbytes + index.nbytes) / 2**20
        del times, index
        t_na, c_na, values = best_of(lambda: neuroalign_load(path), args.repeat)
        out_mib = values.nbytes / 2**20
        n_loop = min(args.loop_units, args.units)
        t_sub, c_sub, loop_vals = best_of(lambda: hand_loop(path, rel, range(n_loop)), 1)
        np.testing.assert_array_equal(values[:, :n_loop, :], loop_vals)  # same answer
        t_loop, c_loop = t_sub * args.units / n_loop, c_sub * args.units / n_loop
        del values, loop_vals
        mem_raw = peak_mib(lambda: raw_read(path))
        mem_na = peak_mib(lambda: neuroalign_load(path))
    print(f"\n{n_spikes / 1e6:.1f} M spikes ({spike_mib:.0f} MiB), output "
          f"{args.trials}x{args.units}x40 int32 ({out_mib:.0f} MiB)\n")
    print(f"{'method':<46}{'wall s':>9}{'vs (a)':>8}{'CPU s':>9}{'vs (a)':>8}{'peak MiB':>10}")
    print(f"{'(a) raw h5py read spike_times + index':<46}{t_raw:>9.3f}{1.0:>8.2f}"
          f"{c_raw:>9.3f}{1.0:>8.2f}{mem_raw:>10.0f}")
    name = "(b) pynwb per unit + np.histogram per trial"
    if n_loop != args.units:
        name = f"(b) hand loop, {n_loop} units x{args.units / n_loop:g}"
    print(f"{name:<46}{t_loop:>9.1f}{t_loop / t_raw:>8.0f}{c_loop:>9.1f}{c_loop / c_raw:>8.0f}"
          f"{'':>10}")
    print(f"{'(c) neuroalign.io.load_responses':<46}{t_na:>9.3f}{t_na / t_raw:>8.2f}"
          f"{c_na:>9.3f}{c_na / c_raw:>8.2f}{mem_na:>10.0f}")
    print(f"\n(c) is {t_loop / t_na:.0f}x faster than (b) (wall); (c)/(a) = {t_na / t_raw:.2f} "
          f"wall, {c_na / c_raw:.2f} CPU (goal <= 2); peak memory of (c) {mem_na:.0f} MiB vs "
          f"budget 2 x spikes + output = {2 * spike_mib + out_mib:.0f} MiB")
    print("CPU s counts every thread of the process; on a loaded machine wall time also "
          "includes waiting for a core.")
    if n_loop != args.units:
        print(f"note: (b) was timed on {n_loop} of {args.units} units and extrapolated "
              "linearly (the full loop takes too long to run here)")


if __name__ == "__main__":
    main()
