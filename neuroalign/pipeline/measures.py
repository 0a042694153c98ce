"""The measures of one cell, as thin adapters over compare and geometry.

Each adapter takes aligned model and brain patterns (dims
``(repetition, condition, unit)``, same conditions in the same order) and
returns a list of partial result rows. The statistics come from
:func:`neuroalign.compare.inference.evaluate` and
:func:`neuroalign.geometry.valence_geometry`; the split-half ceiling of RSA is
assembled from compare's RDMs, RDM comparison and Spearman-Brown correction.

A statistic that the data leave undefined (compare or geometry raise
:class:`~neuroalign.core.errors.InferenceError`, or a
:class:`~neuroalign.core.errors.ValidationError` about the values, e.g. a
constant RDM of a silent layer) becomes a row of NaN whose ``note`` says why,
so one degenerate cell does not stop a run of hundreds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.contracts import VALENCE_NAMES
from neuroalign.core.errors import InferenceError, ValidationError

__all__ = [
    "MEASURE_FUNCTIONS",
    "CellOptions",
    "cell_rdm",
    "geometry_result",
    "rdm_split_half_ceiling",
]

_RSA_METHODS = ("spearman", "pearson")
_RDM_METHODS = ("crossnobis", "euclidean", "sqeuclidean", "correlation")


@dataclass(frozen=True)
class CellOptions:
    """Options of the measures of one cell.

    Parameters
    ----------
    rsa_method
        RDM comparison for ``"rsa"``: ``"spearman"`` (default) or ``"pearson"``.
    rdm_method
        RDM of each side; ``"crossnobis"`` (default) is cross-validated over
        repetitions, so noise does not inflate distances. A side with a single
        repetition falls back to squared euclidean distances.
    shape_alpha
        Partial-whitening parameter of the shape metric; 1.0 (default) is the
        angular Procrustes distance, 0.0 is CCA.
    geometry_w
        Final steps counted by the sharpness ``S`` (default 1).
    geometry_distance
        Distance between condition patterns along the approach (default
        ``"crossnobis"``).
    ci
        Level of the bootstrap intervals (default 0.95).
    n_splits
        Random split halves for the noise ceilings (default 20).
    """

    rsa_method: str = "spearman"
    rdm_method: str = "crossnobis"
    shape_alpha: float = 1.0
    geometry_w: int = 1
    geometry_distance: str = "crossnobis"
    ci: float = 0.95
    n_splits: int = 20

    def __post_init__(self) -> None:
        if self.rsa_method not in _RSA_METHODS:
            raise ValidationError(
                f"rsa_method: got {self.rsa_method!r}; expected one of {list(_RSA_METHODS)}"
            )
        if self.rdm_method not in _RDM_METHODS:
            raise ValidationError(
                f"rdm_method: got {self.rdm_method!r}; expected one of {list(_RDM_METHODS)}"
            )
        if not 0.0 <= float(self.shape_alpha) <= 1.0:
            raise ValidationError(f"shape_alpha: got {self.shape_alpha}; expected 0 <= alpha <= 1")
        if int(self.geometry_w) < 1:
            raise ValidationError(f"geometry_w: got {self.geometry_w}; expected an integer >= 1")
        if not 0.0 < float(self.ci) < 1.0:
            raise ValidationError(f"ci: got {self.ci}; expected 0 < ci < 1")
        if int(self.n_splits) < 0:
            raise ValidationError(f"n_splits: got {self.n_splits}; expected an integer >= 0")

    def as_dict(self) -> dict[str, Any]:
        """The options as a plain dict (for provenance)."""
        return asdict(self)


MeasureFn = Callable[..., list[dict[str, Any]]]


def _first(frame: Any, column: str, default: Any = np.nan) -> Any:
    """Value of ``column`` in the first row of ``frame`` (``default`` if absent)."""
    if column not in frame.columns or len(frame) == 0:
        return default
    value = frame[column].iloc[0]
    return value.item() if hasattr(value, "item") else value


def _stat_row(frame: Any, **fields: Any) -> dict[str, Any]:
    """A partial row from the first row of a tidy inference frame."""
    row = {
        "estimate": float(_first(frame, "estimate")),
        "ci_low": float(_first(frame, "ci_low")),
        "ci_high": float(_first(frame, "ci_high")),
        "p_value": float(_first(frame, "p_value")),
        "ceiling_low": float(_first(frame, "noise_ceiling_low")),
        "ceiling_high": float(_first(frame, "noise_ceiling_high")),
        "n": int(_first(frame, "n", 0)),
        "side": "pair",
    }
    row.update(fields)
    return row


def _evaluate(measure: str, x: Any, y: Any, *, n_boot: int, n_perm: int, seed: int,
              options: CellOptions, bootstrap: str, **kwargs: Any) -> Any:
    """``compare.inference.evaluate`` with 0 meaning "skip" for the resampling counts."""
    from neuroalign.compare.inference import evaluate

    return evaluate(
        measure, x, y,
        bootstrap=bootstrap if n_boot else None, n_boot=max(n_boot, 1),
        permutation=bool(n_perm), n_perm=max(n_perm, 1),
        level=options.ci, seed=seed, **kwargs,
    )


#: memo of RDMs: (content digest, method) -> RDM; a region's RDM is computed once
_RDM_MEMO: dict[tuple[str, str], xr.DataArray] = {}
_MEMO_SIZE = 512


def cell_rdm(patterns: xr.DataArray, method: str = "crossnobis") -> xr.DataArray:
    """The RDM of one side: ``method`` (cross-validated by default) over repetitions.

    A side with a single repetition (e.g. a deterministic probe) cannot be
    cross-validated and gets squared euclidean distances of its patterns.
    Memoised on the content of ``patterns``.
    """
    from neuroalign.compare import compute_rdm

    if method == "crossnobis" and patterns.sizes.get("repetition", 1) < 2:
        method = "sqeuclidean"
    key = (_digest(patterns), method)
    if key not in _RDM_MEMO:
        if "repetition" in patterns.dims and method != "crossnobis":
            patterns = patterns.mean("repetition")
        if len(_RDM_MEMO) >= _MEMO_SIZE:
            _RDM_MEMO.pop(next(iter(_RDM_MEMO)))
        _RDM_MEMO[key] = compute_rdm(patterns, method=method)
    return _RDM_MEMO[key]


#: memo of split-half RDM ceilings: (content digest, parameters) -> (low, high)
_CEILING_MEMO: dict[tuple[Any, ...], tuple[float, float]] = {}


def rdm_split_half_ceiling(brain: xr.DataArray, *, rdm_method: str, compare_method: str,
                           n_splits: int, seed: int) -> tuple[float, float]:
    """Split-half reliability of the brain RDM and its Spearman-Brown projection.

    Each split deals the repetitions at random into two halves, computes the
    RDM of each half (cross-validated within the half) and compares the two
    with ``compare_method``; the mean over splits is the lower value, its
    Spearman-Brown projection to the full number of repetitions the upper one.
    The same construction as compare's split-half ceiling of CKA and shape,
    applied to RDMs. Needs at least 4 repetitions (2 per half for crossnobis).
    """
    n_rep = brain.sizes["repetition"]
    if n_rep < 4 or n_splits < 1:
        return (np.nan, np.nan)
    key = (_digest(brain), rdm_method, compare_method, n_splits, seed)
    if key not in _CEILING_MEMO:
        from neuroalign.compare import compare_rdms, compute_rdm
        from neuroalign.compare.inference import spearman_brown

        rng = np.random.default_rng(seed)
        half = n_rep // 2
        values = []
        for _ in range(n_splits):
            order = rng.permutation(n_rep)
            a = compute_rdm(brain.isel(repetition=order[:half]), method=rdm_method)
            b = compute_rdm(brain.isel(repetition=order[half: 2 * half]), method=rdm_method)
            try:
                values.append(compare_rdms(a, b, method=compare_method))
            except ValidationError:  # a constant half-RDM: no defined correlation
                values.append(np.nan)
        split = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
        full = float(spearman_brown(split)) if np.isfinite(split) else np.nan
        if len(_CEILING_MEMO) >= _MEMO_SIZE:
            _CEILING_MEMO.pop(next(iter(_CEILING_MEMO)))
        _CEILING_MEMO[key] = (split, full)
    return _CEILING_MEMO[key]


def _undefined_as_nan(measure: str, kind: str, higher: bool) -> Callable[[MeasureFn], MeasureFn]:
    """Turn a data-dependent failure of a comparison into a NaN row with a note."""

    def wrap(fn: MeasureFn) -> MeasureFn:
        def run(model: xr.DataArray, brain: xr.DataArray, **kwargs: Any) -> list[dict]:
            try:
                return fn(model, brain, **kwargs)
            except (InferenceError, ValidationError) as err:
                nan = float("nan")
                return [{"measure": measure, "kind": kind, "side": "pair", "estimate": nan,
                         "ci_low": nan, "ci_high": nan, "p_value": nan, "ceiling_low": nan,
                         "ceiling_high": nan, "n": int(brain.sizes["condition"]),
                         "higher_is_similar": higher,
                         "note": f"{type(err).__name__}: {err}"}]

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        return run

    return wrap


@_undefined_as_nan("rsa", "similarity", True)
def _rsa(model: xr.DataArray, brain: xr.DataArray, *, n_boot: int, n_perm: int, seed: int,
         options: CellOptions) -> list[dict[str, Any]]:
    rdm_m = cell_rdm(model, options.rdm_method)
    rdm_b = cell_rdm(brain, options.rdm_method)
    frame = _evaluate(options.rsa_method, rdm_m.values, rdm_b.values[None], n_boot=n_boot,
                      n_perm=n_perm, seed=seed, options=options, bootstrap="conditions")
    low, high = rdm_split_half_ceiling(brain, rdm_method=options.rdm_method,
                                       compare_method=options.rsa_method,
                                       n_splits=options.n_splits, seed=seed)
    row = _stat_row(frame, measure="rsa", kind="similarity",
                    method=f"{options.rdm_method} RDMs, {options.rsa_method}; "
                           f"{_first(frame, 'method', '')}; ceiling split-half",
                    higher_is_similar=True)
    row.update(ceiling_low=low, ceiling_high=high)
    return [row]


@_undefined_as_nan("cka", "similarity", True)
def _cka(model: xr.DataArray, brain: xr.DataArray, *, n_boot: int, n_perm: int, seed: int,
         options: CellOptions) -> list[dict[str, Any]]:
    frame = _evaluate("cka", model, brain, n_boot=n_boot, n_perm=n_perm, seed=seed,
                      options=options, bootstrap="repetitions", noise_ceiling=True,
                      n_splits=options.n_splits, measure_kwargs={"debiased": True})
    return [_stat_row(frame, measure="cka", kind="similarity",
                      method=f"linear debiased CKA; {_first(frame, 'method', '')}",
                      higher_is_similar=True)]


@_undefined_as_nan("shape", "distance", False)
def _shape(model: xr.DataArray, brain: xr.DataArray, *, n_boot: int, n_perm: int, seed: int,
           options: CellOptions) -> list[dict[str, Any]]:
    frame = _evaluate("shape", model, brain, n_boot=n_boot, n_perm=n_perm, seed=seed,
                      options=options, bootstrap="repetitions", noise_ceiling=True,
                      n_splits=options.n_splits,
                      measure_kwargs={"alpha": float(options.shape_alpha)})
    row = _stat_row(frame, measure="shape", kind="distance",
                    method=f"angular shape distance (alpha={options.shape_alpha:g}); "
                           f"{_first(frame, 'method', '')}",
                    higher_is_similar=False)
    # for a distance the ceiling is a floor: the split-half distance and its
    # (smaller) Spearman-Brown projection; store them as an ordered pair
    low, high = row["ceiling_low"], row["ceiling_high"]
    if np.isfinite(low) and np.isfinite(high) and low > high:
        row.update(ceiling_low=high, ceiling_high=low)
    return [row]


def _digest(da: xr.DataArray) -> str:
    """A content hash of a pattern array (values, dims and condition labels)."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(repr((da.dims, da.shape, str(da.dtype))).encode())
    h.update(np.ascontiguousarray(da.values).tobytes())
    h.update(repr(np.asarray(da["label"].values).tolist()).encode())
    return h.hexdigest()


#: memo of geometry results: (content digest, parameters) -> GeometryResult or error text
_GEOMETRY_MEMO: dict[tuple[Any, ...], Any] = {}


def geometry_result(patterns: xr.DataArray, *, n_boot: int, n_perm: int, seed: int,
                    options: CellOptions) -> Any:
    """``valence_geometry(patterns, ...)``, memoised on the content of ``patterns``.

    Returns
    -------
    GeometryResult or str
        The result, or the message of the :class:`InferenceError` that made the
        statistics undefined (e.g. no detectable change along the approach).
    """
    key = (_digest(patterns), n_boot, n_perm, seed, options.geometry_distance,
           int(options.geometry_w), float(options.ci))
    if key not in _GEOMETRY_MEMO:
        from neuroalign.geometry import valence_geometry

        try:
            result: Any = valence_geometry(
                patterns, distance=options.geometry_distance, w=int(options.geometry_w),
                n_boot=n_boot, n_perm=n_perm, level=float(options.ci), seed=seed)
        except InferenceError as err:
            # the statistic is undefined for this pattern set: say so, keep the run going
            result = str(err)
        if len(_GEOMETRY_MEMO) >= _MEMO_SIZE:
            _GEOMETRY_MEMO.pop(next(iter(_GEOMETRY_MEMO)))
        _GEOMETRY_MEMO[key] = result
    return _GEOMETRY_MEMO[key]


def _geometry_records(patterns: xr.DataArray, *, n_boot: int, n_perm: int, seed: int,
                      options: CellOptions) -> list[dict[str, Any]]:
    result = geometry_result(patterns, n_boot=n_boot, n_perm=n_perm, seed=seed,
                             options=options)
    if isinstance(result, str):
        return [{"measure": q, "note": result} for q in _geometry_names(patterns)]
    return result.to_frame().to_dict("records")


def _geometry_names(patterns: xr.DataArray) -> list[str]:
    """The statistic names :func:`valence_geometry` reports for ``patterns``."""
    present = set(np.asarray(patterns["valence"].values).astype(int).tolist())
    names = [VALENCE_NAMES[v] for v in (1, -1, 0) if v in present]
    out = [f"{prefix}_{n}" for prefix in ("S", "path_length", "convergence") for n in names]
    return [*out, "A", "convergence_asymmetry"]


def geometry_rows(patterns: xr.DataArray, side: str, *, n_boot: int, n_perm: int, seed: int,
                  options: CellOptions) -> list[dict[str, Any]]:
    """Geometry statistics of one side (``"model"`` or ``"brain"``) as partial rows.

    Results are memoised on the content of ``patterns`` and every parameter, so
    a region's geometry is computed once per process however many agents it
    meets; the result is identical to an uncached call.
    """
    records = _geometry_records(patterns, n_boot=n_boot, n_perm=n_perm, seed=seed,
                                options=options)
    rows = []
    for rec in records:
        quantity = str(rec["measure"])
        row = {
            "measure": f"{quantity}.{side}",
            "kind": "geometry",
            "side": side,
            "estimate": float(rec.get("estimate", np.nan)),
            "ci_low": float(rec.get("ci_low", np.nan)),
            "ci_high": float(rec.get("ci_high", np.nan)),
            "p_value": float(rec.get("p_value", np.nan)),
            "ceiling_low": np.nan,
            "ceiling_high": np.nan,
            "n": int(rec.get("n", patterns.sizes["repetition"])),
            "method": f"{rec.get('method') or 'point'}; {options.geometry_distance}"
                      f"(w={options.geometry_w})",
            "higher_is_similar": None,
            "note": rec.get("note"),
        }
        rows.append(row)
    return rows


def _geometry(model: xr.DataArray, brain: xr.DataArray, *, n_boot: int, n_perm: int, seed: int,
              options: CellOptions) -> list[dict[str, Any]]:
    rows = geometry_rows(model, "model", n_boot=n_boot, n_perm=n_perm, seed=seed,
                         options=options)
    rows += geometry_rows(brain, "brain", n_boot=n_boot, n_perm=n_perm, seed=seed,
                          options=options)
    return rows


#: measure name -> adapter, in canonical order
MEASURE_FUNCTIONS: dict[str, MeasureFn] = {
    "rsa": _rsa,
    "cka": _cka,
    "shape": _shape,
    "geometry": _geometry,
}
