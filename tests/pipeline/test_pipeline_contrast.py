"""grid: contrast: a Steinmetz session against a contrast-task agent on the matched grid."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neuroalign.core.errors import ConfigError
from neuroalign.io import load_responses
from neuroalign.pipeline.config import default_data_dir, load_config
from neuroalign.pipeline.loaders import (
    load_brain_patterns,
    model_patterns_by_layer,
    stimulus_valence_grid,
    valence_time_grid,
)
from neuroalign.pipeline.run import run_pipeline

NWB = default_data_dir() / "steinmetz" / "nwb" / "steinmetz_s13_Lederberg_2017-12-06.nwb"
SOURCE = {"path": str(NWB), "profile": "steinmetz", "align": "cue", "window": [0.0, 0.4],
          "bin_size": 0.01, "regions": ["PL"]}
AGENT = {"name": "ppo-gru", "task": "contrast", "seeds": [0], "layers": ["trunk.1"]}


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    return load_responses(NWB, profile="steinmetz", align="cue", window=(0.0, 0.4),
                          bin_size=0.01, cache_dir=tmp_path_factory.mktemp("cache"))


def test_responses_carry_the_trials_contrasts(responses):
    with h5py.File(NWB, "r") as f:
        left = f["intervals/trials/contrast_left"][()]
        right = f["intervals/trials/contrast_right"][()]
    rows = responses["trial_id"].values
    assert np.array_equal(responses["contrast_left"].values, left[rows])
    assert np.array_equal(responses["contrast_right"].values, right[rows])


def test_region_geometry_grid_averages_bins_into_steps(responses):
    grid = stimulus_valence_grid(responses, 4)
    assert grid["label"].values.tolist() == [f"{v}:{a}" for v in ("reward", "danger")
                                             for a in (3, 2, 1, 0)]
    # approach a = 0.1 s step 3 - a after the stimulus: the mean of its ten 10 ms bins
    trial = int(grid["trial_id"].values[0, 4])  # first danger trial, approach 3 = step 0
    pos = int(np.flatnonzero(responses["trial_id"].values == trial)[0])
    expect = responses.values[pos, :, 0:10].mean(axis=1)
    assert np.allclose(grid.values[0, 4], expect)
    assert np.allclose(grid.values[0, 7], responses.values[pos, :, 30:40].mean(axis=1))
    assert "time since the stimulus" in grid.attrs["approach_unit"]


def test_agent_geometry_grid_averages_over_contrast_levels():
    (layer,) = model_patterns_by_layer("ppo-gru", "contrast", 0, ["trunk.1"], by="side",
                                       steps=range(4)).values()
    grid = valence_time_grid(layer)
    assert grid.sizes == {"repetition": layer.sizes["repetition"], "condition": 8,
                          "unit": layer.sizes["unit"]}
    cond = (layer["valence"] == -1) & (np.isclose(layer["time_s"], 0.1))
    expect = np.nanmean(layer.values[:, cond.values, :], axis=1)
    # danger at step 1 of 0..3 is approach 2: the 7th condition (reward 3..0, danger 3..0)
    assert grid["label"].values[5] == "danger:2"
    assert np.allclose(grid.values[:, 5], expect)


def test_a_session_and_an_agent_use_every_condition_of_the_grid(tmp_path):
    config = load_config({
        "grid": "contrast", "sources": [SOURCE], "agents": [AGENT], "min_units": 20,
        "measures": ["rsa", "cka", "shape", "geometry"], "n_boot": 0, "n_perm": 0,
        "cache_dir": str(tmp_path / "cache")})
    assert config.contrast_steps() == 4
    result = run_pipeline(config, out=tmp_path / "report", progress=False, figures=False)
    res = result.results
    pair = res[res["kind"] != "geometry"]
    assert set(pair["measure"]) == {"rsa", "cka", "shape"}
    assert (pair["n_conditions"] == 3 * 2 * 4).all()  # side x outcome x 0-0.4 s: all 24
    assert pair["note"].isna().all() or not pair["note"].str.contains("grids differ").any()
    assert np.isfinite(pair["estimate"]).all()
    geometry = res[res["kind"] == "geometry"]
    assert set(geometry["side"]) == {"model", "brain"}
    assert (geometry["n_conditions"] == 2 * 4).all()  # each side's valence x approach grid
    assert set(res.loc[res["side"] != "brain", "task"]) == {"contrast"}
    page = (result.out / "report.html").read_text()
    assert "Verdict" in page
    assert "task each agent learned: ppo-gru (contrast)" in page
    summary = (result.out / "summary.csv").read_text().splitlines()
    assert summary[0].split(",")[:4] == ["region", "best match", "family", "task"]
    assert summary[1].split(",")[3] == "contrast"


def test_missing_conditions_are_named_and_counted(tmp_path):
    patterns = load_brain_patterns({**SOURCE, "regions": None}, grid="contrast",
                                   min_units=20, cache_dir=str(tmp_path))
    assert {da.sizes["condition"] for da in patterns.values()} == {24}
    assert set(patterns.geometry_grids) == set(patterns)
    from neuroalign.core.config import MeasureOptions
    from neuroalign.pipeline.cell import score_cell
    from neuroalign.pipeline.sides import prepare_side

    (layer,) = model_patterns_by_layer("ppo-gru", "contrast", 0, ["trunk.1"], by="side",
                                       steps=range(3)).values()  # 0-0.3 s only
    settings = {"n_boot": 0, "n_perm": 0, "seed": 0, "options": MeasureOptions()}
    rows = score_cell(prepare_side(layer, "model", **settings),
                      prepare_side(patterns["PL"], "brain", **settings), ["rsa"], meta={})
    assert rows[0]["n_conditions"] == 18
    assert "brain-only" in rows[0]["note"] and "side+1.00:danger:0.3s" in rows[0]["note"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"agents": [{"name": "dqn"}]},
     "agents[0].task: got 'pavlovian' (the default) with grid: contrast; expected 'contrast'"),
    ({"n_approach": 3}, "n_approach: got 3 with grid: contrast; expected no n_approach"),
    ({"valences": [1, 0]}, "valences: got [1, 0] with grid: contrast; expected outcomes"),
    ({"sources": [{**SOURCE, "align": "outcome"}]},
     "sources[0].align: got 'outcome' with grid: contrast; expected the stimulus onset"),
    ({"sources": [{**SOURCE, "window": [-0.2, 0.4]}]},
     "sources[0].window: got [-0.2, 0.4) with grid: contrast; expected [0, stop)"),
    ({"sources": [{**SOURCE, "align_offset": 0.3}]},
     "sources[0].align_offset: got 0.3 with grid: contrast; expected 0"),
    ({"sources": [{**SOURCE, "bin_size": 0.03}]},
     "sources[0].bin_size: got 0.03 with grid: contrast; expected a width that divides"),
    ({"contrast_by": "level"}, "contrast_by: got 'level'; expected 'side' or 'diff'"),
])
def test_contrast_config_errors_name_the_field(fields, message):
    with pytest.raises(ConfigError) as err:
        load_config({"grid": "contrast", "sources": [SOURCE], **fields})
    assert message in str(err.value)


def test_default_agents_and_sources_of_the_contrast_grid():
    from neuroalign.pipeline.run import resolve_agents

    config = load_config({"grid": "contrast"})
    agents = resolve_agents(config)
    assert {task for _, _, task, _, _ in agents} == {"contrast"}
    assert {name for name, *_ in agents} >= {"dqn", "ppo", "dqn-gru", "ppo-gru"}
    (source,) = config.resolved_sources()
    assert (source.profile, source.align, source.window) == ("steinmetz", "cue", (0.0, 0.4))
    assert config.contrast_steps() == 4


def test_contrast_agents_need_the_contrast_grid_and_batch_refuses_it():
    with pytest.raises(ConfigError, match=r"agents\[0\].task: got 'contrast' with grid: "
                                          "valence; expected grid: contrast"):
        load_config({"agents": [AGENT]})
    from neuroalign.batch.config import validate_config

    with pytest.raises(ConfigError, match="grid: got 'contrast'; expected 'valence'"):
        validate_config({"grid": "contrast", "agents": ["ppo-gru"], "tasks": ["contrast"],
                         "seeds": [0], "layers": ["trunk.1"], "sources": [SOURCE],
                         "regions": ["PL"], "measures": ["rsa"]})


def test_the_loader_refuses_a_source_not_aligned_to_the_stimulus():
    with pytest.raises(ConfigError, match=r"source .*\.window: got \[-0.1, 0.4\)"):
        load_brain_patterns({**SOURCE, "window": [-0.1, 0.4]}, grid="contrast")
    with pytest.raises(ConfigError, match="grid: got 'time'; expected 'valence' or 'contrast'"):
        load_brain_patterns(SOURCE, grid="time")


def test_h1_names_the_agents_whose_geometry_is_undefined():
    import pandas as pd

    from neuroalign.study.hypotheses import h1_tests

    rng = np.random.default_rng(3)
    rows = []
    for agent, family, centre in (("dqn-gru", "value", 0.3), ("qrdqn", "value", np.nan),
                                  ("ppo-gru", "policy", -0.2), ("ppo", "policy", np.nan)):
        for seed in range(3):
            est = centre + rng.normal(0, 0.05)
            rows.append({"measure": "A", "side": "model", "agent": agent, "family": family,
                         "seed": seed, "layer": "trunk.1", "estimate": est,
                         "ci_low": est - 0.1, "ci_high": est + 0.1, "level": 0.95})
    table = pd.DataFrame(rows)
    got = {t.subject: t for t in h1_tests(table, n_boot=200, level=0.95,
                                          rng=np.random.default_rng(0))}
    finite = table[np.isfinite(table["estimate"])]
    ref = {t.subject: t for t in h1_tests(finite, n_boot=200, level=0.95,
                                          rng=np.random.default_rng(0))}
    value = got["value-learners, trunk.1"]
    # left-out agents change nothing but the note, which names them
    assert value.estimate == pytest.approx(ref["value-learners, trunk.1"].estimate)
    assert any("left out for 3 trained agent(s) of qrdqn" in n for n in value.notes)
    assert not any("left out" in n for n in ref["value-learners, trunk.1"].notes)
    assert any("of ppo" in n for n in got["policy-learners, trunk.1"].notes)
