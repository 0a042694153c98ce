"""The generative model of planted valence geometry.

Each simulated region is a population of ``n_units`` units with baseline firing
rates ``b`` (Hz, lognormal). For every valence ``v`` (reward ``+1``, danger
``-1``) the population's mean rate vector traces a path over the approach steps
``a = K, ..., 1, 0`` (``K = n_approach``; ``a = 0`` is the outcome):

.. math::

    r_v(K) = b, \\qquad r_v(a) = r_v(a + 1) + s_v(a), \\quad a = K-1, \\dots, 0,

where the step vector ``s_v(a)`` has Euclidean length

.. math::

    \\lVert s_v(a) \\rVert = L \\, f_v(a), \\qquad
    f_v(a) = \\lambda_v \\, [a = 0] + (1 - \\lambda_v) / K .

``L`` is the same total path length for both valences of a region, so only the
*shape* of the path differs. ``lambda_v`` (the *wall fraction*) is the share of
the path covered in the final step: ``lambda = 1`` is a **wall** (the rates stay
at baseline and jump at the outcome), ``lambda = 0`` a **funnel** (change spread
evenly along the approach). The planted sharpness for a window of ``w`` final
steps (design section 4) is therefore

.. math::

    S_v(w) = \\sum_{a < w} f_v(a) = \\lambda_v + (1 - \\lambda_v)\\, w / K ,

i.e. ``S = 1`` for a wall and ``S = w/K`` for a funnel; the planted valence
asymmetry is ``A = S_danger - S_reward``. Neutral trials (valence 0) stay at
baseline (no approach change).

Step directions: each step's direction mixes a direction shared by all steps of
the valence (weight ``persistence``) with an independent one, so paths are
mostly straight but not perfectly so. Each direction is proportional to the
baseline rate of each unit (``+excite * b`` at most, ``-inhibit * b`` at least),
and every step is rescaled to the same norm; because the cumulative change is a
convex combination of those bounded directions, rates stay inside
``[(1 - inhibit) b, (1 + excite) b]`` and never become negative.

Funnel convergence: single trials scatter around ``r_v(a)`` through a
multiplicative population gain ``g = exp(sigma Z - sigma^2 / 2)`` (``Z`` standard
normal, shared by all units of a region, independent per trial and approach
step, mean 1 so the mean path is unchanged). Its log-sd narrows with the
progress along the path, ``p_v(a) = sum_{a' >= a} f_v(a')``:

.. math::

    \\sigma_v(a) = \\sigma_{max} - (\\sigma_{max} - \\sigma_{min})\\, p_v(a),

so a funnel narrows gradually and a wall abruptly at the outcome. Neutral trials
and the ``"none"`` planting keep ``sigma_max``.

The planting names describe shapes only; which region receives which planting
in a simulated session is arbitrary and synthetic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from neuroalign.core.contracts import VALENCE_NAMES, valence_code
from neuroalign.core.errors import ValidationError
from neuroalign.core.random import as_rng, seed_argument
from neuroalign.core.validation import check_positive_float, check_positive_int
from neuroalign.simulate.sizes import (
    DEFAULT_NEUTRAL_TRIALS,
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
)

__all__ = [
    "DEFAULT_NEUTRAL_TRIALS",
    "DEFAULT_TRIALS_PER_VALENCE",
    "DEFAULT_UNITS_PER_REGION",
    "PLANTINGS",
    "RegionModel",
    "as_rng",
    "check_planting",
    "make_region_model",
    "planted_asymmetry",
    "planted_sharpness",
    "planted_summary",
    "step_profile",
]

#: planting name -> valence code -> wall fraction ``lambda_v`` (1 a wall, 0 a funnel;
#: None: no approach change)
PLANTINGS: Mapping[str, Mapping[int, float | None]] = {
    "wall_danger": {1: 0.0, -1: 1.0},
    "wall_reward": {1: 1.0, -1: 0.0},
    "symmetric": {1: 0.5, -1: 0.5},
    "none": {1: None, -1: None},
}


def check_planting(planting: str) -> str:
    """Return ``planting`` if it is known, else raise a :class:`ValidationError`."""
    if planting not in PLANTINGS:
        raise ValidationError(
            f"planting: got {planting!r}; expected one of {sorted(PLANTINGS)}"
        )
    return planting


def _wall_fraction(planting: str, valence: int) -> float | None:
    code = valence_code(valence)
    if code == 0:
        return None
    return PLANTINGS[check_planting(planting)][code]


def step_profile(planting: str, valence: int, n_approach: int = 5) -> np.ndarray:
    """Planted share ``f_v(a)`` of the path length in the step ending at approach ``a``.

    Parameters
    ----------
    planting
        One of :data:`PLANTINGS`.
    valence
        ``1``/``-1``/``0`` or its name.
    n_approach
        ``K``, the largest approach step.

    Returns
    -------
    numpy.ndarray
        Shape ``(K,)``, indexed by ``a = 0, ..., K-1``; sums to 1, or all zeros
        for neutral trials and the ``"none"`` planting.
    """
    k = check_positive_int(n_approach, "n_approach")
    lam = _wall_fraction(planting, valence)
    if lam is None:
        return np.zeros(k)
    prof = np.full(k, (1.0 - lam) / k)
    prof[0] += lam
    return prof


def planted_sharpness(
    planting: str, valence: int, window: int = 1, n_approach: int = 5
) -> float:
    """Planted sharpness ``S_v(w) = lambda_v + (1 - lambda_v) w / K``.

    Returns ``nan`` where the path has zero length (neutral, ``"none"``).
    """
    k = check_positive_int(n_approach, "n_approach")
    w = check_positive_int(window, "window")
    if w > k:
        raise ValidationError(f"window: got {window}; expected at most n_approach={k}")
    prof = step_profile(planting, valence, k)
    if prof.sum() == 0:
        return math.nan
    return float(prof[:w].sum())


def planted_asymmetry(planting: str, window: int = 1, n_approach: int = 5) -> float:
    """Planted valence asymmetry ``A = S_danger - S_reward`` (0 for ``"none"``)."""
    s_d = planted_sharpness(planting, -1, window, n_approach)
    s_r = planted_sharpness(planting, 1, window, n_approach)
    if math.isnan(s_d) or math.isnan(s_r):
        return 0.0
    return s_d - s_r


@dataclass(frozen=True)
class RegionModel:
    """Mean trajectories and trial-to-trial spread of one simulated region.

    Attributes
    ----------
    planting
        The planted geometry (a key of :data:`PLANTINGS`).
    baseline
        Baseline rates ``b`` in Hz, shape ``(n_units,)``.
    steps
        Valence -> step vectors ``s_v(a)`` in Hz, shape ``(K, n_units)`` indexed
        by ``a = 0, ..., K-1`` (the step from ``a + 1`` to ``a``).
    path_length
        ``L``, the Euclidean path length in Hz shared by both valences.
    sigma_max, sigma_min
        Log-sd of the population gain far from and at the outcome.
    """

    planting: str
    baseline: np.ndarray
    steps: dict[int, np.ndarray]
    path_length: float
    sigma_max: float = 0.3
    sigma_min: float = 0.1
    parameters: dict[str, float] = field(default_factory=dict)

    @property
    def n_approach(self) -> int:
        """``K``, the largest approach step."""
        return int(next(iter(self.steps.values())).shape[0])

    @property
    def n_units(self) -> int:
        """Number of units."""
        return int(self.baseline.shape[0])

    def trajectory(self, valence: int) -> np.ndarray:
        """Mean rates ``r_v(a)`` in Hz, shape ``(K + 1, n_units)``, rows ``a = K, ..., 0``."""
        code = valence_code(valence)
        k = self.n_approach
        if code not in self.steps:
            return np.tile(self.baseline, (k + 1, 1))
        # row j holds approach K - j; cumulative change from a = K downwards
        steps_desc = self.steps[code][::-1]  # a = K-1, ..., 0
        cum = np.vstack([np.zeros(self.n_units), np.cumsum(steps_desc, axis=0)])
        return self.baseline[None, :] + cum

    def progress(self, valence: int) -> np.ndarray:
        """Share of the path covered at each approach, ``p_v(a)``, rows ``a = K, ..., 0``."""
        code = valence_code(valence)
        prof = step_profile(self.planting, code, self.n_approach)
        return np.concatenate([[0.0], np.cumsum(prof[::-1])])

    def gain_sd(self, valence: int) -> np.ndarray:
        """Log-sd ``sigma_v(a)`` of the trial gain, rows ``a = K, ..., 0``."""
        p = self.progress(valence)
        return self.sigma_max - (self.sigma_max - self.sigma_min) * p


def make_region_model(
    planting: str,
    n_units: int,
    n_approach: int = 5,
    seed: np.random.Generator | int | None = None,
    *,
    baseline_median_hz: float = 5.0,
    baseline_log_sd: float = 0.6,
    baseline_range_hz: tuple[float, float] = (1.0, 20.0),
    modulation: float = 1.0,
    excite: float = 3.0,
    inhibit: float = 0.8,
    persistence: float = 0.85,
    sigma_max: float = 0.3,
    sigma_min: float = 0.1,
    rng: np.random.Generator | int | None = None,
) -> RegionModel:
    """Draw a region's baselines and planted trajectories (see the module docstring).

    Parameters
    ----------
    planting
        One of :data:`PLANTINGS`.
    n_units
        Number of units.
    n_approach
        ``K``, the largest approach step (default 5).
    seed
        Seed (int) or numpy Generator of the draws (``rng``, its former name, is
        still accepted with a DeprecationWarning).
    baseline_median_hz, baseline_log_sd, baseline_range_hz
        Baselines are lognormal with this median and log-sd, clipped to the range.
    modulation
        Scale of the path length in ``(0, 1]``: 1 uses the largest length the
        rate bounds allow.
    excite, inhibit
        Each unit's rate stays in ``[(1 - inhibit) b, (1 + excite) b]``.
    persistence
        Weight of the direction shared by all steps of a valence, in ``[0, 1]``.
    sigma_max, sigma_min
        Log-sd of the trial gain far from and at the outcome.

    Returns
    -------
    RegionModel
    """
    check_planting(planting)
    n = check_positive_int(n_units, "n_units")
    k = check_positive_int(n_approach, "n_approach")
    gen = as_rng(seed_argument(seed, rng, "make_region_model"), "seed")
    check_positive_float(baseline_median_hz, "baseline_median_hz")
    check_positive_float(baseline_log_sd, "baseline_log_sd", allow_zero=True)
    lo, hi = (float(x) for x in baseline_range_hz)
    if not 0 < lo <= hi:
        raise ValidationError(
            f"baseline_range_hz: got {baseline_range_hz!r}; expected 0 < low <= high"
        )
    mod = check_positive_float(modulation, "modulation")
    if mod > 1:
        raise ValidationError(f"modulation: got {modulation!r}; expected a value in (0, 1]")
    check_positive_float(excite, "excite")
    if not 0 < inhibit < 1:
        raise ValidationError(f"inhibit: got {inhibit!r}; expected a value in (0, 1)")
    if not 0 <= persistence <= 1:
        raise ValidationError(f"persistence: got {persistence!r}; expected a value in [0, 1]")
    if not 0 <= sigma_min <= sigma_max:
        raise ValidationError(
            f"sigma_min, sigma_max: got {sigma_min!r}, {sigma_max!r}; expected "
            "0 <= sigma_min <= sigma_max"
        )

    baseline = np.clip(
        baseline_median_hz * np.exp(baseline_log_sd * gen.standard_normal(n)), lo, hi
    )
    # directions for every valence are drawn for every planting so that the
    # random stream (and thus the baselines of later regions) does not depend on it
    dirs: dict[int, np.ndarray] = {}
    for code in (1, -1):
        shared = gen.uniform(-1.0, 1.0, n)
        own = gen.uniform(-1.0, 1.0, (k, n))
        xi = persistence * shared[None, :] + (1.0 - persistence) * own
        dirs[code] = baseline[None, :] * np.where(xi > 0, excite * xi, inhibit * xi)
    norms = np.concatenate([np.linalg.norm(d, axis=1) for d in dirs.values()])
    length = mod * float(norms.min()) if norms.min() > 0 else 0.0

    steps: dict[int, np.ndarray] = {}
    path_length = 0.0
    for code in (1, -1):
        prof = step_profile(planting, code, k)
        unit_dirs = dirs[code] / np.linalg.norm(dirs[code], axis=1, keepdims=True)
        steps[code] = (length * prof)[:, None] * unit_dirs
        if prof.sum() > 0:
            path_length = length
    params = {
        "baseline_median_hz": float(baseline_median_hz),
        "baseline_log_sd": float(baseline_log_sd),
        "baseline_low_hz": lo,
        "baseline_high_hz": hi,
        "modulation": mod,
        "excite": float(excite),
        "inhibit": float(inhibit),
        "persistence": float(persistence),
    }
    return RegionModel(
        planting=planting,
        baseline=baseline,
        steps=steps,
        path_length=path_length,
        sigma_max=float(sigma_max),
        sigma_min=float(sigma_min),
        parameters=params,
    )


def planted_summary(planting: str, window: int = 1, n_approach: int = 5) -> dict[str, float]:
    """Flat dict of planted values: ``S_reward``, ``S_danger``, ``A``, wall fractions."""
    out: dict[str, float] = {}
    for code in (1, -1):
        name = VALENCE_NAMES[code]
        lam = PLANTINGS[check_planting(planting)][code]
        out[f"wall_fraction_{name}"] = math.nan if lam is None else float(lam)
        out[f"sharpness_{name}"] = planted_sharpness(planting, code, window, n_approach)
    out["asymmetry"] = planted_asymmetry(planting, window, n_approach)
    out["window"] = float(window)
    return out
