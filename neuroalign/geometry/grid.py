"""Turn a condition-pattern DataArray into per-valence trial arrays.

The geometry measures work on one array per valence, shaped
``(repetition, approach, unit)`` with approach *ascending* (index 0 is the
condition at the outcome, index ``K`` the furthest from it). A repetition is
one trial (or episode, or seed) that spans every approach step of its valence,
so the same repetition index is used for all approach steps of a valence when
resampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import xarray as xr

from neuroalign.core.contracts import VALENCE_NAMES, require_dims, valence_code
from neuroalign.core.errors import ValidationError

__all__ = ["ValenceGrid", "valence_grid"]


@dataclass(frozen=True)
class ValenceGrid:
    """Per-valence trial arrays extracted from a condition-pattern array.

    Attributes
    ----------
    trials
        ``{valence code: array (n_rep_v, K + 1, n_units)}``, approach ascending.
        Repetitions with any NaN in that valence's conditions are dropped.
    approaches
        The approach values, ascending (``approaches[0]`` is at the outcome).
    n_units
        Number of units.
    attrs
        The input array's ``attrs`` (provenance to carry forward).
    metric
        ``{valence code: array}`` the trials in the space where distances are
        measured: the same as ``trials`` (identity noise precision) or
        whitened, ``trials @ L`` with ``L L' = precision`` (see
        :meth:`with_noise`). Spreads are always measured on ``trials``.
    noise
        Description of the noise normalisation (``"identity"``, a shrinkage
        name, or ``"given"``).
    """

    trials: dict[int, np.ndarray]
    approaches: np.ndarray
    n_units: int
    attrs: dict
    metric: dict[int, np.ndarray] = field(default_factory=dict)
    noise: str = "identity"

    def __post_init__(self) -> None:
        if not self.metric:
            self.metric.update(self.trials)

    @property
    def valences(self) -> tuple[int, ...]:
        """Valence codes present, in the order reward, danger, neutral."""
        return tuple(v for v in (1, -1, 0) if v in self.trials)

    @property
    def n_steps(self) -> int:
        """K, the number of approach steps (one fewer than approach values)."""
        return int(self.approaches.size - 1)

    def n_reps(self, valence: int) -> int:
        """Number of usable repetitions of ``valence``."""
        return int(self.trials[valence].shape[0])

    def residuals(self) -> tuple[np.ndarray, int]:
        """Residuals around each condition mean, ``(n_obs, n_units)``, and their dof."""
        blocks = [x - x.mean(axis=0, keepdims=True) for x in self.trials.values()]
        res = np.concatenate([b.reshape(-1, self.n_units) for b in blocks], axis=0)
        n_cond = sum(b.shape[1] for b in blocks)
        return res, int(res.shape[0] - n_cond)

    def with_noise(self, noise: str | np.ndarray | None) -> ValenceGrid:
        """A copy whose distances use the noise precision ``noise``.

        Parameters
        ----------
        noise
            ``None``: identity (cross-validated euclidean). A shrinkage name
            (``"diag"``, ``"eye"``, ``"variance"``, ``"none"``): the precision
            is estimated once from the residuals around every condition mean
            with :func:`neuroalign.compare.noise_precision`. An array:
            a given ``(n_units, n_units)`` precision.

        Raises
        ------
        ValidationError
            Bad shape, a precision that is not symmetric positive definite, or
            an unknown shrinkage name (from the comparison engine).
        """
        if noise is None:
            return replace(self, metric={}, noise="identity")
        if isinstance(noise, str):
            from neuroalign.compare import noise_precision

            res, dof = self.residuals()
            if dof < 1:
                raise ValidationError(
                    f"noise {noise!r}: the residuals have {dof} degrees of freedom; "
                    "estimating a noise precision needs repeated trials"
                )
            prec = noise_precision(res, shrinkage=noise, dof=dof)
            label = noise
        else:
            prec = np.asarray(noise, dtype=np.float64)
            label = "given"
            if prec.shape != (self.n_units, self.n_units):
                raise ValidationError(
                    f"noise: precision of shape {prec.shape}; expected "
                    f"({self.n_units}, {self.n_units}) for {self.n_units} units"
                )
        if not np.allclose(prec, prec.T, rtol=1e-8, atol=1e-12):
            raise ValidationError("noise: the precision matrix is not symmetric")
        try:
            chol = np.linalg.cholesky(prec)
        except np.linalg.LinAlgError:
            raise ValidationError("noise: the precision matrix is not positive definite") from None
        metric = {v: x @ chol for v, x in self.trials.items()}
        return replace(self, metric=metric, noise=label)


def _coord(patterns: xr.DataArray, name: str) -> np.ndarray:
    if name not in patterns.coords or patterns[name].dims != ("condition",):
        raise ValidationError(
            f"patterns: the condition dim lacks a {name!r} coord; expected 'valence' and "
            "'approach' coords on 'condition' (see neuroalign.core.contracts.condition_coords)"
        )
    return np.asarray(patterns[name].values)


def valence_grid(
    patterns: xr.DataArray,
    *,
    valences: Sequence[int | str] | None = None,
    require: Sequence[int] = (1, -1),
) -> ValenceGrid:
    """Validate ``patterns`` and split it into per-valence trial arrays.

    Parameters
    ----------
    patterns
        DataArray with dims ``("repetition", "condition", "unit")`` (or
        ``("condition", "unit")``, read as a single repetition), and ``valence``
        and ``approach`` coords on ``condition``.
    valences
        Valences to keep (codes or names); default: every valence present.
    require
        Valence codes that must be present (default reward and danger).

    Returns
    -------
    ValenceGrid

    Raises
    ------
    ValidationError
        Wrong dims or coords, a required valence missing, fewer than two
        approach steps, valences with different approach sets, a repeated
        (valence, approach) condition, or no complete repetition.
    """
    require_dims(patterns, ("condition", "unit"), "patterns")
    extra = [d for d in patterns.dims if d not in ("repetition", "condition", "unit")]
    if extra:
        raise ValidationError(
            f"patterns: unexpected dims {tuple(extra)}; expected ('repetition', 'condition', "
            "'unit')"
        )
    if "repetition" not in patterns.dims:
        patterns = patterns.expand_dims("repetition")
    patterns = patterns.transpose("repetition", "condition", "unit")
    raw_val = _coord(patterns, "valence")
    approach = _coord(patterns, "approach")
    val = np.asarray([valence_code(v.item() if hasattr(v, "item") else v) for v in raw_val])
    if not np.issubdtype(approach.dtype, np.number):
        raise ValidationError(
            f"patterns: 'approach' coord has dtype {approach.dtype}; expected numbers "
            "(steps or seconds before the outcome)"
        )
    keep = sorted(set(val.tolist()), key=(1, -1, 0).index)
    if valences is not None:
        wanted = [valence_code(v) for v in valences]
        keep = [v for v in keep if v in wanted]
    missing = [v for v in require if v not in keep]
    if missing:
        present = [VALENCE_NAMES[v] for v in sorted(set(val.tolist()))]
        raise ValidationError(
            f"patterns: valence(s) {[VALENCE_NAMES[v] for v in missing]} missing; the "
            f"valence geometry needs both reward and danger conditions; found {present}"
        )
    values = np.asarray(patterns.values, dtype=np.float64)
    ref: np.ndarray | None = None
    trials: dict[int, np.ndarray] = {}
    for v in keep:
        idx = np.flatnonzero(val == v)
        app = approach[idx].astype(np.float64)
        if np.unique(app).size != app.size:
            raise ValidationError(
                f"patterns: valence {VALENCE_NAMES[v]!r} repeats approach values "
                f"{sorted(app.tolist())}; each (valence, approach) condition must appear once"
            )
        order = np.argsort(app)
        app = app[order]
        if app.size < 2:
            raise ValidationError(
                f"patterns: valence {VALENCE_NAMES[v]!r} has {app.size} approach step(s) "
                f"{app.tolist()}; at least 2 are needed to measure a path"
            )
        if ref is None:
            ref = app
        elif ref.shape != app.shape or not np.allclose(ref, app):
            raise ValidationError(
                f"patterns: valence {VALENCE_NAMES[v]!r} has approach values {app.tolist()} but "
                f"{VALENCE_NAMES[keep[0]]!r} has {ref.tolist()}; every valence needs the same set"
            )
        block = values[:, idx[order], :]  # (rep, approach, unit)
        complete = ~np.isnan(block).any(axis=(1, 2))
        if not complete.any():
            raise ValidationError(
                f"patterns: valence {VALENCE_NAMES[v]!r} has no repetition without NaN"
            )
        trials[v] = np.ascontiguousarray(block[complete])
    assert ref is not None
    approaches = ref.astype(np.int64) if np.allclose(ref, np.round(ref)) else ref
    return ValenceGrid(
        trials=trials,
        approaches=approaches,
        n_units=int(patterns.sizes["unit"]),
        attrs=dict(patterns.attrs),
    )
