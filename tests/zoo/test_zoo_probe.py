"""Probing: dims and coords on the contract's grid; NWB export round trip."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neuroalign.core.contracts import condition_coords
from neuroalign.core.errors import OutputExistsError, ValidationError
from neuroalign.zoo import export_nwb, get_task, load_checkpoint, probe


@pytest.fixture(scope="module")
def ppo(tiny_checkpoints):
    return load_checkpoint(tiny_checkpoints["ppo"])


@pytest.fixture(scope="module")
def dqn(tiny_checkpoints):
    return load_checkpoint(tiny_checkpoints["dqn"])


def test_probe_dims_and_condition_coords_match_contract(ppo):
    da = probe(ppo, n_repetitions=4)
    assert da.dims == ("repetition", "condition", "unit")
    assert da.sizes["repetition"] == 4 and da.sizes["condition"] == 12
    expected = condition_coords((1, -1), range(6))
    for key in ("valence", "approach", "label"):
        np.testing.assert_array_equal(da[key].values, expected[key][1])
    assert da["label"].values[0] == "reward:5" and da["label"].values[-1] == "danger:0"
    assert da.dtype == np.float64 and np.isfinite(da.values).all()


def test_probe_units_are_labelled_by_layer_and_head(ppo):
    da = probe(ppo, n_repetitions=2)
    layers, counts = np.unique(da["layer"].values, return_counts=True)
    assert dict(zip(layers, counts, strict=True)) == {
        "trunk.0": 64, "trunk.1": 64, "readout.pi": 2, "readout.v": 1}
    roles = dict(zip(da["layer"].values, da["role"].values, strict=True))
    assert roles == {"trunk.0": "trunk", "trunk.1": "trunk", "readout.pi": "actor",
                     "readout.v": "critic"}
    assert set(da["agent"].values) == {"ppo"} and set(da["family"].values) == {"policy"}
    assert set(da["seed"].values) == {5} and set(da["task"].values) == {"pavlovian"}
    assert da["unit_id"].values[0] == "trunk.0:0" and len(set(da["unit_id"].values)) == 131
    # action probabilities sum to one
    pi = da.sel(unit=da["layer"] == "readout.pi").values
    np.testing.assert_allclose(pi.sum(axis=-1), 1.0, rtol=1e-12)


def test_probe_provenance_attrs(ppo):
    attrs = probe(ppo, n_repetitions=2).attrs
    assert attrs["agent"] == "ppo" and attrs["task"] == "pavlovian" and attrs["seed"] == 5
    assert attrs["family"] == "policy" and attrs["synthetic"] == 0
    assert attrs["checkpoint_hash"] == ppo.checkpoint_hash and attrs["neuroalign_version"]


def test_probe_matches_a_direct_forward_pass(dqn):
    da = probe(dqn, layers=["readout.q"], n_repetitions=3, probe_seed=4)
    inputs = get_task("pavlovian").probe_inputs(3, seed=4)
    q = dqn.net(__import__("torch").as_tensor(inputs.reshape(-1, inputs.shape[-1])))["q"]
    np.testing.assert_allclose(da.values.reshape(-1, 2), q.detach().numpy(), rtol=1e-6)
    assert list(da["layer"].values) == ["readout.q", "readout.q"]


def test_probe_average_is_the_mean_over_repetitions(dqn):
    full = probe(dqn, n_repetitions=5)
    mean = probe(dqn, n_repetitions=5, average=True)
    assert mean.dims == ("condition", "unit")
    np.testing.assert_allclose(mean.values, full.values.mean(axis=0), rtol=1e-12, atol=1e-14)
    assert mean.attrs["agent"] == "dqn" and list(mean["label"].values) == list(full["label"].values)


def test_probe_neutral_and_task_mismatch(dqn):
    da = probe(dqn, n_repetitions=2, include_neutral=True)
    assert da.sizes["condition"] == 18 and da["label"].values[-1] == "neutral:0"
    with pytest.raises(ValidationError, match="trained on 'pavlovian'"):
        probe(dqn, task="gridworld")


def test_probe_netcdf_round_trip(dqn, tmp_path):
    da = probe(dqn, n_repetitions=2)
    da.to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    back = xr.load_dataarray(tmp_path / "a.nc", engine="h5netcdf")
    xr.testing.assert_identical(back, da)


def test_nwb_export_round_trip(dqn, tmp_path):
    from pynwb import NWBHDF5IO

    path = export_nwb(dqn, tmp_path / "dqn.nwb", n_repetitions=3, probe_seed=2, rate=4.0,
                      iti_steps=2)
    da = probe(dqn, n_repetitions=3, probe_seed=2, include_neutral=True)
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        trials = nwb.trials.to_dataframe()
        dff = nwb.processing["ophys"]["DfOverF"]
        assert set(dff.roi_response_series) == {"trunk.0", "trunk.1", "readout.q"}
        series = dff["trunk.1"]
        assert series.rate == 4.0 and series.starting_time == 0.0
        assert series.rois.table.imaging_plane.location == "trunk.1"
        data = series.data[:]
        assert data.shape == (3 * 3 * 8, 64)
    assert list(trials.columns) == ["start_time", "stop_time", "cue_time", "outcome_time",
                                    "trial_type", "valence", "repetition"]
    assert list(trials["trial_type"][:3]) == ["sucrose", "shock", "neutral"]
    assert list(trials["valence"][:3]) == [1, -1, 0]
    np.testing.assert_allclose(trials["outcome_time"] - trials["cue_time"], 1.25)
    np.testing.assert_allclose(trials["stop_time"] - trials["outcome_time"], 0.25)
    # the sample a steps before the outcome is approach a of the probe grid
    for _, row in trials.iterrows():
        for a in range(6):
            sample = round((row["outcome_time"] - a * 0.25) * 4.0)
            cell = da.sel(repetition=row["repetition"])
            cond = (cell["valence"] == row["valence"]) & (cell["approach"] == a)
            expected = cell.isel(condition=np.flatnonzero(cond.values)[0])
            np.testing.assert_allclose(data[sample],
                                       expected.sel(unit=expected["layer"] == "trunk.1").values,
                                       rtol=1e-12)
    with pytest.raises(OutputExistsError, match="exists"):
        export_nwb(dqn, path)


def test_neutral_condition_does_not_change_the_other_cells(dqn):
    with_neutral = probe(dqn, n_repetitions=3, include_neutral=True)
    without = probe(dqn, n_repetitions=3)
    np.testing.assert_array_equal(with_neutral.values[:, :12], without.values)


def test_exported_nwb_reads_back_through_the_recording_loader(dqn, tmp_path):
    from neuroalign import io

    path = export_nwb(dqn, tmp_path / "dqn.nwb", layers=["trunk.1"], n_repetitions=3)
    resp = io.load_responses(path, profile="amygdala", window=(-1.25, 0.25), bin_size=0.25,
                             cache=False)
    assert set(resp["region"].values) == {"trunk.1"}
    grid = io.condition_grid(resp, n_approach=5)
    expected = probe(dqn, layers=["trunk.1"], n_repetitions=3)
    assert list(grid["label"].values) == list(expected["label"].values)
    np.testing.assert_allclose(grid.values, expected.values, rtol=1e-12, atol=1e-14)


def test_an_exported_layer_reads_back_through_a_run_source(dqn, tmp_path):
    from neuroalign.core.errors import NWBFormatError
    from neuroalign.pipeline.config import RunConfig
    from neuroalign.pipeline.loaders import load_brain_patterns

    path = export_nwb(dqn, tmp_path / "dqn.nwb", n_repetitions=3, probe_seed=2, rate=4.0)
    da = probe(dqn, n_repetitions=3, probe_seed=2)
    for layer in ("trunk.1", "readout.q"):
        spec = RunConfig(sources=[{"path": str(path), "imaging_series": layer,
                                   "profile": "amygdala"}]).sources[0]
        brain = load_brain_patterns(spec, min_units=1, cache_dir=str(tmp_path / "c"))
        (patterns,) = brain.values()
        want = da.sel(unit=da["layer"] == layer).mean("repetition")
        labels = [str(x) for x in patterns["label"].values]
        order = [labels.index(str(x)) for x in want["label"].values]
        got = patterns.mean("repetition").values[order]
        assert got.shape == want.shape and got.shape[1] == (dqn.net.hidden
                                                            if layer == "trunk.1" else 2)
        np.testing.assert_allclose(got, want.values, rtol=1e-12, atol=1e-14)
    spec = RunConfig(sources=[{"path": str(path), "imaging_series": "nope",
                               "profile": "amygdala"}]).sources[0]
    with pytest.raises(NWBFormatError, match="imaging series: got 'nope'; expected one of"):
        load_brain_patterns(spec, min_units=1, cache_dir=str(tmp_path / "c"))
