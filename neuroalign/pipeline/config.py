"""Typed configuration of the main job (``neuroalign run``).

The pydantic models below are the single source of truth: the YAML file, the
``neuroalign run --help`` text and the documentation of every field all come
from them. Unknown fields are refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from neuroalign.core.errors import ConfigError

__all__ = [
    "AgentSpec",
    "RunConfig",
    "SourceSpec",
    "config_help",
    "default_data_dir",
    "load_config",
    "profile_names",
]

MeasureName = Literal["rsa", "cka", "shape", "geometry"]
_REMOTE_PREFIXES = ("dandi://", "http://", "https://")


def default_data_dir() -> Path:
    """The ``data/`` folder that ships with neuroalign (default sessions, zoo, configs)."""
    return Path(__file__).resolve().parents[2] / "data"


def profile_names() -> list[str]:
    """Valid ``profile`` values: the dataset profiles of :mod:`neuroalign.io`, auto, generic."""
    from neuroalign.io import PROFILES

    return sorted({*PROFILES, "auto", "generic"})


class SourceSpec(BaseModel):
    """One recording source: a file, a folder of files, a URL or a DANDI asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="Local NWB file, folder of .nwb files, http(s) URL, or "
        "dandi://<dandiset>[@<version>]/<asset path>. Relative paths are read from the "
        "config file's folder.",
    )
    profile: str = Field(
        "auto",
        description="Dataset profile that maps the lab's layout to valence "
        "(auto, amygdala, ibl, steinmetz, photometry, generic).",
    )
    align: str = Field(
        "outcome",
        description="Event (or trials-table column) the responses are aligned to; the "
        "approach steps count bins before it.",
    )
    window: tuple[float, float] = Field(
        (-1.25, 0.25),
        description="Window around the alignment event, [start, stop) in seconds; must hold "
        "the n_approach+1 bins of the grid: start <= -n_approach*bin_size and "
        "stop >= bin_size.",
    )
    bin_size: float = Field(0.25, gt=0, description="Bin width in seconds (one approach step).")
    regions: list[str] | None = Field(
        None,
        description="Brain regions to keep (default: every region with at least "
        "min_units units).",
    )
    session: str | None = Field(
        None, description="Session name in the report (default: from the file)."
    )
    mapping: dict[str, dict[Any, int | str]] | None = Field(
        None,
        description="For profile 'generic': {column: {value: valence}}, valence 1/-1/0 or "
        "reward/danger/neutral, e.g. {outcome: {water: 1, airpuff: -1}}.",
    )

    @field_validator("window")
    @classmethod
    def _window_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        start, stop = value
        if not stop > start:
            raise ValueError(f"window: got [{start}, {stop}); stop must be greater than start")
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        valid = profile_names()
        if value not in valid:
            raise ValueError(f"unknown profile; expected one of {valid}")
        return value

    @property
    def is_remote(self) -> bool:
        """Whether ``path`` names a URL or a DANDI asset (not checked on disk)."""
        return self.path.startswith(_REMOTE_PREFIXES)


class AgentSpec(BaseModel):
    """One zoo agent: its name, task, training seeds and probed layers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Agent name as listed by `neuroalign zoo list`.")
    task: str = Field("pavlovian", description="Task the agent was trained on.")
    seeds: list[int] | None = Field(
        None, description="Training seeds (default: every shipped seed)."
    )
    layers: list[str] | None = Field(
        None, description="Layers to probe (default: every layer the probe returns)."
    )


class RunConfig(BaseModel):
    """Configuration of ``neuroalign run``."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] | None = Field(
        None,
        description="Recording sources (default: the synthetic sessions in data/sessions).",
    )
    agents: list[AgentSpec] | None = Field(
        None,
        description="Agents to compare (default: every zoo agent on the pavlovian task, "
        "every shipped seed).",
    )
    measures: list[MeasureName] = Field(
        ["rsa", "cka", "shape", "geometry"],
        description="Measures: rsa (cross-validated RDMs), cka (debiased linear), shape "
        "(angular Procrustes distance), geometry (walls and funnels).",
    )
    n_approach: int = Field(5, ge=1, description="Approach steps K; the grid has K+1 per valence.")
    valences: list[Literal[1, -1, 0]] = Field(
        [1, -1], description="Valences of the grid: 1 reward, -1 danger, 0 neutral."
    )
    min_units: int = Field(5, ge=2, description="Regions with fewer units are skipped.")
    n_boot: int = Field(200, ge=0, description="Bootstrap resamples per interval (0: none).")
    n_perm: int = Field(200, ge=0, description="Permutations per p-value (0: none).")
    seed: int = Field(0, description="Seed of every random draw of the run.")
    rsa_method: Literal["spearman", "pearson"] = Field(
        "spearman", description="RDM comparison used by rsa."
    )
    shape_alpha: float = Field(
        1.0, ge=0.0, le=1.0, description="Shape metric whitening: 1 Procrustes, 0 CCA."
    )
    geometry_w: int = Field(1, ge=1, description="Final steps counted by the sharpness S.")
    ci: float = Field(0.95, gt=0.0, lt=1.0, description="Level of the bootstrap intervals.")
    cache_dir: str | None = Field(
        None, description="Cache folder for imported responses and DANDI downloads."
    )
    output: str = Field(
        "neuroalign-report",
        description="Report folder to write (relative to the working directory; "
        "--out overrides it).",
    )

    @field_validator("n_boot")
    @classmethod
    def _boot_count(cls, value: int) -> int:
        if value == 1:
            raise ValueError("n_boot: got 1; expected 0 (no intervals) or at least 2")
        return value

    @field_validator("n_perm")
    @classmethod
    def _perm_count(cls, value: int) -> int:
        if 0 < value < 19:
            raise ValueError(
                f"n_perm: got {value}; expected 0 (no p-values) or at least 19, the fewest "
                "permutations that can reach p < 0.05"
            )
        return value

    @model_validator(mode="after")
    def _window_holds_grid(self) -> RunConfig:
        for i, src in enumerate(self.sources or []):
            start, stop = src.window
            need_start = -self.n_approach * src.bin_size
            if start > need_start + 1e-9 or stop < src.bin_size - 1e-9:
                raise ValueError(
                    f"sources[{i}].window: got [{start}, {stop}); with n_approach="
                    f"{self.n_approach} and bin_size={src.bin_size} it must cover "
                    f"[{need_start:g}, {src.bin_size:g})"
                )
        return self

    def resolved_sources(self) -> list[SourceSpec]:
        """The sources to read (the default dataset when none are given)."""
        if self.sources:
            return list(self.sources)
        return [SourceSpec(path=str(default_data_dir() / "sessions"))]

    def cell_options(self) -> dict[str, Any]:
        """Options handed to :func:`neuroalign.pipeline.cell.compute_cell`."""
        return {
            "rsa_method": self.rsa_method,
            "shape_alpha": self.shape_alpha,
            "geometry_w": self.geometry_w,
            "ci": self.ci,
        }


def _yaml_problem(err: Exception) -> str:
    """One line for a YAML parse error: where (line, column) and what."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or " ".join(str(err).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def _format_pydantic(err: PydanticValidationError, where: str) -> str:
    parts = []
    for e in err.errors():
        # sources[0].bin_size, as the messages written by hand below spell it
        loc = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in e["loc"])
        loc = loc.lstrip(".") or "(top level)"
        if e["type"] == "extra_forbidden":
            parent: type[BaseModel] = RunConfig
            if e["loc"][:1] == ("sources",):
                parent = SourceSpec
            elif e["loc"][:1] == ("agents",):
                parent = AgentSpec
            parts.append(f"{loc}: unknown field; expected one of {sorted(parent.model_fields)}")
        elif not e["loc"]:
            parts.append(str(e["msg"]).removeprefix("Value error, "))
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg} (got {e.get('input')!r})")
    return f"{where}: " + "; ".join(parts)


def _check_paths(config: RunConfig, base: Path | None) -> RunConfig:
    """Resolve relative local paths against ``base`` and check that they exist."""
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
        if not path.exists():
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
    import yaml

    base: Path | None = None
    where = "config"
    if source is None:
        data: Any = {}
    elif isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"config file {path}: does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path}: not valid YAML ({_yaml_problem(err)}); "
                              "expected a YAML mapping of fields") from None
        base = path.resolve().parent
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
    data = {**data, **(overrides or {})}
    try:
        config = RunConfig.model_validate(data)
    except PydanticValidationError as err:
        raise ConfigError(_format_pydantic(err, where)) from None
    return _check_paths(config, base)


def _default_text(field: Any) -> str:
    if field.is_required():
        return " (required)"
    if field.default is None:
        return ""  # the description says what happens when it is left out
    default = list(field.default) if isinstance(field.default, tuple) else field.default
    return f" (default {default!r})"


def config_help() -> str:
    """One line per config field (nested fields dotted), generated from the models."""
    lines = []
    for name, field in RunConfig.model_fields.items():
        lines.append(f"{name}: {field.description}{_default_text(field)}")
        nested = {"sources": SourceSpec, "agents": AgentSpec}.get(name)
        if nested is not None:
            for sub, sfield in nested.model_fields.items():
                lines.append(f"  {name}[].{sub}: {sfield.description}{_default_text(sfield)}")
    return "\n".join(lines)
