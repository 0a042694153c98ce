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
from neuroalign.study import run_study, verdict
from neuroalign.study.sensitivity import (
    corrected_alpha,
    equivalence_p,
    margins_by_hypothesis,
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

    assert load_config({"equivalence_margin": {"H2": 0.2}}).equivalence_margin == {"H2": 0.2}
    with pytest.raises(ConfigError, match="equivalence_margin"):
        load_config({"equivalence_margin": {"H7": 0.2}})


def test_replicate_se():
    assert replicate_se(np.array([1.0, 3.0, np.nan])) == pytest.approx(np.sqrt(2))
    assert math.isnan(replicate_se(np.array([1.0])))
