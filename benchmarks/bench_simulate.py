"""Benchmark neuroalign.simulate: bulk units writing vs pynwb's add_unit loop, and the sampler.

Run: ``python benchmarks/bench_simulate.py [--units 400] [--rate 8] [--duration 600]``
(``--smoke``: 10 units for 20 s and 5 samples; a few seconds, to check the script).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
from hdmf.common import VectorData, VectorIndex
from pynwb import NWBHDF5IO, NWBFile
from pynwb.misc import Units

from neuroalign.simulate import (
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    sample_condition_patterns,
    simulate_session,
)


def _nwb() -> NWBFile:
    return NWBFile(session_description="SYNTHETIC benchmark", identifier="bench",
                   session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))


def _trains(n_units: int, rate: float, duration: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rate * duration, n_units)
    return [np.sort(rng.uniform(0, duration, c)) for c in counts]


def write_loop(path: Path, trains: list[np.ndarray]) -> float:
    """The reference: one ``add_unit`` call per unit."""
    t0 = time.perf_counter()
    nwb = _nwb()
    for t in trains:
        nwb.add_unit(spike_times=t)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return time.perf_counter() - t0


def write_bulk(path: Path, trains: list[np.ndarray]) -> float:
    """neuroalign's way: whole columns (concatenated spikes + offsets) at once."""
    t0 = time.perf_counter()
    nwb = _nwb()
    times = np.concatenate(trains)
    offsets = np.cumsum([t.size for t in trains])
    col = VectorData(name="spike_times", description="spike times (s)", data=times)
    idx = VectorIndex(name="spike_times_index", data=offsets, target=col)
    nwb.units = Units(name="units", description="units", id=np.arange(len(trains)),
                      columns=[col, idx])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return time.perf_counter() - t0


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=400)
    parser.add_argument("--rate", type=float, default=8.0)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes: checks that the script runs")
    args = parser.parse_args()
    n_samples = 200
    if args.smoke:
        args.units, args.duration, n_samples = 10, 20.0, 5
    trains = _trains(args.units, args.rate, args.duration)
    n_spikes = sum(t.size for t in trains)
    with tempfile.TemporaryDirectory() as tmp:
        loop = write_loop(Path(tmp) / "loop.nwb", trains)
        bulk = write_bulk(Path(tmp) / "bulk.nwb", trains)
        with NWBHDF5IO(str(Path(tmp) / "bulk.nwb"), "r") as io:
            got = io.read().units["spike_times"][args.units - 1]
        assert np.array_equal(got, trains[-1])
        t0 = time.perf_counter()
        simulate_session(Path(tmp) / "default.nwb", seed=0)
        session = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n_samples):
        sample_condition_patterns("symmetric", seed=i)
    sampler = time.perf_counter() - t0

    print(f"units table: {args.units} units, {n_spikes:,} spikes")
    print(f"{'task':52s} {'seconds':>9s} {'ratio':>8s}")
    print(f"{'pynwb add_unit loop (reference), build + write':52s} {loop:9.3f} {1.0:8.2f}")
    print(f"{'bulk VectorData + VectorIndex, build + write':52s} {bulk:9.3f} "
          f"{loop / bulk:7.1f}x")
    size = f"{DEFAULT_UNITS_PER_REGION} units/region, {DEFAULT_TRIALS_PER_VALENCE} trials/valence"
    print(f"{'simulate_session, default size (' + size + ')':52s} {session:9.3f}")
    print(f"{f'sample_condition_patterns x {n_samples} (default size)':52s} {sampler:9.3f}")


if __name__ == "__main__":
    main()
