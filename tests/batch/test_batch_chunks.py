"""Chunks of cells: keys, chunk sizes, loading once per chunk, the memory-bounded cache."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import batch_cells as bc
import numpy as np
import pytest

from neuroalign.batch import (
    PROJECT_FUNCTIONS,
    WorkerCache,
    auto_chunk_size,
    check_engine,
    expand_cells,
    make_chunks,
    run_batch,
    validate_config,
)
from neuroalign.batch.plan import (
    _engine_identity,
    _expand_sources,
    _key,
    model_identity,
    source_identity,
)
from neuroalign.batch.worker import compute_chunk, compute_rows, nbytes
from neuroalign.core.errors import ConfigError


def _sources(folder: Path) -> Path:
    folder.mkdir()
    bc.write_source(folder / "s1.npz", {"A": 5, "B": 4}, seed=1)
    bc.write_source(folder / "s2.npz", {"A": 3, "B": 6}, seed=2)
    return folder


def _config(src: Path, **kw: object):
    raw = dict(agents=["dqn", "ppo"], tasks=["pav"], seeds=[0, 1], layers=["l1", "l2"],
               sources=[str(src / "*.npz")], regions=["A", "B"], measures=["plain", "squared"],
               n_boot=3, engine=bc.engine())
    raw.update(kw)
    return validate_config(raw)


def test_keys_equal_the_hash_of_the_whole_payload(tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src, options={"rsa_method": "pearson", "shape_alpha": 0.5},
                  regions=["A", "Bé"], layers=["l 2\""],
                  sources=[str(src / "s1.npz"),
                           {"path": str(src / "s2.npz"), "window": [-1.5, 0.5]}])
    cells = expand_cells(cfg)
    common = {"version": __import__("neuroalign").core.provenance.neuroalign_version(),
              "engine": _engine_identity(cfg), "n_boot": cfg.n_boot, "n_perm": cfg.n_perm,
              "seed": cfg.seed, "options": cfg.options_dict(),
              "brain_options": cfg.brain_options()}
    expected = []
    for agent in cfg.agents:
        for seed in cfg.seeds:
            for layer in cfg.layers:
                for loc, spec in _expand_sources(cfg):
                    for region in cfg.regions:
                        for measure in cfg.measures:
                            expected.append(_key({
                                **common, "model": [agent, "pav", seed, layer,
                                                    model_identity(cfg, agent, "pav", seed)],
                                "source": source_identity(loc),
                                "source_options": spec.options(), "region": region,
                                "measure": measure}))
    assert [c.key for c in cells] == expected and len(set(expected)) == len(expected)


def test_auto_chunk_size_and_grouping_by_source(tmp_path: Path) -> None:
    assert auto_chunk_size(100_000, 2) == 1000
    assert auto_chunk_size(240, 2) == 15
    assert auto_chunk_size(5, 64) == 1
    cells = expand_cells(_config(_sources(tmp_path / "src")))  # 64 cells, 2 sources
    chunks = make_chunks(cells, 12)
    assert [len(c) for c in chunks] == [12, 12, 12, 12, 12, 4]
    flat = [c for chunk in chunks for c in chunk]
    assert sorted(c.key for c in flat) == sorted(c.key for c in cells)
    # every source is one run of cells: each chunk touches at most two sources
    runs = [k for i, k in enumerate(c.source for c in flat) if i == 0 or flat[i - 1].source != k]
    assert len(runs) == 2
    with pytest.raises(ConfigError, match=r"chunk_size: got 0; expected a positive"):
        make_chunks(cells, 0)


def test_a_chunk_loads_each_source_and_layer_once(tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src)
    cells = expand_cells(cfg)
    engine, params = cfg.engine.model_dump(), cfg.cell_params()
    # a cache of one entry: without the chunk's own hold, sources would be reloaded
    result = compute_chunk(cells, engine, params, cfg.base_dir, WorkerCache(maxsize=1))
    loads = Counter((src / "loads.log").read_text().splitlines())
    assert sorted(loads.values()) == [1, 1] and len(result.done) == 64
    by_cell: dict[str, list] = {}
    for key, row in zip(result.row_keys, result.rows, strict=True):
        by_cell.setdefault(key, []).append(row)
    for cell in cells[::7]:
        assert by_cell[cell.key] == compute_rows(cell, engine, params, cfg.base_dir,
                                                 WorkerCache())


def test_a_source_that_fails_to_load_fails_its_cells_once(tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    (src / "bad.npz").write_bytes(b"garbage")
    cfg = _config(src, sources=[str(src / "bad.npz"), str(src / "s1.npz")])
    cells = expand_cells(cfg)
    result = compute_chunk(cells, cfg.engine.model_dump(), cfg.cell_params(), cfg.base_dir,
                           WorkerCache())
    assert len(result.done) == len(result.failures) == 32
    assert {type(e).__name__ for e, _ in result.failures.values()} == {"DataError"}
    assert all("Traceback" in tb for _, tb in result.failures.values())
    lines = (src / "loads.log").read_text().splitlines()
    assert sum(line.endswith("brain bad.npz") for line in lines) == 1


def test_worker_cache_is_bounded_by_memory() -> None:
    cache = WorkerCache(maxsize=100, max_bytes=3000)
    arrays = {i: np.zeros(125) for i in range(5)}  # 1000 bytes each
    for i in range(3):
        cache.get(i, lambda i=i: arrays[i])
    assert len(cache) == 3 and cache.bytes == 3000
    cache.get(0, lambda: pytest.fail("0 is cached"))  # 0 becomes the most recent
    cache.get(3, lambda: arrays[3])  # evicts 1, the least recently used
    assert cache.bytes == 3000 and cache.hits == 1
    loaded = []
    cache.get(1, lambda: loaded.append(1) or arrays[1])
    assert loaded == [1]
    big = np.zeros(1000)
    assert cache.get("big", lambda: big) is big and len(cache) == 3  # returned, not kept
    assert nbytes({"a": np.zeros(10), "b": [np.zeros(5, dtype=np.int32)]}) > 100


def test_engine_functions_beyond_the_projects_need_allow_code(tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    check_engine({"cell": sorted(PROJECT_FUNCTIONS)[0]}, allow_code=False)
    cfg = _config(src)
    with pytest.raises(ConfigError, match=r"engine.cell: got '.*batch_cells.py:cell'; expected "
                       r"one of neuroalign's own functions .* --allow-code"):
        run_batch(cfg, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match=r"engine.model_loader: got 'os:system'"):
        check_engine({"cell": sorted(PROJECT_FUNCTIONS)[0], "model_loader": "os:system"},
                     allow_code=False)
    check_engine(cfg.engine.model_dump(), allow_code=True)
