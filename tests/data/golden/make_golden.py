"""Regenerate the golden results of a small default-data run (only on purpose).

    python tests/data/golden/make_golden.py

``tests/pipeline/test_pipeline_golden.py`` reruns the same job and compares every number
of ``results.csv`` with the file written here, so that a refactoring that changes a
result fails until the change is explained and this file is regenerated.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "small-run-results.csv"

#: the job: one shipped session, a value- and a policy-learner, few resamples
CONFIG = {
    "sources": [{"path": "sub-synthetic-mouse-0_ses-sim-0.nwb"}],
    "agents": [{"name": "dqn", "seeds": [0]}, {"name": "ppo", "seeds": [0]}],
    "n_boot": 20,
    "n_perm": 19,
    "n_splits": 5,
    "seed": 7,
}
#: columns that identify a row (empty for the other side of a side statistic), and the
#: numbers compared
KEYS = ["agent", "seed", "layer", "session", "region", "measure", "side"]
NUMBERS = ["estimate", "ci_low", "ci_high", "p_value", "ceiling_low", "ceiling_high",
           "n_conditions", "n_units_model", "n_units_brain"]


def golden_frame(out: Path) -> pd.DataFrame:
    """Run the job into ``out`` and return its sorted results (keys and numbers)."""
    from neuroalign.core.resources import package_data
    from neuroalign.pipeline import run_pipeline
    from neuroalign.pipeline.config import RunConfig

    cfg = dict(CONFIG)
    cfg["sources"] = [{"path": str(package_data("sessions") / s["path"])}
                      for s in CONFIG["sources"]]
    result = run_pipeline(RunConfig(**cfg), out=out, progress=False, figures=False)
    frame = result.results
    cols = [c for c in KEYS + NUMBERS if c in frame.columns]
    frame = frame[cols].copy()
    for key in KEYS:
        frame[key] = frame[key].astype(object).where(frame[key].notna(), "").astype(str)
    return frame.sort_values(KEYS, kind="stable").reset_index(drop=True)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        frame = golden_frame(Path(tmp) / "report")
    frame.to_csv(GOLDEN, index=False, float_format="%.17g")
    print(f"{GOLDEN}: {len(frame)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
