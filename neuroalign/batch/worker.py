"""What runs on a worker process: load (once), compute a chunk of cells, store its rows.

The client ships only small :class:`~neuroalign.batch.plan.Cell` descriptions, many
cells per task. Each worker process loads a source's patterns and an agent layer's
activations itself, once per chunk at most, and keeps them across chunks in a
per-process LRU cache bounded by memory, so data cross the network (or the process
boundary) once per worker, never per cell.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from neuroalign.batch.config import DEFAULT_BRAIN_LOADER, DEFAULT_CELL, DEFAULT_MODEL_LOADER
from neuroalign.batch.plan import Cell
from neuroalign.batch.store import BatchStore, rows_table
from neuroalign.core.errors import ConfigError, DataError, DependencyError, ValidationError

__all__ = [
    "PROJECT_FUNCTIONS",
    "ChunkResult",
    "WorkerCache",
    "cell_params",
    "check_engine",
    "chunk_order",
    "compute_chunk",
    "compute_rows",
    "execute_chunk",
    "failure_record",
    "nbytes",
    "resolve_function",
    "worker_cache",
]


@lru_cache(maxsize=64)
def resolve_function(ref: str, base_dir: str | None = None) -> Callable[..., Any]:
    """Import ``"package.module:function"`` or ``"path/to/file.py:function"``.

    Raises
    ------
    DependencyError
        If the module cannot be imported (e.g. the part that provides it is missing).
    ConfigError
        If the module has no such function.
    """
    module_name, _, func_name = ref.rpartition(":")
    if module_name.endswith(".py"):
        path = Path(module_name).expanduser()
        if not path.is_absolute() and base_dir:
            path = Path(base_dir) / path
        path = path.resolve()
        mod_id = f"_neuroalign_batch_{abs(hash(str(path)))}"
        module = sys.modules.get(mod_id)
        if module is None:
            spec = importlib.util.spec_from_file_location(mod_id, path)
            if spec is None or spec.loader is None or not path.is_file():
                raise ConfigError(f"engine function {ref!r}: file {path} not found")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_id] = module
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise DependencyError(
                f"engine function {ref!r}: cannot import module {module_name!r} ({err})"
            ) from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigError(f"engine function {ref!r}: module {module_name!r} has no function "
                          f"{func_name!r}")
    return func


def nbytes(value: Any) -> int:
    """Approximate memory of a loaded input: array ``nbytes``, summed over containers."""
    size = getattr(value, "nbytes", None)
    if isinstance(size, int | np.integer):
        return int(size)
    if isinstance(value, Mapping):
        return sum(nbytes(v) for v in value.values()) + sys.getsizeof(value)
    if isinstance(value, list | tuple):
        return sum(nbytes(v) for v in value) + sys.getsizeof(value)
    return sys.getsizeof(value)


class WorkerCache:
    """A thread-safe LRU cache of loaded inputs, one per worker process.

    Bounded twice: at most ``maxsize`` entries and at most ``max_bytes`` of memory (as
    measured by :func:`nbytes`); the least recently used entries are dropped first. A
    value larger than ``max_bytes`` on its own is returned but not kept.
    """

    def __init__(self, maxsize: int = 64, max_bytes: int | None = None) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """Return the cached value of ``key``, calling ``load()`` on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key][0]
        value = load()
        size = nbytes(value)
        with self._lock:
            self.misses += 1
            if self.max_bytes is not None and size > self.max_bytes:
                return value
            old = self._data.pop(key, None)
            self.bytes += size - (old[1] if old else 0)
            self._data[key] = (value, size)
            while len(self._data) > self.maxsize or (
                    self.max_bytes is not None and self.bytes > self.max_bytes):
                _, (_, dropped) = self._data.popitem(last=False)
                self.bytes -= dropped
        return value

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        """Drop every cached value and reset the counters."""
        with self._lock:
            self._data.clear()
            self.bytes = self.hits = self.misses = 0


_CACHE = WorkerCache()


def worker_cache(maxsize: int | None = None, max_bytes: int | None = None) -> WorkerCache:
    """This process's cache (resized to ``maxsize`` entries / ``max_bytes`` when given)."""
    if maxsize is not None:
        _CACHE.maxsize = maxsize
    if max_bytes is not None:
        _CACHE.max_bytes = max_bytes
    return _CACHE


def _select_region(brain: Any, region: str, source: str) -> Any:
    """The patterns of ``region`` from what the brain loader returned."""
    if isinstance(brain, Mapping):
        names = brain.regions() if hasattr(brain, "regions") else sorted(map(str, brain))
        if region not in names:
            raise DataError(f"source {source}: no region {region!r} (with enough units); "
                            f"regions in this source: {names}")
        return brain[region]
    regions = getattr(brain, "coords", {}).get("region") if hasattr(brain, "coords") else None
    if regions is not None and "unit" in getattr(brain, "dims", ()):
        mask = regions.values == region
        if not mask.any():
            raise DataError(f"source {source}: no region {region!r}; regions in this source: "
                            f"{sorted(set(map(str, regions.values)))}")
        return brain.isel(unit=mask)
    raise ValidationError(
        f"source {source}: the brain loader returned {type(brain).__name__}; expected a "
        "mapping region -> patterns or a DataArray with a 'region' coord on 'unit'"
    )


def _brain_key(cell: Cell, engine: Mapping[str, str], params: Mapping[str, Any]) -> tuple:
    # repr: a generic source's mapping is a dict, which a tuple key cannot hold
    return ("brain", engine["brain_loader"], cell.source, repr(cell.source_options),
            repr(sorted(params["brain_options"].items())))


def _model_key(cell: Cell, engine: Mapping[str, str]) -> tuple:
    return ("model", engine["model_loader"], cell.agent, cell.task, cell.seed, cell.layer,
            cell.agent_spec)


def _cell_rows(cell: Cell, cell_fn: Callable[..., Any], model: Any, brain_all: Any,
               params: Mapping[str, Any], cache: WorkerCache, engine: Mapping[str, str],
               ) -> list[dict[str, Any]]:
    brain = _select_region(brain_all, cell.region, cell.source)
    if engine["cell"] == DEFAULT_CELL:
        # the default cell function takes prepared sides: prepare each side once per worker
        brain = _prepared(cache, (_brain_key(cell, engine, params), cell.region), brain,
                          "brain", params)
        model = _prepared(cache, _model_key(cell, engine), model, "model", params)
    meta = {"agent": cell.agent, "task": cell.task, "seed": cell.seed, "layer": cell.layer,
            "source": cell.source, "region": cell.region}
    rows = cell_fn(model, brain, [cell.measure], n_boot=params["n_boot"],
                   n_perm=params["n_perm"], seed=params["seed"], meta=meta,
                   options=params["options"])
    # a side's own statistics (its geometry) are written once: by the cell that owns it
    return [dict(r) for r in rows if r.get("side") in (None, "pair", *cell.sides)]


def _prepared(cache: WorkerCache, key: Hashable, patterns: Any, role: str,
              params: Mapping[str, Any]) -> Any:
    """The prepared side of ``patterns`` (RDM and geometry computed once per worker)."""
    from neuroalign.pipeline.sides import Side, as_measure_options

    opts = as_measure_options(params["options"])
    settings = (int(params["n_boot"]), int(params["n_perm"]), int(params["seed"]), opts)
    return cache.get(("side", role, key, repr(settings)),
                     lambda: Side(patterns, role, n_boot=settings[0], n_perm=settings[1],
                                  seed=settings[2], options=opts))


def compute_rows(cell: Cell, engine: Mapping[str, str], params: Mapping[str, Any],
                 base_dir: str | None = None, cache: WorkerCache | None = None
                 ) -> list[dict[str, Any]]:
    """Compute the rows of one cell in this process (cached loads, then the cell function).

    Parameters
    ----------
    cell
        The cell.
    engine
        ``{"cell": ref, "brain_loader": ref, "model_loader": ref}`` function references.
    params
        ``n_boot``, ``n_perm``, ``seed`` and ``options`` of the inference and
        ``brain_options`` (the condition grid) of the brain loader.
    base_dir
        Folder relative ``file.py:function`` references are read from.
    cache
        The per-process cache (default: this process's :func:`worker_cache`).
    """
    cache = cache if cache is not None else worker_cache()
    brain_loader = resolve_function(engine["brain_loader"], base_dir)
    model_loader = resolve_function(engine["model_loader"], base_dir)
    cell_fn = resolve_function(engine["cell"], base_dir)
    spec = cell.source_spec()
    brain_all = cache.get(_brain_key(cell, engine, params),
                          lambda: brain_loader(spec, **params["brain_options"]))
    model = cache.get(_model_key(cell, engine),
                      lambda: model_loader(cell.agent, cell.task, cell.seed, cell.layer,
                                           **cell.loader_options()))
    return _cell_rows(cell, cell_fn, model, brain_all, params, cache, engine)


@dataclass
class ChunkResult:
    """Rows and failures of a chunk of cells computed in one process.

    Attributes
    ----------
    rows
        Row dicts of the finished cells, cell after cell.
    row_keys
        The cell key of every row.
    done
        Keys of the finished cells (a cell may finish with no rows).
    failures
        ``key -> (exception, formatted traceback)`` of the failed cells.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    row_keys: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failures: dict[str, tuple[BaseException, str]] = field(default_factory=dict)


def chunk_order(cells: Sequence[Cell]) -> list[Cell]:
    """``cells`` grouped by source, then by agent layer (the order a chunk runs in)."""
    return sorted(cells, key=lambda c: (c.source, repr(c.source_options), c.agent, c.task,
                                        c.seed, c.layer, c.index))


def compute_chunk(cells: Sequence[Cell], engine: Mapping[str, str],
                  params: Mapping[str, Any], base_dir: str | None = None,
                  cache: WorkerCache | None = None, *, stop_on_error: bool = False,
                  on_cell: Callable[[Cell], None] | None = None) -> ChunkResult:
    """Compute a chunk of cells in this process, loading each input once per chunk.

    Cells run grouped by source (see :func:`chunk_order`); the current source and every
    agent layer of the chunk are held for the whole chunk, and kept across chunks in
    ``cache`` (bounded by memory). A source or layer that fails to load fails the
    cells that need it, once each, without being loaded again in this chunk.

    Parameters
    ----------
    cells
        The cells.
    engine, params, base_dir, cache
        As for :func:`compute_rows`.
    stop_on_error
        Stop at the first failing cell (its failure is in the result).
    on_cell
        Called after each cell, finished or failed.
    """
    cache = cache if cache is not None else worker_cache()
    brain_loader = resolve_function(engine["brain_loader"], base_dir)
    model_loader = resolve_function(engine["model_loader"], base_dir)
    cell_fn = resolve_function(engine["cell"], base_dir)
    out = ChunkResult()
    models: dict[tuple, Any] = {}
    brain_key: tuple | None = None
    brain: Any = None

    def load(key: tuple, loader: Callable[[], Any]) -> Any:
        try:
            return cache.get(key, loader)
        # the batch boundary: whatever a loader raises fails the cells that need it
        except Exception as err:
            return (_LoadFailure(err, traceback.format_exc()))

    for cell in chunk_order(cells):
        bkey = _brain_key(cell, engine, params)
        if bkey != brain_key:
            spec = cell.source_spec()
            brain_key, brain = bkey, load(
                bkey, partial(brain_loader, spec, **params["brain_options"]))
        mkey = _model_key(cell, engine)
        if mkey not in models:
            models[mkey] = load(mkey, partial(model_loader, cell.agent, cell.task, cell.seed,
                                              cell.layer, **cell.loader_options()))
        model = models[mkey]
        failed = next((x for x in (brain, model) if isinstance(x, _LoadFailure)), None)
        if failed is not None:
            out.failures[cell.key] = (failed.error, failed.traceback)
        else:
            try:
                rows = _cell_rows(cell, cell_fn, model, brain, params, cache, engine)
            except Exception as err:  # the batch boundary, as above
                out.failures[cell.key] = (err, traceback.format_exc())
            else:
                out.rows.extend(rows)
                out.row_keys.extend([cell.key] * len(rows))
                out.done.append(cell.key)
        if on_cell is not None:
            on_cell(cell)
        if stop_on_error and out.failures:
            break
    return out


@dataclass(frozen=True)
class _LoadFailure:
    error: BaseException
    traceback: str


def failure_record(cell: Cell, err: BaseException, tb: str) -> dict[str, Any]:
    """The failure record of ``cell`` (one line of ``failures.jsonl``)."""
    return {"key": cell.key, "cell": cell.describe(), "error_type": type(err).__name__,
            "message": str(err), "traceback": tb, "host": socket.gethostname(),
            "pid": os.getpid(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _progress_sender(topic: str | None, chunk_id: str) -> Callable[[Cell], None] | None:
    """Report finished cells to the client as worker events, at most twice a second."""
    if topic is None:
        return None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    state = {"n": 0, "last": time.monotonic()}

    def send(cell: Cell) -> None:
        state["n"] += 1
        now = time.monotonic()
        if now - state["last"] >= 0.5:
            worker.log_event(topic, {"chunk": chunk_id, "cells": state["n"]})
            state["n"], state["last"] = 0, now

    return send


def execute_chunk(cells: Sequence[Cell], root: str, engine: Mapping[str, str],
                  params: Mapping[str, Any], base_dir: str | None = None,
                  cache_size: int = 64, cache_bytes: int | None = None,
                  fail_fast: bool = False, progress_topic: str | None = None,
                  chunk_id: str = "") -> dict[str, Any]:
    """Compute a chunk of cells on a worker and store its rows as one part under ``root``.

    Any error a cell raises is reported back with its failure record (the client
    stores the records in one file): one bad cell must not stop a grid of millions.
    The finished cells are written as one part (Parquet + manifest) at the end of the
    chunk. With ``fail_fast`` the chunk stops at the first failing cell and writes
    what finished; the client re-raises the error (``error``).

    Returns
    -------
    dict
        ``done`` (cells finished), ``failed`` (``key -> one-line error``), ``records``
        (the failure records), ``error`` (with ``fail_fast``: the first error, else
        ``None``), ``rows``, ``seconds`` and ``pid``.
    """
    start = time.perf_counter()
    store = BatchStore(root)
    by_key = {c.key: c for c in cells}
    result = compute_chunk(cells, engine, params, base_dir,
                           worker_cache(cache_size, cache_bytes), stop_on_error=fail_fast,
                           on_cell=_progress_sender(progress_topic, chunk_id))
    failures = dict(result.failures)
    if result.done:
        try:
            store.write_part(result.done, rows_table(result.rows, result.row_keys))
        except ValidationError as err:
            failures.update({k: (err, traceback.format_exc()) for k in result.done})
            result.done = []
    records = [failure_record(by_key[key], err, tb) for key, (err, tb) in failures.items()]
    error = next(iter(failures.values()))[0] if fail_fast and failures else None
    return {"done": len(result.done),
            "failed": {k: f"{type(e).__name__}: {e}" for k, (e, _) in failures.items()},
            "records": records, "error": error,
            "rows": len(result.rows), "seconds": time.perf_counter() - start,
            "pid": os.getpid()}


def cell_params(config: Any) -> dict[str, Any]:
    """What every cell of ``config`` receives, its options checked by the cell's schema.

    A cell function of the user's own may declare ``options_model``, a pydantic
    model of its options: the config's ``options`` are validated by it (unknown
    fields and wrong types refused, defaults filled in) and the cell receives the
    validated values as a dict. Without one it receives the options as given.
    Call after :func:`check_engine` (the function is imported here).

    Raises
    ------
    ConfigError
        Naming the option, what it got and what the cell's schema expects.
    """
    params = config.cell_params()
    ref = config.engine.cell
    if ref == DEFAULT_CELL:
        return params
    schema = getattr(resolve_function(ref, config.base_dir), "options_model", None)
    if schema is None:
        return params
    from pydantic import BaseModel

    from neuroalign.core.config import validate_model

    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError(f"engine.cell {ref!r}: options_model is {type(schema).__name__}; "
                          "expected a pydantic model class")
    checked = validate_model(schema, params["options"],
                             f"batch config options (checked by {ref}.options_model)")
    return {**params, "options": checked.model_dump()}


#: the engine functions a batch config may name without ``allow_code``
PROJECT_FUNCTIONS = frozenset({DEFAULT_CELL, DEFAULT_BRAIN_LOADER, DEFAULT_MODEL_LOADER})


def check_engine(engine: Mapping[str, str], allow_code: bool) -> None:
    """Refuse engine functions other than neuroalign's own unless ``allow_code``.

    A batch config is data: naming ``file.py:function`` or ``module:function`` imports
    and runs that code on every worker, so it takes an explicit choice of the person
    running the batch (``--allow-code`` on the command line).

    Raises
    ------
    ConfigError
        Naming the field and the reference.
    """
    if allow_code:
        return
    for name, ref in engine.items():
        if ref not in PROJECT_FUNCTIONS:
            raise ConfigError(
                f"engine.{name}: got {ref!r}; expected one of neuroalign's own functions "
                f"{sorted(PROJECT_FUNCTIONS)}. A batch config is data: running other code "
                "takes --allow-code on the command line (allow_code=True in Python)")
