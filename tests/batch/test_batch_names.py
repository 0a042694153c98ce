"""Layer and region names are checked once, before any cell is scheduled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import batch_cells as bc
import pytest

from neuroalign.batch import plan_batch, run_batch, validate_config
from neuroalign.core.errors import ConfigError
from neuroalign.core.resources import package_data

SESSIONS = package_data("sessions")
SESSION = SESSIONS / "sub-synthetic-mouse-0_ses-sim-0.nwb"


def _raw(**kw: object) -> dict:
    base = dict(agents=["dqn", "ppo"], tasks=["pavlovian"], seeds=[0], layers=["trunk.1"],
                sources=[str(SESSIONS / "*.nwb")], regions=["BLA", "NAc"], measures=["cka"],
                n_boot=0, n_perm=0)
    base.update(kw)
    return base


def test_unknown_region_is_one_error_naming_the_held_regions(tmp_path: Path) -> None:
    cfg = validate_config(_raw(regions=["BLA", "BLAA", "VTA"]))
    with pytest.raises(ConfigError) as info:
        plan_batch(cfg)
    assert str(info.value) == ("regions: unknown ['BLAA', 'VTA']; the sources hold "
                               "['BLA', 'NAc', 'mPFC']")
    # nothing is scheduled and no batch folder is made
    with pytest.raises(ConfigError, match=r"regions: unknown \['BLAA', 'VTA'\]"):
        run_batch(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_unknown_layer_names_the_agent_and_the_probed_layers() -> None:
    with pytest.raises(ConfigError) as info:
        plan_batch(validate_config(_raw(layers=["trunk.1", "trunk.7"])))
    assert str(info.value) == ("layers: unknown ['trunk.7'] for agent 'dqn' on task "
                               "'pavlovian'; the probe returns ['trunk.0', 'trunk.1', "
                               "'readout.q']")
    # a layer of one agent only is unknown for the other
    with pytest.raises(ConfigError, match=r"layers: unknown \['readout\.q'\] for agent 'ppo' "
                                          r"on task 'pavlovian'; the probe returns "
                                          r"\['trunk\.0', 'trunk\.1', 'readout\.pi', "
                                          r"'readout\.v'\]"):
        plan_batch(validate_config(_raw(layers=["trunk.1", "readout.q"])))
    cells, _ = plan_batch(validate_config(_raw(agents=["dqn"], layers=["trunk.0", "readout.q"])))
    assert {c.layer for c in cells} == {"trunk.0", "readout.q"}


def test_unreadable_and_missing_sources_are_left_to_their_cells(tmp_path: Path) -> None:
    trunc = tmp_path / "trunc.nwb"
    trunc.write_bytes(SESSION.read_bytes()[:300_000])
    gone = tmp_path / "gone.nwb"
    # no readable source: the names cannot be checked, the cells report the files
    cells, _ = plan_batch(validate_config(_raw(sources=[str(trunc), str(gone)],
                                               regions=["BLAA"])))
    assert len(cells) == 2 * 2
    # one readable source is enough to catch the typo
    with pytest.raises(ConfigError, match=r"regions: unknown \['BLAA'\]; the sources hold"):
        plan_batch(validate_config(_raw(sources=[str(SESSION), str(trunc), str(gone)],
                                        regions=["BLAA"])))


def test_custom_loaders_are_not_checked(tmp_path: Path) -> None:
    bc.write_source(tmp_path / "s1.npz", {"A": 5}, seed=1)
    cfg = validate_config(dict(agents=["a"], tasks=["t"], seeds=[0], layers=["anything"],
                               sources=[str(tmp_path / "s1.npz")], regions=["nowhere"],
                               measures=["plain"], engine=bc.engine()))
    cells, _ = plan_batch(cfg)
    assert [(c.layer, c.region) for c in cells] == [("anything", "nowhere")]


def test_command_line_typo_exits_2_before_running(tmp_path: Path) -> None:
    text = package_data("configs", "batch-small.yaml").read_text()
    assert "regions: [BLA, NAc]" in text and "../sessions/*.nwb" in text
    cfg = tmp_path / "copy.yaml"
    cfg.write_text(text.replace("regions: [BLA, NAc]", "regions: [BLAA]")
                   .replace("../sessions/*.nwb", str(SESSIONS / "*.nwb")))
    proc = subprocess.run([sys.executable, "-m", "neuroalign.cli", "batch", str(cfg),
                           "--out", str(tmp_path / "b1")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert ("error: regions: unknown ['BLAA']; the sources hold ['BLA', 'NAc', 'mPFC']"
            in " ".join(proc.stderr.split()))
    assert not (tmp_path / "b1").exists()
