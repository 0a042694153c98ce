"""Benchmark probing a foreign agent against probing a zoo agent of the same size.

Usage::

    python benchmarks/bench_probe.py            # 8 and 64 repetitions, 7 timings each
    python benchmarks/bench_probe.py --smoke    # a few seconds

The zoo agent is an untrained ``dqn`` (two tanh layers of 64 units and a Q head) on the
``pavlovian`` grid; the foreign agents are a Stable-Baselines3 DQN with the same layer
sizes (``net_arch=[64, 64]``, probed as the model object and from its saved ``.zip``) and
the zoo's own network as a plain ``torch.nn.Module`` through forward hooks. Every probe
returns the same layers (two trunk layers and the Q readout) on the same grid, and the
ratio printed is foreign / zoo from medians measured in this run (target <= 2x; the
``.zip`` row includes reading and checking the archive each time).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds")
    args = parser.parse_args(argv)
    reps, repeat = ((4,), 2) if args.smoke else ((8, 64), 7)

    import torch
    from stable_baselines3 import DQN

    from neuroalign.zoo import build_agent, make_env, probe
    from neuroalign.zoo.foreign import TorchAgent

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
        print(f"{'probe':<28}{'repetitions':>12}{'median ms':>11}{'x zoo':>8}")
        for n in reps:
            base = _median_time(lambda n=n: probe(zoo, n_repetitions=n), repeat)
            rows = [("zoo dqn (reference)", base)]
            for name, fn in (
                ("SB3 DQN object", lambda n=n: probe(sb3, "pavlovian", n_repetitions=n)),
                ("SB3 DQN .zip", lambda n=n: probe(path, "pavlovian", n_repetitions=n)),
                ("torch module, hooks", lambda n=n: probe(hooked, n_repetitions=n)),
            ):
                rows.append((name, _median_time(fn, repeat)))
            for name, t in rows:
                print(f"{name:<28}{n:>12}{t * 1e3:>11.2f}{t / base:>8.2f}")


if __name__ == "__main__":
    main()
