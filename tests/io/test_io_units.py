"""Units: bulk spike reading and every region rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO

from neuroalign.core.errors import DataError, NWBFormatError
from neuroalign.io import load_responses, open_nwb, parse_region, read_units
from neuroalign.io import units as units_mod
from neuroalign.io.units import SpikeUnits

SPIKES = [np.array([0.5, 1.0, 2.0]), np.array([0.25]), np.array([3.0, 4.0]), np.array([])]


def _units(path: Path, **kwargs: object) -> SpikeUnits:
    with open_nwb(path) as h5:
        units = read_units(h5, **kwargs)
    assert units is not None
    return units


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"brain_region: ALM; brain_subregion: N/A; cortical_layer: 5", "ALM"),
        ("area: VISp; layer: 4", "VISp"),
        ("hemisphere: left; depth: 300", "left"),
        ("  CA1 ", "CA1"),
        (b"BLA", "BLA"),
        ("", ""),
        ("N/A", ""),
        ("brain_region: N/A", ""),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_parse_region(raw: object, expected: str) -> None:
    assert parse_region(raw) == expected


def test_bulk_read_equals_pynwb(ephys_file: Callable[..., Path]) -> None:
    rng = np.random.default_rng(3)
    spikes = [np.sort(rng.uniform(0, 50, n)) for n in (0, 5, 120, 1, 33)]
    path = ephys_file(spikes=spikes)
    units = _units(path)
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        for i in range(len(spikes)):
            np.testing.assert_array_equal(units.spikes(i), nwb.units.get_unit_spike_times(i))
    np.testing.assert_array_equal(units.offsets, np.cumsum([0, 0, 5, 120, 1, 33]))


def test_rule_named_column_first(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(
        spikes=SPIKES,
        unit_columns={"beryl_location": ["MOs", "", "CA1", "root"],
                      "location": ["xx", "PL", "", ""]},
        electrode_locations=["ILA", "ILA", "ILA", "ILA"], unit_electrodes=[[0], [1], [2], [3]],
    )
    units = _units(path, region_columns=["beryl_location"])
    assert units.region.tolist() == ["MOs", "PL", "CA1", "root"]
    assert units.region_rule.tolist() == [
        "units.beryl_location", "units.location", "units.beryl_location", "units.beryl_location"]
    plain = _units(path)
    assert plain.region.tolist() == ["xx", "PL", "ILA", "ILA"]
    assert plain.region_rule.tolist() == ["units.location", "units.location",
                                          "electrodes.location", "electrodes.location"]


def test_rule_peak_channel_lookup(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(
        spikes=SPIKES, unit_columns={"peak_channel": [3, 0, 2, 1]},
        electrode_locations=["VISp", "CA3", "MOp", "SCs"],
    )
    units = _units(path, region_columns=[("peak_channel", "location")])
    assert units.region.tolist() == ["SCs", "VISp", "MOp", "CA3"]
    assert set(units.region_rule) == {"units.peak_channel->electrodes.location"}


def test_rule_electrodes_ragged_majority(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(
        spikes=SPIKES, electrode_locations=["CeA", "BLA", "BLA", ""],
        unit_electrodes=[[0], [0, 1, 2], [3], [3, 1]],
    )
    units = _units(path)
    assert units.region.tolist() == ["CeA", "BLA", "unknown", "BLA"]
    assert units.region_rule.tolist() == ["electrodes.location"] * 2 + ["none",
                                                                        "electrodes.location"]


def test_rule_electrodes_non_ragged(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=SPIKES, electrode_locations=["CeA", "BLA", "LA", "ITC"],
                      unit_electrodes=[[2], [0], [3], [1]])
    with h5py.File(path, "a") as f:  # older writers: one electrode per unit, no index
        del f["units/electrodes_index"]
    units = _units(path)
    assert units.region.tolist() == ["LA", "CeA", "ITC", "BLA"]
    assert set(units.region_rule) == {"electrodes.location"}


def test_rule_electrode_group_via_units_column(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=SPIKES, unit_groups=True,
                      group_location="brain_region: NAc; hemisphere: right")
    units = _units(path)
    assert units.region.tolist() == ["NAc"] * 4
    assert set(units.region_rule) == {"electrode_group.location"}


def test_rule_electrode_group_via_electrodes(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=SPIKES, electrode_locations=["", "", "", ""],
                      unit_electrodes=[[0], [1], [2], [3]], group_location="VTA")
    units = _units(path)
    assert units.region.tolist() == ["VTA"] * 4
    assert set(units.region_rule) == {"electrode_group.location"}


def test_no_location_anywhere_is_unknown(ephys_file: Callable[..., Path]) -> None:
    units = _units(ephys_file(spikes=SPIKES))
    assert units.region.tolist() == ["unknown"] * 4
    assert set(units.region_rule) == {"none"}


@pytest.fixture(params=["compiled", "numpy"])
def check_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the spike checks with the numba kernel (when installed) and with numpy."""
    if request.param == "numpy":
        monkeypatch.setattr(units_mod, "kernels", lambda: None)
    return str(request.param)


def test_nan_spike_times_name_the_unit(ephys_file: Callable[..., Path],
                                       check_engine: str) -> None:
    spikes = [np.array([1.0, 2.0]), np.array([1.0, np.nan, 3.0])]
    path = ephys_file(spikes=spikes)
    with pytest.raises(DataError, match=r"NaN spike times for unit id 1 \(row 1, 1 NaN\)"):
        _units(path)


def test_unsorted_spikes_sorted_or_refused(ephys_file: Callable[..., Path],
                                           check_engine: str) -> None:
    spikes = [np.array([1.0, 2.0]), np.array([5.0, 3.0, 4.0]), np.array([0.5, 0.1])]
    path = ephys_file(spikes=spikes)
    units = _units(path)
    assert units.n_sorted == 2
    np.testing.assert_array_equal(units.spikes(1), [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(units.spikes(2), [0.1, 0.5])
    with pytest.raises(DataError, match=r"not sorted for unit id 1 \(2 unit\(s\) unsorted\)"):
        _units(path, unsorted="error")


def test_units_without_spike_times(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=SPIKES)
    with h5py.File(path, "a") as f:
        del f["units/spike_times"]
        del f["units/spike_times_index"]
    with pytest.raises(DataError, match=r"units table /units has no spike_times column"):
        _units(path)


def test_no_units_and_no_imaging(ephys_file: Callable[..., Path]) -> None:
    path = ephys_file(spikes=SPIKES, trials={
        "start_time": [1.0, 2.0], "stop_time": [1.5, 2.5], "trial_type": ["sucrose", "shock"],
        "outcome_time": [1.2, 2.2]})
    with h5py.File(path, "a") as f:
        del f["units"]
    with pytest.raises(NWBFormatError, match=r"session\.nwb: no units and no imaging"):
        load_responses(path, profile="amygdala", window=(-0.5, 0.5), cache=False)
