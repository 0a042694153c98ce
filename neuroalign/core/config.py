"""The typed configuration shared by ``neuroalign run`` and ``neuroalign batch``.

One place for every configuration concept: a recording source
(:class:`SourceSpec`), a zoo agent (:class:`AgentSpec`), the measure options
(:class:`MeasureOptions`), the condition grid (:class:`GridOptions`) and the
inference (:class:`InferenceOptions`), each with one set of defaults; one YAML
reader (:func:`read_yaml_mapping`), one validation-error formatter
(:func:`format_validation_error`), one model validation entry point
(:func:`validate_model`) and one help generator (:func:`config_help`).
``neuroalign.pipeline.config`` and ``neuroalign.batch.config`` build their
top-level models from these pieces.

The default response window is :data:`DEFAULT_WINDOW`, ``[-1.25, 0.25)`` s
around the alignment event: exactly the ``n_approach + 1`` bins of the default
grid (5 approach steps of :data:`DEFAULT_BIN_SIZE` = 0.25 s and the outcome bin).
A larger ``n_approach`` or ``bin_size`` needs a wider window; configs check it.
"""

from __future__ import annotations

import glob
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from neuroalign.core.contracts import CONTRAST_STEP_S as STEP_S
from neuroalign.core.contracts import DEFAULT_BIN_SIZE, DEFAULT_N_APPROACH, DEFAULT_WINDOW
from neuroalign.core.errors import ConfigError, ValidationError
from neuroalign.core.validation import margins_by_hypothesis
from neuroalign.core.vocabulary import (
    COMPARE_ALIASES,
    GEOMETRY_ALIASES,
    MEASURE_ALIASES,
    MEASURES,
    PROFILE_CHOICES,
)

__all__ = [
    "DEFAULT_BIN_SIZE",
    "DEFAULT_N_APPROACH",
    "DEFAULT_WINDOW",
    "AgentSpec",
    "GridOptions",
    "InferenceOptions",
    "MeasureName",
    "MeasureOptions",
    "SourceSpec",
    "StudyOptions",
    "check_agent_names",
    "check_windows",
    "config_help",
    "contrast_source_problems",
    "contrast_steps",
    "format_validation_error",
    "profile_names",
    "read_yaml_mapping",
    "resolve_agent_paths",
    "validate_model",
    "with_code_allowed",
]

REMOTE_PREFIXES = ("dandi://", "http://", "https://")

def _aliases(table: Mapping[str, str]) -> BeforeValidator:
    """Read a vocabulary alias (``core.vocabulary``) as its canonical name."""
    return BeforeValidator(lambda v: table.get(v, v) if isinstance(v, str) else v)


#: the RDM comparisons of ``rsa`` (aliases of ``core.vocabulary.COMPARE_ALIASES`` accepted)
RsaMethod = Annotated[Literal["spearman", "pearson"], _aliases(COMPARE_ALIASES)]
RdmMethod = Literal["crossnobis", "euclidean", "sqeuclidean", "correlation"]
#: geometry distances (aliases of ``core.vocabulary.GEOMETRY_ALIASES`` accepted)
GeometryDistance = Annotated[Literal["crossnobis", "euclidean"], _aliases(GEOMETRY_ALIASES)]
def _measure_name(value: Any) -> str:
    name = MEASURE_ALIASES.get(value, value) if isinstance(value, str) else value
    if name not in MEASURES:
        *head, last = (repr(m) for m in MEASURES)
        raise ValueError(f"expected {', '.join(head)} or {last} (aliases: "
                         f"{', '.join(repr(a) for a in MEASURE_ALIASES)})")
    return str(name)


#: a measure of a cell: a name of ``core.vocabulary.MEASURES`` or one of its aliases
MeasureName = Annotated[str, BeforeValidator(_measure_name)]

M = TypeVar("M", bound=BaseModel)


def profile_names() -> list[str]:
    """Valid ``profile`` values: the dataset profiles of :mod:`neuroalign.io`, auto, generic
    (:data:`~neuroalign.core.vocabulary.PROFILE_CHOICES`)."""
    return list(PROFILE_CHOICES)


class SourceSpec(BaseModel):
    """One recording source: a file, a folder or glob of files, a URL or a DANDI asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="Local NWB file, folder of .nwb files, glob pattern such as "
        "'sessions/*.nwb' (one source per file), http(s) URL, or "
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
        DEFAULT_WINDOW,
        description="Window around the alignment event, [start, stop) in seconds; must hold "
        "the n_approach+1 bins of the grid: start <= -n_approach*bin_size and "
        "stop >= bin_size (with grid: contrast, [0, stop) after the stimulus, whole 0.1 s "
        "steps).",
    )
    bin_size: float = Field(
        DEFAULT_BIN_SIZE, gt=0, description="Bin width in seconds (one approach step)."
    )
    align_offset: float = Field(
        0.0,
        description="Seconds added to every alignment time, e.g. align: cue with "
        "align_offset: 0.32 makes approach 0 the last 0.08 s bin of a window that ends "
        "0.4 s after the cue (approach then counts bins back from there, not to an outcome).",
    )
    region_groups: bool = Field(
        False,
        description="Pool fine atlas acronyms into coarser groups (e.g. ACB -> STRv; table in "
        "neuroalign.io.regions); the acronym is kept in the acronym coord.",
    )
    regions: list[str] | None = Field(
        None,
        description="Brain regions to keep (default: every region with at least "
        "min_units units).",
    )
    imaging_series: str | None = Field(
        None,
        description="For imaging files with several RoiResponseSeries: the one to read by "
        "name (e.g. a layer of an agent written by `neuroalign zoo export-nwb`, "
        "'trunk.1'); default: the only or first series.",
    )
    session: str | None = Field(
        None, description="Session name in the results (default: from the file)."
    )
    mapping: dict[str, dict[Any, int | str]] | None = Field(
        None,
        description="For profile 'generic' (or added to a built-in profile's labels): "
        "{column: {value: valence}}, valence 1/-1/0, reward/danger/neutral or exclude, e.g. "
        "{outcome: {water: 1, airpuff: -1, odor: exclude}}.",
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        # `profile: null` (or align, window, bin_size) in a YAML file means the default
        if isinstance(data, dict):
            return {k: v for k, v in data.items()
                    if not (v is None and k in ("profile", "align", "window", "bin_size"))}
        return data

    @field_validator("window")
    @classmethod
    def _window_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not value[1] > value[0]:
            raise ValueError("expected [start, stop) with stop greater than start")
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        valid = profile_names()
        if value not in valid:
            raise ValueError(f"expected one of {valid}")
        return value

    @property
    def is_remote(self) -> bool:
        """Whether ``path`` names a URL or a DANDI asset (not checked on disk)."""
        return self.path.startswith(REMOTE_PREFIXES)

    @property
    def is_glob(self) -> bool:
        """Whether ``path`` is a local glob pattern (``*``, ``?`` or ``[...]``)."""
        return not self.is_remote and glob.has_magic(self.path)

    def options(self) -> dict[str, Any]:
        """The loader options of this source: every field but ``path``, ``None`` dropped."""
        out = self.model_dump(exclude={"path"}, exclude_none=True)
        out["window"] = [float(v) for v in out["window"]]
        return out


class AgentSpec(BaseModel):
    """One agent: a zoo agent (its name, task, training seeds and probed layers), or a
    foreign one, a saved Stable-Baselines3 model (``sb3``) or a precomputed activations
    file (``activations``), with its declared ``family``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Agent name as listed by `neuroalign zoo list`, or the "
                      "name of a foreign agent (unique, and not a zoo agent's name).")
    task: str = Field("pavlovian", description="Task the agent was trained on.")
    seeds: list[int] | None = Field(
        None, description="Training seeds (default: every shipped seed; zoo agents only)."
    )
    layers: list[str] | None = Field(
        None, description="Layers to probe (default: every layer the probe returns; SB3 "
        "models: trunk.<i> and readout.* aliases, or any module by its named_modules() name)."
    )
    sb3: str | None = Field(
        None, description="A saved Stable-Baselines3 / sb3-contrib model (.zip: DQN, QR-DQN, "
        "A2C, PPO, RecurrentPPO) trained on `task`; relative to the config file. Read "
        "without unpickling code unless allow_code.")
    activations: str | None = Field(
        None, description="A netCDF activations file in the layout of `neuroalign zoo probe "
        "--out` (any framework), or an NWB file of `neuroalign zoo export-nwb`, on "
        "`task`'s grid (a file whose task attr differs is refused); relative to the config "
        "file.")
    family: Literal["value", "policy", "other"] | None = Field(
        None, description="Learning family of a foreign agent (required with sb3 or "
        "activations): value and policy are pooled by H1, other is compared but pooled "
        "into no family.")
    allow_code: bool = Field(
        False, description="Read the sb3 file with SB3's own loader, which runs code from "
        "it (also set for every agent by --allow-code).")

    @model_validator(mode="after")
    def _foreign_fields(self) -> AgentSpec:
        if self.sb3 is not None and self.activations is not None:
            raise ValueError(f"agent {self.name!r}: got both sb3 and activations; expected "
                             "one of them")
        if self.is_foreign:
            if self.family is None:
                raise ValueError(f"family: agent {self.name!r} needs a declared family, one "
                                 "of 'value', 'policy', 'other'")
            if self.seeds is not None:
                raise ValueError(f"seeds: agent {self.name!r} is one saved model; expected "
                                 "no seeds (list each model as its own agent)")
        elif self.family is not None or self.allow_code:
            raise ValueError(f"family/allow_code: agent {self.name!r} is a zoo agent (its "
                             "family comes from the zoo); expected them only with sb3 or "
                             "activations")
        return self

    @property
    def is_foreign(self) -> bool:
        """Whether this agent comes from a file rather than the zoo."""
        return self.sb3 is not None or self.activations is not None

    @property
    def path(self) -> str | None:
        """The ``sb3`` or ``activations`` file (``None`` for a zoo agent)."""
        return self.sb3 if self.sb3 is not None else self.activations

    def probe_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`neuroalign.zoo.probe` for a foreign agent."""
        return {"name": self.name, "family": self.family, "allow_code": self.allow_code}


def check_agent_names(agents: Iterable[AgentSpec], zoo_names: Iterable[str]) -> None:
    """Refuse a foreign agent named like a zoo agent or like another agent.

    Raises
    ------
    ConfigError
        Naming the entry and the clash.
    """
    zoo = set(zoo_names)
    specs = list(agents)
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec.is_foreign and spec.name in zoo:
            raise ConfigError(f"agents[{i}].name: got {spec.name!r}, the name of a zoo agent; "
                              "expected a name of its own for an sb3 or activations agent")
        if spec.name in seen and (spec.is_foreign or specs[seen[spec.name]].is_foreign):
            raise ConfigError(f"agents[{i}].name: got {spec.name!r}, already agents"
                              f"[{seen[spec.name]}]; expected unique agent names")
        seen.setdefault(spec.name, i)


def with_code_allowed(agents: Iterable[Any]) -> list[Any]:
    """``agents`` with ``allow_code`` set on every ``sb3`` entry (``--allow-code``);
    zoo names and other entries unchanged."""
    return [a.model_copy(update={"allow_code": True})
            if isinstance(a, AgentSpec) and a.sb3 is not None else a for a in agents]


def resolve_agent_paths(agents: Iterable[AgentSpec], base: Path | None,
                        field: str = "agents") -> list[AgentSpec]:
    """Foreign agents' files resolved against ``base`` (the config's folder) and checked.

    Raises
    ------
    ConfigError
        A file that does not exist, naming the entry.
    """
    out = []
    for i, spec in enumerate(agents):
        if not spec.is_foreign:
            out.append(spec)
            continue
        key = "sb3" if spec.sb3 is not None else "activations"
        path = Path(os.path.expanduser(str(spec.path)))
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ConfigError(f"{field}[{i}].{key}: {str(path)!r} is not a file")
        out.append(spec.model_copy(update={key: str(path)}))
    return out


class MeasureOptions(BaseModel):
    """Options of the measures of one cell (one model pattern set against one brain set)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rsa_method: RsaMethod = Field(
        "spearman", description="RDM comparison used by rsa (spearman or pearson)."
    )
    rdm_method: RdmMethod = Field(
        "crossnobis",
        description="RDM of each side; crossnobis is cross-validated over repetitions, so "
        "noise does not inflate distances (a side with one repetition falls back to "
        "squared euclidean).",
    )
    shape_alpha: float = Field(
        1.0, ge=0.0, le=1.0,
        description="Shape metric whitening: 1 angular Procrustes distance, 0 CCA.",
    )
    geometry_w: int = Field(1, ge=1, description="Final steps counted by the sharpness S.")
    geometry_distance: GeometryDistance = Field(
        "crossnobis", description="Distance between condition patterns along the approach."
    )
    ci: float = Field(0.95, gt=0.0, lt=1.0, description="Level of the bootstrap intervals.")
    n_splits: int = Field(20, ge=0, description="Random split halves of the noise ceilings.")

    def measure_options(self) -> MeasureOptions:
        """The measure options alone (for a model that extends them)."""
        return MeasureOptions(**{k: getattr(self, k) for k in MeasureOptions.model_fields})

    def as_dict(self) -> dict[str, Any]:
        """The measure options as a plain dict (what a cell function receives)."""
        return self.measure_options().model_dump()


class GridOptions(BaseModel):
    """The condition grid every source and agent layer is reduced to."""

    model_config = ConfigDict(extra="forbid")

    n_approach: int = Field(
        DEFAULT_N_APPROACH, ge=1,
        description="Approach steps K of the condition grid (K+1 per valence).",
    )
    valences: list[Literal[1, -1, 0]] = Field(
        [1, -1], description="Valences of the grid: 1 reward, -1 danger, 0 neutral."
    )
    min_units: int = Field(5, ge=2, description="Regions with fewer units are skipped.")
    grid: Literal["valence", "contrast"] = Field(
        "valence",
        description="Condition grid of the comparison: valence (valence x approach, agents "
        "of the pavlovian or gridworld task) or contrast (contrast level x outcome x 0.1 s "
        "time step after stimulus onset, the two-choice task of Steinmetz et al. 2019, "
        "agents of the contrast task; sources aligned to the stimulus with a window "
        "starting at 0).",
    )
    contrast_by: Literal["side", "diff"] = Field(
        "side",
        description="With grid: contrast, the contrast level: side (sign of c_right - "
        "c_left, 3 levels) or diff (the signed difference, 9 levels; needs sessions with "
        "trials of both outcomes at every difference).",
    )

    def brain_options(self) -> dict[str, Any]:
        """Keyword arguments of a brain loader (the condition grid of every source)."""
        out: dict[str, Any] = {"n_approach": self.n_approach,
                               "valences": list(self.valences), "min_units": self.min_units}
        if self.grid == "contrast":
            out.update(grid="contrast", contrast_by=self.contrast_by)
        return out

    def check_contrast(self, sources: Iterable[SourceSpec],
                       agents: Iterable[AgentSpec] | None) -> None:
        """Refuse a contrast grid with sources or agents it cannot compare (or a
        contrast-task agent on the valence grid).

        Raises
        ------
        ValueError
            Naming the field (pydantic turns it into a validation error).
        """
        agents = list(agents or [])
        if self.grid == "valence":
            for i, agent in enumerate(agents):
                if agent.task == "contrast":
                    raise ValueError(
                        f"agents[{i}].task: got 'contrast' with grid: valence; expected "
                        "grid: contrast to compare agents of the contrast task (their probe "
                        "is a contrast x outcome x time grid)")
            return
        errors = []
        if "n_approach" in self.model_fields_set:
            errors.append(f"n_approach: got {self.n_approach} with grid: contrast; expected "
                          "no n_approach (the time steps come from each source's window)")
        if 0 in self.valences:
            errors.append(f"valences: got {list(self.valences)} with grid: contrast; "
                          "expected outcomes from [1, -1] (water, white noise)")
        for i, agent in enumerate(agents):
            if agent.task != "contrast":
                default = "" if "task" in agent.model_fields_set else " (the default)"
                errors.append(f"agents[{i}].task: got {agent.task!r}{default} with grid: "
                              "contrast; expected 'contrast' (agents that learned the "
                              "two-choice task)")
        for i, src in enumerate(sources):
            errors.extend(contrast_source_problems(src, f"sources[{i}]"))
        if errors:
            raise ValueError("; ".join(errors))


def contrast_steps(window: tuple[float, float]) -> int:
    """Whole 0.1 s steps after stimulus onset a window ``[0, stop)`` covers."""
    return int(np.floor(float(window[1]) / STEP_S + 1e-9))


def contrast_source_problems(src: SourceSpec, where: str) -> list[str]:
    """Why ``src`` cannot give a contrast grid (``[]`` when it can)."""
    out = []
    if src.align == "outcome":
        out.append(f"{where}.align: got 'outcome' with grid: contrast; expected the "
                   "stimulus onset ('cue' or the trials column of the stimulus time)")
    if src.align_offset != 0:
        out.append(f"{where}.align_offset: got {src.align_offset:g} with grid: contrast; "
                   "expected 0 (time steps count from stimulus onset)")
    start, stop = src.window
    if abs(start) > 1e-9 or contrast_steps(src.window) < 1:
        out.append(f"{where}.window: got [{start:g}, {stop:g}) with grid: contrast; expected "
                   f"[0, stop) with stop >= {STEP_S:g} s (whole {STEP_S:g} s steps after "
                   "stimulus onset, e.g. [0, 0.4])")
    ratio = STEP_S / src.bin_size
    if abs(ratio - round(ratio)) > 1e-6:
        out.append(f"{where}.bin_size: got {src.bin_size:g} with grid: contrast; expected a "
                   f"width that divides the {STEP_S:g} s step (e.g. 0.01, 0.05, 0.1)")
    return out


class InferenceOptions(BaseModel):
    """Resampling counts and the seed of every random draw."""

    model_config = ConfigDict(extra="forbid")

    n_boot: int = Field(200, ge=0, description="Bootstrap resamples per interval (0: none).")
    n_perm: int = Field(200, ge=0, description="Permutations per p-value (0: none).")
    seed: int = Field(0, description="Seed of every random draw.")

    @field_validator("n_boot")
    @classmethod
    def _boot_count(cls, value: int) -> int:
        if value == 1:
            raise ValueError("expected 0 (no intervals) or at least 2")
        return value

    @field_validator("n_perm")
    @classmethod
    def _perm_count(cls, value: int) -> int:
        if 0 < value < 19:
            raise ValueError("expected 0 (no p-values) or at least 19, the fewest "
                             "permutations that can reach p < 0.05")
        return value


class StudyOptions(BaseModel):
    """Settings of the study over a results table (``neuroalign study``; a run's own study).

    Each field left unset takes its default; a ``neuroalign study`` flag overrides
    the value recorded in the run's or the batch's config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_boot: int = Field(4000, ge=99, description="Hierarchical bootstrap replicates per test "
                        "(p-values resolve 2 / (n_boot + 1)).")
    level: float | None = Field(
        None, gt=0.0, lt=1.0,
        description="Level of the study's intervals (default: the cells' ci). It does not "
        "change a p-value: the cells enter with their own bootstrap standard errors.")
    alpha: float = Field(0.05, gt=0.0, lt=1.0,
                         description="Level of the corrected tests in the verdict rule.")
    correction: Literal["holm", "bh"] = Field(
        "holm", description="holm (family-wise) or bh (false discovery rate), over every "
        "test of the study.")
    seed: int | None = Field(None, description="Seed of the study's resampling (default: "
                             "the run's seed).")
    equivalence_margin: float | dict[str, float] | None = Field(
        None,
        description="Equivalence margin: a test whose quantity lies inside +-margin (two "
        "one-sided tests, corrected with the others) is `absent`; one number, or one per "
        "hypothesis, e.g. {H2: 0.2, H1: 0.2} (default: none, no `absent`).",
    )

    @field_validator("equivalence_margin")
    @classmethod
    def _margin(cls, value: float | dict[str, float] | None
                ) -> float | dict[str, float] | None:
        try:
            margins_by_hypothesis(value)
        except ValidationError as err:
            raise ValueError(str(err)) from None
        return value

    def study_kwargs(self, *, ci: float, seed: int) -> dict[str, Any]:
        """Keyword arguments of :func:`neuroalign.study.run_study`, the unset level and
        seed taken from the cells' ``ci`` and ``seed``."""
        return {"n_boot": self.n_boot, "level": ci if self.level is None else self.level,
                "alpha": self.alpha, "correction": self.correction,
                "seed": seed if self.seed is None else self.seed,
                "equivalence_margin": self.equivalence_margin}


def check_windows(sources: Iterable[SourceSpec], n_approach: int) -> None:
    """Refuse a source whose window cannot hold the ``n_approach + 1`` bins of the grid.

    Raises
    ------
    ValueError
        Naming ``sources[i].window`` (pydantic turns it into a validation error).
    """
    for i, src in enumerate(sources):
        start, stop = src.window
        need_start = -n_approach * src.bin_size
        if start > need_start + 1e-9 or stop < src.bin_size - 1e-9:
            raise ValueError(
                f"sources[{i}].window: got [{start}, {stop}); with n_approach={n_approach} "
                f"and bin_size={src.bin_size} expected a window covering "
                f"[{need_start:g}, {src.bin_size:g})"
            )


def read_yaml_mapping(path: str | os.PathLike[str], what: str = "config file") -> dict[str, Any]:
    """Read a YAML file that must hold a mapping of fields.

    Parameters
    ----------
    path
        The YAML file.
    what
        How messages name the file (``"config file"``, ``"batch config"``).

    Raises
    ------
    ConfigError
        Missing file, invalid YAML (one line with its line and column), or a
        document that is not a mapping.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {p}: does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(f"{what} {p}: not valid YAML ({at}{problem}); "
                          "expected a YAML mapping of fields") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {p}: expected a YAML mapping of fields, "
                          f"got {type(data).__name__}")
    return data


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (through lists, unions and optionals)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return []
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_models_in(arg))
    return out


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model that holds the field at ``loc`` (list indices skipped)."""
    model = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        nested = _models_in(field.annotation) if field is not None else []
        if not nested:
            break
        model = nested[0]
    return model


def _loc_text(loc: tuple[Any, ...]) -> str:
    """``sources[0].bin_size``: list indices in brackets, fields dotted."""
    text = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
    return text.lstrip(".") or "(top level)"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_validation_error(err: PydanticValidationError, model: type[BaseModel],
                            where: str) -> str:
    """One line per problem, each in the form ``field: got X; expected Y``.

    Parameters
    ----------
    err
        The pydantic error of validating ``model``.
    model
        The top-level model (names the valid fields of an unknown one).
    where
        Prefix of the message: the file or ``"config"``.
    """
    parts = []
    for e in err.errors():
        loc = tuple(e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            parts.append(f"{_loc_text(loc)}: unknown field; expected one of "
                         f"{sorted(parent.model_fields)}")
        elif not loc:
            parts.append(msg)  # a check across fields names its own fields
        elif e["type"] == "missing":
            parts.append(f"{_loc_text(loc)}: missing; expected a value (required field)")
        else:
            if msg.startswith("Input should be "):
                msg = "expected " + msg.removeprefix("Input should be ")
            elif not msg.startswith("expected"):
                msg = "expected: " + msg[:1].lower() + msg[1:]
            parts.append(f"{_loc_text(loc)}: got {_short(e.get('input'))}; {msg}")
    return f"{where}: " + "; ".join(parts)


def validate_model(model: type[M], data: Mapping[str, Any], where: str = "config") -> M:
    """Validate ``data`` as ``model``, turning pydantic's error into :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(dict(data))
    except PydanticValidationError as err:
        raise ConfigError(format_validation_error(err, model, where)) from None


def _default_text(field: Any) -> str:
    if field.is_required():
        return " (required)"
    default = field.get_default(call_default_factory=True)
    if default is None or isinstance(default, BaseModel):
        return ""  # the description says what happens when it is left out
    if isinstance(default, tuple):
        default = list(default)
    return f" (default {default!r})"


def config_help(model: type[BaseModel], prefix: str = "", skip: Iterable[str] = ()) -> str:
    """One line per field, ``name: description (default ...)``, nested fields indented.

    A field holding a model (or a list of models) is followed by the nested
    model's fields, named ``field.sub`` (``field[].sub`` for a list).
    """
    lines = []
    skipped = set(skip)
    for name, field in model.model_fields.items():
        if name in skipped:
            continue
        lines.append(f"{prefix}{name}: {field.description}{_default_text(field)}")
        for nested in _models_in(field.annotation)[:1]:
            is_list = typing.get_origin(field.annotation) is list or any(
                typing.get_origin(a) is list for a in typing.get_args(field.annotation))
            sub = config_help(nested, prefix=f"{prefix}{name}{'[]' if is_list else ''}.")
            lines.extend(f"  {line}" for line in sub.splitlines())
    return "\n".join(lines)
