"""Small, pure cell functions and loaders for the batch tests (no NWB, no zoo).

Referenced from configs as ``<this file>:<function>``; every worker process imports
this file itself. Sources are ``.npz`` files holding one ``(repetition, condition,
unit)`` array per region. Loaders log ``<pid> <what>`` lines to ``loads.log`` beside
the source so tests can count how often data were loaded.
"""

from __future__ import annotations

import os
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from neuroalign.core.errors import DataError, SourceError

HERE = Path(__file__).resolve()


def ref(name: str) -> str:
    """Engine reference to the function ``name`` of this file."""
    return f"{HERE}:{name}"


def engine(cell: str = "cell") -> dict[str, str]:
    """Engine spec using this file's loaders and the cell function ``cell``."""
    return {"cell": ref(cell), "brain_loader": ref("load_brain"),
            "model_loader": ref("load_model")}


def write_source(path: Path, regions: dict[str, int], seed: int, n_rep: int = 4,
                 n_cond: int = 8) -> Path:
    """Write a source file with ``regions`` (name -> number of units)."""
    rng = np.random.default_rng(seed)
    arrays = {name: rng.normal(size=(n_rep, n_cond, n)) for name, n in regions.items()}
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


def _log(folder: Path, what: str) -> None:
    with (folder / "loads.log").open("a") as fh:
        fh.write(f"{os.getpid()} {what}\n")


def load_brain(spec: dict[str, Any], **grid: Any) -> dict[str, np.ndarray]:
    """Region -> patterns of one ``.npz`` source."""
    path = Path(spec["path"])
    if not path.is_file():
        raise SourceError(f"source {path}: file not found")
    _log(path.parent, f"brain {path.name}")
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"source {path}: not a readable .npz file ({err})") from None


def load_model(agent: str, task: str, seed: int, layer: str) -> np.ndarray:
    """Deterministic pseudo-activations ``(condition, unit)`` of one agent layer."""
    key = zlib.crc32(f"{agent}|{task}|{seed}|{layer}".encode())
    return np.random.default_rng(key).normal(size=(8, 6))


def _rdm(x: np.ndarray) -> np.ndarray:
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return d[np.triu_indices(x.shape[0], 1)]


def cell(model: np.ndarray, brain: np.ndarray, measures: list[str], *, n_boot: int,
         n_perm: int, seed: int, meta: dict[str, Any], options: dict[str, Any] | None = None
         ) -> list[dict[str, Any]]:
    """RDM correlation of model and brain, with a bootstrap over brain repetitions."""
    rows = []
    for measure in measures:
        rng = np.random.default_rng([seed, zlib.crc32(measure.encode())])
        power = 2.0 if measure == "squared" else 1.0
        m = _rdm(model)
        est = float(np.corrcoef(m, _rdm(brain.mean(0)) ** power)[0, 1])
        boots = [
            float(np.corrcoef(m, _rdm(brain[rng.integers(0, brain.shape[0], brain.shape[0])]
                                      .mean(0)) ** power)[0, 1])
            for _ in range(n_boot)
        ]
        rows.append({**meta, "measure": measure, "estimate": est,
                     "ci_low": float(np.quantile(boots, 0.025)) if boots else np.nan,
                     "ci_high": float(np.quantile(boots, 0.975)) if boots else np.nan,
                     "n": int(brain.shape[-1])})
    return rows


def options_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], *,
                 options: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """:func:`cell`, its estimate multiplied by ``options["scale"]`` (no schema)."""
    rows = cell(model, brain, measures, options=options, **kw)
    return [{**r, "estimate": r["estimate"] * float(options["scale"])} for r in rows]


class TypedOptions(BaseModel):
    """The options :func:`typed_cell` declares."""

    model_config = ConfigDict(extra="forbid")

    scale: float = 1.0
    offset: float = 0.0


def typed_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], *,
               options: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    """:func:`cell`, ``estimate * scale + offset``, with its options checked by a schema."""
    rows = cell(model, brain, measures, options=options, **kw)
    return [{**r, "estimate": r["estimate"] * options["scale"] + options["offset"]}
            for r in rows]


typed_cell.options_model = TypedOptions  # type: ignore[attr-defined]


def slow_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], **kw: Any
              ) -> list[dict[str, Any]]:
    """:func:`cell` after a 0.1 s pause (for interruption tests)."""
    time.sleep(0.1)
    return cell(model, brain, measures, **kw)


def crash_once_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], **kw: Any
                    ) -> list[dict[str, Any]]:
    """Kill the worker process the first time any cell runs, then behave as :func:`cell`.

    The marker ``crash.marker`` beside the source records that the crash happened.
    """
    marker = Path(kw["meta"]["source"]).parent / "crash.marker"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return cell(model, brain, measures, **kw)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os._exit(17)


def flaky_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], **kw: Any
               ) -> list[dict[str, Any]]:
    """Fail while ``fail.flag`` exists beside the source and the measure is ``squared``."""
    flag = Path(kw["meta"]["source"]).parent / "fail.flag"
    if flag.exists() and "squared" in measures:
        raise DataError(f"flaky failure while {flag.name} exists")
    return cell(model, brain, measures, **kw)


def always_crash_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], **kw: Any
                      ) -> list[dict[str, Any]]:
    """Kill the worker process every time."""
    os._exit(18)


def load_brain_remote(spec: dict[str, Any], **grid: Any) -> dict[str, np.ndarray]:
    """:func:`load_brain` of ``dandi://<dandiset>/<local path>`` sources (a stand-in)."""
    path = spec["path"]
    if path.startswith("dandi://"):
        path = "/" + path.removeprefix("dandi://").split("/", 1)[1]
    return load_brain({**spec, "path": path}, **grid)


def poison_cell(model: np.ndarray, brain: np.ndarray, measures: list[str], **kw: Any
                ) -> list[dict[str, Any]]:
    """Break out of the batch boundary for agent 'ppo', seed 1, region 'B', measure 'squared'.

    ``GeneratorExit`` is not an ``Exception``: it escapes the cell's failure record and
    fails the whole task, as a worker that dies does, without the cost of a restart.
    """
    meta = kw["meta"]
    if (meta["agent"], meta["seed"], meta["region"], measures) == ("ppo", 1, "B",
                                                                   ["squared"]):
        raise GeneratorExit("poisoned cell")
    return cell(model, brain, measures, **kw)
