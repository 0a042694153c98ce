"""Running grids on a dask LocalCluster: equality with a serial run, caching, faults."""

from __future__ import annotations

import io
import os
from collections import Counter
from pathlib import Path

import batch_cells as bc
import dask
import pandas as pd
import pytest
from rich.console import Console

from neuroalign.batch import (
    BatchStore,
    load_results,
    run_batch,
    run_serial,
    validate_config,
)
from neuroalign.core.errors import DataError
from neuroalign.core.resources import package_data


@pytest.fixture(scope="module")
def client():
    import distributed

    # one worker death per task is forgiven, the second marks the task bad (KilledWorker)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=50)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _sources(folder: Path) -> Path:
    folder.mkdir()
    bc.write_source(folder / "s1.npz", {"A": 5, "B": 4}, seed=1)
    bc.write_source(folder / "s2.npz", {"A": 3, "B": 6}, seed=2)
    return folder


def _config(src: object, cell: str = "cell", **kw: object):
    sources = src if isinstance(src, list) else [str(src)]
    raw = dict(agents=["dqn", "ppo"], tasks=["pav"], seeds=[0, 1], layers=["l1"],
               sources=sources, regions=["A", "B"], measures=["plain", "squared"],
               n_boot=10, engine=bc.engine(cell))
    raw.update(kw)
    return validate_config(raw)


def test_distributed_equals_serial_loads_once_and_rerun_skips(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src / "*.npz")
    buf = io.StringIO()
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client,
                        console=Console(file=buf, width=100))
    assert (summary.total, summary.done, summary.skipped, summary.failed) == (32, 32, 0, 0)
    assert "32/32" in buf.getvalue()
    table = load_results(tmp_path / "out")
    # each worker process read each source at most once (cached), none came from here
    loads = Counter((src / "loads.log").read_text().splitlines())
    assert loads and max(loads.values()) == 1
    pids = {line.split()[0] for line in loads}
    assert len(pids) <= 2 and str(os.getpid()) not in pids
    serial = run_serial(cfg, allow_code=True)
    pd.testing.assert_frame_equal(table, serial)
    assert len(table) == 32 and not table.duplicated(["cell_key", "cell_row"]).any()
    assert table.groupby(["agent", "seed", "region", "measure"]).size().eq(2).all()
    again = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (again.done, again.skipped) == (0, 32)
    assert BatchStore(tmp_path / "out").status().as_dict() == {
        "total": 32, "done": 32, "failed": 0, "pending": 0, "unplanned": 0,
        "corrupt": 0}


def test_worker_killed_mid_batch_is_retried_elsewhere(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src / "*.npz", cell="crash_once_cell")
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (src / "crash.marker").exists(), "no worker was killed"
    assert (summary.done, summary.failed) == (32, 0)
    pd.testing.assert_frame_equal(load_results(tmp_path / "out"), run_serial(cfg, allow_code=True))


def test_worker_killed_every_time_becomes_a_failure(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src / "s1.npz", cell="always_crash_cell", agents=["dqn"], seeds=[0],
                  regions=["A"], measures=["plain"])
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (summary.done, summary.failed) == (0, 1)
    store = BatchStore(tmp_path / "out")
    (key,) = store.failed_keys()
    assert store.failure(key)["error_type"] == "KilledWorker"


def test_corrupt_and_missing_sources_fail_alone(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    (src / "bad.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    cfg = _config([str(src / "s1.npz"), str(src / "bad.npz"), str(src / "gone.npz")])
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (summary.total, summary.done, summary.failed) == (48, 16, 32)
    store = BatchStore(tmp_path / "out")
    messages = Counter()
    for key in store.failed_keys():
        rec = store.failure(key)
        name = Path(rec["cell"]["source"]).name
        messages[(name, rec["error_type"], rec["message"].split(":")[-1].strip()[:24])] += 1
        assert str(src / name) in rec["message"]
        assert "Traceback" in rec["traceback"]
    assert messages == {
        ("bad.npz", "DataError", "not a readable .npz file"): 16,
        ("gone.npz", "SourceError", "file not found"): 16,
    }
    assert set(load_results(tmp_path / "out")["cell_key"]) == (
        store.done_keys())
    # a rerun leaves failed cells alone unless asked to retry them
    again = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (again.done, again.skipped, again.failed_before) == (0, 16, 32)


def test_retry_failed_over_a_scheduler_address(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    (src / "fail.flag").write_text("")
    cfg = _config(src / "*.npz", cell="flaky_cell")
    address = client.scheduler.address
    first = run_batch(cfg, tmp_path / "out", allow_code=True, scheduler=address, progress=False)
    assert (first.done, first.failed) == (16, 16)
    assert all("flaky failure" in msg for msg in first.failures.values())
    (src / "fail.flag").unlink()
    second = run_batch(cfg, tmp_path / "out", allow_code=True, scheduler=address, progress=False)
    assert (second.done, second.failed_before) == (0, 16)
    third = run_batch(cfg, tmp_path / "out", allow_code=True, scheduler=address, progress=False,
                      retry_failed=True)
    assert (third.done, third.skipped, third.failed) == (16, 16, 0)
    assert BatchStore(tmp_path / "out").failed_keys() == set()
    pd.testing.assert_frame_equal(load_results(tmp_path / "out"), run_serial(cfg, allow_code=True))


def test_fail_fast_reraises_the_cell_error(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    (src / "bad.npz").write_bytes(b"garbage")
    cfg = _config(src / "bad.npz")
    with pytest.raises(DataError, match=r"bad.npz: not a readable .npz file"):
        run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False,
                  fail_fast=True)
    assert BatchStore(tmp_path / "out").failed_keys()


SESSION = package_data("sessions", "sub-synthetic-mouse-0_ses-sim-0.nwb")


def test_real_cells_equal_the_main_job_and_bad_files_fail_alone(client, tmp_path: Path) -> None:
    import numpy as np

    from neuroalign.pipeline.cell import compute_cell, load_brain_patterns, load_model_patterns

    good = tmp_path / "good.nwb"
    good.write_bytes(SESSION.read_bytes())
    (tmp_path / "trunc.nwb").write_bytes(SESSION.read_bytes()[:300_000])
    cfg = validate_config(dict(
        agents=["dqn"], tasks=["pavlovian"], seeds=[0], layers=["trunk.1"],
        sources=[str(good), str(tmp_path / "trunc.nwb"), str(tmp_path / "gone.nwb")],
        regions=["BLA"], measures=["cka", "shape"], n_boot=20, n_perm=20, seed=3))
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (summary.total, summary.done, summary.failed) == (6, 2, 4)
    messages = list(summary.failures.values())
    assert sum(m.startswith("NWBFormatError: ") and "trunc.nwb: truncated or corrupt HDF5 file"
               in m for m in messages) == 2
    assert sum(m.startswith("ConfigError: ") and "gone.nwb: does not exist" in m
               for m in messages) == 2
    table = load_results(tmp_path / "out")
    # the same numbers as the main job's per-cell call with every measure at once
    brain = load_brain_patterns({"path": str(good)}, min_units=5)["BLA"]
    model = load_model_patterns("dqn", "pavlovian", 0, "trunk.1")
    direct = pd.DataFrame(compute_cell(
        model, brain, ["cka", "shape"], n_boot=20, n_perm=20, seed=3,
        meta={"agent": "dqn", "task": "pavlovian", "seed": 0, "layer": "trunk.1",
              "region": "BLA"}, options={}))
    assert len(table) == len(direct) > 0
    for col in ("agent", "family", "session", "region", "measure", "kind"):
        assert table[col].tolist() == direct[col].tolist()
    for col in ("estimate", "ci_low", "ci_high", "p_value", "ceiling_low", "ceiling_high"):
        np.testing.assert_array_equal(table[col].to_numpy(float), direct[col].to_numpy(float))


def test_poison_cell_in_a_chunk_fails_alone(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src / "*.npz", cell="poison_cell", chunk_size=8, agents=["ppo"])
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    # the chunk whose task fails is split until the one cell stands alone
    assert (summary.total, summary.done, summary.failed) == (16, 14, 2)
    store = BatchStore(tmp_path / "out")
    keys = store.failed_keys()
    records = [store.failure(k) for k in keys]
    assert {r["error_type"] for r in records} == {"GeneratorExit"}
    assert {r["cell"]["source"].rsplit("/", 1)[-1] for r in records} == {"s1.npz", "s2.npz"}
    for record in records:
        assert (record["cell"]["seed"], record["cell"]["region"],
                record["cell"]["measure"]) == (1, "B", "squared")
    # the other cells equal a run of the same cells with the harmless cell function
    good = run_serial(_config(src / "*.npz", agents=["ppo"]), allow_code=True)
    poisoned = (good["seed"] == 1) & (good["region"] == "B") & (good["measure"] == "squared")
    table = load_results(tmp_path / "out")
    pd.testing.assert_frame_equal(table.drop(columns="cell_key"),
                                  good[~poisoned].drop(columns="cell_key")
                                  .reset_index(drop=True))


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupted_parts_are_recomputed_and_the_table_equals_a_clean_run(
        client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    cfg = _config(src / "*.npz", chunk_size=5)
    out = tmp_path / "out"
    first = run_batch(cfg, out, allow_code=True, client=client, progress=False)
    assert (first.done, first.chunks) == (32, 7)
    store = BatchStore(out)
    parts = sorted(store.results_dir.glob("chunk-*.parquet"))
    assert len(parts) == 7
    _damage(parts[1], "truncate")
    _damage(parts[4], "flip")
    lost = set(store.parts()[1].keys) | set(store.parts()[4].keys)
    status = store.status()
    assert (status.done, status.pending, status.corrupt) == (32 - len(lost), len(lost), 2)
    with pytest.warns(UserWarning, match="2 corrupt result part"):
        assert set(load_results(out, skip_corrupt=True)["cell_key"]).isdisjoint(lost)
    again = run_batch(cfg, out, allow_code=True, client=client, progress=False)
    assert (again.corrupt, again.done, again.skipped) == (2, len(lost), 32 - len(lost))
    assert sorted(p.name for p in store.corrupt_dir.iterdir()) == sorted(
        [parts[1].name, parts[1].with_suffix(".json").name,
         parts[4].name, parts[4].with_suffix(".json").name])
    assert store.status().as_dict() == {"total": 32, "done": 32, "failed": 0, "pending": 0,
                                        "unplanned": 0, "corrupt": 0}
    pd.testing.assert_frame_equal(load_results(out), run_serial(cfg, allow_code=True))


def test_dandi_sources_are_loaded_once_per_worker(client, tmp_path: Path) -> None:
    src = _sources(tmp_path / "src")
    remote = [f"dandi://000001{src / name}" for name in ("s1.npz", "s2.npz")]
    engine = {**bc.engine(), "brain_loader": bc.ref("load_brain_remote")}
    cfg = _config(remote, engine=engine, chunk_size=2, seeds=[0, 1, 2])
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client, progress=False)
    assert (summary.done, summary.chunks) == (48, 24)
    loads = Counter((src / "loads.log").read_text().splitlines())
    # 24 chunks, yet every worker read each asset once: the cache holds across chunks
    assert max(loads.values()) == 1 and len(loads) <= 4
    pd.testing.assert_frame_equal(load_results(tmp_path / "out"),
                                  run_serial(cfg, allow_code=True))


def test_local_cluster_listens_on_localhost_only() -> None:
    from neuroalign.core.cluster import open_client

    client, cluster = open_client(None, 1, "127.0.0.1", "127.0.0.1:0")
    try:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in client.nthreads())
        assert "127.0.0.1" in cluster.dashboard_link
    finally:
        client.close()
        cluster.close()


def test_slurm_recipe_with_a_local_cluster_standing_in(tmp_path: Path, monkeypatch) -> None:
    import sys
    import types

    import distributed

    made = {}

    class SLURMCluster(distributed.LocalCluster):
        """dask_jobqueue.SLURMCluster's interface on a LocalCluster (one process per job)."""

        def __init__(self, *, scheduler_options=None, processes=1, **job_options):
            made.update(job_options, scheduler_options=scheduler_options)
            self.processes = processes
            super().__init__(n_workers=0, threads_per_worker=1, processes=True,
                             host="127.0.0.1", silence_logs=50,
                             dashboard_address=scheduler_options["dashboard_address"])

        def scale(self, n=None, jobs=0, **kw):
            made.setdefault("scaled", []).append(jobs)
            return super().scale(jobs * self.processes)

    monkeypatch.setitem(sys.modules, "dask_jobqueue",
                        types.SimpleNamespace(SLURMCluster=SLURMCluster))
    from neuroalign.batch import slurm_cluster

    src = _sources(tmp_path / "src")
    cfg = _config(src / "*.npz", agents=["dqn"])
    cluster = slurm_cluster(jobs=2, queue="normal", account="lab", cores=1, processes=1,
                            memory="2GB", walltime="00:10:00", dashboard="127.0.0.1:0")
    try:
        with distributed.Client(cluster) as slurm_client:
            slurm_client.wait_for_workers(2, timeout=60)
            summary = run_batch(cfg, tmp_path / "out", client=slurm_client, progress=False,
                                allow_code=True)
    finally:
        cluster.close()
    assert made["scaled"][0] == 2 and made["queue"] == "normal" and made["walltime"] == "00:10:00"
    assert made["scheduler_options"] == {"dashboard_address": "127.0.0.1:0"}
    assert (summary.done, summary.failed) == (16, 0)
    pd.testing.assert_frame_equal(load_results(tmp_path / "out"),
                                  run_serial(cfg, allow_code=True))


class _RecordingBar:
    """Stands in for the progress bar and records every advance."""

    def __init__(self) -> None:
        self.advances: list[float] = []

    def __enter__(self) -> _RecordingBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> int:
        self.total = total
        return 0

    def update(self, task: int, advance: float | None = None, **kw: object) -> None:
        if advance:
            self.advances.append(advance)


def test_progress_counts_cells_while_a_chunk_runs(client, tmp_path: Path, monkeypatch) -> None:
    import neuroalign.batch.runner as runner

    bar = _RecordingBar()
    monkeypatch.setattr(runner, "_progress", lambda console, enabled: bar)
    src = _sources(tmp_path / "src")
    cfg = _config(src / "s1.npz", cell="slow_cell", chunk_size=8, agents=["dqn"])
    # 8 cells of 0.1 s in one chunk: the worker reports every 0.5 s
    summary = run_batch(cfg, tmp_path / "out", allow_code=True, client=client)
    assert (summary.done, summary.chunks) == (8, 1)
    assert bar.total == 8 and sum(bar.advances) == 8
    # workers report finished cells while the chunk runs, not only when it ends
    assert len(bar.advances) >= 2 and 0 < bar.advances[0] < 8
