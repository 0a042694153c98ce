"""The batch folder: checked parts, failure records, status, compaction, load_results."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from neuroalign.batch import BatchStore, compact, load_results, results_dataset
from neuroalign.batch.store import rows_table
from neuroalign.core.errors import OutputExistsError, SourceError, ValidationError

KEYS = [f"{i:032x}" for i in (3, 1, 2)]


def _store(tmp_path: Path, keys: list[str] = KEYS) -> BatchStore:
    store = BatchStore(tmp_path / "out")
    store.init({"keys": keys})
    return store


def _counts(store: BatchStore) -> dict[str, int]:
    return store.status().as_dict()


def test_part_round_trip_and_grid_order(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # written out of order, two cells in one part; load_results follows the plan's order
    store.write_part([KEYS[2], KEYS[0]], rows_table(
        [{"x": 2.5, "name": "c"}, {"x": 0.5, "name": "a"}, {"x": np.nan, "name": "b"}],
        [KEYS[2], KEYS[0], KEYS[0]]))
    table = load_results(store.root)
    assert table["cell_key"].tolist() == [KEYS[0], KEYS[0], KEYS[2]]
    assert table["cell_row"].tolist() == [0, 1, 0]
    assert table["name"].tolist() == ["a", "b", "c"]
    assert np.isnan(table["x"][1]) and table["x"][2] == 2.5
    assert _counts(store) == {"total": 3, "done": 2, "failed": 0, "pending": 1,
                              "unplanned": 0, "corrupt": 0}
    assert list(load_results(store.root, columns=["name"]).columns) == ["cell_key", "cell_row",
                                                                       "name"]


def test_parts_with_different_column_types_unify(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # a column that is all-null in one part and text in another, ints and floats
    store.write_part(KEYS[0], rows_table([{"x": 1, "note": None}], KEYS[0]))
    store.write_part(KEYS[1], rows_table([{"x": 2.5, "note": "ok", "extra": True}], KEYS[1]))
    table = load_results(store.root)
    assert table["x"].tolist() == [1.0, 2.5]
    assert table["note"].isna().tolist() == [True, False] and table["note"][1] == "ok"
    assert table["extra"].isna()[0] and bool(table["extra"][1])


def test_mixed_types_within_a_chunk_are_one_clear_error() -> None:
    with pytest.raises(ValidationError, match=r"column 'x' mixes types \['float', 'str'\]"):
        rows_table([{"x": 1.5}, {"x": "a"}], [KEYS[0], KEYS[1]])
    with pytest.raises(ValidationError, match=r"got 1 keys for 2 rows"):
        rows_table([{"x": 1.5}, {"x": 2.5}], [KEYS[0]])


def test_failures_status_and_clearing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write_failure(KEYS[1], {"error_type": "DataError", "message": "bad file"})
    assert store.failed_keys() == {KEYS[1]}
    assert store.failure(KEYS[1])["message"] == "bad file"
    assert store.status().failed == 1
    # a later success clears the failure record
    store.write_part([KEYS[1]], rows_table([{"x": 1.0}], KEYS[1]))
    assert store.failed_keys() == set()
    # every record is one line of one file (no file per failed cell); a cut line is skipped
    store.write_failures([{"key": KEYS[2], "message": "first"},
                          {"key": KEYS[2], "message": "latest"}])
    with open(store.failures_path, "a") as handle:
        handle.write('{"key": "' + KEYS[0] + '", "mess')
    assert store.failed_keys() == {KEYS[2]} and store.failure(KEYS[2])["message"] == "latest"
    assert sorted(os.listdir(store.root)) == ["batch.json", "failures.jsonl", "results"]
    # an earlier version's per-cell record still counts
    store.failures_dir.mkdir()
    (store.failures_dir / f"{KEYS[0]}.json").write_text('{"message": "legacy"}')
    assert store.failed_keys() == {KEYS[0], KEYS[2]}
    assert store.failure(KEYS[0])["message"] == "legacy"
    assert store.status().done == 1


def _corrupt_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


def _corrupt_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte altered
    path.write_bytes(bytes(data))


def _corrupt_manifest(path: Path) -> None:
    path.with_suffix(".json").write_text('{"keys": [')


@pytest.mark.parametrize("damage", [_corrupt_truncate, _corrupt_flip, _corrupt_manifest])
def test_corrupt_part_is_reported_skipped_and_moved_aside(tmp_path: Path, damage) -> None:
    store = _store(tmp_path)
    good = store.write_part([KEYS[0]], rows_table([{"x": 0.0}], KEYS[0]))
    bad = store.write_part([KEYS[1], KEYS[2]],
                           rows_table([{"x": 1.0}, {"x": 2.0}], [KEYS[1], KEYS[2]]))
    damage(bad)
    parts = store.parts()
    assert [p.ok for p in parts] == [p.path != bad for p in parts]
    assert _counts(store) == {"total": 3, "done": 1, "failed": 0, "pending": 2,
                              "unplanned": 0, "corrupt": 1}
    # load_results names the corrupt part; asked to, it reads the sound one and warns
    with pytest.raises(SourceError, match=rf"1 corrupt result part\(s\): {bad.name} \(.*\); "
                                          r"(2 cell\(s\)|0 cell\(s\) and those of 1 part\(s\) "
                                          r"without a readable manifest) are missing\. Rerun"):
        load_results(store.root)
    with pytest.warns(UserWarning, match=rf"{bad.name} .* are missing from the table"):
        assert load_results(store.root, skip_corrupt=True)["x"].tolist() == [0.0]
    # the next run moves it aside; its cells are pending and no longer corrupt
    checked = store.init({"keys": KEYS})
    assert [m.path.name for m in checked if not m.ok] == [bad.name]
    assert (store.corrupt_dir / bad.name).exists() and not bad.exists()
    assert good.exists()
    assert _counts(store)["corrupt"] == 0 and _counts(store)["pending"] == 2


def test_killed_writers_leave_nothing_that_counts(tmp_path: Path) -> None:
    store = _store(tmp_path)
    kept = store.write_part([KEYS[0]], rows_table([{"x": 0.0}], KEYS[0]))
    done = store.write_part([KEYS[1]], rows_table([{"x": 1.0}], KEYS[1]))
    # killed between the part and its manifest: a part without manifest
    done.with_suffix(".json").unlink()
    # killed mid-write: hidden temp files of a part, a manifest, a failure, the plan
    temps = [store.results_dir / f".chunk-{KEYS[2]}.parquet.abc.parquet",
             store.results_dir / ".chunk-x.json.def.json",
             store.results_dir / f".{KEYS[2]}.json.ghi.json",
             store.root / ".batch.json.jkl.json"]
    for t in temps:
        t.write_bytes(b"PAR1 half")
    orphan_manifest = store.results_dir / f"chunk-{'e' * 32}.json"
    orphan_manifest.write_text(json.dumps({"keys": [KEYS[2]]}))
    assert store.done_keys() == {KEYS[0]}
    assert load_results(store.root)["cell_key"].tolist() == [KEYS[0]]
    assert store.sweep() == 6
    assert not any(t.exists() for t in temps) and not done.exists()
    assert not orphan_manifest.exists()
    assert sorted(os.listdir(store.results_dir)) == sorted(
        [kept.name, kept.with_suffix(".json").name])


def test_unplanned_and_legacy_parts(tmp_path: Path) -> None:
    store = _store(tmp_path)
    stray = f"{9:032x}"
    store.write_part([stray], rows_table([{"x": 9.0}], stray))
    # a one-cell part of an earlier version (no manifest, key in the name)
    pq.write_table(rows_table([{"x": 0.0}], KEYS[0]), store.results_dir / f"part-{KEYS[0]}"
                   ".parquet")
    (store.results_dir / f"part-{KEYS[1]}.parquet").write_bytes(b"garbage")
    store.sweep()
    assert store.status().as_dict() == {"total": 3, "done": 1, "failed": 0, "pending": 2,
                                        "unplanned": 1, "corrupt": 1}
    with pytest.raises(SourceError, match=rf"part-{KEYS[1]}\.parquet \(unreadable Parquet"):
        load_results(store.root)
    with pytest.warns(UserWarning, match="1 cell"):
        assert load_results(store.root, skip_corrupt=True)["cell_key"].tolist() == [KEYS[0]]
    with pytest.warns(UserWarning, match="1 cell"):
        assert load_results(store.root, include_unplanned=True, skip_corrupt=True
                            )["cell_key"].tolist() == [KEYS[0], stray]


def test_compact_merges_parts_and_keeps_resumability(tmp_path: Path) -> None:
    keys = [f"{i:032x}" for i in range(40)]
    store = _store(tmp_path, keys)
    rng = np.random.default_rng(0)
    for i in range(0, 36, 3):  # 12 parts of 3 cells, 2 rows each; cells 36..39 pending
        chunk = keys[i:i + 3]
        store.write_part(chunk, rows_table(
            [{"x": float(v), "tag": f"t{i}"} for v in rng.normal(size=6)],
            [k for k in chunk for _ in range(2)]))
    # the same cell held twice (as after an interrupted compaction) is read once
    store.write_part([keys[0]], rows_table([{"x": 0.0, "tag": "dup"}] * 2, keys[0]))
    store.write_failure(keys[1], {"error_type": "DataError", "message": "old"})
    before = load_results(store.root)
    assert len(before) == 72 and not before.duplicated(["cell_key", "cell_row"]).any()
    info = compact(store.root, max_rows=30)
    assert info == {"parts_before": 13, "parts_after": 3, "cells": 36, "rows": 72}
    files = sorted(os.listdir(store.results_dir))
    assert len(files) == 6 and all(f.startswith("merged-") for f in files)
    pd.testing.assert_frame_equal(load_results(store.root), before)
    assert _counts(store) == {"total": 40, "done": 36, "failed": 0, "pending": 4,
                              "unplanned": 0, "corrupt": 0}
    assert store.failed_keys(set()) == set()  # compaction drops records of finished cells
    # a compacted folder resumes: new parts add to the merged ones, compacting again merges all
    store.write_part(keys[36:], rows_table([{"x": 1.0, "tag": "new"}] * 4, keys[36:]))
    assert store.status().done == 40
    assert compact(store.root)["parts_after"] == 1
    assert len(load_results(store.root)) == 76
    dataset = results_dataset(store.root)
    assert dataset.count_rows() == 76


def test_empty_cell_and_empty_folder(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert list(load_results(store.root).columns) == ["cell_key", "cell_row"]
    store.write_part([KEYS[0]], rows_table([], KEYS[0]))
    assert store.status().done == 1
    assert len(load_results(store.root)) == 0
    fresh = _store(tmp_path / "fresh")
    with pytest.raises(SourceError, match=r"no finished cells yet"):
        results_dataset(fresh.root)


def test_refuses_foreign_folder_and_reads_only_batch_folders(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"exists with other content and no batch.json"):
        BatchStore(other).init({"keys": []})
    with pytest.raises(SourceError, match=r"no batch.json; not a batch folder"):
        load_results(other)


@pytest.mark.parametrize(("text", "message"), [
    ('{"keys": ["a", ', r"batch.json is not readable JSON \(.*\); rerun 'neuroalign batch"),
    ("[1, 2]", r"batch.json: got no list of cells; expected a batch plan"),
    (b"\xff\xfe\x00", r"batch.json is not readable JSON"),
])
def test_corrupt_plan_is_one_clear_error(tmp_path: Path, text, message) -> None:
    store = _store(tmp_path)
    data = text if isinstance(text, bytes) else text.encode()
    store.plan_path.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        store.status()
    with pytest.raises(SourceError, match=message):
        load_results(store.root)


def test_plan_file_is_json_and_old_plans_read(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert json.loads(store.plan_path.read_text())["keys"] == KEYS
    store.plan_path.write_text(json.dumps({"cells": [{"key": k} for k in KEYS]}))
    assert store.planned_keys() == KEYS


def test_unchanged_parts_are_not_hashed_again(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from neuroalign.batch import store as module

    store = _store(tmp_path)
    parts = [store.write_part([k], rows_table([{"x": float(i)}], k)) for i, k in enumerate(KEYS)]
    hashed: list[str] = []
    real = module.file_sha256

    def counting(path: Path) -> str:
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(module, "file_sha256", counting)
    assert all(p.ok for p in store.parts()) and len(hashed) == 3
    # just written: within the clock's granularity a change could hide, so not recorded
    assert not store.checked_path.exists()
    old = 1_600_000_000
    for path in parts:
        os.utime(path, (old, old))
    hashed.clear()
    assert all(p.ok for p in store.parts()) and len(hashed) == 3  # checked, then recorded
    hashed.clear()
    assert all(p.ok for p in store.parts()) and hashed == []  # size, mtime, manifest: same
    # an altered part has another mtime: hashed again and caught
    _corrupt_flip(parts[1])
    checked = store.parts()
    assert hashed == [parts[1].name]
    assert [p.ok for p in checked] == [p.path != parts[1] for p in checked]


def test_the_folder_lock_refuses_a_second_writer_and_dies_with_its_process(
        tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from neuroalign.core.errors import OutputError

    store = _store(tmp_path)
    script = ("import sys, time\nfrom neuroalign.batch import BatchStore\n"
              "with BatchStore(sys.argv[1]).lock():\n"
              "    print('locked', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(store.root)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match=rf"another run is writing into it \(pid "
                                              rf"{holder.pid} on .*\); wait for it"):
            with store.lock():
                pass
    finally:
        holder.kill()
        holder.wait(10)
    # the holder was killed: its stale lock is taken over
    time.sleep(0.1)
    with store.lock():
        assert store.lock_path.read_text().startswith(f"pid {os.getpid()} on ")
    with store.lock():  # released on leaving
        pass
