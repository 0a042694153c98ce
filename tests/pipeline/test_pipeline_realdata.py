"""The shipped real-data example: its config, its sessions and what its report says."""

from __future__ import annotations

import numpy as np

from neuroalign.pipeline.config import default_data_dir, load_config
from neuroalign.pipeline.loaders import load_brain_patterns
from neuroalign.pipeline.run import run_pipeline

CONFIG = default_data_dir() / "configs" / "steinmetz.yaml"


def test_steinmetz_config_loads_every_area_of_three_mice(tmp_path):
    config = load_config(CONFIG, {"cache_dir": str(tmp_path / "cache")})
    (source,) = config.resolved_sources()
    assert source.align == "cue" and source.align_offset == 0.32
    patterns = load_brain_patterns(source, n_approach=config.n_approach,
                                   valences=tuple(config.valences), min_units=config.min_units,
                                   cache_dir=config.cache_dir)
    assert len(patterns) == 13
    assert patterns.regions() == ["ACA", "ACB", "BLA", "CP", "ILA", "MOs", "PL", "SNr"]
    mice = {da.attrs["subject"] for da in patterns.values()}
    assert mice == {"Forssmann", "Hench", "Lederberg"}
    bla = patterns["BLA"]
    assert bla.sizes == {"repetition": 95, "condition": 10, "unit": 132}  # 95 punished trials
    assert bla["label"].values.tolist()[:5] == [f"reward:{a}" for a in (4, 3, 2, 1, 0)]
    assert "time since that event, not bins before an outcome" in bla.attrs["approach_unit"]
    assert "anticipatory" in bla.attrs["data_collection"]
    assert np.isfinite(bla.values).all()


def test_steinmetz_report_says_what_the_data_can_show(tmp_path):
    config = load_config(CONFIG, {
        "cache_dir": str(tmp_path / "cache"), "measures": ["rsa"], "n_boot": 0, "n_perm": 0,
        "agents": [{"name": "dqn", "task": "pavlovian", "seeds": [0], "layers": ["trunk.1"]}]})
    result = run_pipeline(config, out=tmp_path / "report", progress=False, figures=False)
    page = (result.out / "report.html").read_text()
    assert "anticipatory differences between trials that will be rewarded" in page
    assert "no wall at the outcome can be measured" in page
    assert "Approach axis: 0.08 s bins counted back from visual_stimulus_time + 0.32 s" in page
    assert set(result.results["region"]) >= {"BLA", "ACB", "CP", "SNr", "PL", "ILA", "MOs"}
