"""Representational dissimilarity matrices (RDMs) as labelled DataArrays.

An RDM is a DataArray with dims ``("condition", "condition_b")``. The condition
coords of the patterns travel with it: ``label``, ``valence``, ``approach`` (and
any other) on ``condition``, the same with a ``_b`` suffix on ``condition_b``.
``attrs`` hold the method, the number of units and provenance.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.compare._align import shared_label_index
from neuroalign.compare._rdm_calc import crossnobis_balanced, rdm_observations, rdm_patterns
from neuroalign.compare._vec import n_from_length, square_from_vector, upper_tri
from neuroalign.core.contracts import condition_labels
from neuroalign.core.errors import DependencyError, ValidationError
from neuroalign.core.provenance import provenance_attrs
from neuroalign.core.vocabulary import RDM_METHODS, canonical_name

__all__ = [
    "RDM_METHODS",
    "align_rdms",
    "compute_rdm",
    "from_rsatoolbox",
    "rdm_labels",
    "rdm_vector",
    "square_from_vector",
    "to_rsatoolbox",
    "upper_tri",
]

_OBS_METHODS = ("sqeuclidean", "euclidean", "mahalanobis", "crossnobis")


def _labels_of(patterns: xr.DataArray) -> np.ndarray:
    return condition_labels(patterns, "patterns")


def _check_patterns(patterns: Any) -> xr.DataArray:
    if not isinstance(patterns, xr.DataArray):
        raise ValidationError(
            "patterns: expected an xarray.DataArray with dims ('condition', 'unit') or "
            f"('repetition', 'condition', 'unit'); got {type(patterns).__name__}"
        )
    dims = set(patterns.dims)
    if dims not in ({"condition", "unit"}, {"repetition", "condition", "unit"}):
        raise ValidationError(
            f"patterns: dims {tuple(patterns.dims)}; expected ('condition', 'unit') or "
            "('repetition', 'condition', 'unit')"
        )
    if patterns.sizes["condition"] < 2:
        raise ValidationError(
            f"patterns: {patterns.sizes['condition']} condition(s); an RDM needs at least 2"
        )
    if patterns.sizes["unit"] < 1:
        raise ValidationError("patterns: no units")
    labels = _labels_of(patterns)
    if len(set(labels)) != labels.size:
        raise ValidationError(f"patterns: condition labels are not unique: {labels.tolist()}")
    return patterns


def _wrap(vec: np.ndarray, patterns: xr.DataArray, method: str, **attrs: Any) -> xr.DataArray:
    mat = square_from_vector(vec)
    coords: dict[Hashable, Any] = {}
    for name, c in patterns.coords.items():
        if c.dims == ("condition",):
            coords[name] = ("condition", c.values)
            coords[f"{name}_b"] = ("condition_b", c.values)
    labels = _labels_of(patterns)
    coords["label"] = ("condition", labels)
    coords["label_b"] = ("condition_b", labels)
    keep = {k: v for k, v in patterns.attrs.items() if k in ("source", "profile", "synthetic")}
    return xr.DataArray(
        mat,
        dims=("condition", "condition_b"),
        coords=coords,
        attrs=provenance_attrs(kind="rdm", method=method, n_units=int(patterns.sizes["unit"]),
                               **keep, **attrs),
    )


def _check_precision(noise: Any, n_units: int) -> np.ndarray | None:
    if noise is None:
        return None
    prec = np.asarray(noise, dtype=np.float64)
    if prec.shape != (n_units, n_units):
        raise ValidationError(
            f"noise: expected a precision matrix of shape ({n_units}, {n_units}); "
            f"got {prec.shape}"
        )
    return prec


def compute_rdm(
    patterns: xr.DataArray,
    method: str = "crossnobis",
    *,
    noise: np.ndarray | None = None,
    folds: np.ndarray | None = None,
    unbalanced: bool | None = None,
    prior_lambda: float = 1.0,
    prior_weight: float = 0.1,
) -> xr.DataArray:
    """Compute an RDM from condition patterns.

    Parameters
    ----------
    patterns
        DataArray ``(condition, unit)`` or ``(repetition, condition, unit)``.
        Non-cross-validated methods use the mean over repetitions (NaN rows, i.e.
        missing repetitions, are skipped).
    method
        One of :data:`RDM_METHODS`. Squared distances are divided by the number of
        units (rsatoolbox's convention): ``sqeuclidean`` |x_i - x_j|^2 / P,
        ``euclidean`` its square root, ``mahalanobis`` (x_i - x_j)' L (x_i - x_j) / P
        with precision ``noise``, ``crossnobis`` the cross-validated mahalanobis
        (needs repetitions), ``correlation`` 1 - Pearson r, ``cosine`` 1 - cosine,
        ``poisson`` the symmetrised Poisson KL divergence with a prior.
    noise
        Noise precision ``(n_units, n_units)`` for ``mahalanobis`` / ``crossnobis``
        (identity when omitted); see :func:`neuroalign.compare.noise_precision`.
    folds
        Cross-validation fold of each repetition (length ``n_repetition``); default:
        each repetition is its own fold. Repetitions in one fold are averaged.
    unbalanced
        Use the observation-level estimator that tolerates NaN (missing repetitions
        or units) and unequal counts: inner products are summed over all pairs of
        observations from different folds and divided by the number of units they
        share (rsatoolbox's ``calc_rdm_unbalanced``). Default: when the patterns
        hold NaN and the method is one of the squared-distance methods
        (``sqeuclidean``, ``euclidean``, ``mahalanobis``, ``crossnobis``); the
        other methods average the available repetitions and refuse remaining NaN.
    prior_lambda, prior_weight
        Prior of the ``poisson`` method: rates become
        ``(x + prior_lambda * prior_weight) / (1 + prior_weight)``.

    Returns
    -------
    xarray.DataArray
        ``(condition, condition_b)``, symmetric with a zero diagonal.

    Raises
    ------
    ValidationError
        Wrong dims, fewer than 2 conditions, unknown method (lists the valid
        ones), a zero-variance pattern for ``correlation`` / ``cosine``, NaN where
        the method cannot handle it, negative values for ``poisson``, crossnobis
        without at least 2 folds.
    """
    method = canonical_name(method, "method", RDM_METHODS)
    patterns = _check_patterns(patterns)
    has_rep = "repetition" in patterns.dims
    order = ("repetition", "condition", "unit") if has_rep else ("condition", "unit")
    x = np.asarray(patterns.transpose(*order).values, dtype=np.float64)
    n_units = x.shape[-1]
    prec = _check_precision(noise, n_units)
    has_nan = bool(np.isnan(x).any())
    if unbalanced is None:
        unbalanced = has_nan and method in _OBS_METHODS
    if has_nan and not unbalanced and method == "crossnobis":
        raise ValidationError(
            "patterns: hold NaN but unbalanced=False; crossnobis with NaN needs unbalanced=True"
        )
    if method == "crossnobis" or unbalanced:
        return _rdm_from_repetitions(patterns, x, method, prec, folds, has_rep, unbalanced)
    if has_rep:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN conditions reported below
            x = np.nanmean(x, axis=0)
    if np.isnan(x).any():
        bad = _labels_of(patterns)[np.isnan(x).any(axis=1)]
        raise ValidationError(
            f"patterns: NaN in conditions {bad[:5].tolist()}; method {method!r} needs complete "
            f"patterns (use one of {', '.join(_OBS_METHODS)}, which handle NaN)"
        )
    if method in ("correlation", "cosine"):
        z = x - x.mean(axis=1, keepdims=True) if method == "correlation" else x
        flat = np.einsum("ij,ij->i", z, z) == 0
        if flat.any():
            raise ValidationError(
                f"patterns: conditions {_labels_of(patterns)[flat].tolist()} have zero "
                f"variance across units; {method} distance is undefined for them"
            )
    if method == "poisson" and (x < 0).any():
        raise ValidationError("patterns: negative values; the poisson method needs rates >= 0")
    vec = rdm_patterns(x, method, prec, prior_lambda, prior_weight)
    return _wrap(vec, patterns, method, crossvalidated=0)


def _rdm_from_repetitions(
    patterns: xr.DataArray,
    x: np.ndarray,
    method: str,
    prec: np.ndarray | None,
    folds: np.ndarray | None,
    has_rep: bool,
    unbalanced: bool,
) -> xr.DataArray:
    if method not in _OBS_METHODS:
        raise ValidationError(
            f"method {method!r} cannot use the unbalanced/NaN estimator; choose one of "
            f"{', '.join(_OBS_METHODS)} or remove NaN"
        )
    if not has_rep:
        if method == "crossnobis":
            raise ValidationError(
                "patterns: crossnobis needs a 'repetition' dim (independent measurements "
                "of each condition)"
            )
        x = x[None]
    n_rep = x.shape[0]
    if folds is None:
        fold_of = np.arange(n_rep)
    else:
        fold_of = np.asarray(folds)
        if fold_of.shape != (n_rep,):
            raise ValidationError(
                f"folds: expected one fold per repetition ({n_rep}); got shape {fold_of.shape}"
            )
    fold_ids, fold_of = np.unique(fold_of, return_inverse=True)
    crossval = method == "crossnobis"
    if crossval and fold_ids.size < 2:
        raise ValidationError(f"crossnobis: needs at least 2 folds; got {fold_ids.size}")
    mname = "mahalanobis" if method in ("mahalanobis", "crossnobis") else "sqeuclidean"
    p = prec if mname == "mahalanobis" else None
    if not unbalanced:
        if fold_ids.size == n_rep:
            means = x[np.argsort(fold_of)]
        else:
            means = np.stack([x[fold_of == f].mean(axis=0) for f in range(fold_ids.size)])
        vec = crossnobis_balanced(means, p)
    else:
        n_cond = x.shape[1]
        obs = x.reshape(-1, x.shape[-1])
        cond = np.tile(np.arange(n_cond), n_rep)
        cv = np.repeat(fold_of, n_cond) if crossval else None
        present = ~np.isnan(obs).all(axis=1)
        vec = rdm_observations(obs[present], cond[present], n_cond,
                               None if cv is None else cv[present], p)
        if np.isnan(vec).any():
            missing = np.isnan(square_from_vector(vec)).any(axis=1)
            raise ValidationError(
                f"patterns: conditions {_labels_of(patterns)[missing][:5].tolist()} have too few "
                "valid observations (crossnobis needs each condition in 2 folds)"
            )
        if method == "euclidean":
            vec = np.sqrt(np.maximum(vec, 0.0))
    return _wrap(vec, patterns, method, crossvalidated=int(crossval),
                 unbalanced=int(unbalanced), n_folds=int(fold_ids.size))


def _check_rdm(rdm: Any, name: str) -> xr.DataArray:
    if not isinstance(rdm, xr.DataArray) or rdm.dims != ("condition", "condition_b"):
        raise ValidationError(
            f"{name}: expected an RDM DataArray with dims ('condition', 'condition_b'); got "
            f"{getattr(rdm, 'dims', type(rdm).__name__)}"
        )
    return rdm


def rdm_labels(rdm: xr.DataArray) -> np.ndarray:
    """Condition labels of an RDM (``label`` coord, else ``c0``, ``c1``, ...)."""
    rdm = _check_rdm(rdm, "rdm")
    return _labels_of(rdm)


def rdm_vector(rdm: xr.DataArray) -> np.ndarray:
    """Upper-triangle vector of an RDM DataArray."""
    return upper_tri(_check_rdm(rdm, "rdm").values)


def align_rdms(a: xr.DataArray, b: xr.DataArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle vectors of two RDMs over their shared conditions, in ``a``'s order.

    Raises
    ------
    ValidationError
        When fewer than 3 condition labels are shared (the message names them).
    """
    a = _check_rdm(a, "a")
    b = _check_rdm(b, "b")
    la, lb = _labels_of(a), _labels_of(b)
    ia, ib = shared_label_index(la, lb, ("a", "b"), subject="RDMs")
    if ia.size < 3:
        raise ValidationError(
            f"RDMs share only {ia.size} condition(s) ({la[ia].tolist()}); comparing RDMs "
            "needs at least 3"
        )
    va = upper_tri(a.values[np.ix_(ia, ia)])
    vb = upper_tri(b.values[np.ix_(ib, ib)])
    return va, vb, la[ia]


def to_rsatoolbox(rdm: xr.DataArray) -> Any:
    """Convert an RDM DataArray to an ``rsatoolbox.rdm.RDMs`` with one RDM.

    Condition coords become pattern descriptors (``label``, ``valence``, ...).
    """
    rdm = _check_rdm(rdm, "rdm")
    try:
        from rsatoolbox.rdm import RDMs
    except ImportError:  # pragma: no cover
        raise DependencyError("to_rsatoolbox needs rsatoolbox: pip install rsatoolbox") from None
    desc = {
        name: list(c.values)
        for name, c in rdm.coords.items()
        if c.dims == ("condition",) and name != "condition"
    }
    return RDMs(
        upper_tri(rdm.values)[None],
        dissimilarity_measure=str(rdm.attrs.get("method", "")),
        pattern_descriptors=desc,
    )


def from_rsatoolbox(rdms: Any, index: int = 0) -> xr.DataArray:
    """Convert RDM ``index`` of an ``rsatoolbox.rdm.RDMs`` to an RDM DataArray.

    Pattern descriptors become condition coords; the ``label`` coord is the
    ``label`` descriptor when present, else ``conds``, else ``index``.
    """
    vecs = np.asarray(rdms.get_vectors())
    if not 0 <= index < vecs.shape[0]:
        raise ValidationError(f"index: got {index}; the RDMs object holds {vecs.shape[0]} RDMs")
    n = n_from_length(vecs.shape[1])
    desc = dict(rdms.pattern_descriptors)
    for key in ("label", "conds", "index"):
        if key in desc:
            labels = np.asarray(desc[key]).astype(str)
            break
    else:
        labels = np.asarray([f"c{i}" for i in range(n)])
    coords: dict[str, Any] = {}
    for name, values in desc.items():
        arr = np.asarray(values)
        if arr.shape == (n,) and name != "label":
            coords[name] = ("condition", arr)
            coords[f"{name}_b"] = ("condition_b", arr)
    coords["label"] = ("condition", labels)
    coords["label_b"] = ("condition_b", labels)
    return xr.DataArray(
        square_from_vector(vecs[index]),
        dims=("condition", "condition_b"),
        coords=coords,
        attrs=provenance_attrs(kind="rdm", method=str(rdms.dissimilarity_measure or ""),
                               source="rsatoolbox"),
    )
