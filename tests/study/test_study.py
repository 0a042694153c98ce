"""The study layer: hierarchical bootstrap, correction, p resolution, verdicts, H1-H3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import SourceError, ValidationError
from neuroalign.core.results import results_table
from neuroalign.study import (
    adjust_p,
    bootstrap_p,
    format_p,
    hierarchical_weights,
    pooled_replicates,
    run_study,
    verdict,
)
from neuroalign.study.cli import load_study_input

# --- hierarchical bootstrap ----------------------------------------------------------------


def test_weights_resample_every_level_and_keep_the_design_size():
    animal = ["a", "a", "a", "b", "b", "c"]
    session = ["s1", "s2", "s3", "s4", "s5", "s6"]
    w = hierarchical_weights([animal, session], 500, np.random.default_rng(0))
    assert w.shape == (500, 6) and (w >= 0).all()
    # one replicate draws 3 animals, each with as many sessions as it has
    sizes = {"a": 3, "b": 2, "c": 1}
    per_animal = np.stack([w[:, [i for i, x in enumerate(animal) if x == k]].sum(1)
                           for k in sizes], axis=1)
    assert np.allclose(per_animal % np.array(list(sizes.values())), 0)
    assert np.allclose(per_animal.sum(1) / 3, w.sum(1) / 3)
    assert (w[:, 5] == 0).any() and (w[:, 5] >= 2).any()  # animals are resampled too
    assert np.array_equal(hierarchical_weights([animal, session], 0, None), np.ones((1, 6)))


def test_fixed_top_keeps_every_group():
    agent, seed = ["x", "x", "y", "y"], ["0", "1", "0", "1"]
    w = hierarchical_weights([agent, seed], 200, np.random.default_rng(1), fixed_top=True)
    assert np.allclose(w[:, :2].sum(1), 2) and np.allclose(w[:, 2:].sum(1), 2)


def test_pooled_replicates_weighted_mean_and_missing_cells():
    values = np.array([[1.0, np.nan], [3.0, 5.0]])
    w_r, w_c = np.array([[1.0, 1.0], [2.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 1.0]])
    out = pooled_replicates(values, np.zeros_like(values), w_r, w_c, None)
    assert out[0] == pytest.approx((1 + 3 + 5) / 3) and out[1] == pytest.approx(1.0)


def test_pooled_interval_covers_the_truth_on_planted_sessions():
    """Animals > sessions with a true mean 0.3: the 95% interval covers it >= 90% of the time."""
    from neuroalign.study.hierarchy import se_from_interval

    rng = np.random.default_rng(2)
    cover = 0
    for _ in range(200):
        animal_fx = rng.normal(0.3, 0.1, size=6)
        est = np.repeat(animal_fx, 3) + rng.normal(0, 0.1, size=18)
        se = se_from_interval(est - 0.1, est + 0.1, 0.95)
        w = hierarchical_weights([np.repeat(np.arange(6), 3), np.arange(18)], 400, rng)
        reps = pooled_replicates(est[:, None], se[:, None], w, np.ones((400, 1)), rng)
        low, high = np.quantile(reps, [0.025, 0.975])
        cover += low <= 0.3 <= high
    assert cover / 200 >= 0.9


# --- correction, p resolution, verdict -----------------------------------------------------


def test_holm_matches_its_definition_and_bh_matches_scipy():
    from scipy.stats import false_discovery_control

    p = np.array([0.01, 0.04, 0.03, np.nan, 0.2])
    holm = adjust_p(p, "holm")
    assert np.isnan(holm[3])
    # sorted 0.01, 0.03, 0.04, 0.2 with factors 4, 3, 2, 1, running maximum
    assert holm[[0, 2, 1, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.2])
    bh = adjust_p(p, "bh")
    assert bh[[0, 1, 2, 4]] == pytest.approx(false_discovery_control(p[[0, 1, 2, 4]]))
    with pytest.raises(ValidationError, match="correction: got 'bonf'"):
        adjust_p(p, "bonf")


def test_p_values_are_shown_at_their_resolution():
    assert format_p(2 / 201, 200) == "p <= 0.01"
    assert format_p(0.00995, 200, two_sided=False) == "p = 0.010"
    assert format_p(1 / 201, 200, two_sided=False) == "p <= 0.005"
    assert format_p(0.123456, 999) == "p = 0.123"
    assert format_p(float("nan"), 10) == "p undefined"
    assert bootstrap_p(np.ones(99)) == pytest.approx(2 / 100)
    assert bootstrap_p(np.r_[np.ones(50), -np.ones(50)]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("predicted", "p", "low", "high", "expected"),
    [(1, 0.01, 0.1, 0.5, "supported"), (1, 0.01, -0.5, -0.1, "contradicted"),
     (-1, 0.01, -0.5, -0.1, "supported"), (1, 0.2, 0.1, 0.5, "inconclusive"),
     (1, 0.01, -0.1, 0.5, "inconclusive"), (0, 0.001, 0.1, 0.5, "inconclusive"),
     (1, float("nan"), 0.1, 0.5, "inconclusive")],
)
def test_verdict_rule(predicted, p, low, high, expected):
    assert verdict(predicted, p, low, high) == expected


# --- hypotheses on small results tables ----------------------------------------------------


def _table(region_a: dict[str, float], n_animals: int = 3, n_sessions: int = 2,
           seed: int = 0) -> pd.DataFrame:
    """A results table: brain A per region, model A per agent/seed/layer, RSA per cell."""
    rng = np.random.default_rng(seed)
    rows = []
    agents = {"dqn": "value", "qrdqn": "value", "a2c": "policy", "ppo": "policy"}
    for a in range(n_animals):
        for s in range(n_sessions):
            session = f"m{a}-s{s}"
            for region, mean in region_a.items():
                est = mean + rng.normal(0, 0.05)
                for agent, family in agents.items():
                    for sd in range(3):
                        for layer in ("trunk.0", "readout.x"):
                            common = {"agent": agent, "family": family, "seed": sd,
                                      "layer": layer, "animal": f"m{a}", "session": session,
                                      "region": region}
                            a_model = (0.4 if family == "value" else -0.4) + rng.normal(0, .05)
                            rsa = (0.6 if family == "value" else 0.3) * np.sign(mean or 1)
                            rsa += rng.normal(0, 0.05)
                            for measure, value, half in (("A.brain", est, 0.1),
                                                         ("A.model", a_model, 0.1),
                                                         ("rsa", rsa, 0.1)):
                                rows.append({**common, "measure": measure, "estimate": value,
                                             "ci_low": value - half, "ci_high": value + half,
                                             "ceiling_low": 0.5, "ceiling_high": 0.55,
                                             "p_value": np.nan, "higher_is_similar": True})
    return pd.DataFrame(rows)


def test_planted_table_gives_the_planted_verdicts():
    study = run_study(_table({"W": 0.6, "R": -0.6, "S": 0.0}), n_boot=2000, seed=1)
    h2 = dict(zip(study.verdicts("H2")["subject"], study.verdicts("H2")["verdict"],
                  strict=True))
    assert h2 == {"W": "supported", "R": "contradicted", "S": "inconclusive"}
    h1 = study.verdicts("H1").set_index("subject")["verdict"]
    assert h1["value-learners, trunk.0"] == "supported"
    assert h1["policy-learners, trunk.0"] == "supported"
    assert h1["value - policy, trunk.0"] == "supported"
    h3 = study.verdicts("H3").set_index("subject")
    assert h3.loc["W, RSA, trunk.0", "verdict"] == "supported"  # value-like, as its A says
    assert h3.loc["S, RSA, trunk.0", "verdict"] == "inconclusive"  # no prediction
    assert "no prediction" in h3.loc["S, RSA, trunk.0", "note"]
    t = study.table
    assert (t["p_adjusted"] >= t["p_value"]).all()
    assert set(t["verdict"]) <= {"supported", "contradicted", "inconclusive"}
    finite = t.dropna(subset=["ci_low", "ci_high"])
    inside = (finite["ci_low"] <= finite["estimate"]) & (finite["estimate"] <= finite["ci_high"])
    assert (inside | finite["note"].fillna("").str.contains("excludes")).all()
    # the similarity 0.6 exceeds the planted ceiling 0.55: flagged
    assert h3.loc["W, RSA, trunk.0", "note"].count("above the region's noise ceiling") == 1
    assert any("SUPPORTED for W" in line for line in study.lines)


def test_best_match_lists_indistinguishable_layers():
    study = run_study(_table({"W": 0.6}), n_boot=1000, seed=2)
    (row,) = study.verdicts("best match").itertuples()
    assert "indistinguishable from it" in row.note
    assert row.n_seeds == 12 and row.n_sessions == 6


def test_one_animal_is_said_and_unknown_animals_are_sessions():
    study = run_study(_table({"W": 0.6}, n_animals=1, n_sessions=4), n_boot=500, seed=3)
    assert any("Only ONE animal" in line for line in study.lines)
    assert "one animal" in study.verdicts("H2")["note"].iloc[0]
    table = _table({"W": 0.6}, n_animals=2).drop(columns="animal")
    h2 = run_study(table, n_boot=500, seed=3).verdicts("H2").iloc[0]
    assert h2["n_animals"] == 4 and "counts as its own animal" in h2["note"]


def test_too_few_replicates_for_the_correction_is_said():
    study = run_study(_table({"W": 0.6, "R": -0.6}), n_boot=99, seed=4)
    assert any("Raise n_boot" in line for line in study.lines)


def test_bad_study_inputs():
    with pytest.raises(ValidationError, match=r"results: missing columns \['measure'"):
        run_study(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValidationError, match="n_boot: got 10"):
        run_study(_table({"W": 0.6}), n_boot=10)


def test_cli_study_reads_a_report_folder_and_writes_study_csv(tmp_path):
    _table({"W": 0.6, "R": -0.6}).to_parquet(tmp_path / "results.parquet")
    result = CliRunner().invoke(app, ["study", str(tmp_path), "--n-boot", "2000"])
    assert result.exit_code == 0, result.output
    assert "Verdict" in result.output and "SUPPORTED for W" in result.output
    table = pd.read_csv(tmp_path / "study.csv")
    assert {"hypothesis", "p_value", "p_adjusted", "verdict", "n_animals"} <= set(table)
    with pytest.raises(SourceError, match=r"neither batch\.json"):
        load_study_input(tmp_path / "nothing")


def test_study_of_a_batch_folder_equals_the_study_of_its_rows(tmp_path):
    """``neuroalign study BATCH_DIR`` reads the finished cells through load_results."""
    from neuroalign.batch.store import BatchStore, rows_table

    table = _table({"W": 0.6, "R": -0.6}, n_animals=2)
    store = BatchStore(tmp_path / "batch")
    cells = list(table.groupby(["agent", "seed", "layer", "session", "region"], sort=True))
    keys = [f"{i:032x}" for i in range(len(cells))]
    store.init({"cells": [{"key": k} for k in keys]})
    for key, (_, cell) in zip(keys, cells, strict=True):
        store.write_part(key, rows_table(cell.to_dict("records"), key))
    loaded = load_study_input(tmp_path / "batch")
    # the legacy per-pair copies of each side's A are read once per side
    assert len(loaded) == len(results_table(table))
    from_batch = run_study(loaded, n_boot=500, seed=5).table
    direct = run_study(loaded.drop(columns=["cell_key", "cell_row"]), n_boot=500, seed=5).table
    pd.testing.assert_frame_equal(from_batch, direct)
    assert set(from_batch["hypothesis"]) == {"H1", "H2", "H3", "best match"}


def test_report_summary_reads_the_pooled_region_geometry():
    from neuroalign.report import summary_table

    table = _table({"W": 0.6, "R": -0.6})
    study = run_study(table, n_boot=2000, seed=6)
    summary = summary_table(table, study).set_index("region")
    h2 = study.verdicts("H2").set_index("subject")
    for region in ("W", "R"):
        row = h2.loc[region]
        assert summary.loc[region, "A region"] == (
            f"{row.estimate:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}]")
        assert summary.loc[region, "H2"] == row.verdict


def test_planted_sessions_give_the_planted_region_verdicts():
    """Simulated animals x sessions through valence_geometry and the study, end to end."""
    from neuroalign.geometry import valence_geometry
    from neuroalign.simulate import sample_condition_patterns

    rng = np.random.default_rng(7)
    rows = []
    for animal in range(3):
        for session in range(2):
            for planting in ("wall_danger", "wall_reward", "symmetric"):
                da = sample_condition_patterns(planting, n_units=30, n_repetitions=40, seed=rng)
                a = valence_geometry(da, n_boot=60, n_perm=0, seed=animal)["A"]
                rows.append({"measure": "A.brain", "estimate": a.estimate, "ci_low": a.ci_low,
                             "ci_high": a.ci_high, "animal": f"m{animal}",
                             "session": f"m{animal}-s{session}", "region": planting,
                             "agent": None, "family": None, "seed": None, "layer": None})
    h2 = run_study(pd.DataFrame(rows), n_boot=2000, seed=0).verdicts("H2")
    assert dict(zip(h2["subject"], h2["verdict"], strict=True)) == {
        "wall_danger": "supported", "wall_reward": "contradicted", "symmetric": "inconclusive"}
    assert (h2["n_animals"] == 3).all() and (h2["n_sessions"] == 6).all()


def test_one_algorithm_per_family_is_said():
    table = _table({"W": 0.6})
    table = table[table["agent"].isin(["dqn", "a2c"])]
    h1 = run_study(table, n_boot=500, seed=8).verdicts("H1").set_index("subject")
    assert "one value-learning algorithm (dqn)" in h1.loc["value-learners, trunk.0", "note"]


def test_a_single_session_without_cell_intervals_gives_no_interval_and_no_test():
    table = _table({"W": 0.6}, n_animals=1, n_sessions=1)
    table[["ci_low", "ci_high"]] = np.nan  # cells run with n_boot = 0
    h2 = run_study(table, n_boot=500, seed=4).verdicts("H2").iloc[0]
    assert np.isfinite(h2["estimate"])
    assert np.isnan(h2["ci_low"]) and np.isnan(h2["ci_high"]) and np.isnan(h2["p_value"])
    assert h2["verdict"] == "inconclusive" and "cannot vary" in h2["note"]


def test_cells_without_intervals_floor_p_at_the_sign_test_of_the_top_level():
    from neuroalign.study.run import sign_test_floor

    assert [sign_test_floor(k) for k in (1, 2, 3, 6)] == [1.0, 0.5, 0.25, 0.03125]
    table = _table({"W": 0.6}, n_animals=2, n_sessions=1)
    table[["ci_low", "ci_high"]] = np.nan  # every cell run with n_boot = 0
    h2 = run_study(table, n_boot=500, seed=5).verdicts("H2").iloc[0]
    assert h2["p_value"] == 0.5 and h2["verdict"] == "inconclusive"
    assert "exact sign test's 0.5" in h2["note"]
    with_intervals = run_study(_table({"W": 0.6}, n_animals=2, n_sessions=1), n_boot=500,
                               seed=5).verdicts("H2").iloc[0]
    assert with_intervals["p_value"] < 0.5


# --- the study reads what the cells computed ------------------------------------------------


def _current(table: pd.DataFrame) -> pd.DataFrame:
    """A table as run and batch write it now: each cell's interval level and bootstrap se."""
    return table.assign(level=0.95, boot_se=(table["ci_high"] - table["ci_low"]) / 3.92)


@pytest.mark.parametrize("layout", ["current", "legacy"])
def test_p_values_do_not_depend_on_the_interval_level_asked_for(tmp_path, layout):
    table = _table({"W": 0.3, "R": -0.2, "S": 0.05}, n_animals=2)
    if layout == "current":
        table = _current(table)
    else:  # an older folder: no level column; the run's config records its ci
        (tmp_path / "config.yaml").write_text("ci: 0.9\n")
    table.to_parquet(tmp_path / "results.parquet")
    tables = {}
    for level in (0.5, 0.68, 0.9, 0.95):
        out = tmp_path / f"study-{level}.csv"
        result = CliRunner().invoke(app, ["study", str(tmp_path), "--n-boot", "999",
                                          "--level", str(level), "--out", str(out)])
        assert result.exit_code == 0, result.output
        tables[level] = pd.read_csv(out)
        notes = tables[level]["note"].fillna("")
        assert ((layout == "legacy") == notes.str.contains("read as 90% intervals")).all()
    first = tables[0.5]
    assert np.isfinite(first["p_value"]).sum() >= 8
    for level, t in tables.items():
        np.testing.assert_array_equal(t["p_value"], first["p_value"], err_msg=str(level))
        np.testing.assert_array_equal(t["p_adjusted"], first["p_adjusted"], err_msg=str(level))
        np.testing.assert_array_equal(t["estimate"], first["estimate"])
    # the level sets the study's own interval: wider at a higher level
    width = {lv: (t["ci_high"] - t["ci_low"]).to_numpy() for lv, t in tables.items()}
    assert (width[0.95] > width[0.5])[np.isfinite(width[0.5])].all()
    direct = {lv: run_study(table, n_boot=999, level=lv, seed=0, cell_level=0.9).table
              for lv in (0.6, 0.99)}
    np.testing.assert_array_equal(direct[0.6]["p_value"], direct[0.99]["p_value"])


def test_cells_bootstrap_se_is_used_rather_than_the_interval_width():
    """A cell's boot_se, not its (here deliberately wide) interval, sets the bottom-level
    redraw: the pooled A over few animals is then decided."""
    table = _current(_table({"W": 0.15}, n_animals=2, n_sessions=2, seed=3))
    wide = table.assign(ci_low=table["estimate"] - 5.0, ci_high=table["estimate"] + 5.0)
    h2_se = run_study(wide, n_boot=999, seed=2).verdicts("H2").iloc[0]
    h2_width = run_study(wide.drop(columns="boot_se"), n_boot=999,
                         seed=2).verdicts("H2").iloc[0]
    assert h2_se["ci_high"] - h2_se["ci_low"] < 0.5 < h2_width["ci_high"] - h2_width["ci_low"]


def test_h3_predicts_from_the_corrected_h2_verdict():
    """H2 of W is significant before the correction only: H3 makes no prediction from it."""
    study = run_study(_table({"W": 0.08}, seed=1), n_boot=2000, seed=1)
    h2 = study.verdicts("H2").iloc[0]
    assert h2["p_value"] < study.alpha <= h2["p_adjusted"] and h2["ci_low"] > 0  # the setup
    assert h2["verdict"] == "inconclusive"
    h3 = study.verdicts("H3")
    assert len(h3) == 2
    assert (h3["verdict"] == "inconclusive").all()
    assert h3["note"].str.contains("no prediction").all()
    assert not h3["statement"].str.contains("matches").any()
    assert all(r.test.predicted == 0 for r in study.results if r.test.hypothesis == "H3")
    # decided after the correction, the same region predicts: W at 0.6 is supported
    strong = run_study(_table({"W": 0.6}, seed=1), n_boot=2000, seed=1)
    assert (strong.verdicts("H3")["verdict"] == "supported").all()
    assert strong.verdicts("H3")["statement"].str.contains("> 0").all()


def test_test_records_are_frozen():
    import dataclasses

    study = run_study(_table({"W": 0.6}), n_boot=200, seed=1)
    record = study.results[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.verdict = "supported"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.test.predicted = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.test.extra["verdict"] = "supported"  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        record.test.replicates[0] = 0.0


def test_study_options_come_from_the_recorded_config_and_flags_override_them(tmp_path):
    import yaml

    from neuroalign.core.errors import ConfigError

    _current(_table({"W": 0.6, "R": -0.6}, n_animals=2)).to_parquet(
        tmp_path / "results.parquet")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(
        {"ci": 0.9, "seed": 5, "study": {"n_boot": 199, "correction": "bh", "alpha": 0.1}}))
    runner = CliRunner()
    result = runner.invoke(app, ["study", str(tmp_path)])
    assert result.exit_code == 0, result.output
    recorded = pd.read_csv(tmp_path / "study.csv")
    assert (recorded["n_boot"] == 199).all()
    assert "BH-corrected together (alpha = 0.1); intervals 90%" in " ".join(
        result.output.split())
    # the same as run_study with the recorded settings: level = the cells' ci, seed = theirs
    direct = run_study(_current(_table({"W": 0.6, "R": -0.6}, n_animals=2)), n_boot=199,
                       correction="bh", alpha=0.1, level=0.9, seed=5).table
    np.testing.assert_allclose(recorded["p_value"], direct["p_value"])
    result = runner.invoke(app, ["study", str(tmp_path), "--n-boot", "299", "--correction",
                                 "holm", "--level", "0.8"])
    assert result.exit_code == 0, result.output
    flagged = pd.read_csv(tmp_path / "study.csv")
    assert (flagged["n_boot"] == 299).all()
    assert "Holm-corrected together (alpha = 0.1); intervals 80%" in " ".join(
        result.output.split())
    result = runner.invoke(app, ["study", str(tmp_path), "--n-boot", "10"])
    assert isinstance(result.exception, ConfigError)
    assert "n_boot: got 10; expected greater than or equal to 99" in str(result.exception)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"study": {"correction": "bonf"}}))
    from neuroalign.study.cli import study_settings

    with pytest.raises(ConfigError, match=r"study: correction: got 'bonf'; expected 'holm' "
                                          r"or 'bh'"):
        study_settings(tmp_path)


def test_run_and_batch_configs_hold_a_study_section():
    from neuroalign.batch import validate_config
    from neuroalign.core.config import StudyOptions, validate_model
    from neuroalign.core.errors import ConfigError
    from neuroalign.pipeline.config import RunConfig

    run = validate_model(RunConfig, {"study": {"n_boot": 999, "correction": "bh"}})
    assert run.study == StudyOptions(n_boot=999, correction="bh")
    assert run.study.study_kwargs(ci=run.ci, seed=run.seed) == {
        "n_boot": 999, "level": 0.95, "alpha": 0.05, "correction": "bh", "seed": 0,
        "equivalence_margin": None}
    batch = validate_config(dict(agents=["dqn"], tasks=["pavlovian"], seeds=[0],
                                 layers=["trunk.1"], sources=["x.nwb"], regions=["BLA"],
                                 measures=["rsa"], study={"level": 0.9, "seed": 3}))
    assert batch.study.study_kwargs(ci=0.95, seed=0)["level"] == 0.9
    with pytest.raises(ConfigError, match=r"study\.n_boot: got 10; expected greater than"):
        validate_model(RunConfig, {"study": {"n_boot": 10}})
