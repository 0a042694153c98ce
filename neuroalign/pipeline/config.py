"""Typed configuration of the main job (``neuroalign run``).

:class:`RunConfig` is assembled from the shared pieces of
:mod:`neuroalign.core.config` (sources, agents, the condition grid, the
inference and the measure options, each with one set of defaults); the YAML
file, the ``neuroalign run --help`` text and the documentation of every field
all come from them. Unknown fields are refused.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neuroalign.core.config import (
    AgentSpec,
    GridOptions,
    InferenceOptions,
    MeasureName,
    MeasureOptions,
    SourceSpec,
    StudyOptions,
    check_windows,
    contrast_steps,
    profile_names,
    read_yaml_mapping,
    resolve_agent_paths,
    validate_model,
)
from neuroalign.core.config import config_help as _model_help
from neuroalign.core.errors import ConfigError
from neuroalign.core.resources import package_data

__all__ = [
    "AgentSpec",
    "RunConfig",
    "SourceSpec",
    "config_help",
    "default_data_dir",
    "load_config",
    "profile_names",
    "read_config_source",
]


def default_data_dir() -> Path:
    """The data that ship with neuroalign (default sessions, zoo, configs; package data)."""
    return package_data()


class _RunInputs(BaseModel):
    """What a run compares (listed first in the help)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] | None = Field(
        None,
        description="Recording sources (default: the shipped synthetic sessions, "
        "neuroalign/data/sessions; with grid: contrast the shipped Steinmetz sessions, "
        "stimulus-aligned, 0-0.4 s).",
    )
    agents: list[AgentSpec] | None = Field(
        None,
        description="Agents to compare (default: every zoo agent with a shipped checkpoint "
        "on the pavlovian task, or with grid: contrast on the contrast task, every shipped "
        "seed).",
    )
    measures: list[MeasureName] = Field(
        ["rsa", "cka", "shape", "geometry"],
        description="Measures: rsa (cross-validated RDMs), cka (debiased linear), shape "
        "(angular Procrustes distance), geometry (walls and funnels).",
    )


class RunConfig(MeasureOptions, InferenceOptions, GridOptions, _RunInputs):
    """Configuration of ``neuroalign run``: inputs, grid, inference, measure options, output."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    cache_dir: str | None = Field(
        None, description="Cache folder for imported responses and DANDI downloads."
    )
    study: StudyOptions = Field(
        default_factory=StudyOptions,
        description="The study of the run's results (n_boot, level, alpha, correction, "
        "seed); neuroalign study flags override it.",
    )
    output: str = Field(
        "neuroalign-report",
        description="Report folder to write (relative to the working directory; "
        "--out overrides it).",
    )

    @model_validator(mode="after")
    def _window_holds_grid(self) -> RunConfig:
        if self.grid == "valence":
            check_windows(self.sources or [], self.n_approach)
        self.check_contrast(self.sources or [], self.agents)
        return self

    def resolved_sources(self) -> list[SourceSpec]:
        """The sources to read (the default dataset when none are given: the shipped
        synthetic sessions, or with grid: contrast the shipped Steinmetz sessions)."""
        if self.sources:
            return list(self.sources)
        if self.grid == "contrast":
            return [SourceSpec(path=str(default_data_dir() / "steinmetz" / "nwb"),
                               profile="steinmetz", align="cue", window=(0.0, 0.4),
                               bin_size=0.01)]
        return [SourceSpec(path=str(default_data_dir() / "sessions"))]

    def contrast_steps(self) -> int:
        """With grid: contrast, the 0.1 s time steps the agents are probed on: as many
        as the longest source window covers (0 with grid: valence)."""
        if self.grid != "contrast":
            return 0
        return max(contrast_steps(src.window) for src in self.resolved_sources())


def _check_paths(config: RunConfig, base: Path | None) -> RunConfig:
    """Resolve relative local paths against ``base`` and check that they exist."""
    if config.agents:
        config = config.model_copy(update={"agents": resolve_agent_paths(config.agents, base)})
    if not config.sources:
        return config
    fixed = []
    for i, src in enumerate(config.sources):
        if src.is_remote:
            fixed.append(src)
            continue
        path = Path(os.path.expanduser(src.path))
        if not path.is_absolute() and base is not None:
            path = base / path
        if src.is_glob:
            if not glob.glob(str(path)):
                raise ConfigError(f"sources[{i}].path: got {str(path)!r}; expected a pattern "
                                  "that matches at least one file")
        elif not path.exists():
            raise ConfigError(f"sources[{i}].path: {path} does not exist")
        fixed.append(src.model_copy(update={"path": str(path)}))
    return config.model_copy(update={"sources": fixed})


def load_config(
    source: str | os.PathLike[str] | dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """Read and validate a run configuration.

    Parameters
    ----------
    source
        A YAML file, a mapping of fields, or ``None`` for every default.
    overrides
        Fields that replace the file's (e.g. command-line options).

    Returns
    -------
    RunConfig
        The validated configuration, local paths resolved and checked.

    Raises
    ------
    ConfigError
        Unreadable YAML, unknown field, wrong value, bad window or missing file;
        the message names the field.
    """
    data, where, base = read_config_source(source)
    _refuse_replication_config(data, where)
    config = validate_model(RunConfig, {**data, **(overrides or {})}, where)
    return _check_paths(config, base)


def read_config_source(source: str | os.PathLike[str] | dict[str, Any] | None
                       ) -> tuple[dict[str, Any], str, Path | None]:
    """The fields of a config source, where they came from and the folder relative paths
    are read from.

    ``source`` is a YAML file, the name of a shipped config (:func:`shipped_config`), a
    mapping of fields, or ``None`` (no fields). Returns ``(fields, where, base)``: where
    is the file's path (``"config"`` for a mapping), base its folder (``None`` without
    a file).

    Raises
    ------
    ConfigError
        Unreadable YAML, or a file that holds something other than a mapping.
    """
    if source is None:
        return {}, "config", None
    if isinstance(source, dict):
        return source, "config", None
    path = shipped_config(source)
    data = read_yaml_mapping(path, "config file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    return data, str(path), path.resolve().parent


def _refuse_replication_config(data: dict[str, Any], where: str) -> None:
    """A config of ``neuroalign replicate`` given to ``neuroalign run``: one line saying so."""
    from neuroalign.pipeline.replication_config import ReplicationConfig

    own = set(ReplicationConfig.model_fields) - set(RunConfig.model_fields)
    found = sorted(own & set(data))
    if found and not set(data) & {"sources", "agents", "measures"}:
        raise ConfigError(f"{where}: got the fields {found} of a replication config; "
                          "expected a config of `neuroalign run` (run this one with "
                          "`neuroalign replicate`)")


def example_names() -> list[str]:
    """Names of the shipped example configs (``neuroalign/data/configs/*.yaml``)."""
    return sorted(p.stem for p in (default_data_dir() / "configs").glob("*.yaml"))


def shipped_config(source: str | os.PathLike[str]) -> Path:
    """``source`` as a path; a bare name of a shipped example (``steinmetz``) that is not
    a file here names ``neuroalign/data/configs/<name>.yaml`` of the installed package."""
    path = Path(source)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    shipped = default_data_dir() / "configs" / f"{path.name}.yaml"
    if shipped.is_file():
        return shipped
    raise ConfigError(f"config file: got {str(source)!r}, which is neither a file nor a "
                      f"shipped example; expected a YAML file or one of {example_names()}")


def config_help() -> str:
    """One line per config field (nested fields dotted), generated from the models."""
    return _model_help(RunConfig)
