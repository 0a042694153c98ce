"""Fixtures of the io tests: NWB files built in code, an isolated cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from io_builders import amygdala_trials, poisson_spikes, write_ephys


@pytest.fixture
def ephys_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``ephys_file(name, **write_ephys kwargs)`` -> path in tmp_path."""

    def make(name: str = "session.nwb", **kwargs: Any) -> Path:
        return write_ephys(tmp_path / name, **kwargs)

    return make


@pytest.fixture
def amygdala_file(tmp_path: Path) -> Path:
    """A small amygdala-layout session: 5 units, 12 trials, regions on electrodes."""
    rng = np.random.default_rng(0)
    trials = amygdala_trials()
    spikes = poisson_spikes(rng, 5, 90.0)
    return write_ephys(
        tmp_path / "amygdala.nwb", spikes=spikes, trials=trials,
        electrode_locations=["BLA", "BLA", "CeA", "CeA"],
        unit_electrodes=[[0], [1], [2], [3], [2, 3]],
    )


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every cache write of the io tests inside the test's tmp folder."""
    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))
