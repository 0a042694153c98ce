"""Typed configuration of the replication of the claim's agents' side (``neuroalign replicate``).

:class:`ReplicationConfig` names the agents to train and test (algorithms x tasks x
trunks x layouts x seeds), the layers to probe, whether checkpoints that missed
their task's success criterion enter the families, the sweep that trains the
missing checkpoints, and reuses the shared option models of
:mod:`neuroalign.core.config`: the inference options (``n_boot``, ``n_perm``,
``seed``), the geometry's measure options (``geometry_w``, ``geometry_distance``,
``ci``) and the ``study:`` section (:class:`~neuroalign.core.config.StudyOptions`).
Unknown fields are refused; the shipped example is ``neuroalign/data/configs/replication.yaml``
(``neuroalign replicate replication``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from neuroalign.core.config import (
    InferenceOptions,
    MeasureOptions,
    StudyOptions,
    validate_model,
)
from neuroalign.core.config import config_help as _model_help
from neuroalign.core.errors import ValidationError
from neuroalign.core.validation import parse_int_ranges

__all__ = [
    "ReplicationConfig",
    "SweepOptions",
    "load_replication_config",
    "replication_help",
]

#: the default algorithms: every learning algorithm of the zoo (each with the trunks and
#: layouts it has: ``neuroalign.zoo.agent_name``)
ALGORITHMS: tuple[str, ...] = ("dqn", "qrdqn", "reinforce", "a2c", "ppo")

#: measure options that the replication does not use (it measures the geometry alone)
_UNUSED_MEASURE_OPTIONS = ("rsa_method", "rdm_method", "shape_alpha", "n_splits")

def _seed_list(value: Any) -> Any:
    """Seeds as a list, or as text of values and inclusive ranges (``"0-9"``, ``"0-4,7"``:
    :func:`neuroalign.core.validation.parse_int_ranges`)."""
    if isinstance(value, str):
        try:
            return parse_int_ranges(value, "seeds")
        except ValidationError as err:  # the field and the value are named by pydantic
            raise ValueError(str(err).split("; ", 1)[-1]) from None
    return value


def _unique(values: list[Any], name: str) -> list[Any]:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"expected each {name} once, got {seen[0]!r} twice")
    if not values:
        raise ValueError(f"expected at least one {name}")
    return values


class SweepOptions(BaseModel):
    """How the missing checkpoints are trained (:func:`neuroalign.zoo.sweep.run_sweep`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(2, ge=1, description="Processes that train the missing checkpoints "
                         "and probe every checkpoint.")
    scheduler: str | None = Field(None, description="Address of a dask.distributed "
                                  "scheduler to train on (default: a local cluster of "
                                  "`workers` processes).")
    out: str | None = Field(None, description="Folder of the trained checkpoints, searched "
                            "after the shipped zoo (default: the zoo's user cache).")
    retry_failed: bool = Field(False, description="Train again the jobs an earlier sweep "
                               "recorded as failed.")
    from_scratch: bool = Field(False, description="Leave the shipped checkpoints aside: "
                               "every network is trained into (or found in) `out`, so a "
                               "run from an empty `out` measures the whole replication.")


class ReplicationConfig(MeasureOptions, InferenceOptions):
    """Configuration of ``neuroalign replicate``: agents, layers, sweep, geometry, study,
    output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithms: list[str] = Field(
        list(ALGORITHMS), description="Learning algorithms (value-learners dqn, qrdqn; "
        "policy-learners reinforce, a2c, ppo).")
    tasks: list[str] = Field(["pavlovian", "gridworld", "contrast"],
                             description="Tasks the agents learn.")
    trunks: list[str] = Field(["mlp", "gru"], description="Trunks: mlp (feedforward) or "
                              "gru (recurrent).")
    layouts: list[str] = Field(
        ["shared", "separate"], description="Actor-critic layouts: shared (one trunk) or separate "
        "(actor and critic networks); value-learners have one network only.")
    seeds: Annotated[list[int], BeforeValidator(_seed_list)] = Field(
        list(range(10)), description="Training seeds: a list, or values and ranges such as "
        "'0-9' or '0-4,7' (at least 10 to test the claim).")
    layers: list[str] | None = Field(
        None, description="Layers to probe (default: every probed layer of each agent).")
    include_failed: bool = Field(
        False, description="Keep checkpoints that did not meet their task's success "
        "criterion in the families (default: left out and counted).")
    sweep: SweepOptions = Field(default_factory=SweepOptions,
                                description="Training of the missing checkpoints.")
    study: StudyOptions = Field(
        default_factory=StudyOptions,
        description="The study of H1 (n_boot, level, alpha, correction, seed, "
        "equivalence_margin), corrected over every test reported.")
    output: str = Field("replication", description="Folder to write (relative to the "
                        "working directory; --out overrides it).")

    @field_validator("algorithms", "tasks", "trunks", "layouts")
    @classmethod
    def _names(cls, value: list[str], info: ValidationInfo) -> list[str]:
        from neuroalign.zoo.agents.table import AGENT_TABLE, LAYOUTS, TRUNKS, agent_parts

        field = str(info.field_name)
        if field == "tasks":
            from neuroalign.zoo.tasks import task_names

            names = task_names()
        else:
            names = {"algorithms": list(dict.fromkeys(agent_parts(a)[0] for a in AGENT_TABLE)),
                     "trunks": list(TRUNKS), "layouts": list(LAYOUTS)}[field]
        if any(v not in names for v in value):
            raise ValueError(f"expected names from {names}")
        return _unique(value, field.removesuffix("s"))

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: list[int]) -> list[int]:
        if any(v < 0 for v in value):
            raise ValueError("expected seeds >= 0")
        return _unique(value, "seed")

    @field_validator("layers")
    @classmethod
    def _layers(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique(value, "layer")

    @model_validator(mode="after")
    def _geometry_only(self) -> ReplicationConfig:
        unused = [name for name in _UNUSED_MEASURE_OPTIONS if name in self.model_fields_set]
        if unused:
            raise ValueError(f"{', '.join(unused)}: got a value; expected none (the "
                             "replication measures the valence geometry alone: geometry_w, "
                             "geometry_distance and ci apply)")
        return self


def load_replication_config(source: str | os.PathLike[str] | dict[str, Any] | None = None,
                            overrides: dict[str, Any] | None = None) -> ReplicationConfig:
    """Read and validate a replication configuration.

    Parameters
    ----------
    source
        A YAML file, the name of a shipped config (``replication``), a mapping of
        fields, or ``None`` for every default.
    overrides
        Fields that replace the file's (nested sections are merged: ``{"sweep":
        {"workers": 4}}`` keeps the file's other sweep fields).

    Returns
    -------
    ReplicationConfig

    Raises
    ------
    ConfigError
        Unreadable YAML, an unknown field or a wrong value; the message names the field.
    """
    from neuroalign.pipeline.config import read_config_source

    data, where, base = read_config_source(source)
    sweep = data.get("sweep")
    if base is not None and isinstance(sweep, dict) and sweep.get("out"):
        out = Path(os.path.expanduser(str(sweep["out"])))
        if not out.is_absolute():  # relative to the config file, as run's paths
            data = {**data, "sweep": {**sweep, "out": str(base / out)}}
    merged = dict(data)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return validate_model(ReplicationConfig, merged, where)


def replication_help() -> str:
    """One line per config field (nested fields dotted), generated from the models."""
    return _model_help(ReplicationConfig, skip=_UNUSED_MEASURE_OPTIONS)
