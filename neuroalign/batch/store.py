"""The on-disk layout of a batch folder, and reading it back.

::

    DIR/batch.json                  the plan: config and cells of the latest run
    DIR/results/part-<key>.parquet  the rows of one finished cell (atomic: temp + rename)
    DIR/failures/<key>.json         error type, message and traceback of a failed cell

A part file exists complete or not at all, so a batch killed at any moment leaves
only finished cells behind; a rerun computes the rest. Keys are content hashes, so
a folder may be reused with an extended config and the common cells are skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import OutputExistsError, SourceError, ValidationError

__all__ = ["BatchStatus", "BatchStore", "load_results", "read_table", "rows_table"]

PLAN_FILE = "batch.json"
_PART_RE = re.compile(r"^part-([0-9a-f]{32})\.parquet$")
_FAIL_RE = re.compile(r"^([0-9a-f]{32})\.json$")

#: columns batch adds to the rows of every cell
KEY_COLUMN = "cell_key"
ROW_COLUMN = "cell_row"


@dataclass(frozen=True)
class BatchStatus:
    """Counts of a batch folder's cells against its plan."""

    total: int
    done: int
    failed: int
    pending: int
    unplanned: int

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return {"total": self.total, "done": self.done, "failed": self.failed,
                "pending": self.pending, "unplanned": self.unplanned}


def rows_table(rows: Iterable[dict[str, Any]], key: str) -> pa.Table:
    """The rows of one cell as an Arrow table with ``cell_key`` and ``cell_row`` first.

    Columns are the union of the rows' keys in first-seen order (a key missing from a
    row is null there); types are inferred by Arrow from the values.
    """
    rows = list(rows)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    for reserved in (KEY_COLUMN, ROW_COLUMN):
        if reserved in names:
            raise ValidationError(f"cell rows: column {reserved!r} is reserved for the batch "
                                  "layer; rename it in the cell function")
    columns: dict[str, Any] = {
        KEY_COLUMN: pa.array([key] * len(rows), type=pa.string()),
        ROW_COLUMN: pa.array(range(len(rows)), type=pa.int64()),
    }
    for name in names:
        columns[name] = [row.get(name) for row in rows]
    return pa.table(columns)


class BatchStore:
    """Reads and writes one batch folder (see the module docs for its layout).

    Parameters
    ----------
    root
        The batch folder.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.results_dir = self.root / "results"
        self.failures_dir = self.root / "failures"
        self.plan_path = self.root / PLAN_FILE

    # -- writing ---------------------------------------------------------------
    def init(self, plan: dict[str, Any]) -> None:
        """Create the folder (or reuse a batch folder) and write ``plan`` atomically.

        Raises
        ------
        OutputExistsError
            If the folder exists with content but is not a batch folder.
        """
        if self.root.exists():
            if not self.root.is_dir():
                raise OutputExistsError(f"batch folder {self.root}: exists and is a file")
            if any(self.root.iterdir()) and not self.plan_path.is_file():
                raise OutputExistsError(
                    f"batch folder {self.root}: exists with other content and no {PLAN_FILE}; "
                    "choose a new folder"
                )
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.failures_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.results_dir.glob(".part-*"):  # temp files of killed writers
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        with atomic_file(self.plan_path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(plan, indent=1, sort_keys=True, default=str))

    def part_path(self, key: str) -> Path:
        """Where the rows of cell ``key`` live."""
        return self.results_dir / f"part-{key}.parquet"

    def failure_path(self, key: str) -> Path:
        """Where the failure record of cell ``key`` lives."""
        return self.failures_dir / f"{key}.json"

    def write_part(self, key: str, table: pa.Table) -> Path:
        """Write the rows of cell ``key`` (see :func:`rows_table`) atomically.

        A failure record of the same cell is removed afterwards.
        """
        path = self.part_path(key)
        with atomic_file(path, suffix=".parquet") as tmp:
            pq.write_table(table, tmp)
        with contextlib.suppress(FileNotFoundError):
            self.failure_path(key).unlink()
        return path

    def write_failure(self, key: str, record: dict[str, Any]) -> Path:
        """Write the failure record of cell ``key`` atomically."""
        path = self.failure_path(key)
        with atomic_file(path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str))
        return path

    # -- reading ---------------------------------------------------------------
    def plan(self) -> dict[str, Any]:
        """The plan of the latest run.

        Raises
        ------
        SourceError
            If the folder holds no plan (it is not a batch folder).
        """
        if not self.plan_path.is_file():
            raise SourceError(f"batch folder {self.root}: no {PLAN_FILE}; not a batch folder "
                              "(run 'neuroalign batch CONFIG --out DIR' first)")
        return json.loads(self.plan_path.read_text())

    def planned_keys(self) -> list[str]:
        """Cell keys of the plan, in grid order."""
        return [c["key"] for c in self.plan()["cells"]]

    def done_keys(self) -> set[str]:
        """Keys of every finished cell in the folder."""
        if not self.results_dir.is_dir():
            return set()
        return {m.group(1) for p in os.scandir(self.results_dir)
                if (m := _PART_RE.match(p.name))}

    def failed_keys(self) -> set[str]:
        """Keys with a failure record and no finished part."""
        if not self.failures_dir.is_dir():
            return set()
        failed = {m.group(1) for p in os.scandir(self.failures_dir)
                  if (m := _FAIL_RE.match(p.name))}
        return failed - self.done_keys()

    def failure(self, key: str) -> dict[str, Any]:
        """The failure record of cell ``key``."""
        return json.loads(self.failure_path(key).read_text())

    def status(self) -> BatchStatus:
        """Done / failed / pending counts of the planned cells."""
        planned = set(self.planned_keys())
        done = self.done_keys()
        failed = self.failed_keys()
        n_done = len(planned & done)
        n_failed = len(planned & failed)
        return BatchStatus(total=len(planned), done=n_done, failed=n_failed,
                           pending=len(planned) - n_done - n_failed,
                           unplanned=len(done - planned))

    def load(self, keys: Iterable[str]) -> pd.DataFrame:
        """Rows of the finished cells among ``keys``, in the order of ``keys``."""
        done = self.done_keys()
        frames = []
        seen: set[str] = set()
        for key in keys:
            if key in done and key not in seen:
                seen.add(key)
                frames.append(read_table(self.part_path(key)))
        return assemble(frames)


def read_table(source: Any) -> pd.DataFrame:
    """A part file (path or buffer) as a DataFrame: the one conversion every reader uses."""
    return pd.read_parquet(source)


def assemble(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate cell frames (already in grid order) into one table with a fresh index."""
    if not frames:
        return pd.DataFrame({KEY_COLUMN: pd.Series(dtype=object),
                             ROW_COLUMN: pd.Series(dtype="int64")})
    table = pd.concat([f for f in frames if len(f.columns)], ignore_index=True, sort=False)
    table = table.drop_duplicates(subset=[KEY_COLUMN, ROW_COLUMN], keep="first")
    return table.reset_index(drop=True)


def load_results(root: str | os.PathLike[str], *, include_unplanned: bool = False
                 ) -> pd.DataFrame:
    """The results of a batch folder as one DataFrame, for notebooks.

    Parameters
    ----------
    root
        The batch folder (``--out`` of ``neuroalign batch``).
    include_unplanned
        Also return finished cells that the latest plan no longer names (from an
        earlier config or an older file version), after the planned ones.

    Returns
    -------
    pandas.DataFrame
        One row per result row of every finished cell, deduplicated by
        (``cell_key``, ``cell_row``) and sorted in grid order, then row order within
        a cell; columns ``cell_key`` and ``cell_row`` followed by the cell's own.
    """
    store = BatchStore(root)
    keys = store.planned_keys()
    if include_unplanned:
        keys = keys + sorted(store.done_keys() - set(keys))
    return store.load(keys)

