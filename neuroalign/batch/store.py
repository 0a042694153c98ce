"""The on-disk layout of a batch folder, and reading it back.

::

    DIR/batch.json                   the plan: config and cell keys of the latest run
    DIR/results/chunk-<id>.parquet   the rows of one chunk of cells (atomic: temp + rename)
    DIR/results/chunk-<id>.json      its manifest: cell keys, rows, size, SHA-256
    DIR/results/merged-<id>.parquet  (+ .json) parts merged by ``neuroalign batch compact``
    DIR/failures.jsonl               failure records, one JSON line per failed cell (the
                                     latest line of a key counts; written by the client)
    DIR/checked.json                 size and mtime of every part whose SHA-256 was checked
    DIR/batch.lock                   held (flock) by the run writing into the folder
    DIR/corrupt/                     parts that failed their check, moved aside by a run

A part counts only once its manifest is written (after the part itself) and the
part's size and SHA-256 match it, so a batch killed at any moment leaves only
finished cells behind, and a truncated or altered part is never trusted: its cells
are pending again and the next run recomputes them. A part whose size and mtime are
those recorded in ``checked.json`` when its hash last matched (and whose mtime was
then at least :data:`RACY_S` seconds old, so a change within the clock's granularity
cannot hide) is not hashed again. Keys are content hashes, so a folder may be reused
with an extended config and the common cells are skipped. One run at a time writes
into a folder (:meth:`BatchStore.lock`); the lock of a killed run dies with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import OutputError, OutputExistsError, SourceError, ValidationError
from neuroalign.core.failures import (
    FAILURES_FILE,
    append_failures,
    read_failures,
    rewrite_failures,
)
from neuroalign.core.provenance import file_sha256

__all__ = [
    "BatchStatus",
    "BatchStore",
    "PartInfo",
    "compact",
    "load_results",
    "read_table",
    "results_dataset",
    "rows_table",
    "table_to_frame",
]

PLAN_FILE = "batch.json"
CHECKED_FILE = "checked.json"
LOCK_FILE = "batch.lock"
#: a part modified less than this long before its hash was checked is hashed again
RACY_S = 2.0
MANIFEST_FORMAT = 1
_PART_RE = re.compile(r"^(chunk|merged)-([0-9a-f]{32})\.parquet$")
_MANIFEST_RE = re.compile(r"^(chunk|merged)-([0-9a-f]{32})\.json$")
#: one part per cell, as written by earlier versions (no manifest; key in the name)
_LEGACY_RE = re.compile(r"^part-([0-9a-f]{32})\.parquet$")
#: one failure record per cell, as written by earlier versions (``failures/<key>.json``)
_FAIL_RE = re.compile(r"^([0-9a-f]{32})\.json$")

#: columns batch adds to the rows of every cell
KEY_COLUMN = "cell_key"
ROW_COLUMN = "cell_row"
#: rows per merged file written by :func:`compact`
COMPACT_ROWS = 2_000_000


@dataclass(frozen=True)
class BatchStatus:
    """Counts of a batch folder's cells against its plan.

    ``corrupt`` counts part files that fail their check (their cells are pending).
    """

    total: int
    done: int
    failed: int
    pending: int
    unplanned: int
    corrupt: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return {"total": self.total, "done": self.done, "failed": self.failed,
                "pending": self.pending, "unplanned": self.unplanned,
                "corrupt": self.corrupt}


@dataclass(frozen=True)
class PartInfo:
    """One part file of a batch folder and the result of its check.

    Attributes
    ----------
    path
        The Parquet file.
    keys
        Cell keys whose rows it holds (from the manifest).
    rows
        Rows it holds.
    problem
        Empty when the part is sound; otherwise why it is not trusted.
    """

    path: Path
    keys: tuple[str, ...]
    rows: int
    problem: str = ""
    manifest: Path | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """True when the part passed its check."""
        return not self.problem


def rows_table(rows: Iterable[dict[str, Any]], key: str | Sequence[str]) -> pa.Table:
    """Rows of cells as an Arrow table with ``cell_key`` and ``cell_row`` first.

    Parameters
    ----------
    rows
        Row dicts (of one cell, or of several cells one after the other).
    key
        The cell key of every row: one key (all rows belong to one cell) or one key per
        row; ``cell_row`` counts the rows within each cell.

    Columns are the union of the rows' keys in first-seen order (a key missing from a
    row is null there); types are inferred by Arrow from the values.

    Raises
    ------
    ValidationError
        If a row uses a reserved column name, or a column mixes types Arrow cannot unify
        (e.g. text in one cell, numbers in another).
    """
    rows = list(rows)
    keys = [key] * len(rows) if isinstance(key, str) else list(key)
    if len(keys) != len(rows):
        raise ValidationError(f"cell rows: got {len(keys)} keys for {len(rows)} rows; "
                              "expected one key per row")
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    for reserved in (KEY_COLUMN, ROW_COLUMN):
        if reserved in names:
            raise ValidationError(f"cell rows: column {reserved!r} is reserved for the batch "
                                  "layer; rename it in the cell function")
    counter: list[int] = []
    previous, n = None, 0
    for k in keys:
        n = n + 1 if k == previous else 0
        previous = k
        counter.append(n)
    columns: dict[str, Any] = {
        KEY_COLUMN: pa.array(keys, type=pa.string()),
        ROW_COLUMN: pa.array(counter, type=pa.int64()),
    }
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            kinds = sorted({type(v).__name__ for v in values if v is not None})
            raise ValidationError(f"cell rows: column {name!r} mixes types {kinds} ({err}); "
                                  "expected one type per column across cells") from None
    return pa.table(columns)


def _part_id(keys: Sequence[str]) -> str:
    """A part's id: a hash of its cell keys (a rerun of the same chunk replaces it)."""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


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
        #: per-cell failure records of earlier versions (read, never written)
        self.failures_dir = self.root / "failures"
        self.failures_path = self.root / FAILURES_FILE
        self.checked_path = self.root / CHECKED_FILE
        self.lock_path = self.root / LOCK_FILE
        self.corrupt_dir = self.root / "corrupt"
        self.plan_path = self.root / PLAN_FILE

    # -- one writer at a time --------------------------------------------------
    def check_root(self) -> None:
        """Refuse a folder that is a file, or holds other content and no plan.

        Raises
        ------
        OutputExistsError
            If the folder exists with content but is not a batch folder.
        """
        if self.root.exists():
            if not self.root.is_dir():
                raise OutputExistsError(f"batch folder {self.root}: exists and is a file")
            if any(p.name != LOCK_FILE for p in self.root.iterdir()) \
                    and not self.plan_path.is_file():
                raise OutputExistsError(
                    f"batch folder {self.root}: exists with other content and no {PLAN_FILE}; "
                    "choose a new folder"
                )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's lock while writing into it (one run at a time).

        The lock is an exclusive ``flock`` on ``DIR/batch.lock``, which also names
        the holder (host, pid, start time). The operating system releases it when
        its process ends, however it ends, so the lock of a killed run is taken
        over by the next one; the file itself is left in place.

        Raises
        ------
        OutputError
            If another process holds the lock (naming it).
        """
        import fcntl

        self.check_root()
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # the holder names itself right after taking the lock: give it a moment
                holder = ""
                for _ in range(40):
                    holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                    if holder:
                        break
                    time.sleep(0.025)
                holder = holder or "unknown"
                raise OutputError(
                    f"batch folder {self.root}: another run is writing into it ({holder}); "
                    "wait for it to finish or choose another folder") from None
            name = (f"pid {os.getpid()} on {socket.gethostname()}, started "
                    f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n").encode()
            os.pwrite(fd, name, 0)  # written over, then cut: never empty while held
            os.ftruncate(fd, len(name))
            yield
        finally:
            os.close(fd)  # releases the lock


    # -- writing ---------------------------------------------------------------
    def init(self, plan: dict[str, Any]) -> list[PartInfo]:
        """Create the folder (or reuse a batch folder), tidy it and write ``plan``.

        Tidying removes what killed writers left behind (hidden temp files, a part
        without its manifest, a manifest without its part) and moves parts that fail
        their check to ``DIR/corrupt/``, so their cells count as pending.

        Returns
        -------
        list of PartInfo
            Every part found, checked: the sound ones (``ok``) stay in place, the others
            are now in ``DIR/corrupt/``.

        Raises
        ------
        OutputExistsError
            If the folder exists with content but is not a batch folder.
        """
        self.check_root()
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.sweep()
        checked = self.parts()
        for part in (p for p in checked if not p.ok):
            self.corrupt_dir.mkdir(exist_ok=True)
            for path in (part.manifest, part.path):
                if path is not None and path.exists():
                    os.replace(path, self.corrupt_dir / path.name)
        with atomic_file(self.plan_path, suffix=".json") as tmp:
            tmp.write_text(json.dumps(plan, separators=(",", ":"), sort_keys=True,
                                      default=str))
        return checked

    def sweep(self) -> int:
        """Remove leftovers of killed writers; return how many files were removed.

        Hidden temp files (``.name.XXXX``) in the folder, ``results/`` and
        ``failures/``, parts whose manifest was never written and manifests whose part
        is gone. Run only when no other run writes into the folder.
        """
        removed = 0
        for folder in (self.root, self.results_dir, self.failures_dir):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if entry.name.startswith(".") and entry.is_file():
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
        if self.results_dir.is_dir():
            names = {e.name for e in os.scandir(self.results_dir)}
            for name in names:
                if (m := _PART_RE.match(name)) and f"{m[1]}-{m[2]}.json" not in names:
                    orphan = name
                elif (m := _MANIFEST_RE.match(name)) and f"{m[1]}-{m[2]}.parquet" not in names:
                    orphan = name
                else:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    (self.results_dir / orphan).unlink()
                    removed += 1
        return removed

    def write_part(self, keys: str | Sequence[str], table: pa.Table, *,
                   kind: str = "chunk") -> Path:
        """Write the rows of the cells ``keys`` (see :func:`rows_table`) as one part.

        The Parquet file is written atomically, then its manifest (keys, rows, size,
        SHA-256), also atomically: the part counts only from that moment (and a
        failure record of one of these cells no longer counts).
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        ident = _part_id(keys) if kind == "chunk" else uuid.uuid4().hex
        path = self.results_dir / f"{kind}-{ident}.parquet"
        with atomic_file(path, suffix=".parquet") as tmp:
            pq.write_table(table, tmp)
            digest, size = file_sha256(tmp), tmp.stat().st_size
        manifest = {"format": MANIFEST_FORMAT, "file": path.name, "bytes": size,
                    "sha256": digest, "rows": table.num_rows, "keys": keys}
        with atomic_file(path.with_suffix(".json"), suffix=".json") as tmp:
            tmp.write_text(json.dumps(manifest, separators=(",", ":")))
        return path

    def write_failures(self, records: Iterable[dict[str, Any]]) -> Path:
        """Append failure records (each with its ``key``) to ``DIR/failures.jsonl``.

        One line per record, written by one process (the run's client) with one
        ``write`` call per batch of records; a line cut short by a kill is skipped
        when read (:mod:`neuroalign.core.failures`).
        """
        return append_failures(self.failures_path, records)

    def write_failure(self, key: str, record: dict[str, Any]) -> Path:
        """Append the failure record of cell ``key`` (see :meth:`write_failures`)."""
        return self.write_failures([{**record, "key": key}])

    def prune_failures(self, done: set[str]) -> None:
        """Rewrite the failure records without those of the finished cells ``done``
        (earlier versions' per-cell files of finished cells are removed)."""
        records = self._failure_records()
        if self.failures_dir.is_dir():
            for key in set(records) & done:
                with contextlib.suppress(FileNotFoundError):
                    (self.failures_dir / f"{key}.json").unlink()
        if not self.failures_path.exists():
            return
        rewrite_failures(self.failures_path, [{**rec, "key": key} for key, rec
                                              in records.items() if key not in done])

    def _failure_records(self) -> dict[str, dict[str, Any]]:
        """key -> latest failure record (the compact file, then earlier versions' files)."""
        records: dict[str, dict[str, Any]] = {}
        if self.failures_dir.is_dir():
            for entry in os.scandir(self.failures_dir):
                if m := _FAIL_RE.match(entry.name):
                    with contextlib.suppress(OSError, ValueError):
                        records[m[1]] = json.loads(Path(entry.path).read_text())
        records.update(read_failures(self.failures_path))
        return records

    # -- reading ---------------------------------------------------------------
    def plan(self) -> dict[str, Any]:
        """The plan of the latest run.

        Raises
        ------
        SourceError
            If the folder holds no plan (it is not a batch folder) or the plan is not
            readable JSON.
        """
        if not self.plan_path.is_file():
            raise SourceError(f"batch folder {self.root}: no {PLAN_FILE}; not a batch folder "
                              "(run 'neuroalign batch CONFIG --out DIR' first)")
        try:
            plan = json.loads(self.plan_path.read_bytes())
        except (ValueError, UnicodeDecodeError) as err:
            raise SourceError(
                f"batch folder {self.root}: {PLAN_FILE} is not readable JSON ({err}); "
                "rerun 'neuroalign batch CONFIG --out DIR' to rewrite it (finished cells "
                "are kept)") from None
        if not isinstance(plan, dict) or not isinstance(
                plan.get("keys", plan.get("cells")), list):
            raise SourceError(f"{self.plan_path}: got no list of cells; expected a batch plan "
                              "(rerun 'neuroalign batch CONFIG --out DIR' to rewrite it)")
        return plan

    def planned_keys(self) -> list[str]:
        """Cell keys of the plan, in grid order."""
        plan = self.plan()
        if "keys" in plan:
            return [str(k) for k in plan["keys"]]
        return [c["key"] for c in plan["cells"]]

    def parts(self, verify: bool = True) -> list[PartInfo]:
        """Every part of the folder, in name order, each with the result of its check.

        Parameters
        ----------
        verify
            Check each part's size and SHA-256 against its manifest (reads every part
            once); without it only the size is compared.
        """
        if not self.results_dir.is_dir():
            return []
        names = sorted(e.name for e in os.scandir(self.results_dir))
        present = set(names)
        checked = self._checked() if verify else {}
        now = time.time_ns()
        fresh: dict[str, list[int]] = {}
        out = []
        for name in names:
            path = self.results_dir / name
            if m := _LEGACY_RE.match(name):
                out.append(_check_legacy(path, m[1]))
            elif (m := _PART_RE.match(name)) and f"{m[1]}-{m[2]}.json" in present:
                part, stamp = _check_part(path, path.with_suffix(".json"), verify,
                                          checked.get(name))
                out.append(part)
                # recorded once its hash matched and it was old enough to be stable
                if verify and part.ok and stamp is not None \
                        and stamp[1] < now - int(RACY_S * 1e9):
                    fresh[name] = stamp
        if verify and fresh != checked:
            with contextlib.suppress(OSError):
                with atomic_file(self.checked_path, suffix=".json") as tmp:
                    tmp.write_text(json.dumps(fresh, separators=(",", ":")))
        return out

    def _checked(self) -> dict[str, list[int]]:
        """Part name -> [size, mtime_ns, manifest size, manifest mtime_ns] last verified."""
        try:
            data = json.loads(self.checked_path.read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def done_keys(self, parts: list[PartInfo] | None = None) -> set[str]:
        """Keys of every finished cell in the folder (from sound parts only)."""
        parts = self.parts() if parts is None else parts
        return {k for p in parts if p.ok for k in p.keys}

    def failed_keys(self, done: set[str] | None = None) -> set[str]:
        """Keys with a failure record and no finished part."""
        failed = set(self._failure_records())
        if not failed:
            return failed
        return failed - (self.done_keys() if done is None else done)

    def failure(self, key: str) -> dict[str, Any]:
        """The latest failure record of cell ``key``.

        Raises
        ------
        KeyError
            If the cell has no failure record.
        """
        return self._failure_records()[key]

    def status(self, parts: list[PartInfo] | None = None) -> BatchStatus:
        """Done / failed / pending counts of the planned cells, and corrupt parts."""
        planned = set(self.planned_keys())
        parts = self.parts() if parts is None else parts
        done = self.done_keys(parts)
        failed = self.failed_keys(done)
        n_done = len(planned & done)
        n_failed = len(planned & failed)
        return BatchStatus(total=len(planned), done=n_done, failed=n_failed,
                           pending=len(planned) - n_done - n_failed,
                           unplanned=len(done - planned),
                           corrupt=sum(not p.ok for p in parts))

    def load(self, keys: Sequence[str], columns: Sequence[str] | None = None,
             parts: list[PartInfo] | None = None) -> pd.DataFrame:
        """Rows of the finished cells among ``keys``, in the order of ``keys``.

        Only sound parts are read (``parts``: as checked by :meth:`parts`).
        """
        parts = [p for p in (self.parts() if parts is None else parts) if p.ok]
        wanted = set(keys)
        parts = [p for p in parts if wanted.intersection(p.keys)]
        if not parts:
            return table_to_frame(None, keys)
        dataset = _dataset(parts)
        import pyarrow.dataset as ds

        cols = None if columns is None else list(dict.fromkeys(
            [KEY_COLUMN, ROW_COLUMN, *columns]))
        table = dataset.to_table(columns=cols,
                                 filter=ds.field(KEY_COLUMN).isin(list(wanted)))
        return table_to_frame(table, keys)


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_bytes())
    if not isinstance(manifest, dict) or not isinstance(manifest.get("keys"), list):
        raise ValueError("no list of keys")
    return manifest


def _check_part(path: Path, manifest_path: Path, verify: bool,
                checked: list[int] | None = None) -> tuple[PartInfo, list[int] | None]:
    """The part's check, and its stamp (part size and mtime, manifest size and mtime).

    With ``verify`` the SHA-256 is compared unless the stamp equals ``checked``
    (recorded when the hash last matched).
    """
    try:
        mstat = manifest_path.stat()
        manifest = _read_manifest(manifest_path)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        return PartInfo(path, (), 0, f"manifest {manifest_path.name} unreadable ({err})",
                        manifest_path), None
    keys = tuple(str(k) for k in manifest["keys"])
    rows = int(manifest.get("rows", 0))
    try:
        pstat = path.stat()
    except OSError as err:
        return PartInfo(path, keys, rows, f"unreadable ({err})", manifest_path), None
    size = pstat.st_size
    stamp = [size, pstat.st_mtime_ns, mstat.st_size, mstat.st_mtime_ns]
    if size != manifest.get("bytes"):
        return PartInfo(path, keys, rows, f"size {size} bytes; expected "
                        f"{manifest.get('bytes')} (truncated or overwritten)",
                        manifest_path), None
    if verify and stamp != checked and file_sha256(path) != manifest.get("sha256"):
        return PartInfo(path, keys, rows, "SHA-256 differs from its manifest (altered)",
                        manifest_path), None
    return PartInfo(path, keys, rows, "", manifest_path), stamp


def _check_legacy(path: Path, key: str) -> PartInfo:
    """A one-cell part of an earlier version: sound when its Parquet footer reads."""
    try:
        rows = pq.read_metadata(path).num_rows
    except (OSError, pa.ArrowException) as err:
        return PartInfo(path, (key,), 0, f"unreadable Parquet ({err})")
    return PartInfo(path, (key,), rows)


def _dataset(parts: Sequence[PartInfo]) -> Any:
    """A lazy pyarrow dataset over ``parts``, their schemas unified (nulls promoted)."""
    import pyarrow.dataset as ds

    schemas = [pq.read_schema(p.path) for p in parts]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    return ds.dataset([str(p.path) for p in parts], schema=schema, format="parquet")


def read_table(source: Any) -> pd.DataFrame:
    """A part file (path or buffer) as a DataFrame in file order."""
    return pq.read_table(source).to_pandas()


def table_to_frame(table: pa.Table | None, keys: Sequence[str]) -> pd.DataFrame:
    """Rows of ``table`` as the batch result table: the one conversion every reader uses.

    Rows are kept only for cells in ``keys``, sorted in the order of ``keys`` and then by
    ``cell_row``, deduplicated by (``cell_key``, ``cell_row``); the index is fresh.
    """
    if table is None or table.num_rows == 0:
        if table is None:
            return pd.DataFrame({KEY_COLUMN: pd.Series(dtype=object),
                                 ROW_COLUMN: pd.Series(dtype="int64")})
        return table.to_pandas()
    frame = table.to_pandas()
    order = pd.Categorical(frame[KEY_COLUMN].astype(object), categories=list(dict.fromkeys(keys)),
                           ordered=True).codes
    frame = frame.assign(_order=order)
    frame = frame[frame["_order"] >= 0]
    frame = frame.sort_values(["_order", ROW_COLUMN], kind="stable")
    frame = frame.drop_duplicates(subset=["_order", ROW_COLUMN], keep="first")
    return frame.drop(columns="_order").reset_index(drop=True)


def load_results(root: str | os.PathLike[str], *, include_unplanned: bool = False,
                 columns: Sequence[str] | None = None, skip_corrupt: bool = False
                 ) -> pd.DataFrame:
    """The results of a batch folder as one DataFrame, for notebooks.

    Parameters
    ----------
    root
        The batch folder (``--out`` of ``neuroalign batch``).
    include_unplanned
        Also return finished cells that the latest plan no longer names (from an
        earlier config or an older file version), after the planned ones.
    columns
        Read only these columns (besides ``cell_key`` and ``cell_row``).
    skip_corrupt
        Return the rows of the sound parts when some part fails its check (truncated,
        altered, its manifest unreadable), with a warning naming the corrupt parts and
        how many cells are missing; by default such a folder is refused.

    Returns
    -------
    pandas.DataFrame
        One row per result row of every finished cell, deduplicated by
        (``cell_key``, ``cell_row``) and sorted in grid order, then row order within
        a cell; columns ``cell_key`` and ``cell_row`` followed by the cell's own.

    Raises
    ------
    SourceError
        If ``root`` is not a batch folder, or a part fails its check and
        ``skip_corrupt`` is false (the message names the part and what is wrong; a
        rerun of the batch moves it aside and recomputes its cells).
    """
    store = BatchStore(root)
    keys = store.planned_keys()
    parts = store.parts()
    bad = [p for p in parts if not p.ok]
    if bad:
        good = store.done_keys(parts)
        lost = {k for p in bad for k in p.keys} - good
        names = ", ".join(f"{p.path.name} ({p.problem})" for p in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        unknown = sum(not p.keys for p in bad)
        text = (f"batch folder {store.root}: {len(bad)} corrupt result part(s): {names}{more}; "
                f"{len(lost)} cell(s)"
                + (f" and those of {unknown} part(s) without a readable manifest" if unknown
                   else "") + " are missing")
        if not skip_corrupt:
            raise SourceError(f"{text}. Rerun 'neuroalign batch CONFIG --out DIR' to "
                              "recompute them, or pass skip_corrupt=True to load the rest")
        warnings.warn(f"{text} from the table (rerun the batch to recompute them)",
                      stacklevel=2)
    if include_unplanned:
        keys = keys + sorted(store.done_keys(parts) - set(keys))
    return store.load(keys, columns, parts)


def results_dataset(root: str | os.PathLike[str]) -> Any:
    """The sound parts of a batch folder as a lazy :class:`pyarrow.dataset.Dataset`.

    For folders too large for :func:`load_results`: filter and project before reading,
    e.g. ``results_dataset(d).to_table(filter=ds.field("measure") == "rsa")``. Rows are
    in part order, unplanned cells included; a cell may appear twice after an
    interrupted :func:`compact` (deduplicate by ``cell_key``, ``cell_row``).
    """
    store = BatchStore(root)
    store.plan()
    parts = [p for p in store.parts() if p.ok]
    if not parts:
        raise SourceError(f"batch folder {store.root}: no finished cells yet")
    return _dataset(parts)


def compact(root: str | os.PathLike[str], max_rows: int = COMPACT_ROWS) -> dict[str, int]:
    """Merge the sound parts of a batch folder into a few large parts.

    Each merged part (``merged-<id>.parquet``, up to ``max_rows`` rows, and its
    manifest) is written atomically before the parts it replaces are removed, so a
    compaction killed at any moment loses nothing (a cell may then be held twice until
    the next compaction; readers deduplicate). Failure records of finished cells are
    removed. Resuming a compacted folder works as before.

    Returns
    -------
    dict
        ``parts_before``, ``parts_after``, ``cells`` and ``rows``.

    Raises
    ------
    SourceError
        If ``root`` is not a batch folder.
    """
    store = BatchStore(root)
    store.plan()
    with store.lock():
        return _compact(store, max_rows)


def _compact(store: BatchStore, max_rows: int) -> dict[str, int]:
    store.sweep()
    parts = [p for p in store.parts() if p.ok]
    groups: list[list[PartInfo]] = [[]]
    rows = 0
    for part in parts:
        if groups[-1] and rows + part.rows > max_rows:
            groups.append([])
            rows = 0
        groups[-1].append(part)
        rows += part.rows
    seen: set[str] = set()
    n_rows = 0
    written = 0
    for group in groups:
        if len(group) < 2 and not (group and _LEGACY_RE.match(group[0].path.name)):
            seen.update(k for p in group for k in p.keys)
            n_rows += sum(p.rows for p in group)
            written += len(group)
            continue
        tables, keys = [], []
        for part in group:
            new = [k for k in part.keys if k not in seen]
            if not new:
                continue
            table = pq.read_table(part.path)
            if len(new) < len(part.keys):
                import pyarrow.compute as pc

                table = table.filter(pc.is_in(table[KEY_COLUMN], pa.array(new)))
            seen.update(new)
            keys.extend(new)
            tables.append(table)
        if tables:
            merged = pa.concat_tables(tables, promote_options="permissive")
            store.write_part(keys, merged, kind="merged")
            n_rows += merged.num_rows
            written += 1
        for part in group:
            for path in (part.manifest, part.path):
                if path is not None:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
    store.prune_failures(seen)
    return {"parts_before": len(parts), "parts_after": written, "cells": len(seen),
            "rows": n_rows}

