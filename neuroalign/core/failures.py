"""A failure log: ``failures.jsonl``, one JSON line per failure record, each with its key.

Batch folders (one record per failed cell) and seed sweeps (one per failed training)
keep their failures this way: records are appended by the one process that runs the
work, the latest record of a key wins when read, a line cut short by a kill is skipped,
and the records of work finished since are pruned by rewriting the file atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from neuroalign.core.atomic import atomic_file

__all__ = ["FAILURES_FILE", "append_failures", "prune_failures", "read_failures",
           "rewrite_failures"]

#: the failure log's name in its folder
FAILURES_FILE = "failures.jsonl"


def _lines(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True, default=str, separators=(",", ":")) + "\n"
                   for r in records)


def read_failures(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """key -> latest failure record of the log at ``path`` (none if it does not exist;
    a line that is not a JSON object with a string ``key`` is skipped)."""
    records: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill
            if isinstance(rec, dict) and isinstance(rec.get("key"), str):
                records[rec["key"]] = rec
    return records


def append_failures(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> Path:
    """Append ``records`` (each with its ``key``) to the log, in one ``write`` call."""
    text = _lines(records)
    if text:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    return Path(path)


def rewrite_failures(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> None:
    """Replace the log by ``records``, atomically."""
    with atomic_file(path, suffix=".jsonl") as tmp:
        tmp.write_text(_lines(records))


def prune_failures(path: str | os.PathLike[str], done: set[str]) -> None:
    """Rewrite the log without the records of the keys in ``done`` (work finished since);
    the file is left alone when none of them is in it."""
    records = read_failures(path)
    if set(records) & done:
        rewrite_failures(path, [rec for key, rec in records.items() if key not in done])
