"""SB3 - zoo differences of A: estimate, interval, test and correction on planted rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroalign.core.errors import ValidationError
from neuroalign.core.results import Estimate, ModelKey, SideStatistic, side_row
from neuroalign.study.implementations import COMPARISON_COLUMNS, implementation_differences

LAYERS = {"dqn": ("trunk.0", "trunk.1", "readout.q"),
          "ppo": ("trunk.0", "trunk.1", "readout.pi", "readout.v")}
FAMILY = {"dqn": "value", "ppo": "policy"}


def _rows(planted: dict[tuple[str, str], float], *, n_seeds: int = 6, sd: float = 0.05,
          se: float = 0.02, seed: int = 0, tasks: tuple[str, ...] = ("pavlovian",),
          implementations: tuple[str, ...] = ("zoo", "sb3")) -> pd.DataFrame:
    """Side rows of A: per algorithm x task x layer a true mean, per seed a draw around
    it; sb3 rows add ``planted[(algorithm, stage)]``."""
    rng = np.random.default_rng(seed)
    rows = []
    for algorithm, layers in LAYERS.items():
        for task in tasks:
            for layer in layers:
                stage = "readout" if layer.startswith("readout") else layer
                base = 0.3 if FAMILY[algorithm] == "value" else -0.2
                for impl in implementations:
                    shift = planted.get((algorithm, stage), 0.0) if impl == "sb3" else 0.0
                    for s in range(n_seeds):
                        value = base + shift + rng.normal(0.0, sd)
                        est = Estimate(value=value, ci_low=value - 1.96 * se,
                                       ci_high=value + 1.96 * se, level=0.95, boot_se=se,
                                       n=8, n_resamples=200, method="bootstrap")
                        name = algorithm if impl == "zoo" else f"sb3-{algorithm}"
                        stat = SideStatistic(side="model", key=ModelKey(
                            name, FAMILY[algorithm], task, s, layer), name="A", estimate=est)
                        rows.append(side_row(stat, n_boot=200, n_perm=0, rng_seed=0,
                                             extra={"implementation": impl,
                                                    "algorithm": algorithm}))
    return pd.DataFrame(rows)


def _plain_difference(rows: pd.DataFrame, algorithm: str, stage: str) -> float:
    sub = rows[rows["algorithm"] == algorithm].copy()
    sub["stage"] = ["readout" if x.startswith("readout") else x for x in sub["layer"]]
    sub = sub[sub["stage"] == stage]
    per_seed = sub.groupby(["implementation", "seed"])["estimate"].mean()
    means = per_seed.groupby("implementation").mean()
    return float(means["sb3"] - means["zoo"])


def test_planted_difference_is_covered_and_detected():
    planted = {("ppo", "readout"): -0.25}
    rows = _rows(planted)
    table = implementation_differences(rows, n_boot=999, seed=1)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert len(table) == 6  # 2 algorithms x 1 task x 3 stages
    hit = table[(table["algorithm"] == "ppo") & (table["stage"] == "readout")].iloc[0]
    assert hit["ci_low"] <= -0.25 <= hit["ci_high"]
    assert hit["differs"]
    assert hit["p_display"] == "p <= 0.002"  # the floor of 999 replicates, two-sided
    others = table.drop(index=hit.name)
    assert not others["differs"].any()


def test_estimate_is_the_plain_difference_of_means():
    rows = _rows({("dqn", "trunk.1"): 0.1})
    table = implementation_differences(rows, n_boot=199, seed=0)
    for rec in table.itertuples():
        assert rec.difference == pytest.approx(_plain_difference(rows, rec.algorithm,
                                                                 rec.stage), abs=1e-12)
        assert rec.difference == pytest.approx(rec.mean_sb3 - rec.mean_zoo, abs=1e-12)
        assert rec.n_seeds_zoo == rec.n_seeds_sb3 == 6


def test_no_difference_is_quiet():
    """Under no difference, few tables flag anything after the correction (the
    percentile bootstrap over 6 seeds is mildly liberal: about 7% of raw p-values fall
    below 0.05 here, where 5% would be exact)."""
    tables_flagged = 0
    raw = []
    for seed in range(20):
        table = implementation_differences(_rows({}, seed=seed), n_boot=299, seed=seed)
        tables_flagged += int(table["differs"].any())
        raw += table["p_value"].tolist()
    assert tables_flagged <= 3
    assert np.mean(np.asarray(raw) < 0.05) <= 0.12


def test_correction_is_over_all_differences():
    table = implementation_differences(_rows({("dqn", "readout"): 0.2}), n_boot=499)
    p = table["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    holm = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    assert np.allclose(table["p_adjusted"].to_numpy()[order], holm)


def test_per_layer_and_missing_implementation():
    rows = _rows({}, implementations=("zoo", "sb3"))
    rows = rows[~((rows["algorithm"] == "dqn") & (rows["implementation"] == "sb3"))]
    table = implementation_differences(rows, by="layer", n_boot=199)
    assert set(table["stage"]) == {"trunk.0", "trunk.1", "readout.q", "readout.pi",
                                   "readout.v"}
    dqn = table[table["algorithm"] == "dqn"]
    assert dqn["difference"].isna().all()
    assert dqn["note"].str.contains("no sb3 agent").all()
    assert table[table["algorithm"] == "ppo"]["difference"].notna().all()


def test_rows_are_independent_of_the_others_in_the_table():
    rows = _rows({("dqn", "readout"): 0.1})
    full = implementation_differences(rows, n_boot=199, seed=3)
    alone = implementation_differences(rows[rows["algorithm"] == "dqn"], n_boot=199, seed=3)
    both = full[full["algorithm"] == "dqn"].reset_index(drop=True)
    assert np.allclose(both["ci_low"], alone["ci_low"])
    assert np.allclose(both["p_value"], alone["p_value"])


def test_bad_input():
    rows = _rows({})
    with pytest.raises(ValidationError, match=r"missing columns \['implementation'\]"):
        implementation_differences(rows.drop(columns=["implementation"]))
    with pytest.raises(ValidationError, match=r"implementation: got \['rllib'\]"):
        implementation_differences(rows.assign(implementation="rllib"))
    with pytest.raises(ValidationError, match="no model-side rows of measure 'S_danger'"):
        implementation_differences(rows, measure="S_danger")
    with pytest.raises(ValidationError, match="by: got 'seed'"):
        implementation_differences(rows, by="seed")  # type: ignore[arg-type]


def test_sb3_comparison_from_training_to_table(tmp_path, monkeypatch):
    """Two shipped zoo seeds of A2C against two SB3 twins on the Pavlovian task."""
    pytest.importorskip("stable_baselines3")
    from neuroalign.study.twins import SIDES_FILE, TABLE_FILE, sb3_comparison

    monkeypatch.setenv("NEUROALIGN_CACHE", str(tmp_path / "cache"))
    table = sb3_comparison(["A2C"], ["pavlovian"], [1, 0], tmp_path / "cmp", workers=1,
                           n_boot=30, study_boot=199)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert table["stage"].tolist() == ["readout", "trunk.0", "trunk.1"]
    assert (table["n_seeds_zoo"] == 2).all() and (table["n_seeds_sb3"] == 2).all()
    written = pd.read_csv(tmp_path / "cmp" / TABLE_FILE)
    assert np.allclose(written["difference"], table["difference"], equal_nan=True)
    sides = pd.read_csv(tmp_path / "cmp" / SIDES_FILE)
    a = sides[sides["measure"] == "A"]
    assert set(a["implementation"]) == {"zoo", "sb3"}
    assert set(a["agent"]) == {"a2c", "sb3-a2c"}
    assert len(list((tmp_path / "cmp" / "sb3").glob("sb3-a2c_pavlovian_s*.zip"))) == 2
    # the estimate is the plain difference of the seeds' stage means in the side rows
    a = a.assign(stage=["readout" if x.startswith("readout") else x for x in a["layer"]])
    t0 = a[a["stage"] == "trunk.0"].groupby("implementation")["estimate"].mean()
    row = table[table["stage"] == "trunk.0"].iloc[0]
    assert row["difference"] == pytest.approx(t0["sb3"] - t0["zoo"], abs=1e-9)
    with pytest.raises(ValidationError, match="tasks: got 'maze'"):
        sb3_comparison(["a2c"], ["maze"], [0], tmp_path / "bad")


def test_separate_layout_twin_takes_the_zoo_layer_names(tmp_path):
    pytest.importorskip("stable_baselines3")
    from neuroalign.study.twins import implementation_sides
    from neuroalign.zoo.foreign.sb3_train import train_sb3

    path = train_sb3("ppo", "pavlovian", 0, tmp_path, budget=300, layout="separate")
    rows = implementation_sides(("sb3", "ppo-sep", "pavlovian", 0), str(path), False,
                                n_boot=20)
    a = [r for r in rows if r["measure"] == "A"]
    assert [r["layer"] for r in a] == ["actor.0", "actor.1", "critic.0", "critic.1",
                                       "readout.pi", "readout.v"]
    assert {r["agent"] for r in a} == {"sb3-ppo-sep"}
    assert {r["algorithm"] for r in a} == {"ppo-sep"} and {r["layout"] for r in a} == \
        {"separate"}
