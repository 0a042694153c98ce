"""The suite fails, never skips, when the package, a dependency or shipped data is absent."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _required_imports() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    assert block is not None
    names = re.findall(r'"([A-Za-z0-9_.\-]+)', block.group(1))
    # distribution name -> import name where they differ
    renames = {"scikit-learn": "sklearn", "pyyaml": "yaml", "dask": "distributed"}
    return {renames.get(n.lower(), n.lower().replace("-", "_")) for n in names} | {"dask"}


def test_no_skip_on_own_modules_required_dependencies_or_shipped_data():
    required = _required_imports()
    assert {"numpy", "torch", "xarray", "numba", "distributed", "pynwb"} <= required
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text()
        for name in re.findall(r"importorskip\(\s*[\"']([\w.]+)", text):
            if name.split(".")[0] in required | {"neuroalign"}:
                offenders.append(f"{path.relative_to(ROOT)}: importorskip({name!r})")
        for line in re.findall(r".*(?:skipif|pytest\.skip)\(.*", text):
            if re.search(r"data|session|zoo|numba|not built", line, re.I):
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert offenders == []
