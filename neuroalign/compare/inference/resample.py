"""Resampling primitives: a resample is an index array, never a rebuilt object.

Every function takes an explicit ``rng`` (a :class:`numpy.random.Generator` or a
seed); nothing here touches the global random state.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np

from neuroalign.compare.inference._validate import as_rng, check_choice, check_positive_int
from neuroalign.core.errors import InferenceError, ValidationError

__all__ = [
    "PermutationIndices",
    "bootstrap_indices",
    "index_counts",
    "kfold_indices",
    "permutation_indices",
    "two_level_bootstrap_indices",
]

#: Largest n for which ``exact="auto"`` may enumerate all n! permutations.
MAX_EXACT_N = 9


def bootstrap_indices(
    n: int,
    n_boot: int,
    rng: np.random.Generator | int | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Draw bootstrap resamples of ``n`` items as one index array.

    Parameters
    ----------
    n : int
        Number of items (conditions, repetitions, subjects).
    n_boot : int
        Number of resamples.
    rng : Generator or int or None
        Random generator or seed.
    groups : array of shape (n,), optional
        Stratum label of each item. When given, every resample keeps the group
        sizes: slot ``j`` of each resample holds an item of the group of ``j``
        (so ``groups[idx] == groups`` row by row).

    Returns
    -------
    numpy.ndarray of int, shape (n_boot, n)
        Row ``b`` is the ``b``-th resample (indices drawn with replacement).
    """
    n = check_positive_int(n, "n")
    n_boot = check_positive_int(n_boot, "n_boot")
    gen = as_rng(rng)
    if groups is None:
        return gen.integers(0, n, size=(n_boot, n))
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValidationError(f"groups must have shape ({n},); got {groups.shape}")
    out = np.empty((n_boot, n), dtype=np.int64)
    for label in np.unique(groups):
        members = np.flatnonzero(groups == label)
        draw = gen.integers(0, members.size, size=(n_boot, members.size))
        out[:, members] = members[draw]
    return out


def two_level_bootstrap_indices(
    n_outer: int,
    n_inner: int | np.ndarray,
    n_boot: int,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical bootstrap: resample outer units (subjects), then inner ones (repetitions).

    Parameters
    ----------
    n_outer : int
        Number of outer units (subjects, sessions).
    n_inner : int or array of shape (n_outer,)
        Number of inner units (repetitions) of each outer unit.
    n_boot : int
        Number of resamples.
    rng : Generator or int or None
        Random generator or seed.

    Returns
    -------
    outer : numpy.ndarray of int, shape (n_boot, n_outer)
        Resampled outer units.
    inner : numpy.ndarray of int, shape (n_boot, n_outer, max(n_inner))
        ``inner[b, j]`` resamples the inner units *of the outer unit* ``outer[b, j]``;
        entries beyond that unit's own count are ``-1``.
    """
    n_outer = check_positive_int(n_outer, "n_outer")
    n_boot = check_positive_int(n_boot, "n_boot")
    sizes = np.broadcast_to(np.asarray(n_inner, dtype=np.int64), (n_outer,))
    if np.any(sizes < 1):
        raise ValidationError(f"n_inner must be >= 1 for every outer unit; got {sizes.tolist()}")
    gen = as_rng(rng)
    outer = gen.integers(0, n_outer, size=(n_boot, n_outer))
    width = int(sizes.max())
    chosen = sizes[outer]  # (n_boot, n_outer)
    inner = np.floor(gen.random((n_boot, n_outer, width)) * chosen[..., None]).astype(np.int64)
    inner[np.arange(width)[None, None, :] >= chosen[..., None]] = -1
    return outer, inner


class PermutationIndices(NamedTuple):
    """Permutations as rows of an index array, and whether they are all n! of them."""

    indices: np.ndarray
    exact: bool


def permutation_indices(
    n: int,
    n_perm: int,
    rng: np.random.Generator | int | None = None,
    exact: bool | str = "auto",
) -> PermutationIndices:
    """Permutations of ``n`` labels for a permutation test.

    Parameters
    ----------
    n : int
        Number of exchangeable labels (conditions).
    n_perm : int
        Number of random permutations (Monte Carlo).
    rng : Generator or int or None
        Random generator or seed (unused for exact enumeration).
    exact : {"auto", True, False}
        ``"auto"`` enumerates all ``n!`` permutations when ``n! <= n_perm``;
        ``True`` always enumerates (refused above n = 9); ``False`` always draws.

    Returns
    -------
    PermutationIndices
        ``indices`` of shape (n_resamples, n) and the flag ``exact``. Exact sets
        contain every permutation once, the identity first; the p-value is then the
        fraction of them at least as extreme as the observation (see
        :func:`~neuroalign.compare.inference.stats.p_value`). Monte Carlo sets are
        ``n_perm`` independent uniform permutations, to be used with
        ``p = (1 + #{null >= observed}) / (1 + n_perm)``.
    """
    n = check_positive_int(n, "n")
    n_perm = check_positive_int(n_perm, "n_perm")
    check_choice(exact, "exact", ["auto", True, False])
    n_all = math.factorial(n)
    enumerate_all = exact is True or (exact == "auto" and n_all <= n_perm)
    if enumerate_all:
        if n > MAX_EXACT_N:
            raise InferenceError(
                f"exact permutation test asked for n={n} labels: {n_all} permutations "
                f"is too many to enumerate (limit n <= {MAX_EXACT_N}); use exact=False"
            )
        perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
        return PermutationIndices(perms, True)
    gen = as_rng(rng)
    perms = gen.permuted(np.broadcast_to(np.arange(n), (n_perm, n)), axis=1)
    return PermutationIndices(perms, False)


def index_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` items occurs in each resample.

    Parameters
    ----------
    indices : array of int, shape (..., k)
        Resamples (negative entries are ignored, as padding).
    n : int
        Number of items.

    Returns
    -------
    numpy.ndarray of float, shape (..., n)
    """
    idx = np.asarray(indices)
    flat = idx.reshape(-1, idx.shape[-1])
    rows = np.broadcast_to(np.arange(flat.shape[0])[:, None], flat.shape)
    keep = flat >= 0
    # one bincount over (row, item) cells: exact integer counts, no per-row loop
    cells = rows[keep] * n + flat[keep]
    counts = np.bincount(cells, minlength=flat.shape[0] * n).astype(np.float64)
    return counts.reshape(*idx.shape[:-1], n)


def kfold_indices(
    n: int,
    n_folds: int,
    rng: np.random.Generator | int | None = None,
    shuffle: bool = True,
    groups: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K-fold split of ``n`` items (conditions or repetitions) into train/test indices.

    Parameters
    ----------
    n : int
        Number of items.
    n_folds : int
        Number of folds, ``2 <= n_folds <= n`` (``n_folds == n`` is leave-one-out).
    rng : Generator or int or None
        Random generator or seed for the shuffle.
    shuffle : bool
        Shuffle items before splitting (otherwise contiguous folds in order).
    groups : array of shape (n,), optional
        Group label per item; whole groups go to the same fold (e.g. all trials of
        one run, for crossnobis). ``n_folds`` then counts groups.

    Returns
    -------
    list of (train, test)
        Sorted index arrays; every item is in exactly one test fold.
    """
    n = check_positive_int(n, "n")
    n_folds = check_positive_int(n_folds, "n_folds", minimum=2)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValidationError(f"groups must have shape ({n},); got {groups.shape}")
        labels, unit_of = np.unique(groups, return_inverse=True)
        n_units = labels.size
    else:
        unit_of = np.arange(n)
        n_units = n
    if n_folds > n_units:
        what = "groups" if groups is not None else "items"
        raise InferenceError(f"n_folds={n_folds} is more than the {n_units} {what} to split")
    order = as_rng(rng).permutation(n_units) if shuffle else np.arange(n_units)
    fold_of_unit = np.empty(n_units, dtype=np.int64)
    for fold, chunk in enumerate(np.array_split(order, n_folds)):
        fold_of_unit[chunk] = fold
    fold_of_item = fold_of_unit[unit_of]
    return [
        (np.flatnonzero(fold_of_item != f), np.flatnonzero(fold_of_item == f))
        for f in range(n_folds)
    ]
