"""The shared configuration pieces: one source spec, one set of measure options, one loader."""

from __future__ import annotations

import pytest

from neuroalign.batch.config import BatchConfig
from neuroalign.batch.config import SourceSpec as BatchSourceSpec
from neuroalign.core.config import (
    DEFAULT_BIN_SIZE,
    DEFAULT_N_APPROACH,
    DEFAULT_WINDOW,
    MeasureOptions,
    SourceSpec,
    config_help,
    read_yaml_mapping,
    validate_model,
)
from neuroalign.core.errors import ConfigError
from neuroalign.pipeline.config import RunConfig
from neuroalign.pipeline.config import SourceSpec as RunSourceSpec


def _batch(**kw: object) -> BatchConfig:
    raw = dict(agents=["dqn"], tasks=["pavlovian"], seeds=[0], layers=["trunk.0"],
               sources=["x.nwb"], regions=["BLA"], measures=["rsa"])
    raw.update(kw)
    return validate_model(BatchConfig, raw)


def test_run_and_batch_share_one_source_spec_with_one_set_of_defaults():
    assert RunSourceSpec is BatchSourceSpec is SourceSpec
    run_src = RunConfig(sources=[{"path": "dandi://1/a.nwb"}]).sources[0]
    batch_src = _batch().sources[0]
    for src in (run_src, batch_src):
        assert (src.profile, src.align, src.window, src.bin_size) == (
            "auto", "outcome", DEFAULT_WINDOW, DEFAULT_BIN_SIZE)
    # the default window holds exactly the bins of the default grid
    assert DEFAULT_WINDOW == (-DEFAULT_N_APPROACH * DEFAULT_BIN_SIZE, DEFAULT_BIN_SIZE)
    assert batch_src.options() == {"profile": "auto", "align": "outcome",
                                   "window": list(DEFAULT_WINDOW), "bin_size": DEFAULT_BIN_SIZE,
                                   "align_offset": 0.0, "region_groups": False}


def test_run_and_batch_share_grid_inference_and_measure_defaults():
    run, batch = RunConfig(), _batch()
    for name in ("n_approach", "valences", "min_units", "n_boot", "n_perm", "seed"):
        assert getattr(run, name) == getattr(batch, name), name
    assert run.measure_options() == batch.options == MeasureOptions()
    assert run.as_dict() == batch.cell_params()["options"] == MeasureOptions().as_dict()


def test_run_and_batch_hand_the_same_measure_options_to_the_cell():
    import numpy as np
    import xarray as xr

    from neuroalign.batch.worker import _prepared, worker_cache
    from neuroalign.core.contracts import condition_coords
    from neuroalign.pipeline.run import RunInputs, prepare_all

    chosen = {"rsa_method": "pearson", "rdm_method": "euclidean", "shape_alpha": 0.5,
              "geometry_w": 2, "geometry_distance": "euclidean", "ci": 0.9, "n_splits": 7}
    run = validate_model(RunConfig, {**chosen, "measures": ["rsa"]})
    batch = _batch(options=chosen)
    brain = xr.DataArray(np.random.default_rng(0).normal(size=(4, 12, 6)),
                         dims=("repetition", "condition", "unit"),
                         coords=condition_coords((1, -1), range(6)))
    inputs = RunInputs(brain={("s", "BLA"): brain}, models={})
    prepare_all(run, inputs)
    from_run = inputs.brain_sides[("s", "BLA")].options
    from_batch = _prepared(worker_cache(), ("s", "BLA"), brain, "brain",
                           batch.cell_params()).options
    assert type(from_run) is type(from_batch) is MeasureOptions
    assert from_run == from_batch == MeasureOptions(**chosen) != MeasureOptions()


def test_bad_measure_options_given_to_a_cell_are_refused_by_field():
    from neuroalign.pipeline.sides import as_measure_options

    with pytest.raises(ConfigError, match=r"^options: rsa_method: got 'tau'; expected "):
        as_measure_options({"rsa_method": "tau"})
    with pytest.raises(ConfigError, match=r"^options: alpha: unknown field; expected one of "):
        as_measure_options({"alpha": 0.5})
    assert as_measure_options(None) == as_measure_options(RunConfig()) == MeasureOptions()


def test_run_options_and_batch_options_are_refused_alike():
    with pytest.raises(ConfigError, match=r"^config: shape_alpha: got 2\.0; expected less "):
        validate_model(RunConfig, {"shape_alpha": 2.0})
    with pytest.raises(ConfigError, match=r"^config: options\.shape_alpha: got 2\.0; expected"):
        _batch(options={"shape_alpha": 2.0})
    # the window must hold the grid in a batch too, before any cell runs
    with pytest.raises(ConfigError, match=r"sources\[0\]\.window: got \[-1\.0, 0\.25\); with "
                                          r"n_approach=5"):
        _batch(sources=[{"path": "x.nwb", "window": [-1.0, 0.25]}])
    with pytest.raises(ConfigError, match=r"n_perm: got 5; expected 0 \(no p-values\)"):
        _batch(n_perm=5)


def test_help_lists_nested_models_with_their_prefix():
    text = config_help(BatchConfig)
    assert "\n  options.rsa_method: RDM comparison" in text
    assert "\n  sources[].window: " in text and "(default [-1.25, 0.25])" in text
    assert "\n  engine.cell: " in text
    # a field is documented once, with its default
    assert text.count("n_perm: ") == 1 and "n_perm: Permutations per p-value (0: none). " \
        "(default 200)" in text


def test_read_yaml_mapping(tmp_path):
    good = tmp_path / "a.yaml"
    good.write_text("n_boot: 10\n")
    assert read_yaml_mapping(good) == {"n_boot": 10}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert read_yaml_mapping(empty) == {}
    with pytest.raises(ConfigError, match=r"^study file .*nope\.yaml: does not exist$"):
        read_yaml_mapping(tmp_path / "nope.yaml", "study file")
    scalar = tmp_path / "s.yaml"
    scalar.write_text("3\n")
    with pytest.raises(ConfigError, match=r"expected a YAML mapping of fields, got int$"):
        read_yaml_mapping(scalar)


def test_validate_model_refuses_a_non_mapping():
    with pytest.raises(ConfigError, match=r"^source: expected a mapping of fields, got list$"):
        validate_model(SourceSpec, ["x.nwb"], "source")  # type: ignore[arg-type]


def test_a_glob_source_names_its_files(tmp_path):
    from neuroalign.pipeline.config import load_config
    from neuroalign.pipeline.loaders import expand_source

    for name in ("b.nwb", "a.nwb", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("sources:\n  - path: '*.nwb'\n")
    (src,) = load_config(cfg_file).sources
    assert src.is_glob and src.path == str(tmp_path / "*.nwb")
    assert expand_source(src) == [str(tmp_path / "a.nwb"), str(tmp_path / "b.nwb")]
    cfg_file.write_text("sources:\n  - path: 'none-*.nwb'\n")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.path: got '.*none-\*\.nwb'; expected "
                                          r"a pattern that matches at least one file"):
        load_config(cfg_file)


def test_null_loader_options_mean_the_defaults():
    src = _batch(sources=[{"path": "x.nwb", "profile": None, "window": None, "align": None,
                           "bin_size": None}]).sources[0]
    assert src == SourceSpec(path="x.nwb")


def test_a_generic_source_runs_in_a_batch_like_in_a_run():
    from neuroalign.batch import run_serial
    from neuroalign.core.resources import package_data
    from neuroalign.pipeline.config import load_config
    from neuroalign.pipeline.loaders import load_brain_patterns

    source = {"path": str(package_data("sessions", "sub-synthetic-mouse-0_ses-sim-0.nwb")),
              "profile": "generic", "regions": ["BLA"],
              "mapping": {"trial_type": {"sucrose": 1, "shock": -1}}}
    table = run_serial(_batch(sources=[source], layers=["trunk.1"], measures=["cka"],
                              n_boot=0, n_perm=0))
    assert table["region"].tolist() == ["BLA"] and table["estimate"].notna().all()
    # the same source spec in a run config loads the same patterns
    (spec,) = load_config({"sources": [source]}).sources
    brain = load_brain_patterns(spec)["BLA"]
    assert int(table["n_units_brain"].iloc[0]) == brain.sizes["unit"]
