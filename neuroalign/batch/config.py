"""Typed configuration of a batch grid, read from YAML.

A batch is the product (agents x tasks x seeds x layers) x (sources x regions) x
measures. Every field carries its help text; ``neuroalign batch --help`` and the
docs are generated from the same descriptions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from neuroalign.core.config import (
    AgentSpec,
    GridOptions,
    InferenceOptions,
    MeasureOptions,
    SourceSpec,
    StudyOptions,
    check_agent_names,
    check_windows,
    read_yaml_mapping,
    resolve_agent_paths,
    validate_model,
)
from neuroalign.core.config import config_help as _model_help

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


class _BatchGrid(BaseModel):
    """The axes of the grid (listed first in the help)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: list[str | AgentSpec] = Field(
        min_length=1,
        description="Zoo agent names, e.g. ['dqn', 'ppo'], crossed with tasks, seeds and "
        "layers; and foreign agents, each a mapping {name, sb3: file.zip | activations: "
        "file.nc, task, family, layers} probed once on its own task (its layers, else "
        "`layers`).")
    tasks: list[str] = Field(min_length=1, description="Task names, e.g. ['pavlovian'].")
    seeds: list[int] = Field(min_length=1, description="Agent training seeds (checkpoints).")
    layers: list[str] = Field(
        min_length=1, description="Probed layers of each agent, e.g. ['trunk.0', 'trunk.1']."
    )
    sources: list[SourceSpec] = Field(
        min_length=1,
        description="Recording sources; each entry is a path/URL/glob string or a mapping "
        "with 'path' and loader options (profile, align, window, bin_size, ...).",
    )
    regions: list[str] = Field(
        min_length=1, description="Brain regions compared in every source, e.g. ['BLA', 'CeA']."
    )
    measures: list[str] = Field(
        min_length=1, description="Measures, one cell each, e.g. ['rsa', 'cka']."
    )


class BatchConfig(InferenceOptions, GridOptions, _BatchGrid):
    """A grid of comparisons: (agents x tasks x seeds x layers) x (sources x regions) x measures.

    Each combination is one cell with a stable key; results are one Parquet part per cell.
    A region with fewer than ``min_units`` units in a source is absent from it (its
    cells fail with a message naming the regions present).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    study: StudyOptions = Field(
        default_factory=StudyOptions,
        description="The study of the batch's results by `neuroalign study` (n_boot, level, "
        "alpha, correction, seed); its flags override it.",
    )
    engine: EngineSpec = Field(
        default_factory=EngineSpec,
        description="Functions that compute a cell; the default is the per-cell computation "
        "of 'neuroalign run'.",
    )
    options: MeasureOptions | dict[str, Any] = Field(
        default_factory=MeasureOptions,
        description="Options passed to the cell function as a dict: the measure options "
        "below for the default cell function; a cell function of your own (--allow-code) "
        "receives its own options, checked by its options_model (a pydantic model) when "
        "it declares one.",
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

    @field_validator("options", mode="wrap")
    @classmethod
    def _options_of_the_cell(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        engine = info.data.get("engine")
        if engine is None or engine.cell == DEFAULT_CELL:
            return value if isinstance(value, MeasureOptions) else \
                MeasureOptions.model_validate(value)
        if isinstance(value, MeasureOptions):  # the default: no options of its own
            return value.model_dump(exclude_unset=True)
        if not isinstance(value, dict):
            raise ValueError(f"got {type(value).__name__}; expected a mapping of options")
        return dict(value)

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
            raise ValueError(f"expected each entry once; {dup} repeated")
        return value

    @field_validator("agents")
    @classmethod
    def _mappings_are_foreign(cls, value: list[str | AgentSpec]) -> list[str | AgentSpec]:
        for i, entry in enumerate(value):
            if isinstance(entry, AgentSpec) and not entry.is_foreign:
                raise ValueError(f"entry {i} ({entry.name!r}) is a mapping without sb3 or "
                                 "activations; expected a zoo agent as its name (a string)")
        return value

    def zoo_agents(self) -> list[str]:
        """The zoo agents' names (crossed with tasks, seeds and layers)."""
        return [a for a in self.agents if isinstance(a, str)]

    def foreign_agents(self) -> list[AgentSpec]:
        """The foreign agents (``sb3`` or ``activations`` files)."""
        return [a for a in self.agents if isinstance(a, AgentSpec)]

    @model_validator(mode="after")
    def _window_holds_grid(self) -> BatchConfig:
        if self.grid != "valence":
            raise ValueError(f"grid: got {self.grid!r}; expected 'valence' (neuroalign batch "
                             "compares on the valence grid; neuroalign run compares on the "
                             "contrast grid)")
        check_windows(self.sources, self.n_approach)
        return self

    def options_dict(self) -> dict[str, Any]:
        """The cell function's options as a plain dict (as given, for a user's own)."""
        if not isinstance(self.options, MeasureOptions):
            return dict(self.options)
        if self.engine.cell != DEFAULT_CELL:  # the default: no options of its own
            return self.options.model_dump(exclude_unset=True)
        return self.options.as_dict()

    def cell_params(self) -> dict[str, Any]:
        """What every cell receives besides its own identity (see ``compute_rows``).

        ``options`` as given; :func:`neuroalign.batch.worker.cell_params` checks them
        against the cell function's own schema first.
        """
        return {"n_boot": self.n_boot, "n_perm": self.n_perm, "seed": self.seed,
                "options": self.options_dict(), "brain_options": self.brain_options()}

    def resolved_base(self) -> Path:
        """The folder relative source paths are read from."""
        return Path(self.base_dir) if self.base_dir else Path.cwd()


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
    raw = read_yaml_mapping(p, "batch config")
    raw.setdefault("base_dir", str(p.resolve().parent))
    return validate_config(raw, where=f"batch config {p}")


def validate_config(raw: dict[str, Any], where: str = "batch config") -> BatchConfig:
    """Validate a mapping as a :class:`BatchConfig`.

    Raises :class:`~neuroalign.core.errors.ConfigError` when it is not one. Foreign
    agents' files are resolved against ``base_dir`` and must exist; their names must
    differ from each other and from the zoo's agents.
    """
    config = validate_model(BatchConfig, raw, where)
    foreign = config.foreign_agents()
    if not foreign:
        return config
    from neuroalign.zoo.agents import AGENTS

    specs = [AgentSpec(name=a) if isinstance(a, str) else a for a in config.agents]
    check_agent_names(specs, AGENTS)
    resolved = iter(resolve_agent_paths(foreign, Path(config.base_dir)
                                        if config.base_dir else None))
    agents = [a if isinstance(a, str) else next(resolved) for a in config.agents]
    return config.model_copy(update={"agents": agents})


def config_help() -> str:
    """One line per config field with its help text (used by the CLI's --help)."""
    return _model_help(BatchConfig)
