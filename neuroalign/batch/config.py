"""Typed configuration of a batch grid, read from YAML.

A batch is the product (agents x tasks x seeds x layers) x (sources x regions) x
measures. Every field carries its help text; ``neuroalign batch --help`` and the
docs are generated from the same descriptions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as _PydanticValidationError

from neuroalign.core.errors import ConfigError

__all__ = [
    "BatchConfig",
    "EngineSpec",
    "SourceSpec",
    "config_help",
    "load_config",
    "validate_config",
]

#: default per-cell computation and loaders: the same functions ``neuroalign run`` uses
DEFAULT_CELL = "neuroalign.pipeline.cell:compute_cell"
DEFAULT_BRAIN_LOADER = "neuroalign.pipeline.cell:load_brain_patterns"
DEFAULT_MODEL_LOADER = "neuroalign.pipeline.cell:load_model_patterns"


class SourceSpec(BaseModel):
    """One recording source (or a glob of local files sharing the same options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="Local NWB path (relative paths are read from the config file's folder; "
        "glob patterns such as 'sessions/*.nwb' expand to one source per file), an http(s) "
        "URL, or 'dandi://<dandiset>[@<version>]/<asset path>'."
    )
    profile: str | None = Field(
        default=None,
        description="Dataset profile mapping the file's layout to valence (e.g. 'amygdala', "
        "'ibl', 'generic'); null lets the loader detect it.",
    )
    align: str | None = Field(
        default=None,
        description="Event or column the responses are aligned to; null uses the profile's "
        "outcome time.",
    )
    window: tuple[float, float] | None = Field(
        default=None,
        description="Response window [start, stop] in seconds around the alignment event; "
        "null uses the default grid's window.",
    )
    bin_size: float | None = Field(
        default=None, gt=0, description="Bin width in seconds; null uses the default (0.25 s)."
    )
    session: str | None = Field(
        default=None, description="Session name in the results; null takes it from the file."
    )

    @model_validator(mode="after")
    def _check_window(self) -> SourceSpec:
        if self.window is not None and not self.window[0] < self.window[1]:
            raise ValueError(f"window: got {list(self.window)}; start must be below stop")
        return self

    def options(self) -> dict[str, Any]:
        """The loader options of this source, without the path, ``None`` dropped."""
        out = self.model_dump(exclude={"path"}, exclude_none=True)
        if "window" in out:
            out["window"] = [float(v) for v in out["window"]]
        return out


class EngineSpec(BaseModel):
    """Which functions compute a cell; ``module:function`` or ``path/file.py:function``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: str = Field(
        default=DEFAULT_CELL,
        description="Per-cell computation, called as f(model, brain, [measure], *, n_boot, "
        "n_perm, seed, meta, options) and returning a list of row dicts.",
    )
    brain_loader: str = Field(
        default=DEFAULT_BRAIN_LOADER,
        description="Loads one source's patterns on a worker: f(source_spec_dict, *, "
        "n_approach, valences, min_units) -> mapping region -> patterns.",
    )
    model_loader: str = Field(
        default=DEFAULT_MODEL_LOADER,
        description="Loads one agent layer's patterns on a worker: f(agent, task, seed, "
        "layer) -> patterns.",
    )

    @field_validator("cell", "brain_loader", "model_loader")
    @classmethod
    def _check_ref(cls, value: str) -> str:
        module, sep, name = value.rpartition(":")
        if not sep or not module or not name.isidentifier():
            raise ValueError(
                f"got {value!r}; expected 'package.module:function' or 'file.py:function'"
            )
        return value


class BatchConfig(BaseModel):
    """A grid of comparisons: (agents x tasks x seeds x layers) x (sources x regions) x measures.

    Each combination is one cell with a stable key; results are one Parquet part per cell.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: list[str] = Field(min_length=1, description="Zoo agent names, e.g. ['dqn', 'ppo'].")
    tasks: list[str] = Field(min_length=1, description="Task names, e.g. ['pavlovian'].")
    seeds: list[int] = Field(min_length=1, description="Agent training seeds (checkpoints).")
    layers: list[str] = Field(
        min_length=1, description="Probed layers of each agent, e.g. ['trunk.0', 'trunk.1']."
    )
    sources: list[SourceSpec] = Field(
        min_length=1,
        description="Recording sources; each entry is a path/URL string or a mapping with "
        "'path' and loader options (profile, align, window, bin_size).",
    )
    regions: list[str] = Field(
        min_length=1, description="Brain regions compared in every source, e.g. ['BLA', 'CeA']."
    )
    measures: list[str] = Field(
        min_length=1, description="Measures, one cell each, e.g. ['rsa', 'cka']."
    )
    n_approach: int = Field(
        default=5, ge=1, description="Approach steps K of the condition grid (K+1 per valence)."
    )
    valences: list[Literal[1, -1, 0]] = Field(
        default=[1, -1], description="Valences of the grid: 1 reward, -1 danger, 0 neutral."
    )
    min_units: int = Field(
        default=5, ge=1, description="Regions with fewer units in a source are absent from it "
        "(their cells fail with a message naming the regions present)."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Measure options passed to the cell function; for the default one: "
        "rsa_method, rdm_method, shape_alpha, geometry_w, geometry_distance, ci.",
    )
    n_boot: int = Field(default=100, ge=0, description="Bootstrap resamples per estimate.")
    n_perm: int = Field(default=100, ge=0, description="Permutations per test.")
    seed: int = Field(
        default=0, description="Random seed of the inference (bootstraps, permutations)."
    )
    engine: EngineSpec = Field(
        default_factory=EngineSpec,
        description="Functions that compute a cell; the default is the per-cell computation "
        "of 'neuroalign run'.",
    )
    cache_size: int = Field(
        default=1024, ge=1,
        description="Loaded sources and agent layers kept in memory by each worker process "
        "(at most; cache_memory_mb bounds their memory).",
    )
    cache_memory_mb: float = Field(
        default=2048, gt=0,
        description="Memory (MiB) of loaded sources and agent layers kept by each worker "
        "process across chunks; the least recently used are dropped beyond it.",
    )
    chunk_size: int | None = Field(
        default=None, ge=1,
        description="Cells per dask task; null chooses it from the grid and the cluster "
        "(up to 1000 cells, at least 8 tasks per worker thread). Does not change results.",
    )
    base_dir: str | None = Field(
        default=None,
        description="Folder relative source paths are read from; set by load_config to the "
        "config file's folder, the working directory otherwise.",
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _coerce_sources(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str | os.PathLike) else v for v in value]
        return value

    @field_validator("agents", "tasks", "seeds", "layers", "regions", "measures")
    @classmethod
    def _unique(cls, value: list[Any]) -> list[Any]:
        dup = sorted({str(v) for v in value if value.count(v) > 1})
        if dup:
            raise ValueError(f"duplicate entries {dup}")
        return value

    def brain_options(self) -> dict[str, Any]:
        """Keyword arguments of the brain loader (the condition grid of every source)."""
        return {"n_approach": self.n_approach, "valences": list(self.valences),
                "min_units": self.min_units}

    def cell_params(self) -> dict[str, Any]:
        """What every cell receives besides its own identity (see ``compute_rows``)."""
        return {"n_boot": self.n_boot, "n_perm": self.n_perm, "seed": self.seed,
                "options": dict(self.options), "brain_options": self.brain_options()}

    def resolved_base(self) -> Path:
        """The folder relative source paths are read from."""
        return Path(self.base_dir) if self.base_dir else Path.cwd()


def _yaml_problem(err: Exception) -> str:
    """One line for a YAML parse error: where (line, column) and what."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or " ".join(str(err).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def _format_pydantic(err: _PydanticValidationError, where: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            parent: type[BaseModel] = {"sources": SourceSpec, "engine": EngineSpec}.get(
                str(e["loc"][0]) if len(e["loc"]) > 1 else "", BatchConfig)
            msg = f"unknown field; expected one of {sorted(parent.model_fields)}"
        else:
            msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return f"{where}: invalid batch config: " + "; ".join(lines)


def load_config(path: str | os.PathLike[str]) -> BatchConfig:
    """Read and validate a batch config from a YAML file.

    Relative source paths in the file are read from the file's folder.

    Raises
    ------
    ConfigError
        If the file is missing, is not a YAML mapping, or a field is unknown or invalid
        (the message names the field).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"batch config {p}: file not found")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"batch config {p}: not valid YAML ({_yaml_problem(err)}); "
                          "expected a YAML mapping of fields") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"batch config {p}: expected a YAML mapping of fields, "
                          f"got {type(raw).__name__}")
    raw.setdefault("base_dir", str(p.resolve().parent))
    return validate_config(raw, where=f"batch config {p}")


def validate_config(raw: dict[str, Any], where: str = "batch config") -> BatchConfig:
    """Validate a mapping as a :class:`BatchConfig`, raising :class:`ConfigError`."""
    try:
        return BatchConfig.model_validate(raw)
    except _PydanticValidationError as err:
        raise ConfigError(_format_pydantic(err, where)) from None


def config_help() -> str:
    """One line per config field with its help text (used by the CLI's --help)."""
    lines = []
    for model, prefix in ((BatchConfig, ""), (SourceSpec, "sources[]."),
                          (EngineSpec, "engine.")):
        for name, field in model.model_fields.items():
            if name == "engine" and model is BatchConfig:
                continue
            if field.is_required():
                default = "required"
            elif field.default_factory is not None:
                default = f"default {field.default_factory()!r}"
            else:
                default = f"default {field.default!r}"
            lines.append(f"{prefix}{name}: {field.description} ({default})")
    return "\n".join(lines)
