"""Sensitivity (mde) and equivalence (TOST, `absent`) of the study's tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_study import _table
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ConfigError, ValidationError
from neuroalign.core.validation import margins_by_hypothesis
from neuroalign.study import run_study, verdict
from neuroalign.study.sensitivity import (
    corrected_alpha,
    equivalence_p,
    minimum_detectable_effect,
    parse_margin,
    replicate_se,
)


def test_mde_is_the_effect_detected_with_the_stated_power():
    se, alpha = 0.07, 0.01
    mde, note = minimum_detectable_effect(se, alpha, 0.8)
    assert note is None
    assert mde == pytest.approx((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(0.8)) * se)
    # independent check: estimates N(mde, se) pass the two-sided z test 80% of the time
    est = np.random.default_rng(0).normal(mde, se, 200_000)
    assert np.mean(np.abs(est) / se > stats.norm.ppf(1 - alpha / 2)) == pytest.approx(0.8,
                                                                                     abs=0.005)
    assert minimum_detectable_effect(2 * se, alpha, 0.8)[0] == pytest.approx(2 * mde)


def test_mde_is_infinite_where_a_floor_keeps_the_test_from_alpha():
    mde, note = minimum_detectable_effect(0.1, 0.05 / 40, n_boot=999)
    assert mde == math.inf and "raise n_boot" in note
    mde, note = minimum_detectable_effect(0.1, 0.05, sign_test_units=3)
    assert mde == math.inf and "sign test of 3 top-level unit(s) cannot go below 0.25" in note
    assert math.isfinite(minimum_detectable_effect(0.1, 0.05, sign_test_units=6)[0])
    mde, note = minimum_detectable_effect(0.0, 0.05)
    assert math.isnan(mde) and "no spread" in note
    with pytest.raises(ValidationError, match=r"power: got 1\.5"):
        minimum_detectable_effect(0.1, 0.05, 1.5)


def test_tost_p_is_the_larger_one_sided_p():
    r = np.r_[np.full(90, 0.0), np.full(6, 0.3), np.full(4, -0.3)]
    assert equivalence_p(r, 0.2) == pytest.approx((1 + 6) / 101)
    assert equivalence_p(np.zeros(99), 0.2) == pytest.approx(1 / 100)
    assert equivalence_p(np.full(99, 0.5), 0.2) == 1.0
    with pytest.raises(ValidationError, match=r"equivalence margin: got -0\.1"):
        equivalence_p(r, -0.1)


def test_margins_per_hypothesis_and_from_text():
    assert margins_by_hypothesis(0.2) == {h: 0.2 for h in ("H1", "H2", "H3", "best match")}
    assert margins_by_hypothesis({"H2": 0.1}) == {"H2": 0.1}
    assert margins_by_hypothesis(None) == {}
    assert parse_margin("H2=0.2, best-match=0.05") == {"H2": 0.2, "best match": 0.05}
    assert parse_margin("0.3") == 0.3 and parse_margin(None) is None
    with pytest.raises(ValidationError, match="got hypothesis 'H9'"):
        margins_by_hypothesis({"H9": 0.1})
    with pytest.raises(ValidationError, match=r"equivalence_margin\[H2\]: got 0"):
        margins_by_hypothesis({"H2": 0})
    with pytest.raises(ValidationError, match="--equivalence-margin: got 'wide'"):
        parse_margin("wide")
    assert corrected_alpha(0.05, 10) == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("predicted", "p", "low", "high", "p_eq", "expected"),
    [(1, 0.01, 0.1, 0.5, 0.01, "supported"), (1, 0.5, -0.1, 0.1, 0.01, "absent"),
     (0, 0.5, -0.1, 0.1, 0.01, "absent"), (1, 0.5, -0.1, 0.1, 0.2, "inconclusive"),
     (1, 0.5, -0.1, 0.1, float("nan"), "inconclusive")],
)
def test_verdict_with_equivalence(predicted, p, low, high, p_eq, expected):
    assert verdict(predicted, p, low, high, 0.05, p_eq) == expected


def test_every_test_has_an_mde_where_it_has_an_interval():
    study = run_study(_table({"W": 0.6, "S": 0.0}), n_boot=2000, seed=1)
    t = study.table
    has_ci = t["ci_low"].notna()
    assert np.isfinite(t.loc[has_ci, "mde"]).all()
    assert set(t["verdict"]) <= {"supported", "contradicted", "inconclusive"}  # no margin
    assert t["equivalence_margin"].isna().all() and t["p_equivalence"].isna().all()
    # mde = (z(1 - alpha / 2m) + z(0.8)) x the bootstrap se; for near-normal replicates the
    # 95% interval spans 2 x 1.96 se
    m = int(t["p_value"].notna().sum())
    factor = stats.norm.ppf(1 - 0.05 / (2 * m)) + stats.norm.ppf(0.8)
    ratio = t["mde"] / ((t["ci_high"] - t["ci_low"]) / (2 * stats.norm.ppf(0.975)))
    assert ratio.between(0.85 * factor, 1.15 * factor).all()
    inconclusive = t[t["verdict"] == "inconclusive"]
    assert inconclusive["note"].str.contains("could detect").all()
    assert any("could detect |difference| >=" in line for line in study.lines)


def test_without_cell_intervals_few_animals_can_detect_nothing():
    table = _table({"W": 0.6}, n_animals=2, n_sessions=2)
    table[["ci_low", "ci_high"]] = np.nan
    h2 = run_study(table, n_boot=500, seed=5).verdicts("H2").iloc[0]
    assert h2["mde"] == math.inf and "exact sign test of 2" in h2["note"]


def test_planted_null_with_many_animals_and_a_margin_is_absent():
    """20 animals of a region with A = 0, and a margin: the absence is shown; the effect
    region beside it stays supported, and without a margin the null is inconclusive."""
    table = _table({"N": 0.0, "W": 0.6}, n_animals=20, n_sessions=1, seed=3)
    table = table[table["measure"] == "A.brain"]
    study = run_study(table, n_boot=2000, seed=0, equivalence_margin={"H2": 0.1})
    h2 = study.verdicts("H2").set_index("subject")
    assert h2.loc["N", "verdict"] == "absent"
    assert h2.loc["N", "p_equivalence_adjusted"] < 0.05
    assert h2.loc["W", "verdict"] == "supported"
    assert h2.loc["N", "equivalence_margin"] == 0.1
    assert any("N: ABSENT, |A| < 0.1" in line for line in study.lines)
    plain = run_study(table, n_boot=2000, seed=0).verdicts("H2").set_index("subject")
    assert plain.loc["N", "verdict"] == "inconclusive"
    # a margin narrower than the estimate's spread cannot show absence
    narrow = run_study(table, n_boot=2000, seed=0, equivalence_margin=0.01)
    assert narrow.verdicts("H2").set_index("subject").loc["N", "verdict"] == "inconclusive"


def test_equivalence_tests_join_the_correction():
    table = _table({"N": 0.0, "W": 0.6}, n_animals=20, n_sessions=1, seed=3)
    table = table[table["measure"] == "A.brain"]
    t = run_study(table, n_boot=2000, seed=0, equivalence_margin=0.1).table
    p = np.r_[t["p_value"], t["p_equivalence"]]
    from neuroalign.study import adjust_p

    assert np.allclose(np.r_[t["p_adjusted"], t["p_equivalence_adjusted"]], adjust_p(p),
                       equal_nan=True)


def test_equivalence_margin_from_the_cli_and_the_config(tmp_path):
    table = _table({"N": 0.0, "W": 0.6}, n_animals=20, n_sessions=1, seed=3)
    table[table["measure"] == "A.brain"].to_parquet(tmp_path / "results.parquet")
    result = CliRunner().invoke(app, ["study", str(tmp_path), "--n-boot", "2000",
                                      "--equivalence-margin", "H2=0.1"])
    assert result.exit_code == 0, result.output
    assert "ABSENT" in result.output
    out = pd.read_csv(tmp_path / "study.csv").set_index("subject")
    assert out.loc["N", "verdict"] == "absent" and np.isfinite(out.loc["N", "mde"])
    from neuroalign.pipeline.config import load_config

    margin = load_config({"study": {"equivalence_margin": {"H2": 0.2}}}).study.equivalence_margin
    assert margin == {"H2": 0.2}
    with pytest.raises(ConfigError, match=r"study\.equivalence_margin.*'H7'"):
        load_config({"study": {"equivalence_margin": {"H7": 0.2}}})


def test_a_recorded_margin_is_the_study_commands_default(tmp_path):
    """The margin is part of the study: section, so `neuroalign study` on a folder gives
    the verdict its run gave, and the flag overrides it."""
    table = _table({"N": 0.0, "W": 0.6}, n_animals=20, n_sessions=1, seed=3)
    table[table["measure"] == "A.brain"].to_parquet(tmp_path / "results.parquet")
    (tmp_path / "config.yaml").write_text("study:\n  equivalence_margin: {H2: 0.1}\n")
    result = CliRunner().invoke(app, ["study", str(tmp_path), "--n-boot", "2000"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "study.csv").set_index("subject")
    assert out.loc["N", "verdict"] == "absent" and out.loc["N", "equivalence_margin"] == 0.1
    result = CliRunner().invoke(app, ["study", str(tmp_path), "--n-boot", "2000",
                                      "--equivalence-margin", "H2=0.01"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "study.csv").set_index("subject")
    assert out.loc["N", "equivalence_margin"] == 0.01 and out.loc["N", "verdict"] != "absent"


def test_replicate_se():
    assert replicate_se(np.array([1.0, 3.0, np.nan])) == pytest.approx(np.sqrt(2))
    assert math.isnan(replicate_se(np.array([1.0])))


# --- planning --------------------------------------------------------------------------------


def test_variance_components_are_recovered_on_planted_leaves():
    from neuroalign.study.plan import estimate_variances

    rng = np.random.default_rng(0)
    n_animals, n_sessions = 3000, 3
    animal = np.repeat(np.arange(n_animals), n_sessions)
    se = np.full(animal.size, 0.05)
    values = (0.3 + rng.normal(0, 0.2, n_animals)[animal] + rng.normal(0, 0.1, animal.size)
              + rng.normal(0, se))
    v = estimate_variances(values, se, animal)
    assert v.top == pytest.approx(0.04, rel=0.1)
    assert v.middle == pytest.approx(0.01, rel=0.1)
    assert v.bottom == pytest.approx(0.0025)
    assert (v.n_top, v.n_middle) == (n_animals, n_sessions)
    one = estimate_variances([0.1, 0.2], [0.05, 0.05], ["a", "a"])
    assert math.isnan(one.top)
    with pytest.raises(ValidationError, match="values, se, top: got sizes 2, 1, 2"):
        estimate_variances([0.1, 0.2], [0.05], ["a", "b"])


def test_design_variance_matches_its_closed_form():
    from neuroalign.study.plan import LevelVariances, design_variance

    v = LevelVariances(top=0.04, middle=0.01, bottom=0.0025, n_top=3, n_middle=2)
    boot, true_var, terms = design_variance(v, 5, 2)
    assert true_var == pytest.approx(0.04 / 5 + 0.0125 / 10)
    expected = ((4 / 5 * (0.04 + 0.0125 / 2) + 1 / 2 * 0.0125 / 2) / 5
                + (2 - 1 / 5 + 1 - 1 / 2) * 0.0025 / 10)
    assert boot == pytest.approx(expected)
    assert [d for _, d in terms] == [4.0, 5.0, math.inf]


def test_expected_bootstrap_variance_is_what_the_hierarchical_bootstrap_gives():
    """design_variance's B against the study's own resampling on one planted design."""
    from neuroalign.study.hierarchy import hierarchical_weights, pooled_replicates
    from neuroalign.study.plan import LevelVariances, design_variance

    rng = np.random.default_rng(3)
    n, k, top, mid, se = 6, 3, 0.01, 0.005, 0.15
    v = LevelVariances(top=top, middle=mid, bottom=se**2, n_top=n, n_middle=k)
    boot_var = []
    for _ in range(300):
        animal = np.repeat(np.arange(n), k)
        values = rng.normal(0, np.sqrt(top), n)[animal] + rng.normal(0, np.sqrt(mid), n * k)
        values = values + rng.normal(0, se, n * k)
        w = hierarchical_weights([animal, np.arange(n * k)], 400, rng)
        reps = pooled_replicates(values[:, None], np.full((n * k, 1), se), w,
                                 np.ones((400, 1)), rng)
        boot_var.append(np.var(reps))
    assert np.mean(boot_var) == pytest.approx(design_variance(v, n, k)[0], rel=0.08)


def test_power_is_the_normal_power_with_many_units_and_grows_with_the_effect():
    from neuroalign.study.plan import power_of

    part = (0.01, 0.01, [(0.01, math.inf)])
    z = stats.norm.ppf(1 - 0.05 / 2)
    assert power_of(0.3, [part], 0.05) == pytest.approx(stats.norm.sf(z - 3)
                                                        + stats.norm.cdf(-z - 3))
    assert power_of(0.0, [part], 0.05) == pytest.approx(0.05)
    few = (0.01, 0.01, [(0.01, 3.0)])
    assert power_of(0.3, [few], 0.05) < power_of(0.3, [part], 0.05)  # heavier t tails
    assert power_of(0.1, [few], 0.05) < power_of(0.2, [few], 0.05) < power_of(0.4, [few], 0.05)


def test_plan_of_a_run_folder_and_of_a_batch_folder(tmp_path):
    from neuroalign.batch.store import BatchStore, rows_table
    from neuroalign.study import plan_study
    from neuroalign.study.cli import load_study_input

    table = _table({"W": 0.1, "R": -0.6}, n_animals=3)
    store = BatchStore(tmp_path / "batch")
    cells = list(table.groupby(["agent", "seed", "layer", "session", "region"], sort=True))
    keys = [f"{i:032x}" for i in range(len(cells))]
    store.init({"cells": [{"key": k} for k in keys]})
    for key, (_, cell) in zip(keys, cells, strict=True):
        store.write_part(key, rows_table(cell.to_dict("records"), key))
    # the same cells as a run's report folder (the fixture's agent rows differ per cell,
    # so both read the batch's order)
    (tmp_path / "run").mkdir()
    load_study_input(tmp_path / "batch").drop(columns=["cell_key", "cell_row"]).to_parquet(
        tmp_path / "run" / "results.parquet")
    from_run = plan_study(tmp_path / "run", 0.1, n_sim=0)
    from_batch = plan_study(tmp_path / "batch", 0.1, n_sim=0)
    pd.testing.assert_frame_equal(from_run, from_batch)
    rows = from_run.set_index(["hypothesis", "subject"])
    h2 = rows.loc[("H2", "W")]
    assert h2["animals"] >= 2 and h2["sessions_per_animal"] == 2 and pd.isna(h2["seeds"])
    h1 = rows.loc[("H1", "value-learners, trunk.0")]
    assert pd.isna(h1["animals"]) and h1["pilot_seeds"] == 3
    # a larger effect never needs more animals
    big = plan_study(tmp_path / "run", 0.3, hypothesis="H2", n_sim=0).set_index("subject")
    assert (big["animals"] <= from_run[from_run["hypothesis"] == "H2"]
            .set_index("subject")["animals"]).all()
    with pytest.raises(ValidationError, match="hypothesis: got 'H4'"):
        plan_study(table, 0.1, hypothesis="H4")
    with pytest.raises(ValidationError, match=r"effect\[H2\]: got -0\.1"):
        plan_study(table, -0.1, hypothesis="H2")


def test_plan_cli_json(tmp_path):
    import json

    _table({"W": 0.1}, n_animals=3).to_parquet(tmp_path / "results.parquet")
    result = CliRunner().invoke(app, ["plan", str(tmp_path), "--effect", "0.1", "--json",
                                      "--hypothesis", "H2", "--n-sim", "0"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert {"hypothesis", "subject", "effect", "power", "animals", "sessions_per_animal",
            "seeds"} <= set(row)
    assert row["hypothesis"] == "H2" and row["seeds"] is None and row["effect"] == 0.1
    assert isinstance(row["animals"], int) and row["power"] == 0.8
    text = CliRunner().invoke(app, ["plan", str(tmp_path), "--effect", "0.1", "--n-sim",
                                    "0"])
    assert text.exit_code == 0 and "animals x 2 sessions" in text.output


def test_one_animal_pilot_cannot_plan_animals():
    from neuroalign.study import plan_study

    plan = plan_study(_table({"W": 0.1}, n_animals=1, n_sessions=3), 0.1, hypothesis="H2",
                      n_sim=0)
    assert pd.isna(plan["animals"].iloc[0]) and "one animal" in plan["note"].iloc[0]


def test_inconclusive_tests_with_a_margin_name_the_n_the_plan_gives():
    study = run_study(_table({"W": 0.1, "S": 0.0}, n_animals=3), n_boot=2000, seed=1,
                      equivalence_margin={"H2": 0.05})
    h2 = study.verdicts("H2").set_index("subject")
    plan = study.plan.set_index(["hypothesis", "subject"])
    for region in ("W", "S"):
        assert h2.loc[region, "verdict"] == "inconclusive"
        n = plan.loc[("H2", region), "animals"]
        assert f"n for |A| = 0.05: {n} animals (2 sessions each)" in h2.loc[region, "note"]
    assert any("n for |A| = 0.05:" in line for line in study.lines)


def test_the_console_verdict_names_the_n_of_an_underpowered_test():
    from rich.console import Console

    from neuroalign.study.cli import print_verdict

    study = run_study(_table({"W": 0.1}, n_animals=3), n_boot=2000, seed=1,
                      equivalence_margin={"H2": 0.05})
    row = study.verdicts("H2").iloc[0]
    assert row["verdict"] == "inconclusive"
    n = int(study.plan.set_index("subject").loc["W", "animals"])
    console = Console(record=True, width=1000)
    print_verdict(study, console)
    (line,) = [ln for ln in console.export_text().splitlines()
               if ln.strip().startswith("H2 (regions):")]
    assert "1 of 1 test(s) inconclusive" in line
    assert f"could detect |A| >= {row['mde']:.2g} with 80% power" in line
    assert line.endswith(f"n for |A| = 0.05: {n} animals (2 sessions each).")
    # no margin, no planned effect: the line says how to get the n
    bare = run_study(_table({"W": 0.0}, n_animals=3), n_boot=2000, seed=1)
    (line,) = [ln for ln in bare.lines if ln.startswith("H2 (regions):")]
    assert "1 of 1 test(s) inconclusive" in line
    assert "`neuroalign plan DIR --effect E` gives the n" in line


# --- intervals inside their parameter's range -----------------------------------------------


def test_the_redraw_stays_inside_the_range_and_is_normal_far_from_it():
    from neuroalign.study.hierarchy import redraw_deviation

    noise = np.random.default_rng(0).standard_normal((20000, 3))
    values, se = np.array([0.95, -0.99, 0.0]), np.array([0.2, 0.3, 0.01])
    drawn = values + redraw_deviation(values, se, noise)
    assert (drawn >= -1).all() and (drawn <= 1).all()
    # far from the bounds (0 with se 0.01) it is the normal redraw
    assert np.std(drawn[:, 2]) == pytest.approx(0.01, rel=0.02)
    assert np.allclose(redraw_deviation(values, se, noise, None), noise * se)
    assert (values + redraw_deviation(values, se, noise, None) > 1).any()  # what it avoids
    assert np.all(redraw_deviation(np.array([np.nan, 0.5]), np.array([0.1, 0.0]),
                                   noise[:5, :2]) == 0)


def test_intervals_near_the_bound_stay_inside_and_cover_the_truth():
    """Sessions of animals with A near 1 (planted on the Fisher scale): every replicate in
    [-1, 1], and the 95% interval covers the population mean in >= 90% of studies."""
    from neuroalign.study.hierarchy import hierarchical_weights, pooled_replicates

    rng = np.random.default_rng(11)
    centre, sd_animal, sd_session, n_animals, n_sessions = np.arctanh(0.85), 0.3, 0.2, 8, 2
    big = np.tanh(centre + rng.normal(0, sd_animal, 400_000)
                  + rng.normal(0, sd_session, 400_000))
    truth = float(big.mean())
    cover = 0
    for _ in range(150):
        animal = np.repeat(np.arange(n_animals), n_sessions)
        z = (centre + rng.normal(0, sd_animal, n_animals)[animal]
             + rng.normal(0, sd_session, animal.size))
        est = np.tanh(z)
        se = np.full(animal.size, 0.1)
        w = hierarchical_weights([animal, np.arange(animal.size)], 500, rng)
        reps = pooled_replicates(est[:, None], se[:, None], w, np.ones((500, 1)), rng)
        assert reps.max() <= 1 and reps.min() >= -1
        low, high = np.quantile(reps, [0.025, 0.975])
        cover += low <= truth <= high
    assert cover / 150 >= 0.9


def test_no_study_interval_leaves_its_range():
    table = _table({"W": 0.97, "R": -0.95}, n_animals=2, n_sessions=2, seed=4)
    a = table["measure"].str.startswith("A")
    table.loc[a, "estimate"] = table.loc[a, "estimate"].clip(-0.99, 0.99)
    table.loc[a, "ci_low"] = table.loc[a, "estimate"] - 0.4  # wide cell intervals
    table.loc[a, "ci_high"] = table.loc[a, "estimate"] + 0.4
    t = run_study(table, n_boot=1000, seed=2).table
    contrast = t["subject"].str.startswith("value - policy") | t["hypothesis"].isin(
        ["H3", "best match"])
    single = t[~contrast]
    assert (single["ci_low"] >= -1).all() and (single["ci_high"] <= 1).all()
    assert (t.loc[contrast, "ci_low"] >= -2).all() and (t.loc[contrast, "ci_high"] <= 2).all()
    h2 = t[t["hypothesis"] == "H2"].set_index("subject")
    assert h2.loc["W", "ci_high"] <= 1 and h2.loc["R", "ci_low"] >= -1


def test_simulated_power_agrees_with_the_analytic_power_for_equal_cell_errors():
    from neuroalign.study.plan import (
        LevelVariances,
        design_variance,
        power_of,
        simulated_power,
    )

    v = LevelVariances(top=0.01, middle=0.005, bottom=0.01, n_top=10, n_middle=2,
                       leaf_se=(0.1,))
    for n, effect in ((10, 0.2), (10, 0.0)):
        analytic = power_of(effect, [design_variance(v, n, 2)], 0.05)
        simulated = simulated_power([(v, n, 2)], effect, 0.05, n_sim=300, n_boot=999)
        assert simulated == pytest.approx(analytic, abs=0.08)


def test_mde_beyond_the_range_of_the_quantity_is_none():
    table = _table({"W": 0.6}, n_animals=2, n_sessions=1)
    a = table["measure"] == "A.brain"
    table.loc[a, "ci_low"] = table.loc[a, "estimate"] - 3.0  # hopeless cell intervals
    table.loc[a, "ci_high"] = table.loc[a, "estimate"] + 3.0
    h2 = run_study(table, n_boot=1000, seed=0).verdicts("H2").iloc[0]
    assert h2["mde"] == math.inf and "beyond the range of the quantity" in h2["note"]


def test_the_simulation_check_never_lowers_the_analytic_design():
    from neuroalign.study import plan_study

    table = _table({"W": 0.1}, n_animals=4)
    analytic = plan_study(table, 0.15, hypothesis="H2", n_sim=0, n_boot=999)
    checked = plan_study(table, 0.15, hypothesis="H2", n_sim=40, n_boot=999)
    assert (checked["animals"] >= analytic["animals"]).all()
    assert (checked["animals"] <= 2 * analytic["animals"] + 6).all()
