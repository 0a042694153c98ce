"""Wall and CPU seconds of ``neuroalign run``: the default run, its report alone, Steinmetz.

Every measurement runs in a fresh Python process, so that imports count as a user pays
them:

1. ``run``: the default run as typed, ``python -m neuroalign.cli run --out DIR
   --overwrite --quiet`` (no config: the shipped synthetic sessions against every
   shipped Pavlovian agent), wall and CPU (user + system, worker processes included);
2. ``stages``: the same run as a script timing its stages, ``load_inputs``,
   ``compute_all``, ``run_study`` and ``write_report``; ``report`` is the wall time of
   the last, the report alone (tables, figures, HTML);
3. ``steinmetz``: ``python -m neuroalign.cli run steinmetz ...`` (the real sessions of
   ``neuroalign/data/configs/steinmetz.yaml``).

The reference, measured in the same run: with ``--baseline DIR`` (the source tree of
another version, e.g. ``git archive main | tar -x -C DIR``), every measurement runs
on that tree and on this one in turn, and the ratio baseline / this is printed (above
1: this version is faster). Without it, the reference is this tree with ``--workers 1``
(everything in one process): the ratio is what the worker processes gain.

The machine is shared: each number is the median of ``--repeats`` (default 3), printed
with the load average (``os.getloadavg``, 1 minute) at its start. ``--smoke``: the stages
only, of one shipped session against one agent, small ``n_boot``, one repeat (mostly
the imports of two processes). ``--json``: one JSON object. ``--only``: some of ``run``, ``stages``,
``steinmetz``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
#: what the stages script prints, one JSON line
_STAGES = r"""
import json, os, sys, tempfile, time
t0 = time.perf_counter()
from neuroalign.pipeline.config import RunConfig, load_config
from neuroalign.pipeline.run import _single_threaded_blas, artifacts, compute_all, load_inputs
from neuroalign.report import write_report
from neuroalign.study import run_study
config = load_config(sys.argv[1]) if sys.argv[1] != "-" else RunConfig()
workers = None if sys.argv[2] == "-" else int(sys.argv[2])
out, marks = {}, [("imports", time.perf_counter())]
with _single_threaded_blas():
    inputs = load_inputs(config)
    marks.append(("load", time.perf_counter()))
    results = compute_all(config, inputs, workers=workers)
    marks.append(("cells", time.perf_counter()))
    study = run_study(results, **config.study.study_kwargs(ci=config.ci, seed=config.seed))
    marks.append(("study", time.perf_counter()))
    with tempfile.TemporaryDirectory() as folder:
        write_report(folder, results, artifacts(inputs), config, study=study, workers=workers)
    marks.append(("report", time.perf_counter()))
last = t0
for name, at in marks:
    out[name], last = at - last, at
print(json.dumps(out))
"""


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}


def _timed(cmd: list[str], tree: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (this child and its children) of one command, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(tree), cwd=tree, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} (in {tree}) failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def _run_cmd(config: str | None, out: Path, workers: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "neuroalign.cli", "run"]
    cmd += [config] if config else []
    cmd += ["--out", str(out), "--overwrite", "--quiet"]
    return cmd + (["--workers", str(workers)] if workers is not None else [])


def _measure(what: str, tree: Path, config: str | None, workers: int | None,
             scratch: Path) -> dict[str, Any]:
    """One measurement of ``what`` on ``tree``: wall, CPU, load; stage walls for stages."""
    loadavg = os.getloadavg()[0]
    if what == "stages":
        cmd = [sys.executable, "-c", _STAGES, config or "-",
               "-" if workers is None else str(workers)]
        wall, cpu, out = _timed(cmd, tree)
        stages = json.loads(out.strip().splitlines()[-1])
        return {"wall_s": wall, "cpu_s": cpu, "loadavg": loadavg, **stages}
    if workers is not None and "--workers" not in _help(tree):
        raise SystemExit(f"{tree}: `neuroalign run` has no --workers option; pass --baseline")
    wall, cpu, _ = _timed(_run_cmd(config, scratch / "report", workers), tree)
    return {"wall_s": wall, "cpu_s": cpu, "loadavg": loadavg}


_HELP: dict[Path, str] = {}


def _help(tree: Path) -> str:
    if tree not in _HELP:
        _HELP[tree] = _timed([sys.executable, "-m", "neuroalign.cli", "run", "--help"],
                             tree)[2]
    return _HELP[tree]


def _median(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))]
    return {k: statistics.median(float(r[k]) for r in runs) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--smoke", action="store_true", help="a few seconds")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="source tree of the version to compare with")
    parser.add_argument("--only", nargs="+", choices=("run", "stages", "steinmetz"),
                        default=("run", "stages", "steinmetz"))
    args = parser.parse_args()
    if args.baseline is not None and not (args.baseline / "neuroalign").is_dir():
        parser.error(f"--baseline: {args.baseline} holds no neuroalign package")
    repeats = 1 if args.smoke else max(1, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        config: str | None = None
        steinmetz: str | None = "steinmetz"
        only = ("stages",) if args.smoke else args.only
        if args.smoke:  # one session, one agent, one measure, the stages only
            session = HERE / "neuroalign/data/sessions/sub-synthetic-mouse-0_ses-sim-0.nwb"
            config = str(scratch / "smoke.yaml")
            Path(config).write_text(
                f"sources:\n  - path: {session}\nagents:\n  - {{name: dqn, seeds: [0]}}\n"
                "measures: [rsa]\nn_boot: 10\nn_perm: 19\n")
        # (label, tree, workers): the reference first
        if args.baseline is not None:
            versions = [("baseline", args.baseline.resolve(), None), ("this", HERE, None)]
        else:
            versions = [("workers=1", HERE, 1), ("this", HERE, None)]
        table: dict[str, dict[str, dict[str, float]]] = {}
        for what in only:
            cfg = steinmetz if what == "steinmetz" else config
            runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in versions}
            for _ in range(repeats):  # alternate, so that both see the same load
                for label, tree, workers in versions:
                    runs[label].append(_measure(what, tree, cfg, workers, scratch))
            table[what] = {label: _median(r) for label, r in runs.items()}
    ref, this = versions[0][0], "this"
    summary = {what: {**rows, "ratio": {k: rows[ref][k] / rows[this][k]
                                        for k in rows[this] if k != "loadavg"
                                        and rows[this][k] > 0}}
               for what, rows in table.items()}
    if args.json:
        print(json.dumps({"reference": ref, "repeats": repeats, "smoke": args.smoke,
                          "cpus": os.cpu_count(), "results": summary}, indent=1))
        return
    print(f"median of {repeats}; reference: {ref}; ratio = {ref} / this (above 1: faster)")
    for what, rows in summary.items():
        for label in (ref, this):
            vals = rows[label]
            extra = "  ".join(f"{k} {v:.2f}" for k, v in vals.items()
                              if k not in ("wall_s", "cpu_s", "loadavg"))
            print(f"{what:10s} {label:10s} wall {vals['wall_s']:6.2f} s  cpu "
                  f"{vals['cpu_s']:6.2f} s  load average {vals['loadavg']:4.1f}  {extra}")
        ratio = rows["ratio"]
        print(f"{what:10s} {'ratio':10s} " + "  ".join(f"{k} {v:.2f}" for k, v in
                                                        ratio.items()))


if __name__ == "__main__":
    main()
