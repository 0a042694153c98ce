"""Expand a batch config into cells, each with a stable key.

A cell's key is the SHA-256 of a canonical JSON document holding everything its
result depends on: the agent, task, seed and layer (and the fingerprint of the
agent's checkpoint); the source's options and the
identity of its file (a content fingerprint, so a regenerated or edited file gets
new keys while a moved or copied one keeps them); the region and measure; the
inference parameters; the functions that compute the cell; and the neuroalign
version. Same inputs, same key, on any machine.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from neuroalign.batch.config import DEFAULT_MODEL_LOADER, BatchConfig, SourceSpec
from neuroalign.core.errors import ConfigError, NeuroalignError
from neuroalign.core.provenance import neuroalign_version

__all__ = [
    "Cell",
    "expand_cells",
    "file_fingerprint",
    "model_identity",
    "source_identity",
]

#: files up to this size are hashed whole; larger ones by size and three 8 MiB samples
FULL_HASH_LIMIT = 64 * 1024 * 1024
_SAMPLE = 8 * 1024 * 1024
_REMOTE_PREFIXES = ("http://", "https://", "dandi://", "s3://")


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a batch grid: everything a worker needs to compute it.

    Attributes
    ----------
    key
        Stable hash of the cell's inputs (32 hex digits).
    index
        Position in the grid's deterministic order.
    agent, task, seed, layer
        The model side.
    source
        Resolved source location (absolute path or URL).
    source_options
        Loader options of the source (profile, align, window, bin_size).
    region, measure
        The brain region and the measure.
    sides
        The sides whose statistics (a side measure such as ``geometry``) this
        cell writes: each side's statistics are written by one cell only, the
        first of the grid that holds the side (its first source and region for a
        model side, its first agent layer for a brain side).
    agent_spec
        A foreign agent's config entry as sorted ``(field, value)`` pairs (``()`` for
        a zoo agent); the default model loader probes its file.
    """

    key: str
    index: int
    agent: str
    task: str
    seed: int
    layer: str
    source: str
    source_options: tuple[tuple[str, Any], ...]
    region: str
    measure: str
    sides: tuple[str, ...] = ("model", "brain")
    agent_spec: tuple[tuple[str, Any], ...] = ()

    def loader_options(self) -> dict[str, Any]:
        """Keyword arguments of the model loader: ``spec`` for a foreign agent."""
        if not self.agent_spec:
            return {}
        from neuroalign.core.config import AgentSpec

        return {"spec": AgentSpec.model_validate(
            {k: list(v) if isinstance(v, tuple) else v for k, v in self.agent_spec})}

    def source_spec(self) -> dict[str, Any]:
        """The source as the brain loader receives it: ``{"path": ..., **options}``."""
        out: dict[str, Any] = {"path": self.source}
        for name, value in self.source_options:
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def describe(self) -> dict[str, Any]:
        """Plain-JSON description of the cell (for plans and failure records)."""
        out = asdict(self)
        out["source_options"] = dict(self.source_spec())
        out["source_options"].pop("path")
        return out


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(f"size={size};".encode())
    with path.open("rb") as fh:
        if size <= FULL_HASH_LIMIT:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        else:
            for offset in (0, size // 2, size - _SAMPLE):
                fh.seek(offset)
                h.update(fh.read(_SAMPLE))
    return h.hexdigest()


@lru_cache(maxsize=1024)
def _cached_fingerprint(path: str, size: int, mtime_ns: int) -> str:
    return _hash_file(Path(path))


def file_fingerprint(path: str | Path) -> str:
    """Content fingerprint of a local file, or ``"missing"`` if it does not exist.

    Files up to 64 MiB are hashed whole (SHA-256); larger ones by their size and three
    8 MiB samples (start, middle, end), which tells apart regenerated recordings at a
    fraction of the cost.
    """
    p = Path(path)
    if not p.is_file():
        return "missing"
    st = p.stat()
    return _cached_fingerprint(str(p.resolve()), st.st_size, st.st_mtime_ns)


def source_identity(location: str) -> str:
    """Identity of a source for cell keys: file name + content fingerprint, or the URL."""
    if location.startswith(_REMOTE_PREFIXES):
        return location
    return f"{Path(location).name}#{file_fingerprint(location)}"


def model_identity(config: BatchConfig, agent: str, task: str, seed: int) -> str:
    """Identity of an agent checkpoint for cell keys.

    With the default model loader it is the fingerprint of the zoo checkpoint that
    will be probed (so a retrained checkpoint gets new keys); ``"train"`` when no
    checkpoint exists yet (it is trained deterministically from the seed), and
    ``"unknown"`` when the zoo does not know the agent or task (those cells fail with
    the zoo's message). Custom loaders are identified by their names only.
    """
    if config.engine.model_loader != DEFAULT_MODEL_LOADER:
        return "names"
    try:
        from neuroalign.zoo import checkpoint_path

        path = checkpoint_path(agent, task, int(seed))
    except (ImportError, NeuroalignError):
        return "unknown"
    return "train" if path is None else file_fingerprint(path)


def _expand_sources(config: BatchConfig) -> list[tuple[str, SourceSpec]]:
    base = config.resolved_base()
    out: list[tuple[str, SourceSpec]] = []
    seen: set[tuple[str, str]] = set()
    for spec in config.sources:
        if spec.path.startswith("dandi://"):
            from neuroalign.io.source import expand_dandi_uri

            locations = expand_dandi_uri(spec.path)  # a pattern lists the matching assets
        elif spec.path.startswith(_REMOTE_PREFIXES):
            locations = [spec.path]
        else:
            raw = Path(spec.path).expanduser()
            full = raw if raw.is_absolute() else base / raw
            if glob.has_magic(str(full)):
                locations = sorted(str(Path(p).resolve()) for p in glob.glob(str(full)))
            elif full.is_dir():
                locations = sorted(str(p.resolve()) for p in full.glob("*.nwb"))
            else:
                # a missing file stays in the grid: its cells fail with a clear message
                locations = [str(full.resolve())]
        for loc in locations:
            ident = (loc, json.dumps(spec.options(), sort_keys=True))
            if ident not in seen:
                seen.add(ident)
                out.append((loc, spec))
    return out


def _engine_identity(config: BatchConfig) -> dict[str, str]:
    """Engine references, with the content fingerprint of ``file.py:function`` ones."""
    out = {}
    for name, ref in config.engine.model_dump().items():
        module = ref.rpartition(":")[0]
        if module.endswith(".py"):
            path = Path(module).expanduser()
            path = path if path.is_absolute() else config.resolved_base() / path
            ref = f"{ref}#{file_fingerprint(path)}"
        out[name] = ref
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _key(payload: dict[str, Any]) -> str:
    """First 32 hex digits of the SHA-256 of the canonical JSON of ``payload``."""
    return hashlib.sha256(_dumps(payload).encode()).hexdigest()[:32]


class _KeyBuilder:
    """Builds :func:`_key` of many payloads that share most fields, fast.

    The canonical JSON of a mapping is its fields in sorted order, so the text of every
    field is made once (``fixed`` and each ``vary`` value once per distinct value) and
    the payload's text is their concatenation: the same bytes, hence the same key, as
    :func:`_key` of the whole payload.
    """

    def __init__(self, fixed: dict[str, Any], varying: list[str]) -> None:
        order = sorted([*fixed, *varying])
        self._slots = [(name, f"{json.dumps(name)}:{_dumps(fixed[name])}" if name in fixed
                        else json.dumps(name) + ":") for name in order]
        self._texts: dict[tuple[str, str], str] = {}

    def text(self, name: str, value: Any, token: str) -> str:
        """The JSON text of field ``name`` with ``value``; ``token`` identifies the value."""
        got = self._texts.get((name, token))
        if got is None:
            got = self._texts[(name, token)] = _dumps(value)
        return got

    def key(self, fields: dict[str, str]) -> str:
        """The key of the payload with the fixed fields and the field texts ``fields``."""
        parts = [text + fields[name] if name in fields else text
                 for name, text in self._slots]
        return hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()[:32]


def expand_cells(config: BatchConfig,
                 held: Mapping[str, set[str]] | None = None) -> list[Cell]:
    """All cells of ``config`` in deterministic grid order, each with its stable key.

    The order is agents, tasks, seeds, layers, sources, regions, measures (outermost
    first); glob patterns among the sources expand to sorted file lists. Each side's
    statistics are written by the first cell that holds the side (``Cell.sides``):
    a model side's by its first (source, region) pair that ``held``
    (:func:`~neuroalign.batch.names.regions_held`) does not rule out, so a region
    missing from the first source does not lose the agent's statistics; a brain
    side's by the first agent layer.
    """
    held = held or {}
    sources = _expand_sources(config)
    if not sources:
        raise ConfigError(f"sources: {[s.path for s in config.sources]} match no file")
    common = {
        "version": neuroalign_version(),
        "engine": _engine_identity(config),
        "n_boot": config.n_boot,
        "n_perm": config.n_perm,
        "seed": config.seed,
        "options": config.options_dict(),
        "brain_options": config.brain_options(),
    }
    builder = _KeyBuilder(common, ["model", "source", "source_options", "region", "measure"])
    prepared = []
    for i, (loc, spec) in enumerate(sources):
        opts = spec.options()
        frozen = tuple((k, tuple(v) if isinstance(v, list) else v)
                       for k, v in sorted(opts.items()))
        prepared.append((loc, frozen, builder.text("source", source_identity(loc), str(i)),
                         builder.text("source_options", opts, str(i))))
    regions = [(r, builder.text("region", r, r)) for r in config.regions]
    measures = [(m, builder.text("measure", m, m)) for m in config.measures]
    cells: list[Cell] = []
    append = cells.append
    owns_brains = [True]  # the first agent layer writes every brain side's statistics

    def owners(loc: str, region: str, owns_model: list[bool]) -> tuple[str, ...]:
        present = loc not in held or region in held[loc]
        sides = (("model",) if owns_model[0] and present else ()) + (
            ("brain",) if owns_brains[0] else ())
        owns_model[0] = owns_model[0] and not present
        return sides

    def model_cells(agent: str, task: str, seed: int, layer: str, model_text: str,
                    agent_spec: tuple[tuple[str, Any], ...] = ()) -> None:
        """Every cell of one model side: each source x region x measure."""
        owns_model = [True]
        for loc, frozen, source_text, opts_text in prepared:
            for region, region_text in regions:
                sides = owners(loc, region, owns_model)
                for measure, measure_text in measures:
                    key = builder.key({
                        "model": model_text, "source": source_text,
                        "source_options": opts_text, "region": region_text,
                        "measure": measure_text})
                    append(Cell(
                        key=key, index=len(cells), agent=agent, task=task, seed=seed,
                        layer=layer, source=loc, source_options=frozen, region=region,
                        measure=measure, agent_spec=agent_spec, sides=sides,
                    ))
        owns_brains[0] = False

    for agent in config.zoo_agents():
        for task in config.tasks:
            for seed in config.seeds:
                model_id = model_identity(config, agent, task, seed)
                for layer in config.layers:
                    model_cells(agent, task, int(seed), layer,
                                _dumps([agent, task, seed, layer, model_id]))
    for foreign in config.foreign_agents():
        if config.engine.model_loader != DEFAULT_MODEL_LOADER:
            raise ConfigError(f"agents: {foreign.name!r} is an sb3/activations agent; expected "
                              f"the default model loader {DEFAULT_MODEL_LOADER!r} to read it")
        frozen_spec = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                   for k, v in foreign.model_dump(exclude_none=True).items()))
        model_id = f"{file_fingerprint(str(foreign.path))}:{foreign.family}:{foreign.allow_code}"
        for layer in foreign.layers or config.layers:
            model_cells(foreign.name, foreign.task, 0, layer,
                        _dumps([foreign.name, foreign.task, 0, layer, model_id]), frozen_spec)
    return cells
