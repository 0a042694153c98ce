"""Benchmark probing a foreign agent against probing a zoo agent of the same size.

Usage::

    python benchmarks/bench_probe.py            # 8 and 64 repetitions, 7 timings each
    python benchmarks/bench_probe.py --smoke    # a few seconds

The zoo agent is an untrained ``dqn`` (two tanh layers of 64 units and a Q head) on the
``pavlovian`` grid; the foreign agents are a Stable-Baselines3 DQN with the same layer
sizes (``net_arch=[64, 64]``, probed as the model object and from its saved ``.zip``,
read once or on every call) and
the zoo's own network as a plain ``torch.nn.Module`` through forward hooks. Every probe
returns the same layers (two trunk layers and the Q readout) on the same grid, and the
ratio printed is foreign / zoo from medians measured in this run (target <= 2x for the
probe itself; the ".zip, each call" row adds reading and checking the archive).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def _interleaved_medians(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median time of each function, timed in turn ``repeat`` times (one warm-up each),
    so a change of the machine's load hits every function alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds")
    args = parser.parse_args(argv)
    reps, repeat = ((4,), 2) if args.smoke else ((8, 64), 15)

    import torch
    from stable_baselines3 import DQN

    from neuroalign.zoo import build_agent, make_env, probe
    from neuroalign.zoo.foreign import TorchAgent, sb3_agent

    torch.manual_seed(0)
    zoo = build_agent("dqn", "pavlovian", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb3 = DQN("MlpPolicy", make_env("pavlovian", seed=0), seed=0, device="cpu",
                  policy_kwargs={"net_arch": [64, 64]})
    hooked = TorchAgent(zoo.net, "pavlovian", layers=["trunk_act.0", "trunk_act.1", "heads.q"],
                        forward=lambda m, x: m(x)["q"], family="value")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dqn.zip"
        sb3.save(path)
        loaded = sb3_agent(path, "pavlovian")
        print(f"{'probe':<30}{'repetitions':>12}{'median ms':>11}{'x zoo':>8}")
        for n in reps:
            rows = [
                ("zoo dqn (reference)", lambda n=n: probe(zoo, n_repetitions=n)),
                ("SB3 DQN object", lambda n=n: probe(sb3, "pavlovian", n_repetitions=n)),
                ("SB3 DQN .zip, loaded once", lambda n=n: probe(loaded, n_repetitions=n)),
                ("SB3 DQN .zip, each call", lambda n=n: probe(path, "pavlovian",
                                                              n_repetitions=n)),
                ("torch module, hooks", lambda n=n: probe(hooked, n_repetitions=n)),
            ]
            medians = _interleaved_medians([fn for _, fn in rows], repeat)
            for (name, _), t in zip(rows, medians, strict=True):
                print(f"{name:<30}{n:>12}{t * 1e3:>11.2f}{t / medians[0]:>8.2f}")

if __name__ == "__main__":
    main()
