"""Every number of a small default-data run equals the committed golden file.

A change of a result is deliberate: explain it and regenerate the file with
``python tests/data/golden/make_golden.py``.

The file holds on any CPU, not only on the machine that wrote it: the recordings are
read and compared in float64, and the agents are probed in float64 on an exact
up-cast of their float32 weights (:data:`neuroalign.zoo.networks.PROBE_DTYPE`), so
machines differ only by float64 rounding in their BLAS and vectorised math kernels
(~1e-16 relative per operation). Float32 probing differed by up to 2e-5 relative
between CPUs, which no tolerance below could tell from a regression.

Deliberate changes: the 27 rows of the one-unit layer ``readout.v`` (PPO's value head)
are NaN in ``estimate``, ``ci_low``, ``ci_high`` (and ``p_value``, ``ceiling_low``,
``ceiling_high`` where they were numbers), because a side with one unit gives no
measure (:mod:`neuroalign.core.degenerate`); every other row is unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "golden"

#: float64 rounding of one machine against another, accumulated over the pipeline:
#: this job under other kernels (ATEN_CPU_CAPABILITY=default, MKL and oneDNN at SSE4,
#: OpenBLAS Haswell) moved no number by more than 6e-13 relative or 1.2e-12 absolute;
#: 1e-9 leaves a margin of 1e3 and fails on any change of a float32 step (~1e-7 and up)
_ROUNDING = (1e-9, 1e-12)
#: column -> (rtol, atol, why)
TOLERANCE: dict[str, tuple[float, float, str]] = {
    "estimate": (*_ROUNDING, "a smooth function of float64 activations and recordings; "
                             "atol for values at 0 (a constant layer's S, a null A)"),
    "ci_low": (*_ROUNDING, "a percentile of bootstrap estimates: order statistics "
                           "interpolated, continuous in the estimates"),
    "ci_high": (*_ROUNDING, "as ci_low"),
    "p_value": (0.0, 0.0, "(1 + k) / (1 + n): a count of null values at least as extreme, "
                          "where values within 1e-10 of the observation count as ties, so "
                          "round-off cannot move it: exact"),
    "ceiling_low": (*_ROUNDING, "brain side only, float64 split halves: as estimate"),
    "ceiling_high": (*_ROUNDING, "as ceiling_low"),
    "n_conditions": (0.0, 0.0, "a count: exact"),
    "n_units_model": (0.0, 0.0, "a count: exact"),
    "n_units_brain": (0.0, 0.0, "a count: exact"),
}


def _maker():
    spec = importlib.util.spec_from_file_location("make_golden",
                                                  GOLDEN_DIR / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_run_reproduces_the_golden_results(tmp_path: Path) -> None:
    maker = _maker()
    golden = pd.read_csv(maker.GOLDEN, dtype={k: str for k in maker.KEYS},
                         keep_default_na=False, na_values={c: [""] for c in maker.NUMBERS})
    got = maker.golden_frame(tmp_path / "report")
    assert list(got.columns) == list(golden.columns)
    # 108 pair rows; geometry once per side: 8 statistics x (3 regions + 2 x 3 agent layers)
    assert len(got) == len(golden) == 143
    for col in maker.KEYS:
        assert got[col].tolist() == golden[col].tolist(), col
    assert set(TOLERANCE) == set(maker.NUMBERS)
    for col, (rtol, atol, _why) in TOLERANCE.items():
        a = got[col].to_numpy(dtype=float)
        b = golden[col].to_numpy(dtype=float)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True, err_msg=col)
