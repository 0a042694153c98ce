"""What runs on a worker process: load (once), compute one cell, store its rows.

The client ships only the small :class:`~neuroalign.batch.plan.Cell` description.
Each worker process loads a source's patterns and an agent layer's activations
itself, the first time a cell needs them, and keeps them in a per-process LRU cache,
so data cross the network (or the process boundary) once per worker, never per task.
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
from collections.abc import Callable, Hashable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from neuroalign.batch.config import DEFAULT_CELL
from neuroalign.batch.plan import Cell
from neuroalign.batch.store import BatchStore, rows_table
from neuroalign.core.errors import ConfigError, DataError, DependencyError, ValidationError

__all__ = ["WorkerCache", "compute_rows", "execute_cell", "resolve_function", "worker_cache"]


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


class WorkerCache:
    """A small thread-safe LRU cache of loaded inputs, one per worker process."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """Return the cached value of ``key``, calling ``load()`` on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        value = load()
        with self._lock:
            self.misses += 1
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        """Drop every cached value and reset the counters."""
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


_CACHE = WorkerCache()


def worker_cache(maxsize: int | None = None) -> WorkerCache:
    """This process's cache (resized to ``maxsize`` when given)."""
    if maxsize is not None:
        _CACHE.maxsize = maxsize
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


def _prepared(cache: WorkerCache, key: Hashable, patterns: Any, role: str,
              params: Mapping[str, Any]) -> Any:
    """The prepared side of ``patterns`` (RDM and geometry computed once per worker)."""
    from neuroalign.pipeline.measures import CellOptions
    from neuroalign.pipeline.sides import Side

    options = params["options"]
    opts = options if isinstance(options, CellOptions) else CellOptions(**dict(options or {}))
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
    brain_key = ("brain", engine["brain_loader"], cell.source, cell.source_options,
                 repr(sorted(params["brain_options"].items())))
    brain_all = cache.get(brain_key,
                          lambda: brain_loader(spec, **params["brain_options"]))
    brain = _select_region(brain_all, cell.region, cell.source)
    model = cache.get(("model", engine["model_loader"], cell.agent, cell.task, cell.seed,
                       cell.layer),
                      lambda: model_loader(cell.agent, cell.task, cell.seed, cell.layer))
    if engine["cell"] == DEFAULT_CELL:
        # the default cell function takes prepared sides: prepare each side once per worker
        brain, model = _prepared(cache, (brain_key, cell.region), brain, "brain", params), \
            _prepared(cache, ("model", engine["model_loader"], cell.agent, cell.task,
                              cell.seed, cell.layer), model, "model", params)
    meta = {"agent": cell.agent, "task": cell.task, "seed": cell.seed, "layer": cell.layer,
            "source": cell.source, "region": cell.region}
    rows = cell_fn(model, brain, [cell.measure], n_boot=params["n_boot"],
                   n_perm=params["n_perm"], seed=params["seed"], meta=meta,
                   options=params["options"])
    return [dict(r) for r in rows]


def execute_cell(cell: Cell, root: str, engine: Mapping[str, str], params: Mapping[str, Any],
                 base_dir: str | None = None, cache_size: int = 64,
                 fail_fast: bool = False) -> dict[str, Any]:
    """Compute one cell on a worker and store its rows (or its failure) under ``root``.

    Any error the cell raises is recorded in ``failures/<key>.json`` and reported back
    as ``status="failed"``: one bad cell must not stop a grid of thousands. With
    ``fail_fast`` the error is re-raised after being recorded.

    Returns
    -------
    dict
        ``key``, ``status`` (``"done"`` or ``"failed"``), ``n_rows``, ``seconds``,
        ``error`` (one line, failures only) and ``pid``.
    """
    store = BatchStore(root)
    start = time.perf_counter()
    try:
        rows = compute_rows(cell, engine, params, base_dir, worker_cache(cache_size))
        store.write_part(cell.key, rows_table(rows, cell.key))
    # the batch boundary: whatever a cell raises becomes that cell's failure record
    except Exception as err:
        message = f"{type(err).__name__}: {err}"
        store.write_failure(cell.key, {
            "key": cell.key, "cell": cell.describe(), "error_type": type(err).__name__,
            "message": str(err), "traceback": traceback.format_exc(),
            "host": socket.gethostname(), "pid": os.getpid(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        if fail_fast:
            raise
        return {"key": cell.key, "status": "failed", "n_rows": 0, "error": message,
                "seconds": time.perf_counter() - start, "pid": os.getpid()}
    return {"key": cell.key, "status": "done", "n_rows": len(rows),
            "seconds": time.perf_counter() - start, "pid": os.getpid()}
