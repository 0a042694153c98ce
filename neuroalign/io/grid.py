"""From event-aligned responses to the condition grid.

Two grids: valence x approach (:func:`condition_grid`, outcome-aligned) and, for
the two-choice contrast task of Steinmetz et al. 2019 and the IBL, contrast level
x outcome x time since stimulus onset (:func:`contrast_grid`, stimulus-aligned),
the grid the zoo's ``contrast`` agents are probed on.


With responses aligned to the outcome and bin size ``b``, approach ``a`` is the
bin ``[-a * b, -(a - 1) * b)``: ``a = 0`` is ``[0, b)`` (the bin holding the
outcome) and ``a = K`` is ``[-K * b, -(K - 1) * b)``. For each valence the
grid takes that bin from every trial of the valence; trials become
repetitions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from neuroalign.core.contracts import (
    VALENCE_NAMES,
    condition_coords,
    contrast_condition_coords,
    contrast_level,
    contrast_levels,
    require_dims,
    valence_code,
)
from neuroalign.core.errors import DataError, ValidationError
from neuroalign.core.random import as_rng, seed_argument

__all__ = ["condition_grid", "contrast_grid", "step_bins"]


def condition_grid(
    responses: xr.DataArray,
    n_approach: int = 5,
    valences: Sequence[int | str] = (1, -1),
    balance: str = "min",
    seed: np.random.Generator | int | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> xr.DataArray:
    """Arrange outcome-aligned responses as ``(repetition, condition, unit)``.

    Parameters
    ----------
    responses
        DataArray ``(trial, unit, time)`` aligned to the outcome, with a
        ``valence`` coord on ``trial`` and bin size in ``attrs["bin_size"]``
        (else taken from the spacing of ``time``).
    n_approach
        ``K``: approach steps ``K, ..., 1, 0``.
    valences
        Valences in grid order (codes or names).
    balance
        ``"min"`` (default): every valence keeps as many trials as the rarest
        one has (the first ones in trial order, or a random subset when ``seed``
        is given); ``"pad"``: keep all trials and fill missing repetitions with NaN.
    seed
        Seed (int) or numpy Generator of the ``"min"`` subset; ``None`` keeps the
        first trials (``rng``, its former name, is still accepted with a
        DeprecationWarning).

    Returns
    -------
    xarray.DataArray
        ``float64`` with dims ``("repetition", "condition", "unit")``; condition
        coords ``valence``, ``approach``, ``label`` (valence-major, approach
        descending); unit coords copied; a 2-D ``trial_id`` coord (``-1`` for padding).

    Raises
    ------
    ValidationError
        Wrong dims, unknown ``balance``, a window that lacks an approach bin.
    DataError
        A requested valence with zero trials.
    """
    require_dims(responses, ("trial", "unit", "time"), "responses")
    if balance not in ("min", "pad"):
        raise ValidationError(f"balance: got {balance!r}; expected 'min' or 'pad'")
    if int(n_approach) < 0:
        raise ValidationError(f"n_approach: got {n_approach!r}; expected an integer >= 0")
    k_max = int(n_approach)
    times = np.asarray(responses["time"].values, dtype=np.float64)
    b = _bin_size(responses, times)
    if b <= 0:
        raise ValidationError("responses: cannot tell the bin size (attrs['bin_size'] missing)")
    approaches = list(range(k_max, -1, -1))
    time_index = []
    for a in approaches:
        centre = -a * b + b / 2
        hit = np.flatnonzero(np.abs(times - centre) < b * 1e-3)
        if hit.size == 0:
            raise ValidationError(
                f"responses: no bin centred at {centre:g} s for approach {a}; the window "
                f"must cover [{-k_max * b:g}, {b:g}) s around the outcome "
                f"(time coords span {times.min():g}..{times.max():g})"
            )
        time_index.append(int(hit[0]))
    vals = [valence_code(v) for v in valences]
    trial_valence = np.asarray(responses["valence"].values, dtype=np.int64)
    members = [np.flatnonzero(trial_valence == v) for v in vals]
    for v, m in zip(vals, members, strict=True):
        if m.size == 0:
            raise DataError(
                f"responses: valence {VALENCE_NAMES[v]} ({v:+d}) has zero trials "
                f"(valences present: {sorted(set(trial_valence.tolist()))})"
            )
    seed = seed_argument(seed, rng, "condition_grid")
    gen = as_rng(seed, "seed") if seed is not None and balance == "min" else None
    arr = responses.transpose("trial", "unit", "time").values[:, :, time_index]
    out, tid, unit_coords = _lay_out(responses, arr, members, balance, gen)
    coords: dict[str, tuple[str | tuple[str, ...], np.ndarray]] = {
        **condition_coords(vals, approaches),
        "trial_id": (("repetition", "condition"), tid), **unit_coords}
    attrs = dict(responses.attrs)
    # responses aligned to something else than the outcome say what approach counts back from
    attrs.update(n_approach=k_max, balance=balance,
                 approach_unit=attrs.get("approach_unit", "bins before the outcome"))
    return xr.DataArray(out, dims=("repetition", "condition", "unit"), coords=coords,
                        attrs=attrs, name="condition_grid")


def _lay_out(responses: xr.DataArray, arr: np.ndarray, members: list[np.ndarray],
             balance: str, rng: np.random.Generator | None
             ) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[str, np.ndarray]]]:
    """Trials of each group as repetitions: the grid values, trial ids and unit coords.

    ``arr`` is ``(trial, unit, step)``; group ``g`` (trial indices ``members[g]``)
    fills conditions ``g * n_step .. (g + 1) * n_step - 1``. ``balance="min"`` keeps as
    many trials per group as the smallest group has (the first ones, or a random
    subset drawn with ``rng``); ``"pad"`` keeps all and pads with NaN (trial id -1).
    """
    n_rep = min(m.size for m in members) if balance == "min" else max(m.size for m in members)
    if balance == "min":
        members = [np.sort(rng.choice(m, n_rep, replace=False)) if rng is not None else m[:n_rep]
                   for m in members]
    n_units, n_t = arr.shape[1], arr.shape[2]
    out = np.full((n_rep, len(members) * n_t, n_units), np.nan, dtype=np.float64)
    tid = np.full((n_rep, len(members) * n_t), -1, dtype=np.int64)
    trial_ids = (np.asarray(responses["trial_id"].values) if "trial_id" in responses.coords
                 else np.arange(responses.sizes["trial"]))
    for gi, m in enumerate(members):
        cols = slice(gi * n_t, (gi + 1) * n_t)
        out[: len(m), cols, :] = arr[m].transpose(0, 2, 1)
        tid[: len(m), cols] = trial_ids[m][:, None]
    unit_coords: dict[str, tuple[str, np.ndarray]] = {}
    for name, coord in responses.coords.items():
        if coord.dims == ("unit",):
            unit_coords[str(name)] = ("unit", coord.values)
        elif coord.dims == () and name == "session":
            unit_coords["session"] = ("unit", np.full(n_units, str(coord.values),
                                                      dtype=object).astype(str))
    return out, tid, unit_coords


def _bin_size(responses: xr.DataArray, times: np.ndarray) -> float:
    """``attrs["bin_size"]``, else the spacing of the first two bins, else 0."""
    return float(responses.attrs.get("bin_size", np.diff(times[:2])[0] if times.size > 1 else 0))


def step_bins(responses: xr.DataArray, step_s: float,
              n_steps: int | None = None) -> list[np.ndarray]:
    """The bins of each time step ``k`` after stimulus onset: the indices of the bins
    whose centres lie in ``[k * step_s, (k + 1) * step_s)``.

    Parameters
    ----------
    responses
        Stimulus-aligned responses with a ``time`` coord (bin centres, seconds).
    step_s
        Width of one step.
    n_steps
        Steps to return (default: every step the window covers completely).

    Raises
    ------
    ValidationError
        An unknown bin size, a step not covered by whole bins, or no whole step.
    """
    times = np.asarray(responses["time"].values, dtype=np.float64)
    b = _bin_size(responses, times)
    if b <= 0:
        raise ValidationError("responses: cannot tell the bin size (attrs['bin_size'] missing)")
    step = float(step_s)
    covered = int(np.floor((times.max() + b / 2) / step + 1e-9)) if times.size else 0
    k_max = covered if n_steps is None else int(n_steps)
    per_step = []
    for k in range(k_max):
        inside = np.flatnonzero((times >= k * step - 1e-9) & (times < (k + 1) * step - 1e-9))
        if inside.size == 0 or abs(inside.size * b - step) > b * 1e-3:
            raise ValidationError(
                f"responses: time step {k} ([{k * step:g}, {(k + 1) * step:g}) s after stimulus "
                f"onset) is not covered by whole bins (bin centres span "
                f"{times.min():g}..{times.max():g} s, bin size {b:g} s)"
            )
        per_step.append(inside)
    if not per_step:
        raise ValidationError(f"responses: the window (up to {times.max() + b / 2:g} s) holds no "
                              f"whole step of {step:g} s after stimulus onset")
    return per_step


def contrast_grid(
    responses: xr.DataArray,
    by: str = "diff",
    levels: Sequence[float] | None = None,
    valences: Sequence[int | str] = (1, -1),
    step_s: float = 0.1,
    n_steps: int | None = None,
    balance: str = "min",
    seed: np.random.Generator | int | None = None,
) -> xr.DataArray:
    """Arrange stimulus-aligned responses of a two-choice contrast session as a grid.

    Conditions are contrast level x outcome x time step: the level of each trial
    is :func:`neuroalign.core.contracts.contrast_level` of its contrasts, the
    outcome its feedback (+1 water, -1 white noise), and step ``k`` the mean of
    the bins whose centres lie in ``[k * step_s, (k + 1) * step_s)`` after stimulus
    onset. Labels are those of :func:`neuroalign.zoo.probe` on the ``contrast``
    task, so a session and an agent align by label.

    Parameters
    ----------
    responses
        DataArray ``(trial, unit, time)`` aligned to stimulus onset (``time``: bin
        centres, seconds), with ``contrast_left``, ``contrast_right`` and
        ``feedback_type`` (or ``valence``) coords on ``trial``.
    by
        ``"diff"``: signed contrast difference ``c_right - c_left`` (9 levels);
        ``"side"``: its sign (3 levels), for sessions too short to fill every
        difference with both outcomes.
    levels
        Levels to keep, in grid order (default: every level of ``by``).
    valences
        Outcomes in grid order.
    step_s
        Width of one time step (the zoo's task step: 0.1 s).
    n_steps
        Steps to build (default: every step the window covers completely).
    balance, seed
        As in :func:`condition_grid`: ``"min"`` keeps as many trials per
        (level, outcome) cell as the rarest cell has, ``"pad"`` keeps all and
        fills with NaN.

    Returns
    -------
    xarray.DataArray
        ``float64`` ``(repetition, condition, unit)``; condition coords
        ``contrast``, ``valence``, ``time_s``, ``label``; a 2-D ``trial_id`` coord
        (``-1`` for padding); unit coords copied (a scalar ``session`` moves onto
        ``unit``).

    Raises
    ------
    ValidationError
        Wrong dims, missing trial coords, unknown ``by``/``balance``/level, or a
        window that does not cover the requested steps.
    DataError
        A (level, outcome) cell with zero trials (the message names it and the
        counts of every cell).
    """
    require_dims(responses, ("trial", "unit", "time"), "responses")
    if balance not in ("min", "pad"):
        raise ValidationError(f"balance: got {balance!r}; expected 'min' or 'pad'")
    if float(step_s) <= 0:
        raise ValidationError(f"step_s: got {step_s!r}; expected a positive width in seconds")
    for name in ("contrast_left", "contrast_right"):
        if name not in responses.coords:
            raise ValidationError(f"responses: no {name!r} coord on 'trial'; a contrast grid "
                                  "needs contrast_left, contrast_right and feedback_type")
    outcome_name = "feedback_type" if "feedback_type" in responses.coords else "valence"
    if outcome_name not in responses.coords:
        raise ValidationError("responses: no 'feedback_type' (or 'valence') coord on 'trial'")
    all_levels = contrast_levels(by)
    lev = all_levels if levels is None else [float(v) for v in levels]
    bad = [v for v in lev if v not in all_levels]
    if bad or not lev:
        raise ValidationError(f"levels: got {list(lev)}; expected values from {all_levels}")
    step = float(step_s)
    per_step = step_bins(responses, step, n_steps)
    vals = [valence_code(v) for v in valences]
    trial_level = contrast_level(responses["contrast_left"].values,
                                 responses["contrast_right"].values, by)
    trial_val = np.asarray(responses[outcome_name].values, dtype=np.int64)
    members = [np.flatnonzero((trial_level == lv) & (trial_val == v)) for lv in lev for v in vals]
    counts = {f"{lv:+.2f}/{VALENCE_NAMES[v]}": int(np.sum((trial_level == lv) & (trial_val == v)))
              for lv in lev for v in vals}
    empty = [key for key, n in counts.items() if n == 0]
    if empty:
        raise DataError(
            f"responses: contrast cells {empty} have zero trials (trials per cell: {counts}); "
            "pass by='side' or fewer levels"
        )
    arr = responses.transpose("trial", "unit", "time").values.astype(np.float64)
    binned = np.stack([arr[:, :, idx].mean(axis=2) for idx in per_step], axis=2)
    gen = as_rng(seed, "seed") if seed is not None and balance == "min" else None
    out, tid, unit_coords = _lay_out(responses, binned, members, balance, gen)
    coords: dict[str, tuple[str | tuple[str, ...], np.ndarray]] = {
        **contrast_condition_coords(lev, vals, [round(k * step, 2)
                                                for k in range(len(per_step))], by),
        "trial_id": (("repetition", "condition"), tid), **unit_coords}
    attrs = dict(responses.attrs)
    attrs.update(contrast_by=by, balance=balance, step_s=step,
                 time_unit="seconds after stimulus onset (bin start)",
                 trials_per_cell=str(counts))
    return xr.DataArray(out, dims=("repetition", "condition", "unit"), coords=coords,
                        attrs=attrs, name="contrast_grid")
