"""Batch config validation, grid expansion and stable cell keys (no cluster)."""

from __future__ import annotations

from pathlib import Path

import batch_cells as bc
import pytest
import yaml

from neuroalign.batch import (
    BatchConfig,
    config_help,
    expand_cells,
    file_fingerprint,
    load_config,
    source_identity,
    validate_config,
)
from neuroalign.batch import plan as plan_mod
from neuroalign.batch.worker import WorkerCache, resolve_function
from neuroalign.core.errors import ConfigError, DependencyError


def _raw(src: str, **kw: object) -> dict:
    base = dict(agents=["dqn", "ppo"], tasks=["pav"], seeds=[0, 1], layers=["l1", "l2"],
                sources=[src], regions=["A", "B"], measures=["plain", "squared"], n_boot=3,
                engine=bc.engine())
    base.update(kw)
    return base


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    bc.write_source(folder / "s1.npz", {"A": 5, "B": 4}, seed=1)
    bc.write_source(folder / "s2.npz", {"A": 3, "B": 6}, seed=2)
    return folder


def test_expansion_order_and_count(sources: Path) -> None:
    cfg = validate_config(_raw(str(sources / "*.npz")))
    cells = expand_cells(cfg)
    assert len(cells) == 2 * 1 * 2 * 2 * 2 * 2 * 2
    assert [c.index for c in cells] == list(range(len(cells)))
    assert len({c.key for c in cells}) == len(cells)
    # innermost dims vary fastest: measure, then region, then source
    assert [(c.measure, c.region, Path(c.source).name) for c in cells[:5]] == [
        ("plain", "A", "s1.npz"), ("squared", "A", "s1.npz"), ("plain", "B", "s1.npz"),
        ("squared", "B", "s1.npz"), ("plain", "A", "s2.npz")]
    assert (cells[0].agent, cells[-1].agent) == ("dqn", "ppo")


def test_each_side_is_owned_by_one_cell_that_holds_it(sources: Path) -> None:
    """A side's own statistics are written once: by the first cell of the grid holding it."""
    cfg = validate_config(_raw(str(sources / "*.npz")))
    s1, s2 = (str((sources / n).resolve()) for n in ("s1.npz", "s2.npz"))

    def owners(cells, side):
        out: dict[tuple, list] = {}
        for c in cells:
            if side in c.sides:
                key = (c.agent, c.task, c.seed, c.layer) if side == "model" else (c.source,
                                                                                  c.region)
                out.setdefault(key, set()).add((c.source, c.region, c.agent, c.layer, c.seed))
        return out

    cells = expand_cells(cfg)
    models, brains = owners(cells, "model"), owners(cells, "brain")
    assert len(models) == 2 * 2 * 2 and all(len(v) == 1 for v in models.values())
    assert len(brains) == 2 * 2 and all(len(v) == 1 for v in brains.values())
    assert {next(iter(v))[:2] for v in models.values()} == {(s1, "A")}
    assert {next(iter(v))[2:] for v in brains.values()} == {("dqn", "l1", 0)}
    # s1 lacks region A: each model side is written by its cell of s1/B instead
    moved = owners(expand_cells(cfg, held={s1: {"B"}, s2: {"A", "B"}}), "model")
    assert {next(iter(v))[:2] for v in moved.values()} == {(s1, "B")}
    assert [c.key for c in expand_cells(cfg, held={s1: {"B"}})] == [c.key for c in cells]


def test_keys_are_stable_and_depend_on_every_input(sources: Path, monkeypatch) -> None:
    raw = _raw(str(sources / "*.npz"))
    keys = [c.key for c in expand_cells(validate_config(raw))]
    assert keys == [c.key for c in expand_cells(validate_config(raw))]
    # a different inference parameter changes every key
    other = [c.key for c in expand_cells(validate_config({**raw, "n_boot": 4}))]
    assert not set(keys) & set(other)
    # editing one source's content changes exactly that source's keys
    cells = expand_cells(validate_config(raw))
    bc.write_source(sources / "s2.npz", {"A": 3, "B": 6}, seed=99)
    after = expand_cells(validate_config(raw))
    changed = {Path(a.source).name for a, b in zip(cells, after, strict=True) if a.key != b.key}
    assert changed == {"s2.npz"}
    # the neuroalign version is part of the key
    monkeypatch.setattr(plan_mod, "neuroalign_version", lambda: "99.0")
    bumped = [c.key for c in expand_cells(validate_config(raw))]
    assert not set(bumped) & {c.key for c in after}


def test_key_follows_content_not_location(sources: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "s1.npz").write_bytes((sources / "s1.npz").read_bytes())
    assert source_identity(str(moved / "s1.npz")) == source_identity(str(sources / "s1.npz"))
    assert file_fingerprint(tmp_path / "nope.nwb") == "missing"
    assert source_identity("dandi://000689/sub-1.nwb") == "dandi://000689/sub-1.nwb"


def test_missing_file_stays_in_grid_and_glob_without_match_refused(sources: Path) -> None:
    cfg = validate_config({**_raw(str(sources / "s1.npz")),
                           "sources": [str(sources / "s1.npz"), str(sources / "gone.npz")]})
    names = {Path(c.source).name for c in expand_cells(cfg)}
    assert names == {"s1.npz", "gone.npz"}
    with pytest.raises(ConfigError, match=r"sources: \[.*nothing-\*\.npz'\] match no file"):
        expand_cells(validate_config(_raw(str(sources / "nothing-*.npz"))))


def test_load_config_resolves_relative_to_file(sources: Path, tmp_path: Path) -> None:
    cfg_path = tmp_path / "conf" / "b.yaml"
    cfg_path.parent.mkdir()
    cfg_path.write_text(yaml.safe_dump(_raw("../src/*.npz")))
    cfg = load_config(cfg_path)
    assert cfg.base_dir == str(cfg_path.parent.resolve())
    assert sorted({Path(c.source).name for c in expand_cells(cfg)}) == ["s1.npz", "s2.npz"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, r"colour: unknown field; expected one of \['agents', "),
        ({"agents": []}, r"agents: got \[\]; expected: list should have at least 1 item"),
        ({"regions": ["A", "A"]},
         r"regions: got \['A', 'A'\]; expected each entry once; \['A'\] repeated"),
        ({"sources": [{"path": "x.nwb", "window": [1.0, 0.0]}]},
         r"sources\[0\]\.window: got \[1\.0, 0\.0\]; expected \[start, stop\) with stop greater"),
        ({"sources": [{"path": "x.nwb", "bogus": 1}]},
         r"sources\[0\]\.bogus: unknown field; expected one of "
         r"\['align', 'align_offset', 'bin_size', "),
        ({"engine": {"cell": "no_colon"}}, r"engine.cell: got 'no_colon'; expected"),
        ({"n_boot": -1}, r"n_boot: got -1; expected greater than or equal to 0"),
    ],
)
def test_invalid_config_names_the_field(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config({**_raw("x.nwb"), **change})


def test_load_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"batch config .*missing.yaml: does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"expected a YAML mapping of fields, got list"):
        load_config(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("agents: [dqn\n")
    expected = r"broken.yaml: not valid YAML \(line 2, column 1: "
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(broken)
    assert "\n" not in str(info.value)


def test_config_help_documents_every_field() -> None:
    text = config_help()
    for name in BatchConfig.model_fields:
        if name not in ("sources", "engine"):
            assert f"\n{name}: " in f"\n{text}"
    assert "sources[].window: " in text
    assert "engine.cell: " in text


def test_resolve_function_errors(tmp_path: Path) -> None:
    assert resolve_function(bc.ref("load_model")) is not None
    with pytest.raises(DependencyError, match=r"cannot import module 'no_such_mod_xyz'"):
        resolve_function("no_such_mod_xyz:f")
    with pytest.raises(ConfigError, match=r"has no function 'nope'"):
        resolve_function(f"{bc.HERE}:nope")
    with pytest.raises(ConfigError, match=r"file .*absent\.py not found"):
        resolve_function("absent.py:f", base_dir=str(tmp_path))


def test_worker_cache_is_lru() -> None:
    cache = WorkerCache(maxsize=2)
    calls: list[str] = []

    def loader(name: str):
        return lambda: calls.append(name) or name

    for name in ["a", "b", "a", "c", "b", "a"]:
        assert cache.get(name, loader(name)) == name
    # a, b loaded; a hit; c evicts b; b reloaded evicts a; a reloaded
    assert calls == ["a", "b", "c", "b", "a"]
    assert (cache.hits, cache.misses) == (1, 5)


def test_slurm_recipe_without_jobqueue_says_how_to_install(monkeypatch) -> None:
    import sys

    from neuroalign.batch import slurm_cluster

    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # as if not installed
    with pytest.raises(DependencyError, match=r"pip install \"neuroalign\[jobqueue\]\""):
        slurm_cluster(jobs=2, queue="normal", cores=4, memory="8GB")


def test_shipped_small_config_is_a_real_grid() -> None:
    from neuroalign.batch import plan_batch
    from neuroalign.core.resources import package_data

    path = package_data("configs", "batch-small.yaml")
    cfg = load_config(path)
    assert cfg.engine.cell == "neuroalign.pipeline.cell:compute_cell"
    sessions = sorted((path.parent.parent / "sessions").glob("*.nwb"))
    assert sessions, f"the shipped sessions are missing from {path.parent.parent / 'sessions'}"
    cells, plan = plan_batch(cfg)  # also validates measures and options against the pipeline
    assert len(cells) == 2 * 2 * 2 * len(sessions)
    assert {c.agent for c in cells} == {"dqn", "ppo"}
    assert {c.region for c in cells} == {"BLA", "NAc"}
    assert {c.measure for c in cells} == {"rsa", "cka"}
    assert sorted({c.source for c in cells}) == [str(p.resolve()) for p in sessions]
    assert plan["config"]["measures"] == ["rsa", "cka"]


def test_default_engine_checks_measures_and_options(tmp_path: Path) -> None:
    from neuroalign.batch import plan_batch

    raw = {**_raw(str(tmp_path / "x.nwb")), "engine": {}}
    with pytest.raises(ConfigError, match=r"measures: unknown \['plain', 'squared'\]; expected "
                                          r"names from \['rsa', 'cka', 'shape', 'geometry'\]"):
        plan_batch(validate_config(raw))
    raw["measures"] = ["rsa"]
    raw["tasks"] = ["pavlovian"]
    with pytest.raises(ConfigError, match=r"agents: unknown \['ppoo'\]; expected names from "
                                          r"\['dqn', 'qrdqn', 'reinforce', 'a2c', 'ppo', 'dqn-"):
        plan_batch(validate_config({**raw, "agents": ["dqn", "ppoo"]}))
    with pytest.raises(ConfigError, match=r"tasks: unknown \['pavlovan'\]; expected names from "
                                          r"\['pavlovian', 'gridworld', 'contrast'\]"):
        plan_batch(validate_config({**raw, "tasks": ["pavlovan"]}))
    # the default cell's measure options are typed: checked when the config is read
    with pytest.raises(ConfigError, match=r"options\.colour: unknown field; expected one of "
                                          r"\['ci', 'geometry_distance', "):
        validate_config({**raw, "options": {"colour": 1}})
    with pytest.raises(ConfigError, match=r"options\.rsa_method: got 'kendall'; expected "
                                          r"'spearman' or 'pearson'"):
        validate_config({**raw, "options": {"rsa_method": "kendall"}})


def test_own_cell_functions_receive_their_own_options(sources: Path) -> None:
    from neuroalign.batch import run_serial
    from neuroalign.batch.worker import cell_params

    # a cell function without a schema receives its options as given
    free = validate_config(_raw(str(sources / "s1.npz"), engine=bc.engine("options_cell"),
                                options={"scale": 3.0, "label": "x"}, agents=["dqn"],
                                seeds=[0], layers=["l1"], regions=["A"], measures=["plain"]))
    assert free.options == {"scale": 3.0, "label": "x"}
    assert cell_params(free)["options"] == {"scale": 3.0, "label": "x"}
    # one with an options_model gets them checked and completed by it
    typed = validate_config(_raw(str(sources / "*.npz"), engine=bc.engine("typed_cell"),
                                 options={"scale": 2}, agents=["dqn"], seeds=[0],
                                 layers=["l1"], measures=["plain"]))
    assert cell_params(typed)["options"] == {"scale": 2.0, "offset": 0.0}
    rows = run_serial(typed, allow_code=True)
    plain = run_serial(validate_config({**typed.model_dump(), "options": {"scale": 1}}),
                       allow_code=True)
    assert rows["estimate"].tolist() == (2 * plain["estimate"]).tolist()
    for options, match in (({"scale": "big"}, r"scale: got 'big'; expected a valid number"),
                           ({"colour": 1}, r"colour: unknown field; expected one of "
                                           r"\['offset', 'scale'\]")):
        bad = validate_config({**typed.model_dump(), "options": options})
        with pytest.raises(ConfigError, match=r"batch config options \(checked by .*"
                                              r"typed_cell\.options_model\): " + match):
            run_serial(bad, allow_code=True)
    # the default cell function's options stay typed by the measure options
    with pytest.raises(ConfigError, match=r"options\.scale: unknown field"):
        validate_config({**_raw(str(sources / "s1.npz")), "engine": {},
                         "options": {"scale": 1}})
