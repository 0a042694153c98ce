"""The main job end to end on one shipped session, with a stand-in zoo (fast)."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pipeline_fakes import FAKE_ZOO, install
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.core.errors import ConfigError, OutputExistsError, ProfileError
from neuroalign.pipeline.config import default_data_dir, load_config
from neuroalign.pipeline.run import run_pipeline

SESSION = default_data_dir() / "sessions" / "sub-synthetic-mouse-0_ses-sim-0.nwb"


def _config(tmp: Path, **extra):
    base = {
        "sources": [{"path": str(SESSION)}],
        "agents": [{"name": "walls"}, {"name": "funnels"}],
        "measures": ["rsa", "shape", "geometry"],
        "n_boot": 10, "n_perm": 19, "cache_dir": str(tmp / "cache"),
    }
    return load_config({**base, **extra})


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp:
        install(mp)
        result = run_pipeline(_config(tmp), out=tmp / "report", progress=False)
    return result


def test_report_folder_holds_every_file(report):
    out = report.out
    names = {p.name for p in out.iterdir()}
    assert {"results.parquet", "results.csv", "summary.csv", "study.csv", "report.html",
            "config.yaml", "manifest.json", "figures"} <= names
    study = pd.read_csv(out / "study.csv")
    assert set(study["hypothesis"]) >= {"H1", "H2", "H3", "best match"}
    assert (study["p_adjusted"] >= study["p_value"]).all()
    # every test with an interval says the smallest effect it could detect
    with_ci = study[study["ci_low"].notna()]
    assert len(with_ci) and (with_ci["mde"] > 0).all() and with_ci["mde"].notna().all()
    assert set(study["verdict"]) <= {"supported", "contradicted", "absent", "inconclusive"}
    assert set(report.results["animal"].dropna()) == {"synthetic-mouse-0"}
    model_side = report.results["side"] == "model"  # a model's own rows name no animal
    assert report.results.loc[~model_side, "animal"].notna().all()
    figs = sorted(p.name for p in (out / "figures").iterdir())
    assert figs == sorted(p.name for p in report.figures)
    assert {"verdict.png", "similarity_rsa.png", "similarity_shape.png", "asymmetry.png",
            "approach_profiles.png", "trajectories.png", "rdms.png"} == set(figs)
    assert not list(out.parent.glob(".report.*"))  # no temporary folder left
    assert (out.stat().st_mode & 0o777) != 0o700  # not left private like a temp folder


def test_one_row_per_model_region_measure(report):
    res = report.results
    # 2 layers x (walls seeds 0 and 1, funnels seed 0) x 3 regions of the one session
    assert report.n_cells == 6 * 3
    pairs = res[res["side"] == "pair"]
    per_cell = pairs.groupby(["agent", "seed", "layer", "session", "region"]).size()
    assert len(per_cell) == 18
    assert (per_cell == 2).all()  # rsa, shape
    assert not res.duplicated(["agent", "task", "seed", "layer", "session", "region",
                               "measure", "side"]).any()
    # geometry: 8 statistics, once per side (6 agent layers, 3 regions), keyed by that side
    models = res[res["side"] == "model"]
    brains = res[res["side"] == "brain"]
    assert len(models) == 6 * 8 and len(brains) == 3 * 8
    assert models["session"].isna().all() and models["task"].notna().all()
    assert brains["agent"].isna().all() and brains["region"].notna().all()
    rsa = res[res["measure"] == "rsa"]
    assert rsa["estimate"].between(-1, 1).all()
    assert (rsa["ci_low"] <= rsa["estimate"] + 1e-12).all()
    assert (rsa["estimate"] <= rsa["ci_high"] + 1e-12).all()
    assert rsa["p_value"].between(0, 1).all() and rsa["ceiling_low"].notna().all()
    assert set(res["family"].dropna()) == {"value", "policy"}


def test_tables_round_trip(report):
    pq = pd.read_parquet(report.out / "results.parquet")
    csv = pd.read_csv(report.out / "results.csv")
    assert len(pq) == len(csv) == len(report.results)
    np.testing.assert_allclose(pq["estimate"].to_numpy(float), csv["estimate"].to_numpy(float),
                               equal_nan=True)
    assert list(pq.columns) == list(report.results.columns)


def test_html_is_self_contained(report):
    page = (report.out / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']https?:""", page)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(report.figures)
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "SYNTHETIC" in page and "walls / trunk" in page
    manifest = json.loads((report.out / "manifest.json").read_text())
    assert manifest["synthetic"] == 1 and manifest["n_cells"] == 18
    assert page.index("<h2>Verdict") < page.index("Summary: best-matching")


def test_the_report_draws_exactly_the_figures_its_page_shows(report):
    """Every figure file is embedded in report.html, once, and the page shows no other."""
    page = (report.out / "report.html").read_text()
    embedded = sorted(base64.b64decode(data) for data in
                      re.findall(r'src="data:image/png;base64,([^"]+)"', page))
    files = sorted((report.out / "figures").iterdir())
    assert embedded == sorted(path.read_bytes() for path in files)
    assert sorted(report.figures) == files


def test_per_session_and_per_seed_rows_are_collapsed_under_the_verdict(report):
    from neuroalign.report.tables import asymmetry_table

    page = (report.out / "report.html").read_text()
    asym = asymmetry_table(report.results)
    blocks = re.findall(r"<details><summary>([^<]*)</summary>(.*?)</details>", page, re.S)
    summaries = {s.split(":")[0]: (s, body) for s, body in blocks}
    n_brain = int((asym["group"] == "brain").sum())
    n_model = len(asym) - n_brain
    assert n_brain and n_model
    session, body = summaries["Per-session rows"]
    assert f"({n_brain} rows)" in session and body.count("<tr>") == n_brain
    assert all(f"<td>{name}</td>" in body for name in asym["name"][asym["group"] == "brain"])
    seed, body = summaries["Per-seed rows"]
    assert f"({n_model} rows)" in seed and body.count("<tr>") == n_model
    # below the verdict figure, above the next section; no longer a section of its own
    verdict_img = page.index("<img", page.index("<h2>Verdict"))
    assert verdict_img < page.index("<details>") < page.index("Summary: best-matching")
    assert "Valence asymmetry table" not in page


def test_planted_geometry_shows_in_the_results(report):
    """The default sessions plant a wall around danger in BLA and around reward in NAc."""
    res = report.results
    a = res[(res["measure"] == "A") & (res["side"] == "brain")].set_index("region")["estimate"]
    assert a["BLA"] > 0 > a["NAc"]


def _run(tmp, mp, **kwargs):
    install(mp)
    return run_pipeline(_config(tmp, measures=["rsa"], n_boot=0, n_perm=0), progress=False,
                        figures=False, **kwargs)


def test_agent_not_in_zoo(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = _config(tmp_path, agents=[{"name": "sarsa"}])
    names = sorted(r["name"] for r in FAKE_ZOO)
    with pytest.raises(ConfigError, match=re.escape(
            f"agents[0].name: 'sarsa' is not in the zoo; available: {names}")):
        run_pipeline(cfg, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_seed_without_checkpoint(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = _config(tmp_path, agents=[{"name": "funnels", "seeds": [5]}])
    with pytest.raises(ConfigError, match=r"agents\[0\]\.seeds: \[5\] have no shipped or cached "
                       r"checkpoint for 'funnels' on 'pavlovian'; shipped seeds: \[0\]\. "
                       r"Train one with `neuroalign zoo train"):
        run_pipeline(cfg, out=tmp_path / "r", progress=False)


def test_region_that_no_session_has(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = _config(tmp_path, sources=[{"path": str(SESSION), "regions": ["BLA", "VTA"]}])
    with pytest.raises(ConfigError, match=r"sources\[0\]\.regions: \['VTA'\] in no session "
                       r"of .*regions found: \['BLA', 'NAc', 'mPFC'\]"):
        run_pipeline(cfg, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_source_without_valence_events(tmp_path, monkeypatch, no_valence_nwb):
    install(monkeypatch)
    cfg = _config(tmp_path, sources=[{"path": str(no_valence_nwb)}])
    with pytest.raises(ProfileError, match="no valence column found"):
        run_pipeline(cfg, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_existing_report_is_refused_unless_overwrite(tmp_path, monkeypatch):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="exists and is not empty"):
        _run(tmp_path, monkeypatch, out=out)
    assert (out / "keep.txt").read_text() == "mine"
    _run(tmp_path, monkeypatch, out=out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "results.parquet").exists()


class _Boom(RuntimeError):
    pass


def test_interrupted_run_leaves_no_report(tmp_path, monkeypatch):
    import neuroalign.report.build as build

    def explode(*args, **kwargs):
        raise _Boom("disk full while drawing")

    monkeypatch.setattr(build, "write_tables", explode)
    with pytest.raises(_Boom):
        _run(tmp_path, monkeypatch, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]  # no temporary folder either


def test_interrupted_overwrite_keeps_the_old_report(tmp_path, monkeypatch):
    import neuroalign.report.build as build

    out = tmp_path / "r"
    _run(tmp_path, monkeypatch, out=out)
    before = (out / "results.csv").read_text()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "render_html", explode)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, monkeypatch, out=out, overwrite=True)
    assert (out / "results.csv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "r"]


def test_cli_run_prints_summary_and_refuses_existing(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"sources:\n  - path: {SESSION}\nagents:\n  - name: walls\n"
                   f"measures: [rsa]\nn_boot: 0\nn_perm: 0\ncache_dir: {tmp_path / 'cache'}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "r"), "--quiet",
                                 "--no-figures"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Report:" in result.output and "BLA" in result.output
    assert result.output.index("Verdict") < result.output.index("Best-matching")
    assert "Only ONE animal" in result.output  # one session of one synthetic mouse
    again = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "r"), "--quiet"])
    assert isinstance(again.exception, OutputExistsError)


def test_defaults_resolve_to_the_shipped_zoo():
    """No config: every zoo agent with a shipped Pavlovian checkpoint, every shipped seed."""
    from neuroalign.pipeline.run import resolve_agents
    from neuroalign.zoo import checkpoint_path, list_agents

    resolved = resolve_agents(load_config())
    shipped = {a["name"]: a["shipped_seeds"]["pavlovian"] for a in list_agents()}
    expected = sorted((name, seed) for name, seeds in shipped.items() for seed in seeds)
    assert len({seed for _, seed in expected}) == 3  # the shipped zoo: 3 seeds per agent
    assert sorted((name, seed) for name, _, _, seed, _ in resolved) == expected
    assert {family for _, family, _, _, _ in resolved} == {"value", "policy"}
    assert all(checkpoint_path(n, t, s) is not None for n, _, t, s, _ in resolved)


def test_exception_in_the_middle_of_the_comparisons(tmp_path, monkeypatch):
    import neuroalign.pipeline.run as run_mod

    real, calls = run_mod.score_cell, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise _Boom("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_mod, "score_cell", flaky)
    with pytest.raises(_Boom):
        _run(tmp_path, monkeypatch, out=tmp_path / "r", workers=1)
    assert len(calls) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_exception_in_a_worker_process_reaches_the_caller(tmp_path, monkeypatch):
    import neuroalign.pipeline.run as run_mod

    real, parent = run_mod.score_cell, os.getpid()

    def flaky(model, brain, measures, *, meta, **kwargs):
        if meta["agent"] == "funnels":  # raised in a worker process, not here
            assert os.getpid() != parent, "scored in the main process"
            raise _Boom(f"worker lost at {meta['agent']}/{meta['layer']}")
        return real(model, brain, measures, meta=meta, **kwargs)

    monkeypatch.setattr(run_mod, "score_cell", flaky)
    with pytest.raises(_Boom, match="worker lost at funnels/"):
        _run(tmp_path, monkeypatch, out=tmp_path / "r", workers=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_results_are_the_same_for_any_number_of_workers(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = _config(tmp_path, n_boot=5, n_perm=19)
    tables = [run_pipeline(cfg, out=tmp_path / f"r{n}", progress=False, figures=False,
                           workers=n).results for n in (1, 2, 3)]
    assert len(tables[0]) > 0
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0], check_exact=True)


def test_cli_workers_flag_gives_the_same_results_in_and_out_of_process(tmp_path, monkeypatch):
    """`neuroalign run --workers 1` scores every cell here, `--workers 2` in forked
    workers (and the default, one per CPU, as it may); results.parquet is the same."""
    import neuroalign.pipeline.run as run_mod

    install(monkeypatch)
    real, parent, pids = run_mod.score_cell, os.getpid(), tmp_path / "pids"

    def tracing(*args, **kwargs):  # a file per process: a worker's memory is its own
        (pids / str(os.getpid())).touch()
        return real(*args, **kwargs)

    def where() -> set[bool]:
        return {int(p.name) == parent for p in pids.iterdir()}

    monkeypatch.setattr(run_mod, "score_cell", tracing)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"sources:\n  - path: {SESSION}\nagents:\n  - name: walls\n"
                   f"  - name: funnels\nmeasures: [rsa, cka]\nn_boot: 5\nn_perm: 19\n"
                   f"cache_dir: {tmp_path / 'cache'}\n")
    runner = CliRunner()
    tables = {}
    for label, extra in (("one", ["--workers", "1"]), ("two", ["--workers", "2"]),
                         ("default", [])):
        pids.mkdir()
        result = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / label),
                                     "--quiet", "--no-figures", *extra])
        assert result.exit_code == 0, result.output
        tables[label] = pd.read_parquet(tmp_path / label / "results.parquet")
        seen = where()
        if label == "one":
            assert seen == {True}  # every cell in this process
        if label == "two" and "fork" in multiprocessing.get_all_start_methods():
            assert False in seen  # some cells in a forked worker
        shutil.rmtree(pids)
    assert len(tables["one"]) > 0
    for label in ("two", "default"):
        pd.testing.assert_frame_equal(tables[label], tables["one"], check_exact=True)
    bad = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "bad"), "--workers", "0"])
    assert bad.exit_code == 2 and "--workers" in bad.output
    assert not (tmp_path / "bad").exists()
