"""The batch folder: atomic parts, failure records, status and load_results (no cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroalign.batch import BatchStore, load_results
from neuroalign.batch.store import rows_table
from neuroalign.core.errors import OutputExistsError, SourceError

KEYS = [f"{i:032x}" for i in (3, 1, 2)]


def _store(tmp_path: Path) -> BatchStore:
    store = BatchStore(tmp_path / "out")
    store.init({"cells": [{"key": k} for k in KEYS]})
    return store


def test_part_round_trip_and_grid_order(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # written out of order; load_results follows the plan's order
    store.write_part(KEYS[2], rows_table([{"x": 2.5, "name": "c"}], KEYS[2]))
    store.write_part(KEYS[0], rows_table([{"x": 0.5, "name": "a"}, {"x": np.nan, "name": "b"}],
                                         KEYS[0]))
    table = load_results(store.root)
    assert table["cell_key"].tolist() == [KEYS[0], KEYS[0], KEYS[2]]
    assert table["cell_row"].tolist() == [0, 1, 0]
    assert table["name"].tolist() == ["a", "b", "c"]
    assert np.isnan(table["x"][1]) and table["x"][2] == 2.5
    assert store.status().as_dict() == {"total": 3, "done": 2, "failed": 0, "pending": 1,
                                        "unplanned": 0}


def test_failures_status_and_clearing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write_failure(KEYS[1], {"error_type": "DataError", "message": "bad file"})
    assert store.failed_keys() == {KEYS[1]}
    assert store.failure(KEYS[1])["message"] == "bad file"
    assert store.status().failed == 1
    # a later success clears the failure record
    store.write_part(KEYS[1], rows_table([{"x": 1.0}], KEYS[1]))
    assert store.failed_keys() == set()
    assert not store.failure_path(KEYS[1]).exists()
    assert store.status().done == 1


def test_unplanned_parts_and_leftover_temp_files(tmp_path: Path) -> None:
    store = _store(tmp_path)
    stray = f"{9:032x}"
    store.write_part(stray, rows_table([{"x": 9.0}], stray))
    store.write_part(KEYS[0], rows_table([{"x": 0.0}], KEYS[0]))
    # a writer killed mid-write leaves only a hidden temp file, never a part
    (store.results_dir / f".part-{KEYS[1]}.parquet.abc.parquet").write_bytes(b"PAR1 half")
    assert store.status().as_dict()["unplanned"] == 1
    assert load_results(store.root)["cell_key"].tolist() == [KEYS[0]]
    assert load_results(store.root, include_unplanned=True)["cell_key"].tolist() == [KEYS[0],
                                                                                     stray]
    store.init({"cells": [{"key": k} for k in KEYS]})  # a rerun clears temp files
    assert not list(store.results_dir.glob(".part-*"))


def test_empty_cell_and_empty_folder(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert list(load_results(store.root).columns) == ["cell_key", "cell_row"]
    store.write_part(KEYS[0], rows_table([], KEYS[0]))
    assert store.status().done == 1
    assert len(load_results(store.root)) == 0


def test_refuses_foreign_folder_and_reads_only_batch_folders(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"exists with other content and no batch.json"):
        BatchStore(other).init({"cells": []})
    with pytest.raises(SourceError, match=r"no batch.json; not a batch folder"):
        load_results(other)


def test_plan_file_is_json(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert [c["key"] for c in json.loads(store.plan_path.read_text())["cells"]] == KEYS
    assert isinstance(load_results(store.root), pd.DataFrame)
