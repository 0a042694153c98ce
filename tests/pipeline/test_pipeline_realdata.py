"""The shipped real-data example: its config, its sessions and what its report says."""

from __future__ import annotations

import numpy as np

from neuroalign.pipeline.config import default_data_dir, load_config
from neuroalign.pipeline.loaders import load_brain_patterns
from neuroalign.pipeline.run import resolve_agents, run_pipeline

CONFIG = default_data_dir() / "configs" / "steinmetz.yaml"


def test_steinmetz_config_loads_every_area_of_three_mice(tmp_path):
    config = load_config(CONFIG, {"cache_dir": str(tmp_path / "cache")})
    (source,) = config.resolved_sources()
    assert source.align == "cue" and source.window == (0.0, 0.4) and source.align_offset == 0
    assert (config.grid, config.contrast_by, config.contrast_steps()) == ("contrast", "side", 4)
    # the agents learned the mice's task: feedforward and recurrent, seeds 0-2
    agents = resolve_agents(config)
    assert {task for _, _, task, _, _ in agents} == {"contrast"}
    assert len({name for name, *_ in agents}) == 10 and len(agents) == 30
    assert {name for name, *_ in agents} >= {"ppo", "ppo-gru", "dqn", "dqn-gru"}
    patterns = load_brain_patterns(source, cache_dir=config.cache_dir, **config.brain_options())
    assert len(patterns) == 13
    assert patterns.regions() == ["ACA", "ACB", "BLA", "CP", "ILA", "MOs", "PL", "SNr"]
    mice = {da.attrs["subject"] for da in patterns.values()}
    assert mice == {"Forssmann", "Hench", "Lederberg"}
    bla = patterns["BLA"]
    assert bla.sizes == {"repetition": 21, "condition": 24, "unit": 132}
    assert bla["label"].values.tolist()[:2] == ["side-1.00:reward:0s", "side-1.00:reward:0.1s"]
    # the region's geometry is on its own valence x approach grid: every punished trial
    geometry = patterns.geometry_grids[next(k for k in patterns if k[1] == "BLA")]
    assert geometry.sizes == {"repetition": 95, "condition": 8, "unit": 132}
    assert "time since the stimulus, not steps to an outcome" in bla.attrs["approach_unit"]
    assert "anticipatory" in bla.attrs["data_collection"]
    assert np.isfinite(bla.values).all() and np.isfinite(geometry.values).all()


def test_steinmetz_report_says_what_the_data_can_show(tmp_path):
    config = load_config(CONFIG, {
        "cache_dir": str(tmp_path / "cache"), "measures": ["rsa"], "n_boot": 0, "n_perm": 0,
        "agents": [{"name": "dqn", "task": "contrast", "seeds": [0], "layers": ["trunk.1"]}]})
    result = run_pipeline(config, out=tmp_path / "report", progress=False, figures=False)
    page = (result.out / "report.html").read_text()
    assert "anticipatory differences between trials that will be rewarded" in page
    assert "no wall at the outcome can be measured" in page
    assert "Approach axis: 0.1 s steps after stimulus onset counted back" in page
    assert "task each agent learned: dqn (contrast)" in page
    assert set(result.results["region"]) >= {"BLA", "ACB", "CP", "SNr", "PL", "ILA", "MOs"}
    assert (result.results["n_conditions"] == 24).all()
