"""`neuroalign zoo twins`: the SB3 comparison's folder, its page and the docs copy."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ValidationError
from neuroalign.pipeline.twins_page import (
    DOCS_PAGE,
    TWINS_FILES,
    read_twins_outputs,
    render_twins_page,
)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    pytest.importorskip("stable_baselines3")
    base = tmp_path_factory.mktemp("twins")
    args = ["zoo", "twins", "--out", str(base / "out"), "--algorithms", "a2c", "--tasks",
            "pavlovian", "--seeds", "0", "--checkpoints", str(base / "ckpt"), "--workers",
            "1", "--n-boot", "30", "--study-boot", "199", "--docs", str(base / "docs")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return base, result


def test_the_page_is_the_render_of_the_folder_table_and_timing(twins):
    base, _ = twins
    table, timing = read_twins_outputs(base / "out")
    page = (base / "out" / TWINS_FILES["page"]).read_text()
    assert page == render_twins_page(table, timing)
    assert (base / "docs" / DOCS_PAGE).read_text() == page
    assert (base / "docs" / "replication-sb3" / TWINS_FILES["table"]).is_file()
    # every row of the table is on the page, with its difference
    for r in table.to_dict("records"):
        assert f"| {r['algorithm']} | {r['task']} | {r['stage']} |" in page
    assert timing["command"].startswith("neuroalign zoo twins --out ")
    assert "--n-boot 30 --study-boot 199" in timing["command"]


def test_the_timing_lists_the_twins_of_the_design_with_their_records(twins):
    base, _ = twins
    timing = json.loads((base / "out" / TWINS_FILES["timing"]).read_text())
    (job,) = timing["sb3_jobs"]
    assert (job["agent"], job["task"], job["seed"]) == ("a2c", "pavlovian", 0)
    assert job["train_s"] > 0 and isinstance(job["criterion_met"], bool)
    assert any((base / "ckpt" / "sb3").glob("sb3-a2c_pavlovian_s0_*.zip"))
    assert timing["design"]["seeds"] == [0]


def test_the_page_changes_with_its_data(twins):
    base, _ = twins
    table, timing = read_twins_outputs(base / "out")
    changed = table.copy()
    changed.loc[0, "difference"] = 0.4321
    assert "+0.43" in render_twins_page(changed, timing)
    assert "+0.43" not in render_twins_page(table, timing) or \
        (table["difference"].round(2) == 0.43).any()
    assert isinstance(pd.read_csv(base / "out" / TWINS_FILES["sides"]), pd.DataFrame)


def test_bad_seeds_exit_with_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["zoo", "twins", "--out", str(tmp_path / "o"),
                                      "--seeds", "3-1"])
    assert isinstance(result.exception, ValidationError)
    assert str(result.exception) == ("--seeds: got the range '3-1'; expected its end to be "
                                     ">= its start")


def test_docs_replication_sb3_is_the_render_of_the_committed_data():
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    data = docs / DOCS_PAGE.removesuffix(".md")
    if not (data / TWINS_FILES["table"]).is_file():
        pytest.skip("no committed twins data (an installed package without docs)")
    assert (docs / DOCS_PAGE).read_text() == render_twins_page(*read_twins_outputs(data))
