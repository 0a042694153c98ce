"""All comparison-engine benchmarks, measures then inference, against rsatoolbox.

    python benchmarks/bench_compare.py [--quick] [--smoke]

Runs ``bench_compare_measures.py`` (crossnobis, tau-a) and
``bench_compare_inference.py`` (bootstrap model evaluation, CKA permutation null)
one after the other, each in its own process so that their thread settings do not
interfere, and passes ``--quick`` (or ``--smoke``: tiny sizes, a few seconds) on to
both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    extra = [arg for arg in sys.argv[1:] if arg in ("--quick", "--smoke")]
    status = 0
    for script in ("bench_compare_measures.py", "bench_compare_inference.py"):
        print(f"== {script} {' '.join(extra)}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *extra])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
