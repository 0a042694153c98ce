"""The results seam: one schema for a run folder and a batch folder, side statistics once
per side, older tables read, typed records."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroalign.core.errors import SourceError, ValidationError
from neuroalign.core.resources import package_data
from neuroalign.core.results import (
    RESULT_COLUMNS,
    BrainKey,
    Estimate,
    ModelKey,
    PairScore,
    SideStatistic,
    pair_row,
    results_table,
    side_row,
)
from neuroalign.study.inputs import read_results

SESSION = package_data("sessions", "sub-synthetic-mouse-0_ses-sim-0.nwb")
SETTINGS = {"n_boot": 20, "n_perm": 19, "seed": 3}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A run's report folder and a batch folder of the same grid."""
    import distributed

    from neuroalign.batch import run_batch, validate_config
    from neuroalign.pipeline import run_pipeline
    from neuroalign.pipeline.config import RunConfig

    tmp = tmp_path_factory.mktemp("seam")
    run_cfg = RunConfig(sources=[{"path": str(SESSION), "regions": ["BLA", "NAc"]}],
                        agents=[{"name": "dqn", "seeds": [0], "layers": ["trunk.1"]},
                                {"name": "ppo", "seeds": [0], "layers": ["trunk.1"]}],
                        measures=["rsa", "geometry"], **SETTINGS)
    run_pipeline(run_cfg, out=tmp / "run", progress=False, figures=False)
    batch_cfg = validate_config(dict(
        agents=["dqn", "ppo"], tasks=["pavlovian"], seeds=[0], layers=["trunk.1"],
        sources=[str(SESSION)], regions=["BLA", "NAc"], measures=["rsa", "geometry"],
        **SETTINGS))
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=":0") as client:
        summary = run_batch(batch_cfg, tmp / "batch", client=client, progress=False)
    assert summary.failed == 0
    return tmp / "run", tmp / "batch"


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["side", "measure", "agent", "layer", "session", "region"]
    return frame.assign(**{k: frame[k].astype(str) for k in keys}).sort_values(
        keys, kind="stable").reset_index(drop=True)


def test_run_and_batch_folders_share_one_schema(folders):
    run_dir, batch_dir = folders
    run, batch = read_results(run_dir), read_results(batch_dir)
    assert list(run.columns) == list(RESULT_COLUMNS)
    assert list(batch.columns) == ["cell_key", "cell_row", *RESULT_COLUMNS, "source"]
    for table in (run, batch):
        assert not table["measure"].str.contains(r"\.").any()  # the side is a column
        assert set(table["side"]) == {"pair", "model", "brain"}
        pairs = table[table["side"] == "pair"]
        assert set(pairs["measure"]) == {"rsa"} and len(pairs) == 2 * 2
        models = table[table["side"] == "model"]
        brains = table[table["side"] == "brain"]
        # geometry: each statistic once per side, keyed by that side (task included)
        assert len(models) == 2 * 8 and len(brains) == 2 * 8
        assert not models.duplicated(["agent", "task", "seed", "layer", "measure"]).any()
        assert not brains.duplicated(["session", "region", "measure"]).any()
        assert models["task"].eq("pavlovian").all() and models["region"].isna().all()
        assert brains["agent"].isna().all() and brains["animal"].notna().all()
        a = table[table["measure"] == "A"]
        assert (a["level"] == 0.95).all() and (a["boot_se"] > 0).all()
        assert (a["n_resamples"] > 0).all()
    # the same numbers, row for row
    r, b = _sorted(run), _sorted(batch)
    for col in ("side", "measure", "agent", "layer", "session", "region"):
        assert r[col].tolist() == b[col].tolist(), col
    for col in ("estimate", "ci_low", "ci_high", "p_value", "boot_se", "level"):
        np.testing.assert_array_equal(r[col].to_numpy(float), b[col].to_numpy(float))


def test_the_study_reads_both_folders_alike(folders):
    from neuroalign.study import run_study

    run_dir, batch_dir = folders
    run = run_study(read_results(run_dir), n_boot=199, seed=1).table
    batch = run_study(read_results(batch_dir), n_boot=199, seed=1).table
    pd.testing.assert_frame_equal(run, batch)
    assert {"H1", "H2", "H3"} <= set(run["hypothesis"])


def _legacy(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` in the layout of earlier versions: side statistics on every pair,
    named ``A.brain`` / ``A.model``, no level, boot_se or n_resamples."""
    pairs = table[table["side"] == "pair"]
    rows = []
    for _, pair in pairs.iterrows():
        rows.append(pair.to_dict())
        for side, keys in (("model", ("agent", "task", "seed", "layer")),
                           ("brain", ("session", "region"))):
            own = table[(table["side"] == side)]
            for key in keys:
                own = own[own[key].astype(str) == str(pair[key])]
            for _, stat in own.iterrows():
                rows.append({**stat.to_dict(), **{k: pair[k] for k in (
                    "agent", "family", "task", "seed", "layer", "animal", "session",
                    "region")}, "measure": f"{stat['measure']}.{side}"})
    return pd.DataFrame(rows).drop(columns=["level", "boot_se", "n_resamples"])


def test_an_older_folder_is_read_once_per_side_at_its_recorded_level(folders, tmp_path):
    run_dir, _ = folders
    current = read_results(run_dir)
    old = tmp_path / "old"
    old.mkdir()
    _legacy(current).to_parquet(old / "results.parquet")
    (old / "config.yaml").write_text((run_dir / "config.yaml").read_text())
    got = read_results(old)
    assert len(got) == len(current)
    assert (got["level"] == 0.95).all()
    assert "read as 95% intervals" in got.attrs["notes"][0]
    assert "level recorded in the run's config" in got.attrs["notes"][0]
    r = _sorted(current)
    g = _sorted(got)
    for col in ("side", "measure", "agent", "session", "region"):
        assert r[col].tolist() == g[col].tolist(), col
    np.testing.assert_array_equal(r["estimate"].to_numpy(float), g["estimate"].to_numpy(float))
    # without a config: the default level, said so
    (old / "config.yaml").unlink()
    assert "the default ci" in read_results(old).attrs["notes"][0]


def test_bad_tables_and_folders_are_refused(tmp_path):
    with pytest.raises(ValidationError, match=r"results: missing columns \['measure'"):
        results_table(pd.DataFrame({"x": [1]}))
    table = pd.DataFrame([{k: None for k in RESULT_COLUMNS}]).assign(
        measure="rsa", estimate=0.1, side="left")
    with pytest.raises(ValidationError, match=r"results\.side: got \['left'\]; expected"):
        results_table(table)
    with pytest.raises(SourceError, match=r"holds neither batch\.json"):
        read_results(tmp_path)


def test_records_are_frozen_and_rows_are_built_from_them():
    est = Estimate(0.4, ci_low=0.1, ci_high=0.7, level=0.9, boot_se=0.18, p_value=0.02, n=12,
                   n_resamples=200, method="bootstrap")
    model, brain = ModelKey("dqn", "value", "pavlovian", 0, "trunk.1"), BrainKey("m1", "s1",
                                                                                "BLA")
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.value = 0.5  # type: ignore[misc]
    row = pair_row(PairScore(model, brain, "rsa", "similarity", True, est, 0.5, 0.6, 12),
                   n_boot=200, n_perm=0, rng_seed=1)
    assert list(row) == list(RESULT_COLUMNS)
    assert (row["side"], row["level"], row["boot_se"], row["region"]) == ("pair", 0.9, 0.18,
                                                                          "BLA")
    side = side_row(SideStatistic("brain", brain, "A", est, n_units=40, n_rep=30),
                    n_boot=200, n_perm=0, rng_seed=1)
    assert (side["measure"], side["side"], side["agent"], side["n_units_brain"]) == (
        "A", "brain", None, 40)
    assert side["n_units_model"] is None and math.isnan(side["ceiling_low"])
    undefined = Estimate.undefined("no change along the approach", n=3)
    assert math.isnan(undefined.value) and undefined.note == "no change along the approach"


def test_the_run_writes_what_it_reads(folders):
    run_dir, _ = folders
    raw = pd.read_parquet(Path(run_dir) / "results.parquet")
    assert list(raw.columns) == list(RESULT_COLUMNS)
