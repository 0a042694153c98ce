"""One side of a cell, prepared once: an agent layer or a brain region on its own grid.

A :class:`Side` holds the patterns of one agent x seed x layer or one session x
region, dims ``(repetition, condition, unit)`` with a ``label`` coord, and
computes what the measures need from that side alone, once, on its *own full
grid*:

- its RDM (cross-validated by default) over every condition; the RDM of a
  subset of conditions is the sub-matrix, because each entry depends only on
  its two conditions;
- its valence geometry (:func:`neuroalign.geometry.valence_geometry`), so a
  region's walls and funnels never depend on the agent it is paired with;
- the split-half reliability of its RDM, per set of compared conditions.

A run prepares every side once (:func:`prepare_side`) and scores every pair
from the prepared objects; nothing is cached at module level. Degenerate
inputs are recorded on the side (:attr:`Side.problem`) so that every measure
of a pair involving it becomes a row of NaN with a note naming the cause.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.config import MeasureOptions, validate_model
from neuroalign.core.contracts import VALENCE_NAMES, condition_labels, require_dims
from neuroalign.core.degenerate import degenerate_reason, standardise
from neuroalign.core.errors import InferenceError, ValidationError

__all__ = ["Side", "as_measure_options", "as_side", "derive_seed", "prepare_side"]


def as_measure_options(options: MeasureOptions | Mapping[str, Any] | None) -> MeasureOptions:
    """The measure options of a cell, validated once.

    Parameters
    ----------
    options
        :class:`~neuroalign.core.config.MeasureOptions` (or a model that extends
        it, such as a run config: its measure fields are taken), a mapping of its
        fields, or ``None`` for the defaults.

    Raises
    ------
    ConfigError
        A field is unknown or its value is invalid (``options.field: got X; expected Y``).
    """
    if isinstance(options, MeasureOptions):
        return options.measure_options()
    return validate_model(MeasureOptions, dict(options or {}), "options")

def derive_seed(seed: int, name: str) -> int:
    """A stable per-measure seed derived from ``seed`` and the measure ``name``.

    Uses :class:`numpy.random.SeedSequence` with a CRC32 of the name (not
    Python's salted ``hash``), so every process derives the same value.
    """
    key = zlib.crc32(name.encode("utf-8"))
    return int(np.random.SeedSequence([int(seed), key]).generate_state(1, dtype=np.uint32)[0])


def _standard(patterns: xr.DataArray, role: str) -> xr.DataArray:
    """Dims ``(repetition, condition, unit)`` and a ``label`` coord; labels unique."""
    name = f"{role} patterns"
    if role == "brain":
        require_dims(patterns, ("repetition", "condition", "unit"), name)
    else:
        require_dims(patterns, ("condition", "unit"), name)
    if "repetition" not in patterns.dims:
        patterns = patterns.expand_dims("repetition")
    patterns = patterns.transpose("repetition", "condition", "unit")
    labels = condition_labels(patterns, name, missing="error")
    if len(set(labels.tolist())) != labels.size:
        raise ValidationError(f"{name}: condition labels repeat: {labels.tolist()}")
    return patterns.assign_coords(label=("condition", labels))


def _problem(patterns: xr.DataArray, role: str) -> str | None:
    """Why no measure of this side can be trusted (:mod:`neuroalign.core.degenerate`)."""
    return degenerate_reason(patterns.values, f"{role} side",
                             deterministic=role == "model",
                             labels=[str(x) for x in patterns["label"].values])


class Side:
    """One prepared side of a cell (see the module docs).

    Parameters
    ----------
    patterns
        ``(repetition?, condition, unit)`` with a ``label`` coord (or
        ``valence``/``approach`` coords) on ``condition``.
    role
        ``"model"`` or ``"brain"``.
    n_boot, n_perm, seed
        Resampling sizes and the cell seed (the geometry derives its stream
        with :func:`derive_seed`).
    options
        Measure options (see :func:`as_measure_options`).
    geometry_patterns
        The valence x approach grid the geometry is computed on when ``patterns``
        are on another grid (the contrast grid); default ``patterns``.
    """

    def __init__(self, patterns: xr.DataArray, role: str, *, n_boot: int, n_perm: int,
                 seed: int, options: MeasureOptions | Mapping[str, Any] | None,
                 geometry_patterns: xr.DataArray | None = None) -> None:
        if role not in ("model", "brain"):
            raise ValidationError(f"role: got {role!r}; expected 'model' or 'brain'")
        self.patterns = _standard(patterns, role)
        self.role = role
        self.n_boot, self.n_perm, self.seed = int(n_boot), int(n_perm), int(seed)
        self.options = as_measure_options(options)
        self.attrs = dict(patterns.attrs)
        self.labels: list[str] = [str(x) for x in self.patterns["label"].values]
        self.problem = _problem(self.patterns, role)
        #: the valence x approach grid of :meth:`geometry`
        self.geometry_patterns = (self.patterns if geometry_patterns is None
                                  else _standard(geometry_patterns, role))
        if self.problem is None and geometry_patterns is not None:
            self.problem = _problem(self.geometry_patterns, role)
        #: the power of two the patterns of the pair measures were divided by (1: none;
        #: see :func:`~neuroalign.core.degenerate.standardise`; the geometry does its own)
        self.scale = 1.0
        if self.problem is None:
            values, self.scale = standardise(self.patterns.values)
            if self.scale != 1.0:
                self.patterns = self.patterns.copy(data=values)
        self._rdm: dict[str, xr.DataArray] = {}
        self._ceiling: dict[tuple, tuple[float, float, str | None]] = {}
        self._geometry: Any = None
        #: per-side caches of the inference layer (prepared resamples), made once
        self.memo: dict[str, Any] = {}

    @property
    def n_units(self) -> int:
        """Number of units."""
        return int(self.patterns.sizes["unit"])

    @property
    def n_rep(self) -> int:
        """Number of repetitions."""
        return int(self.patterns.sizes["repetition"])

    def settings(self) -> tuple[int, int, int, MeasureOptions]:
        """``(n_boot, n_perm, seed, options)`` this side was prepared with."""
        return (self.n_boot, self.n_perm, self.seed, self.options)

    def aligned(self, labels: Sequence[str]) -> xr.DataArray:
        """The patterns of ``labels``, in that order."""
        if list(labels) == self.labels:
            return self.patterns
        pos = {lab: i for i, lab in enumerate(self.labels)}
        return self.patterns.isel(condition=[pos[lab] for lab in labels])

    def rdm_method(self) -> str:
        """The RDM method this side uses (crossnobis falls back to squared euclidean
        for a single repetition, which cannot be cross-validated)."""
        method = self.options.rdm_method
        if method == "crossnobis" and self.n_rep < 2:
            return "sqeuclidean"
        return method

    def rdm(self) -> xr.DataArray:
        """The RDM of every condition of this side (computed once)."""
        method = self.rdm_method()
        if method not in self._rdm:
            from neuroalign.compare import compute_rdm

            patterns = self.patterns
            if method != "crossnobis":
                patterns = patterns.mean("repetition")
            self._rdm[method] = compute_rdm(patterns, method=method)
        return self._rdm[method]

    def rdm_of(self, labels: Sequence[str]) -> xr.DataArray:
        """The RDM restricted to ``labels`` (a sub-matrix of :meth:`rdm`)."""
        if list(labels) == self.labels:
            return self.rdm()
        pos = {lab: i for i, lab in enumerate(self.labels)}
        idx = [pos[lab] for lab in labels]
        return self.rdm().isel({d: idx for d in self.rdm().dims})

    def rdm_ceiling(self, labels: Sequence[str], *, compare_method: str, n_splits: int,
                    seed: int) -> tuple[float, float, str | None]:
        """Split-half reliability of this side's RDM over ``labels`` and its
        Spearman-Brown projection: ``(low, high, note)``.

        Each split deals the repetitions at random into two halves, computes
        the RDM of each half and compares the two with ``compare_method``; the
        mean over splits is the lower value, its Spearman-Brown projection to
        the full number of repetitions the upper one. Needs at least 4
        repetitions. A reliability that is not positive gives no ceiling (NaN)
        and a note: a negative split-half correlation projects to nonsense.
        """
        key = (tuple(labels), compare_method, int(n_splits), int(seed))
        if key in self._ceiling:
            return self._ceiling[key]
        nan = float("nan")
        if self.n_rep < 4 or n_splits < 1:
            out: tuple[float, float, str | None] = (nan, nan, None)
        else:
            from neuroalign.compare import compare_rdms, compute_rdm
            from neuroalign.compare.inference import spearman_brown

            data = self.aligned(labels)
            method = self.rdm_method()
            rng = np.random.default_rng(seed)
            half = self.n_rep // 2
            values = []
            for _ in range(n_splits):
                order = rng.permutation(self.n_rep)
                a = compute_rdm(data.isel(repetition=order[:half]), method=method)
                b = compute_rdm(data.isel(repetition=order[half: 2 * half]), method=method)
                try:
                    values.append(compare_rdms(a, b, method=compare_method))
                except ValidationError:  # a constant half-RDM: no defined correlation
                    values.append(nan)
            split = float(np.nanmean(values)) if np.isfinite(values).any() else nan
            if not split > 0:
                out = (nan, nan, f"noise ceiling undefined: split-half reliability of the "
                                 f"{self.role} RDM is {split:.2f} (not positive)")
            else:
                out = (split, float(spearman_brown(split)), None)
        self._ceiling[key] = out
        return out

    def geometry(self) -> Any:
        """:func:`~neuroalign.geometry.valence_geometry` of this side's own full grid.

        Computed once. Returns the :class:`~neuroalign.geometry.GeometryResult`,
        or a string saying why the statistics are undefined (too few
        repetitions, no change along the approach, non-finite values).
        """
        if self._geometry is None:
            self._geometry = self._compute_geometry()
        return self._geometry

    def keep_geometry(self, result: Any) -> None:
        """Take ``result`` as this side's :meth:`geometry`: what :meth:`geometry` of
        this same side returned in another process (a forked worker)."""
        self._geometry = result

    @property
    def has_geometry(self) -> bool:
        """True once :meth:`geometry` was computed (nothing is computed by asking)."""
        return self._geometry is not None

    def _compute_geometry(self) -> Any:
        from neuroalign.geometry import valence_geometry

        if self.problem:
            return self.problem
        opts = self.options
        patterns = self.geometry_patterns
        n_rep = int(patterns.sizes["repetition"])
        distance = opts.geometry_distance
        if distance == "crossnobis" and n_rep < 2:
            distance = "euclidean"  # a deterministic probe: one pattern per condition
        try:
            result: Any = valence_geometry(
                patterns, distance=distance, w=int(opts.geometry_w),
                n_boot=self.n_boot if n_rep > 1 else 0, n_perm=self.n_perm,
                level=float(opts.ci), seed=derive_seed(self.seed, "geometry"))
        except InferenceError as err:
            return str(err)
        return result

    def geometry_names(self) -> list[str]:
        """The statistic names :func:`valence_geometry` reports for this side."""
        grid = self.geometry_patterns
        present = set(np.asarray(grid["valence"].values).astype(int).tolist()) \
            if "valence" in grid.coords else {1, -1}
        names = [VALENCE_NAMES[v] for v in (1, -1, 0) if v in present]
        out = [f"{prefix}_{n}" for prefix in ("S", "path_length", "convergence")
               for n in names]
        return [*out, "A", "convergence_asymmetry"]


def prepare_side(patterns: xr.DataArray, role: str, *, n_boot: int, n_perm: int, seed: int,
                 options: MeasureOptions | Mapping[str, Any] | None,
                 measures: Sequence[str] = (),
                 geometry_patterns: xr.DataArray | None = None) -> Side:
    """Prepare one side once: the per-side work of every measure in ``measures``.

    The work each measure needs is its ``prepares``
    (:data:`~neuroalign.pipeline.measures.MEASURE_SPECS`): ``"rdm"`` (rsa) computes
    the RDM and ``"geometry"`` the valence geometry now (on the side's own grid,
    or ``geometry_patterns``), so pairing the side with many partners reuses them.
    """
    from neuroalign.pipeline.measures import MEASURE_SPECS

    side = Side(patterns, role, n_boot=n_boot, n_perm=n_perm, seed=seed, options=options,
                geometry_patterns=geometry_patterns)
    work = {w for m in measures if m in MEASURE_SPECS for w in MEASURE_SPECS[m].prepares}
    if side.problem is None and "rdm" in work:
        try:
            side.rdm()
        except ValidationError:
            pass  # a degenerate RDM is reported by the RSA row of each pair
    if "geometry" in work:
        side.geometry()
    return side


def as_side(patterns: xr.DataArray | Side, role: str, *, n_boot: int, n_perm: int, seed: int,
            options: MeasureOptions | Mapping[str, Any] | None) -> Side:
    """``patterns`` as a :class:`Side` (a prepared one must match the settings).

    Raises
    ------
    ValidationError
        A prepared side of the other role or prepared with other settings.
    """
    if not isinstance(patterns, Side):
        return Side(patterns, role, n_boot=n_boot, n_perm=n_perm, seed=seed, options=options)
    if patterns.role != role:
        raise ValidationError(f"{role}: got a prepared {patterns.role} side; expected {role}")
    asked = (int(n_boot), int(n_perm), int(seed), as_measure_options(options))
    if patterns.settings() != asked:
        raise ValidationError(
            f"{role}: prepared with (n_boot, n_perm, seed, options) = {patterns.settings()}; "
            f"the cell asks for {asked}"
        )
    return patterns
