"""Fixtures of the pipeline tests."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pipeline_fakes


@pytest.fixture(scope="session")
def no_valence_nwb(tmp_path_factory) -> Path:
    """A small NWB file with units and trials but no column that says valence."""
    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile(session_description="no valence", identifier="no-valence",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device("probe")
    group = nwb.create_electrode_group("shank", description="", location="BLA", device=device)
    for _ in range(3):
        nwb.add_electrode(group=group, location="BLA")
    rng = np.random.default_rng(0)
    for i in range(3):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 100, 300)), electrodes=[i])
    nwb.add_trial_column("stimulus", "which light")
    for t in range(10):
        nwb.add_trial(start_time=t * 9.0, stop_time=t * 9.0 + 5, stimulus="left")
    path = tmp_path_factory.mktemp("nwb") / "no_valence.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return path
