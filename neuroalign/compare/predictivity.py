"""Encoding-model predictivity: cross-validated ridge from model units to each neuron.

For every neuron, a ridge regression (penalty chosen per neuron by efficient
leave-one-out inside the training folds, scikit-learn ``RidgeCV``) maps the
model's standardised units to the neuron's trial-averaged response. Predictions
for held-out conditions (K-fold over conditions) are correlated with the response:
that Pearson ``r`` is the raw score.

Ceiling: the split-half reliability of each neuron, the correlation across
conditions between the means of two random halves of its repetitions, averaged
over ``n_splits_half`` splits and corrected to the full number of repetitions with
Spearman-Brown, ``rho = 2 r / (1 + r)``. A prediction cannot correlate with a
noisy mean better than ``sqrt(rho)`` (attenuation), so ``ceiling = sqrt(rho)``
and ``ceiled = r / ceiling`` (NaN where ``rho <= 0``). Region scores are medians
over the region's neurons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.compare._align import shared_label_index
from neuroalign.core.contracts import condition_labels
from neuroalign.core.degenerate import check_patterns, standardise
from neuroalign.core.errors import ValidationError

__all__ = ["PredictivityResult", "predictivity", "split_half_reliability"]


@dataclass(frozen=True)
class PredictivityResult:
    """Per-neuron and per-region predictivity.

    Attributes
    ----------
    per_unit
        One row per neuron: ``unit_id``, ``region``, ``r``, ``reliability``,
        ``ceiling``, ``ceiled``, ``alpha`` (median chosen penalty over folds).
    per_region
        One row per region: ``region``, ``n_units``, ``r``, ``ceiled`` (medians).
    seed
        The seed used for folds and split halves.
    """

    per_unit: pd.DataFrame
    per_region: pd.DataFrame
    seed: int


def _rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r per column between ``a`` and ``b`` (conditions x neurons)."""
    ac = a - a.mean(axis=0)
    bc = b - b.mean(axis=0)
    den = np.sqrt((ac**2).sum(axis=0) * (bc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ac * bc).sum(axis=0) / np.where(den > 0, den, 1.0), np.nan)


def split_half_reliability(
    brain: np.ndarray, n_splits: int = 20, seed: int = 0
) -> np.ndarray:
    """Spearman-Brown corrected split-half reliability per neuron.

    Parameters
    ----------
    brain
        ``(repetition, condition, neuron)``; NaN repetitions are ignored.
    n_splits
        Random splits of the repetitions to average over.
    seed
        Seed of the splits.
    """
    rng = np.random.default_rng(seed)
    n_rep = brain.shape[0]
    if n_rep < 2:
        raise ValidationError(f"brain: {n_rep} repetition(s); split halves need at least 2")
    rs = []
    for _ in range(n_splits):
        perm = rng.permutation(n_rep)
        h1, h2 = perm[: n_rep // 2], perm[n_rep // 2 :]
        with np.errstate(invalid="ignore"):
            m1 = np.nanmean(brain[h1], axis=0)
            m2 = np.nanmean(brain[h2], axis=0)
        rs.append(_rowwise_corr(m1, m2))
    r = np.nanmean(np.stack(rs), axis=0) if rs else np.full(brain.shape[2], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * r / (1 + r)


def predictivity(
    model: xr.DataArray,
    brain: xr.DataArray,
    *,
    alphas: np.ndarray | None = None,
    n_folds: int = 5,
    n_splits_half: int = 20,
    seed: int = 0,
) -> PredictivityResult:
    """Cross-validated ridge predictivity of ``brain`` neurons from ``model`` units.

    Parameters
    ----------
    model
        ``(condition, unit)`` activations; aligned to ``brain`` by condition label.
    brain
        ``(repetition, condition, unit)`` responses; unit coords ``unit_id`` and
        ``region`` are used when present.
    alphas
        Ridge penalties to choose from; default ``logspace(-3, 5, 9)``.
    n_folds
        K-fold over conditions (at most the number of conditions).
    n_splits_half
        Number of random split halves for the reliability ceiling.
    seed
        Seed of the fold assignment and the split halves.

    Returns
    -------
    PredictivityResult

    Raises
    ------
    ValidationError
        Wrong dims, fewer than 4 shared conditions, NaN in the model.
    InferenceError
        Fewer than 2 units on a side, infinite values, or fewer than 3
        repetitions of a brain condition (:mod:`neuroalign.core.degenerate`).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold

    swapped = (set(getattr(model, "dims", ())) == {"repetition", "condition", "unit"}
               and set(getattr(brain, "dims", ())) == {"condition", "unit"})
    hint = "; the arguments are (model, brain)" if swapped else ""
    if not isinstance(brain, xr.DataArray) or set(brain.dims) != {
        "repetition", "condition", "unit"
    }:
        raise ValidationError(
            "brain: expected a DataArray with dims ('repetition', 'condition', 'unit'); got "
            f"{getattr(brain, 'dims', type(brain).__name__)}{hint}"
        )
    if not isinstance(model, xr.DataArray) or set(model.dims) != {"condition", "unit"}:
        raise ValidationError(
            "model: expected a DataArray with dims ('condition', 'unit'); got "
            f"{getattr(model, 'dims', type(model).__name__)}"
        )
    lb, lm = condition_labels(brain, "brain"), condition_labels(model, "model")
    ib, im = shared_label_index(lb, lm, ("brain", "model"))
    y_all = brain.transpose("repetition", "condition", "unit").values.astype(np.float64)[:, ib]
    x = model.transpose("condition", "unit").values.astype(np.float64)[im]
    n_cond = x.shape[0]
    if n_cond < 4:
        raise ValidationError(f"predictivity: {n_cond} shared conditions; need at least 4")
    if np.isnan(x).any():
        raise ValidationError("model: contains NaN")
    # the degenerate rules of neuroalign.core.degenerate; r is scale-invariant
    check_patterns(x, "model", deterministic=True)
    check_patterns(y_all, "brain")
    x, y_all = standardise(x)[0], standardise(y_all)[0]
    with np.errstate(invalid="ignore"):
        y = np.nanmean(y_all, axis=0)
    if np.isnan(y).any():
        raise ValidationError("brain: a condition has no valid repetition for some unit")
    alphas = np.logspace(-3, 5, 9) if alphas is None else np.asarray(alphas, dtype=np.float64)
    x_sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(x_sd > 0, x_sd, 1.0)
    pred = np.empty_like(y)
    chosen = []
    folds = KFold(n_splits=min(n_folds, n_cond), shuffle=True, random_state=seed)
    for train, test in folds.split(x):
        reg = RidgeCV(alphas=alphas, alpha_per_target=True).fit(x[train], y[train])
        pred[test] = reg.predict(x[test])
        chosen.append(np.broadcast_to(reg.alpha_, (y.shape[1],)))
    r = _rowwise_corr(pred, y)
    rel = split_half_reliability(y_all, n_splits=n_splits_half, seed=seed)
    ceiling = np.sqrt(np.where(rel > 0, rel, np.nan))
    ceiled = r / ceiling
    units = brain.coords["unit_id"].values if "unit_id" in brain.coords else np.arange(y.shape[1])
    regions = (brain.coords["region"].values if "region" in brain.coords
               else np.full(y.shape[1], "all"))
    per_unit = pd.DataFrame({
        "unit_id": units, "region": regions, "r": r, "reliability": rel,
        "ceiling": ceiling, "ceiled": ceiled,
        "alpha": np.median(np.stack(chosen), axis=0),
    })
    per_region = (
        per_unit.groupby("region", sort=True)
        .agg(n_units=("r", "size"), r=("r", "median"), ceiled=("ceiled", "median"))
        .reset_index()
    )
    return PredictivityResult(per_unit=per_unit, per_region=per_region, seed=int(seed))
