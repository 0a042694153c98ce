"""Fast in-memory condition patterns: planted regions and brain-like mixtures of model units.

These functions skip NWB entirely and return the condition-pattern contract
(``("repetition", "condition", "unit")``) directly, so calibration studies can
draw hundreds of simulated sessions in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.contracts import condition_coords, valence_code
from neuroalign.core.errors import ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.core.random import seed_argument
from neuroalign.core.validation import check_positive_float, check_positive_int
from neuroalign.simulate.model import (
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
    RegionModel,
    as_rng,
    make_region_model,
    planted_summary,
)

__all__ = ["expected_patterns", "patterns_from_activations", "sample_condition_patterns"]


def _check_valences(valences: Sequence[int | str]) -> list[int]:
    codes = [valence_code(v) for v in valences]
    if not codes:
        raise ValidationError("valences: got an empty sequence; expected e.g. (1, -1)")
    if len(set(codes)) != len(codes):
        raise ValidationError(f"valences: got {tuple(valences)!r}; expected distinct valences")
    return codes


def _unit_coords(region: str, n_units: int) -> dict[str, tuple[str, np.ndarray]]:
    ids = np.asarray([f"{region}-u{i:03d}" for i in range(n_units)])
    return {"unit_id": ("unit", ids), "region": ("unit", np.full(n_units, region))}


def _planted_attrs(model: RegionModel, window: int) -> dict[str, Any]:
    summary = planted_summary(model.planting, window, model.n_approach)
    return {
        "planting": model.planting,
        "planted_window": int(window),
        "planted_sharpness_reward": summary["sharpness_reward"],
        "planted_sharpness_danger": summary["sharpness_danger"],
        "planted_asymmetry": summary["asymmetry"],
        "planted_wall_fraction_reward": summary["wall_fraction_reward"],
        "planted_wall_fraction_danger": summary["wall_fraction_danger"],
        "planted_path_length_hz": float(model.path_length),
    }


def expected_patterns(
    model: RegionModel,
    valences: Sequence[int | str] = (1, -1),
    bin_size: float = 0.25,
    region: str | None = None,
) -> xr.DataArray:
    """Noise-free expected counts per bin, ``("condition", "unit")``.

    Parameters
    ----------
    model
        A region from :func:`~neuroalign.simulate.make_region_model`.
    valences
        Valences in grid order.
    bin_size
        Bin width in seconds; expected count = rate (Hz) x ``bin_size``.
    region
        Region label for the unit coords (default: the planting name).

    Returns
    -------
    xarray.DataArray
        ``r_v(a) * bin_size`` on the condition grid of :func:`condition_coords`.
    """
    codes = _check_valences(valences)
    b = check_positive_float(bin_size, "bin_size")
    k = model.n_approach
    values = np.concatenate([model.trajectory(v) * b for v in codes], axis=0)
    name = region or model.planting
    da = xr.DataArray(values, dims=("condition", "unit"))
    da = da.assign_coords(condition_coords(codes, range(k + 1)))
    da = da.assign_coords(_unit_coords(name, model.n_units))
    da.attrs = provenance_attrs(
        source="neuroalign.simulate.expected_patterns",
        synthetic=True,
        bin_size=b,
        value_units="expected spikes per bin",
        **_planted_attrs(model, 1),
    )
    return da


def sample_condition_patterns(
    planting: str,
    n_units: int = DEFAULT_UNITS_PER_REGION,
    n_repetitions: int = DEFAULT_TRIALS_PER_VALENCE,
    n_approach: int = 5,
    valences: Sequence[int | str] = (1, -1),
    bin_size: float = 0.25,
    seed: np.random.Generator | int | None = None,
    *,
    region: str | None = None,
    window: int = 1,
    rng: np.random.Generator | int | None = None,
    **model_options: Any,
) -> xr.DataArray:
    """Poisson spike counts on the condition grid of one planted region.

    A region is drawn with :func:`~neuroalign.simulate.make_region_model`; each
    repetition of condition ``(v, a)`` is ``Poisson(g * r_v(a) * bin_size)`` with
    the population gain ``g`` of the model (mean 1, log-sd narrowing with the
    progress along the path).

    Parameters
    ----------
    planting
        ``"wall_danger"``, ``"wall_reward"``, ``"symmetric"`` or ``"none"``.
    n_units, n_repetitions
        Population size and repetitions (trials) per condition (defaults
        :data:`~neuroalign.simulate.DEFAULT_UNITS_PER_REGION` and
        :data:`~neuroalign.simulate.DEFAULT_TRIALS_PER_VALENCE`, the size of
        the default dataset).
    n_approach
        ``K``: approach steps ``K, ..., 0`` (``K + 1`` per valence).
    valences
        Valences in grid order; 0 (neutral) stays at baseline.
    bin_size
        Bin width in seconds.
    seed
        Seed (int) or numpy Generator of the draws (``rng``, its former name, is
        still accepted with a DeprecationWarning); an int is recorded in ``attrs``.
    region
        Region label of the units (default: the planting name).
    window
        ``w`` used for the planted sharpness stored in ``attrs``.
    **model_options
        Passed to :func:`~neuroalign.simulate.make_region_model` (e.g.
        ``modulation``, ``baseline_median_hz``, ``sigma_max``).

    Returns
    -------
    xarray.DataArray
        float64 counts with dims ``("repetition", "condition", "unit")``; coords
        ``valence``/``approach``/``label`` on ``condition``, ``unit_id``/``region``
        on ``unit``; ``attrs`` with provenance, ``synthetic=1``, the planting,
        ``planted_sharpness_reward``/``_danger`` and ``planted_asymmetry``
        (``nan`` sharpness where the path has zero length).
    """
    reps = check_positive_int(n_repetitions, "n_repetitions")
    seed = seed_argument(seed, rng, "sample_condition_patterns")
    gen = as_rng(seed, "seed")
    model = make_region_model(planting, n_units, n_approach, gen, **model_options)
    return _sample(model, reps, valences, bin_size, gen, region=region, window=window,
                   provenance_seed=_seed_value(seed))


def _seed_value(seed: object) -> int | None:
    """The seed recorded in the provenance: the int, or None for a Generator."""
    return int(seed) if isinstance(seed, (int, np.integer)) else None


def sample_from_model(
    model: RegionModel,
    n_repetitions: int,
    valences: Sequence[int | str] = (1, -1),
    bin_size: float = 0.25,
    seed: np.random.Generator | int | None = None,
    *,
    region: str | None = None,
    window: int = 1,
    rng: np.random.Generator | int | None = None,
) -> xr.DataArray:
    """Draw repetitions from an existing :class:`RegionModel` (see
    :func:`sample_condition_patterns` for the output).

    ``seed`` is an int or a numpy Generator (``rng``, its former name, is still
    accepted with a DeprecationWarning); an int is recorded in ``attrs``.
    """
    seed = seed_argument(seed, rng, "sample_from_model")
    return _sample(model, n_repetitions, valences, bin_size, as_rng(seed, "seed"), region=region,
                   window=window, provenance_seed=_seed_value(seed))


def _sample(model: RegionModel, n_repetitions: int, valences: Sequence[int | str],
            bin_size: float, gen: np.random.Generator, *, region: str | None, window: int,
            provenance_seed: int | None) -> xr.DataArray:
    reps = check_positive_int(n_repetitions, "n_repetitions")
    codes = _check_valences(valences)
    b = check_positive_float(bin_size, "bin_size")
    k = model.n_approach
    blocks = []
    for v in codes:
        mean = model.trajectory(v) * b  # (K+1, n)
        sd = model.gain_sd(v) if v != 0 else np.full(k + 1, model.sigma_max)
        z = gen.standard_normal((reps, k + 1))
        gain = np.exp(sd[None, :] * z - 0.5 * sd[None, :] ** 2)
        blocks.append(gen.poisson(gain[:, :, None] * mean[None, :, :]))
    counts = np.concatenate(blocks, axis=1).astype(np.float64)
    name = region or model.planting
    da = xr.DataArray(counts, dims=("repetition", "condition", "unit"))
    da = da.assign_coords(repetition=np.arange(reps))
    da = da.assign_coords(condition_coords(codes, range(k + 1)))
    da = da.assign_coords(_unit_coords(name, model.n_units))
    da.attrs = provenance_attrs(
        source="neuroalign.simulate.sample_condition_patterns",
        synthetic=True,
        bin_size=b,
        value_units="spikes per bin",
        n_approach=k,
        seed=provenance_seed,
        **_planted_attrs(model, window),
    )
    return da


def patterns_from_activations(
    model_patterns: xr.DataArray | np.ndarray,
    n_units: int = DEFAULT_UNITS_PER_REGION,
    n_repetitions: int = DEFAULT_TRIALS_PER_VALENCE,
    noise: float = 0.5,
    seed: np.random.Generator | int | None = None,
    *,
    bin_size: float = 0.25,
    baseline_median_hz: float = 5.0,
    depth: float = 2.0,
    region: str = "agent_like",
    rng: np.random.Generator | int | None = None,
) -> xr.DataArray:
    """Brain-like Poisson counts made from a random positive mixing of model units.

    Each simulated neuron ``j`` receives a non-negative, sparse random mixture of
    the model units, ``d_j = X w_j`` (``w_j >= 0``). Its drive is rescaled to
    ``u_j = (d_j - min_c d_j) / (max_c d_j - min_c d_j)`` over the conditions of
    the mean pattern (a positive affine map, so the linear geometry of the
    mixture is kept), Gaussian noise of sd ``noise`` is added per repetition,
    and the rate is ``b_j (1 + depth * u_j)`` Hz, clipped at 0, with ``b_j``
    lognormal. Counts are ``Poisson(rate * bin_size)``.

    Parameters
    ----------
    model_patterns
        ``("condition", "unit")`` or ``("repetition", "condition", "unit")``
        activations (DataArray or array). With repetitions, each simulated
        repetition mixes one model repetition drawn at random.
    n_units, n_repetitions
        Size of the simulated population and repetitions per condition.
    noise
        Sd of the added drive noise, in units of the drive's condition range.
    seed
        Seed (int) or numpy Generator of the draws (``rng``, its former name, is
        still accepted with a DeprecationWarning).
    bin_size, baseline_median_hz, depth
        Bin width (s), median baseline (Hz) and modulation depth.
    region
        Region label of the simulated units.

    Returns
    -------
    xarray.DataArray
        float64 counts ``("repetition", "condition", "unit")``; condition coords
        copied from ``model_patterns`` when it is a DataArray; ``attrs`` with
        provenance and ``synthetic=1``.
    """
    n = check_positive_int(n_units, "n_units")
    reps = check_positive_int(n_repetitions, "n_repetitions")
    sd = check_positive_float(noise, "noise", allow_zero=True)
    b = check_positive_float(bin_size, "bin_size")
    dep = check_positive_float(depth, "depth")
    base_med = check_positive_float(baseline_median_hz, "baseline_median_hz")
    seed = seed_argument(seed, rng, "patterns_from_activations")
    gen = as_rng(seed, "seed")

    src = model_patterns
    x = np.asarray(src.values if isinstance(src, xr.DataArray) else src, dtype=np.float64)
    if isinstance(src, xr.DataArray):
        want = ("repetition", "condition", "unit") if x.ndim == 3 else ("condition", "unit")
        if tuple(src.dims) != want:
            raise ValidationError(
                f"model_patterns: dims {tuple(src.dims)}; expected ('condition', 'unit') "
                "or ('repetition', 'condition', 'unit')"
            )
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or min(x.shape) == 0:
        raise ValidationError(
            f"model_patterns: shape {np.shape(src)}; expected a non-empty "
            "(condition, unit) or (repetition, condition, unit) array"
        )
    if not np.isfinite(x).all():
        raise ValidationError("model_patterns: contains NaN or infinite values")
    n_model_reps, _, n_model = x.shape

    # sparse non-negative mixing: each neuron listens to ~20% of model units (at least 1)
    weights = gen.exponential(1.0, (n_model, n)) * (gen.random((n_model, n)) < 0.2)
    empty = weights.sum(axis=0) == 0
    weights[gen.integers(0, n_model, int(empty.sum())), np.flatnonzero(empty)] = 1.0
    mean_drive = x.mean(axis=0) @ weights  # (cond, n)
    lo = mean_drive.min(axis=0)
    span = mean_drive.max(axis=0) - lo
    span[span <= 0] = 1.0
    pick = gen.integers(0, n_model_reps, reps)
    drive = (x[pick] @ weights - lo) / span  # (reps, cond, n)
    drive += sd * gen.standard_normal(drive.shape)
    baseline = base_med * np.exp(0.6 * gen.standard_normal(n))
    rate = np.clip(baseline * (1.0 + dep * drive), 0.0, None)
    counts = gen.poisson(rate * b).astype(np.float64)

    da = xr.DataArray(counts, dims=("repetition", "condition", "unit"))
    da = da.assign_coords(repetition=np.arange(reps))
    if isinstance(src, xr.DataArray):
        da = da.assign_coords(
            {name: ("condition", c.values) for name, c in src.coords.items()
             if c.dims == ("condition",)}
        )
    da = da.assign_coords(_unit_coords(region, n))
    src_attrs = src.attrs if isinstance(src, xr.DataArray) else {}
    da.attrs = provenance_attrs(
        source="neuroalign.simulate.patterns_from_activations",
        synthetic=True,
        bin_size=b,
        value_units="spikes per bin",
        mixing="sparse non-negative linear, affine per unit, Poisson",
        noise=sd,
        depth=dep,
        model_source=str(src_attrs.get("source", "array")),
        seed=_seed_value(seed),
    )
    return da
