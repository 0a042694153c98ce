"""From event-aligned responses to the condition grid (valence x approach).

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

from neuroalign.core.contracts import VALENCE_NAMES, condition_coords, require_dims, valence_code
from neuroalign.core.errors import DataError, ValidationError
from neuroalign.core.random import as_rng, seed_argument

__all__ = ["condition_grid"]


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
    b = float(responses.attrs.get("bin_size", np.diff(times[:2])[0] if times.size > 1 else 0))
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
    trial_ids = (np.asarray(responses["trial_id"].values) if "trial_id" in responses.coords
                 else np.arange(responses.sizes["trial"]))
    members = [np.flatnonzero(trial_valence == v) for v in vals]
    for v, m in zip(vals, members, strict=True):
        if m.size == 0:
            raise DataError(
                f"responses: valence {VALENCE_NAMES[v]} ({v:+d}) has zero trials "
                f"(valences present: {sorted(set(trial_valence.tolist()))})"
            )
    n_rep = min(m.size for m in members) if balance == "min" else max(m.size for m in members)
    seed = seed_argument(seed, rng, "condition_grid")
    if balance == "min":
        gen = as_rng(seed, "seed") if seed is not None else None
        members = [np.sort(gen.choice(m, n_rep, replace=False)) if gen is not None else m[:n_rep]
                   for m in members]
    arr = responses.transpose("trial", "unit", "time").values
    n_units = responses.sizes["unit"]
    out = np.full((n_rep, len(vals) * len(approaches), n_units), np.nan, dtype=np.float64)
    tid = np.full((n_rep, len(vals) * len(approaches)), -1, dtype=np.int64)
    for vi, m in enumerate(members):
        block = arr[m][:, :, time_index]  # (n_m, unit, approach)
        cols = slice(vi * len(approaches), (vi + 1) * len(approaches))
        out[: len(m), cols, :] = block.transpose(0, 2, 1)
        tid[: len(m), cols] = trial_ids[m][:, None]
    coords = condition_coords(vals, approaches)
    coords["trial_id"] = (("repetition", "condition"), tid)
    for name, coord in responses.coords.items():
        if coord.dims == ("unit",):
            coords[name] = ("unit", coord.values)
        elif coord.dims == () and name == "session":
            coords[name] = ("unit", np.full(n_units, str(coord.values), dtype=object).astype(str))
    attrs = dict(responses.attrs)
    # responses aligned to something else than the outcome say what approach counts back from
    attrs.update(n_approach=k_max, balance=balance,
                 approach_unit=attrs.get("approach_unit", "bins before the outcome"))
    return xr.DataArray(out, dims=("repetition", "condition", "unit"), coords=coords,
                        attrs=attrs, name="condition_grid")
