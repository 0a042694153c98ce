"""neuroalign replicate: config, the sweep finding checkpoints, H1 per group, the page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ConfigError, OutputExistsError, ValidationError
from neuroalign.pipeline.config import default_data_dir, shipped_config
from neuroalign.pipeline.replication import (
    REPLICATION_COLUMNS,
    lpt_makespan,
    run_replication,
)
from neuroalign.pipeline.replication_config import load_replication_config
from neuroalign.pipeline.replication_page import (
    FILES,
    read_outputs,
    render_folder,
    render_page,
)
from neuroalign.pipeline.sides import derive_seed
from neuroalign.study.hypotheses import h1_tests

ROOT = Path(__file__).resolve().parents[2]
AGENTS, TASK, SEEDS = ("dqn", "ppo"), "pavlovian", (0, 1, 2)


def _config(ckpt: Path, **more: object) -> dict:
    return {"algorithms": list(AGENTS), "tasks": [TASK], "trunks": ["mlp"],
            "layouts": ["shared"], "seeds": list(SEEDS), "n_boot": 50, "n_perm": 19,
            "study": {"n_boot": 999}, "sweep": {"out": str(ckpt), "workers": 2}, **more}


@pytest.fixture(scope="module")
def zoo_copy(tmp_path_factory):
    """The shipped checkpoints of the small config, copied (one may be altered)."""
    folder = tmp_path_factory.mktemp("zoo")
    for agent in AGENTS:
        for seed in SEEDS:
            name = f"{agent}_{TASK}_s{seed}.safetensors"
            shutil.copyfile(default_data_dir() / "zoo" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """One replication of the small config on the shipped checkpoints (no training)."""
    base = tmp_path_factory.mktemp("replication")
    cfg = load_replication_config(_config(base / "checkpoints"))
    return run_replication(cfg, out=base / "out", progress=False)


def _flag_below_criterion(path: Path) -> None:
    """Rewrite a checkpoint's metadata as if it had not met its task's criterion."""
    with safe_open(str(path), "pt") as handle:
        meta = dict(handle.metadata())
    record = json.loads(meta["neuroalign.zoo"])
    record["metrics"]["criterion_met"] = False
    save_file(load_file(str(path)), str(path),
              metadata={"neuroalign.zoo": json.dumps(record)})


# --- the run -------------------------------------------------------------------------


def test_the_sweep_finds_the_shipped_checkpoints_and_trains_nothing(small):
    t = small.timing
    assert (t["n_jobs"], t["n_trained"], t["n_existing"], t["n_failed"]) == (6, 0, 6, 0)
    assert {(j["agent"], j["seed"]) for j in t["jobs"]} == {
        (a, s) for a in AGENTS for s in SEEDS}
    assert not (small.out.parent / "checkpoints").exists() or not any(
        (small.out.parent / "checkpoints").iterdir())
    assert sorted(p.name for p in small.out.iterdir()) == sorted(FILES.values())


def test_the_table_has_a_row_per_family_stage_and_group(small):
    table = small.table
    assert list(table.columns) == list(REPLICATION_COLUMNS)
    groups = set(zip(table["task"], table["architecture"], strict=True))
    assert groups == {(TASK, "mlp, shared"), ("all", "all")}
    for _, sub in table.groupby(["task", "architecture"]):
        assert set(sub["family"]) == {"value", "policy", "value - policy"}
        assert set(sub["stage"]) == {"trunk.0", "trunk.1", "readout"}
    # one correction over every test: Holm's smallest adjusted p is m x the smallest p
    p = table["p_value"].to_numpy(float)
    assert table["p_adjusted"].min() == pytest.approx(min(1.0, len(p) * np.nanmin(p)))
    assert (table["n_left_out"] == 0).all()


def test_a_group_is_h1_applied_by_hand_to_its_rows(small):
    results = small.results
    rows = results[(results["task"] == TASK) & (results["trunk"] == "mlp")
                   & (results["layout"] == "shared")].copy()
    rows["agent"] = rows["algorithm"]
    rng = np.random.default_rng(derive_seed(0, f"{TASK}/mlp/shared"))
    tests = h1_tests(rows, n_boot=999, level=0.95, rng=rng)
    table = small.table[small.table["task"] == TASK]
    assert len(tests) == len(table)
    for t, (_, row) in zip(tests, table.iterrows(), strict=True):
        assert row["stage"] == t.stage
        assert row["estimate"] == pytest.approx(t.estimate, rel=1e-12)
        low, high = np.quantile(t.replicates, [0.025, 0.975])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)
    # and independently: the value family's readout A is the mean over seeds of each
    # seed's readout layers
    geo = results[(results["measure"] == "A") & (results["family"] == "value")
                  & results["layer"].str.startswith("readout")]
    by_seed = geo.groupby("seed")["estimate"].mean()
    row = table[(table["family"] == "value") & (table["stage"] == "readout")].iloc[0]
    assert row["estimate"] == pytest.approx(by_seed.mean(), rel=1e-12)
    assert int(row["n_seeds"]) == len(SEEDS)


def test_one_process_gives_the_same_rows_and_table(small, tmp_path):
    fields = _config(small.out.parent / "checkpoints")
    fields["sweep"]["workers"] = 1
    one = run_replication(load_replication_config(fields), out=tmp_path / "one",
                          progress=False)
    pd.testing.assert_frame_equal(one.results, small.results)
    pd.testing.assert_frame_equal(one.table, small.table)


def test_results_are_side_rows_of_the_one_schema(small):
    from neuroalign.core.results import RESULT_COLUMNS

    results = pd.read_parquet(small.out / FILES["results"])
    assert list(results.columns[:len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert set(results["side"]) == {"model"}
    assert {"algorithm", "trunk", "layout", "criterion_met"} <= set(results.columns)
    assert len(results[results["measure"] == "A"]) == 3 * 3 + 3 * 4  # dqn 3, ppo 4 layers


def test_a_checkpoint_below_criterion_is_left_out_and_counted(zoo_copy, tmp_path,
                                                              monkeypatch):
    _flag_below_criterion(zoo_copy / f"ppo_{TASK}_s1.safetensors")
    monkeypatch.setenv("NEUROALIGN_ZOO", str(zoo_copy))
    cfg = load_replication_config(_config(tmp_path / "ckpt"))
    result = run_replication(cfg, out=tmp_path / "out", progress=False)
    policy = result.table[(result.table["family"] == "policy")]
    assert (policy["n_seeds"] == 2).all()
    assert (policy["n_below_criterion"] == 1).all() and (policy["n_left_out"] == 1).all()
    value = result.table[result.table["family"] == "value"]
    assert (value["n_seeds"] == 3).all() and (value["n_left_out"] == 0).all()
    both = result.table[result.table["family"] == "value - policy"]
    assert (both["n_left_out"] == 1).all()
    ppo = result.results[result.results["algorithm"] == "ppo"]
    assert sorted(set(ppo["seed"])) == [0, 2]
    page = (tmp_path / "out" / FILES["page"]).read_text()
    assert f"- {TASK}, mlp, shared, policy-learners: 1 below the success criterion" in page
    # kept when asked, and still counted
    cfg = load_replication_config(_config(tmp_path / "ckpt", include_failed=True))
    kept = run_replication(cfg, out=tmp_path / "kept", progress=False)
    policy = kept.table[kept.table["family"] == "policy"]
    assert (policy["n_seeds"] == 3).all() and (policy["n_below_criterion"] == 1).all()
    assert (policy["n_left_out"] == 0).all()


def test_a_missing_checkpoint_is_trained_once_then_found(tmp_path):
    fields = _config(tmp_path / "ckpt", algorithms=["ppo"], seeds=[7])
    fields["sweep"]["workers"] = 1
    cfg = load_replication_config(fields)
    first = run_replication(cfg, out=tmp_path / "first", progress=False)
    (job,) = first.timing["jobs"]
    assert (job["status"], job["train_s_from"]) == ("trained", "this sweep")
    assert job["train_s"] > 0 and first.timing["sweep_s"] >= job["train_s"]
    assert any((tmp_path / "ckpt").glob("ppo_pavlovian_s7*.safetensors"))
    again = run_replication(cfg, out=tmp_path / "again", progress=False)
    (job2,) = again.timing["jobs"]
    # a sweep's checkpoint is reproducible, without its training time: said, not guessed
    assert (job2["status"], job2["train_s"], job2["train_s_from"]) == ("existing", None, None)
    assert again.timing["projection"]["jobs_without_training_time"] == 1
    assert "1 network(s) were trained by an earlier run" in again.page
    pd.testing.assert_frame_equal(first.results, again.results)


def test_from_scratch_trains_a_shipped_seed_into_the_folder_and_probes_that_file(tmp_path):
    import os

    fields = _config(tmp_path / "ckpt", algorithms=["ppo"], seeds=[0])
    fields["sweep"].update(workers=1, from_scratch=True)
    before = os.environ.get("NEUROALIGN_ZOO")
    result = run_replication(load_replication_config(fields), out=tmp_path / "out",
                             progress=False)
    (job,) = result.timing["jobs"]
    assert job["status"] == "trained"
    (trained,) = (tmp_path / "ckpt").glob("ppo_pavlovian_s0*.safetensors")
    assert result.checkpoints[0].path == str(trained)
    assert os.environ.get("NEUROALIGN_ZOO") == before  # restored
    shipped = run_replication(load_replication_config(_config(
        tmp_path / "ckpt2", algorithms=["ppo"], seeds=[0])), out=tmp_path / "shipped",
        progress=False)
    assert shipped.timing["jobs"][0]["status"] == "existing"
    assert "neuroalign/data/zoo" in str(shipped.checkpoints[0].path)


def test_a_design_the_zoo_cannot_train_is_refused_naming_why(tmp_path):
    cfg = load_replication_config(_config(tmp_path / "ckpt", algorithms=["dqn"],
                                          trunks=["gru"]))
    with pytest.raises(ConfigError, match=r"algorithms, tasks, trunks, layouts: .*dqn-gru "
                                          r"learns only \['contrast'\]"):
        run_replication(cfg, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_an_existing_output_folder_is_refused_before_any_work(small):
    cfg = load_replication_config(_config(small.out.parent / "checkpoints"))
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        run_replication(cfg, out=small.out, progress=False)


# --- the page ------------------------------------------------------------------------


def test_the_page_is_the_render_of_the_folder_csv_and_timing(small):
    page = (small.out / FILES["page"]).read_text(encoding="utf-8")
    assert page == render_folder(small.out) == small.page
    table, timing = read_outputs(small.out)
    for row in table[table["task"] != "all"].itertuples():
        ci = f"[{row.ci_low:+.2f}, {row.ci_high:+.2f}]"
        assert f"| {row.family} | {row.stage} | {row.estimate:+.2f} | {ci} |" in page
    assert f"```bash\n{timing['command']}\n```" in page
    assert "(replication.png)" in page


def test_the_page_changes_with_its_data(small):
    table, timing = read_outputs(small.out)
    table.loc[0, "estimate"] = 0.987654
    assert "+0.99" in render_page(table, timing)
    assert "+0.99" not in render_folder(small.out)


def test_the_page_warns_when_holm_cannot_reach_alpha(small):
    table, timing = read_outputs(small.out)
    assert "Resolution" not in render_page(table, timing)  # 999 replicates, 18 tests
    timing["study"]["n_boot"] = 99
    assert ("With 99 replicates the smallest p is 0.02; Holm over 18 tests cannot reach "
            "alpha = 0.05") in render_page(table, timing)


def test_docs_replication_is_the_render_of_the_committed_data():
    data = ROOT / "docs" / "replication"
    if not (data / FILES["table"]).exists():
        pytest.skip("no committed replication data")
    table, timing = read_outputs(data)
    assert (ROOT / "docs" / FILES["page"]).read_text(encoding="utf-8") == render_page(
        table, timing)
    assert (ROOT / "docs" / FILES["figure"]).is_file()


# --- time --------------------------------------------------------------------------------


def test_longest_job_first_schedule():
    assert lpt_makespan([3, 3, 2, 2, 2], 2) == 7  # Graham's example: the best is 6
    assert lpt_makespan([5, 1, 1, 1], 1) == 8
    assert lpt_makespan([5, 1, 1, 1], 64) == 5
    assert lpt_makespan([4, float("nan"), 2], 2) == 4
    assert lpt_makespan([], 4) == 0
    with pytest.raises(ValidationError, match="workers: got 0; expected at least 1"):
        lpt_makespan([1.0], 0)


def test_timing_projects_from_the_measured_costs(small):
    t = small.timing
    costs = [j["train_s"] + j["probe_s"] for j in t["jobs"]]
    assert t["projection"]["one_worker_s"] == pytest.approx(sum(costs) + t["study_s"],
                                                            abs=0.01)
    assert t["projection"]["wall_s"] == pytest.approx(max(costs) + t["study_s"], abs=0.01)
    assert all(j["train_s_from"] == "checkpoint" and j["train_s"] > 0 for j in t["jobs"])


# --- config --------------------------------------------------------------------------


def test_the_shipped_config_is_found_by_its_name_and_holds_ten_seeds():
    assert shipped_config("replication") == default_data_dir() / "configs" / "replication.yaml"
    cfg = load_replication_config("replication")
    assert cfg.seeds == list(range(10))
    assert cfg.algorithms == ["dqn", "qrdqn", "reinforce", "a2c", "ppo"]
    assert (cfg.trunks, cfg.layouts) == (["mlp", "gru"], ["shared", "separate"])
    assert cfg.tasks == ["pavlovian", "gridworld", "contrast"] and not cfg.include_failed


def test_neuroalign_run_names_the_command_a_replication_config_is_for():
    from neuroalign.pipeline.config import load_config

    with pytest.raises(ConfigError, match=r"replication.yaml: got the fields \['algorithms', "
                                          r".*\] of a replication config; expected a config "
                                          r"of `neuroalign run` \(run this one with "
                                          r"`neuroalign replicate`\)"):
        load_config("replication")


@pytest.mark.parametrize("fields, message", [
    ({"algoritms": ["dqn"]}, "config: algoritms: unknown field; expected one of "),
    ({"algorithms": ["sac"]}, "algorithms: got ['sac']; expected names from ['dqn', "
                              "'qrdqn', 'reinforce', 'a2c', 'ppo']"),
    ({"algorithms": ["dqn", "dqn"]}, "algorithms: got ['dqn', 'dqn']; expected each "
                                     "algorithm once, got 'dqn' twice"),
    ({"tasks": ["maze"]}, "tasks: got ['maze']; expected names from ['pavlovian', "),
    ({"trunks": ["lstm"]}, "trunks: got ['lstm']; expected names from ['mlp', 'gru']"),
    ({"layouts": ["split"]}, "layouts: got ['split']; expected names from ['shared', "
                             "'separate']"),
    ({"seeds": "9-0"}, "seeds: got '9-0'; expected its end to be >= its start"),
    ({"seeds": "a few"}, "seeds: got 'a few'; expected an integer or a range A-B such as "
                         "'0-4'"),
    ({"seeds": [-1]}, "seeds: got [-1]; expected seeds >= 0"),
    ({"sweep": {"workers": 0}}, "sweep.workers: got 0; expected greater than or equal to 1"),
    ({"sweep": {"cores": 2}}, "sweep.cores: unknown field; expected one of ['from_scratch', "
                              "'out', 'retry_failed', 'scheduler', 'workers']"),
    ({"study": {"correction": "bonferroni"}}, "study.correction: got 'bonferroni'; "
                                              "expected 'holm' or 'bh'"),
    ({"rsa_method": "pearson"}, "rsa_method: got a value; expected none (the replication "
                                "measures the valence geometry alone"),
])
def test_bad_config_fields_give_the_exact_error(fields, message):
    with pytest.raises(ConfigError) as err:
        load_replication_config(fields)
    assert message in str(err.value)


def test_a_yaml_config_reads_a_seed_range_and_relative_checkpoints(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("algorithms: [ppo]\ntasks: [gridworld]\nseeds: 3-5,8\n"
                    "sweep:\n  out: ckpt\n  workers: 1\n")
    cfg = load_replication_config(path, overrides={"sweep": {"workers": 3}})
    assert cfg.seeds == [3, 4, 5, 8]
    assert cfg.sweep.out == str(tmp_path / "ckpt") and cfg.sweep.workers == 3


# --- command line ----------------------------------------------------------------------


def test_the_command_writes_the_folder_and_prints_json(tmp_path):
    cfg = tmp_path / "small.yaml"
    import yaml

    fields = _config(tmp_path / "ckpt")
    fields["algorithms"] = ["qrdqn", "a2c"]
    cfg.write_text(yaml.safe_dump(fields))
    out, ckpt = tmp_path / "out", tmp_path / "elsewhere"
    result = CliRunner().invoke(app, ["replicate", str(cfg), "--out", str(out), "--json",
                                      "--workers", "1", "--seeds", "0,2",
                                      "--checkpoints", str(ckpt)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["out"] == str(out)
    assert len(got["table"]) == len(pd.read_csv(out / FILES["table"]))
    assert got["timing"]["command"] == (f"neuroalign replicate {cfg} --seeds 0,2 "
                                        f"--checkpoints {ckpt} --out {out} --workers 1")
    assert got["timing"]["workers"] == 1
    assert {(j["agent"], j["seed"]) for j in got["timing"]["jobs"]} == {
        (a, s) for a in ("qrdqn", "a2c") for s in (0, 2)}
    bad = CliRunner().invoke(app, ["replicate", str(tmp_path / "missing.yaml")])
    assert isinstance(bad.exception, ConfigError)
    assert "missing.yaml" in str(bad.exception)
