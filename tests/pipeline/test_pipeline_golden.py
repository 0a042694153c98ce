"""Every number of a small default-data run equals the committed golden file.

A change of a result is deliberate: explain it and regenerate the file with
``python tests/data/golden/make_golden.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "golden"


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
    for col in maker.NUMBERS:
        a = got[col].to_numpy(dtype=float)
        b = golden[col].to_numpy(dtype=float)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=col)
