"""Foreign agents: any torch module by layer name, precomputed activations files."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn
from typer.testing import CliRunner

import neuroalign
from neuroalign.cli import app
from neuroalign.core.errors import DataError, ValidationError
from neuroalign.zoo import get_task, load_checkpoint, probe
from neuroalign.zoo.foreign import TorchAgent, read_activations


@pytest.fixture(scope="module")
def dqn(tiny_checkpoints):
    return load_checkpoint(tiny_checkpoints["dqn"])


@pytest.fixture(scope="module")
def ppo(tiny_checkpoints):
    return load_checkpoint(tiny_checkpoints["ppo"])


# --- any torch module --------------------------------------------------------------------


def test_hook_probe_of_a_zoo_network_equals_the_zoo_probe(dqn):
    hooked = TorchAgent(dqn.net, "pavlovian", layers=["trunk_act.0", "trunk_act.1", "heads.q"],
                        forward=lambda m, x: m(x)["q"], name="dqn", family="value", seed=5)
    a = probe(hooked, n_repetitions=4, probe_seed=2)
    b = probe(dqn, n_repetitions=4, probe_seed=2)
    assert a.shape == b.shape == (4, 12, 64 + 64 + 2)
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a["action"].values, b["action"].values)
    np.testing.assert_array_equal(a["label"].values, b["label"].values)
    assert list(dict.fromkeys(a["layer"].values)) == ["trunk_act.0", "trunk_act.1", "heads.q"]
    assert set(a["family"].values) == {"value"} and a.attrs["source"] == "torch.nn.Module"


def test_hook_probe_of_a_policy_network_with_an_act_callable(ppo):
    def act(obs):
        return ppo.act(obs)

    hooked = TorchAgent(ppo.net, "pavlovian", layers=["trunk_act.1", "heads.v"], act=act,
                        family="policy")
    a = probe(hooked, n_repetitions=3)
    b = probe(ppo, layers=["trunk.1", "readout.v"], n_repetitions=3)
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a["action"].values, b["action"].values)


def test_any_module_by_name_and_the_default_action_rule():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 2))
    da = neuroalign.probe(net, "pavlovian", layers=["1", "2"], n_repetitions=2, probe_seed=3)
    obs = get_task("pavlovian").probe_inputs(2, seed=3)
    ref = copy.deepcopy(net).double()  # probes run a float64 copy of the weights
    with torch.no_grad():
        t = torch.as_tensor(obs.reshape(-1, 10)).double()
        hidden, out = torch.relu(ref[0](t)), ref(t)
    np.testing.assert_allclose(da.sel(unit=da["layer"] == "1").values.reshape(-1, 8),
                               hidden.numpy(), rtol=0, atol=0)
    np.testing.assert_array_equal(da["action"].values.reshape(-1), out.argmax(-1).numpy())
    assert set(da["agent"].values) == {"torch-module"} and set(da["family"].values) == {"other"}
    assert net.training  # the module's mode is restored


def test_torch_module_errors():
    net = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 2))
    with pytest.raises(ValidationError, match=r"layers: got unknown \['3'\]; .*modules "
                       r"\['0', '1', '2'\]"):
        probe(net, "pavlovian", layers=["3"])
    act = nn.Tanh()
    shared = nn.Sequential(nn.Linear(10, 10), act, nn.Linear(10, 2))
    shared.add_module("again", act)
    twice = TorchAgent(shared, "pavlovian", forward=lambda m, x: m[3](m[2](m[1](m[0](x)))))
    with pytest.raises(ValidationError, match=r"module '1' ran 2 times in one forward pass"):
        probe(twice, layers=["1"], n_repetitions=1)
    with pytest.raises(ValidationError, match=r"family: got 'values'; expected one of "
                       r"'value', 'policy', 'other'"):
        TorchAgent(net, "pavlovian", family="values")
    with pytest.raises(ValidationError, match=r"task: required for an SB3 model or a torch"):
        probe(net)


# --- activations files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def probed_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("acts") / "dqn.nc"
    result = CliRunner().invoke(app, ["zoo", "probe", "dqn", "--task", "pavlovian", "--seed",
                                      "0", "--out", str(out), "--repetitions", "4"])
    assert result.exit_code == 0, result.output
    return out


def test_activations_file_reads_back_as_the_zoo_agent(probed_file):
    got = probe(probed_file, name="dqn-file", family="value")
    ref = probe("dqn", "pavlovian", 0, n_repetitions=4, train_if_missing=False)
    np.testing.assert_array_equal(got.values, ref.values)
    for key in ("label", "valence", "approach", "layer", "role", "unit_id", "seed", "task"):
        np.testing.assert_array_equal(got[key].values, ref[key].values)
    assert set(got["agent"].values) == {"dqn-file"} and got.attrs["activations_sha256"]
    assert probe(probed_file, layers=["readout.q"], average=True).dims == ("condition", "unit")


def _write(da: xr.DataArray, path) -> str:
    da.to_netcdf(path, engine="h5netcdf")
    return str(path)


def test_activations_file_problems_in_one_line(probed_file, tmp_path):
    da = xr.open_dataarray(probed_file, engine="h5netcdf").load()
    cases = {
        "dims": (da.transpose("unit", "condition", "repetition"),
                 r"dims \('unit', 'condition', 'repetition'\), expected"),
        "missing": (da.isel(condition=slice(1, None)), r"missing conditions \['reward:5'\]"),
        "extra": (xr.concat([da, da.isel(condition=[0]).assign_coords(
            label=("condition", ["danger:9"]), approach=("condition", [9]),
            valence=("condition", [-1]))], "condition"), r"extra conditions \['danger:9'\]"),
        "mismatch": (da.assign_coords(label=("condition", np.roll(da["label"].values, 1))),
                     r"labels not matching valence/approach: 'danger:0' at valence 1, "
                     r"approach 5"),
        "layer": (da.drop_vars("layer"), r"no 'layer' coord on unit"),
    }
    for name, (bad, match) in cases.items():
        path = _write(bad, tmp_path / f"{name}.nc")
        with pytest.raises(DataError, match=match) as info:
            read_activations(path)
        assert "\n" not in str(info.value) and path in str(info.value)
    with pytest.raises(ValidationError, match=r"layers: got unknown \['trunk.9'\]"):
        read_activations(probed_file, layers=["trunk.9"])
    with pytest.raises(DataError, match=r"not a readable netCDF file"):
        read_activations(_write_text(tmp_path / "x.nc"))


def _write_text(path) -> str:
    path.write_text("not netcdf")
    return str(path)


def test_an_activations_file_of_another_task_is_refused(probed_file):
    with pytest.raises(DataError, match=r"holds activations on task 'pavlovian'; expected "
                       r"'gridworld' \(the task given\)"):
        read_activations(probed_file, task="gridworld")


# --- an NWB file exported by `neuroalign zoo export-nwb` -----------------------------------


@pytest.fixture(scope="module")
def exported_nwb(dqn, tmp_path_factory):
    from neuroalign.zoo import export_nwb

    return export_nwb(dqn, tmp_path_factory.mktemp("nwb") / "dqn.nwb", n_repetitions=4,
                      probe_seed=2, include_neutral=False)


def test_an_exported_nwb_reads_back_as_the_zoo_agent(dqn, exported_nwb):
    from neuroalign.geometry import valence_geometry

    direct = probe(dqn, n_repetitions=4, probe_seed=2)
    back = probe(exported_nwb, "pavlovian")
    assert back.dims == direct.dims and back.shape == direct.shape
    np.testing.assert_array_equal(back["label"].values, direct["label"].values)
    for coord in ("unit_id", "layer", "role", "agent", "seed", "family", "task"):
        np.testing.assert_array_equal(back[coord].values, direct[coord].values)
    np.testing.assert_allclose(back.values, direct.values, rtol=0, atol=1e-12)
    assert back.attrs["activations_file"] == str(exported_nwb)
    a = valence_geometry(direct, distance="euclidean", n_boot=20, n_perm=20, seed=1)
    b = valence_geometry(back, distance="euclidean", n_boot=20, n_perm=20, seed=1)
    ea = {r.measure: r.estimate for r in a.rows}
    eb = {r.measure: r.estimate for r in b.rows}
    assert ea.keys() == eb.keys() and ea
    np.testing.assert_allclose([eb[k] for k in ea], list(ea.values()), rtol=0, atol=1e-12)
    layer = read_activations(exported_nwb, layers=["readout.q"], average=True)
    np.testing.assert_allclose(layer.values, direct.mean("repetition").sel(
        unit=direct["layer"] == "readout.q").values, rtol=0, atol=1e-12)


def test_an_exported_nwb_with_neutral_trials_and_a_wrong_task(dqn, tmp_path):
    from neuroalign.zoo import export_nwb

    path = export_nwb(dqn, tmp_path / "n.nwb", n_repetitions=2, probe_seed=1)
    back = read_activations(path)
    direct = probe(dqn, n_repetitions=2, probe_seed=1, include_neutral=True)
    np.testing.assert_allclose(back.values, direct.values, rtol=0, atol=1e-12)
    assert back.sizes["condition"] == 18
    # probe() returns the grid include_neutral asks for, as for the zoo agent itself
    for neutral in (False, True):
        a = probe(path, "pavlovian", include_neutral=neutral)
        b = probe(dqn, n_repetitions=2, probe_seed=1, include_neutral=neutral)
        np.testing.assert_array_equal(a["label"].values, b["label"].values)
        np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-12)
    no_neutral = export_nwb(dqn, tmp_path / "nn.nwb", n_repetitions=2, include_neutral=False)
    with pytest.raises(DataError, match=r"nn\.nwb'?: holds no neutral conditions; expected "
                                         r"them \(include_neutral\)"):
        probe(no_neutral, "pavlovian", include_neutral=True)
    with pytest.raises(DataError, match=r"holds activations on task 'pavlovian'; expected "
                                         r"'gridworld'"):
        read_activations(path, "gridworld")


def test_an_nwb_without_the_exported_trials_is_refused(dqn, tmp_path):
    import h5py

    from neuroalign.zoo import export_nwb

    path = export_nwb(dqn, tmp_path / "t.nwb", n_repetitions=2, include_neutral=False)
    with h5py.File(path, "a") as h5:
        del h5["intervals/trials/repetition"]
        cols = [c for c in h5["intervals/trials"].attrs["colnames"] if c != "repetition"]
        h5["intervals/trials"].attrs["colnames"] = cols
    with pytest.raises(DataError, match=r"t\.nwb.*trials table lacks \['repetition'\]"):
        read_activations(path)
