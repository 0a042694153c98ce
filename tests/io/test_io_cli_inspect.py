"""``neuroalign inspect`` on a file whose layout matches no profile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from io_builders import poisson_spikes
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.io import inspect_source


def test_inspect_without_a_profile_says_how_to_import(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file("plain.nwb", spikes=poisson_spikes(np.random.default_rng(1), 3, 30.0),
                      trials={"start_time": [1.0, 5.0], "stop_time": [2.0, 6.0]})
    assert inspect_source(path)["profile"] is None
    result = CliRunner().invoke(app, ["inspect", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "profile: None" not in flat
    assert "profile: none detected (" in flat
    assert "--profile generic --mapping '{column: {value: valence}}'" in flat
