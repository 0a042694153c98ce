"""Prepared sides: geometry on each side's own grid, degenerate inputs as noted NaN."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neuroalign.core.config import MeasureOptions
from neuroalign.core.contracts import condition_coords
from neuroalign.geometry import valence_geometry
from neuroalign.pipeline.cell import compute_cell, derive_seed, score_cell
from neuroalign.pipeline.sides import prepare_side

DIMS = ("repetition", "condition", "unit")


def _grid(n_rep: int, n_units: int, k: int, seed: int, wall: int = -1) -> xr.DataArray:
    """Patterns on a grid of approaches 0..k; ``wall`` valence jumps at the outcome."""
    rng = np.random.default_rng(seed)
    coords = condition_coords((1, -1), list(range(k + 1)))
    n_cond = 2 * (k + 1)
    signal = np.zeros((1, n_cond, n_units))
    direction = rng.normal(size=n_units)
    for block, valence in enumerate((1, -1)):
        steps = np.full(k, 0.3)
        if valence == wall:
            steps[0] = 2.5  # the final step (approach 1 -> 0) is a wall
        path = np.concatenate([[0.0], np.cumsum(steps[::-1])])  # approach k .. 0
        cols = np.arange(block * (k + 1), (block + 1) * (k + 1))
        signal[0, cols] = path[::-1, None] * direction + rng.normal(scale=0.2,
                                                                     size=(k + 1, n_units))
    return xr.DataArray(signal + rng.normal(size=(n_rep, n_cond, n_units)), dims=DIMS,
                        coords=coords)


KW = {"n_boot": 40, "n_perm": 19, "seed": 3, "meta": {}}


def test_region_geometry_does_not_depend_on_its_partner():
    """A region with 10 approach steps against agents with 5: same numbers as on its own."""
    brain = _grid(25, 30, 10, 0, wall=1)
    agents = [_grid(6, 12, 5, s) for s in (1, 2)]
    ref = valence_geometry(brain, n_boot=40, n_perm=19, seed=derive_seed(3, "geometry"))
    for agent in agents:
        rows = compute_cell(agent, brain, ["rsa", "geometry"], **KW)
        by = {(r["measure"], r["side"]): r for r in rows}
        for name in ("A", "S_reward", "S_danger"):
            row = by[(name, "brain")]
            for col, val in (("estimate", ref[name].estimate), ("ci_low", ref[name].ci_low),
                             ("ci_high", ref[name].ci_high)):
                assert abs(row[col] - val) < 1e-12
            assert row["n_conditions"] == 22  # the region's own full grid
        rsa = by[("rsa", "pair")]
        assert rsa["n_conditions"] == 12
        assert "grids differ: compared the 12 shared conditions" in rsa["note"]
        assert "brain-only" in rsa["note"] and "reward:10" in rsa["note"]


def test_prepared_sides_give_the_same_rows_as_compute_cell():
    brain, model = _grid(20, 15, 5, 4), _grid(6, 10, 5, 5)
    opts = MeasureOptions()
    settings = {"n_boot": 40, "n_perm": 19, "seed": 3, "options": opts,
                "measures": ["rsa", "cka", "geometry"]}
    b, m = prepare_side(brain, "brain", **settings), prepare_side(model, "model", **settings)
    once = score_cell(m, b, ["rsa", "cka", "geometry"], meta={})
    again = compute_cell(model, brain, ["rsa", "cka", "geometry"], options=opts, **KW)
    for x, y in zip(once, again, strict=True):
        assert x["measure"] == y["measure"]
        np.testing.assert_equal(x["estimate"], y["estimate"])
        np.testing.assert_equal(x["ci_low"], y["ci_low"])


def test_one_unit_region_has_no_cka_or_shape():
    brain = _grid(20, 1, 5, 6)
    rows = compute_cell(_grid(6, 10, 5, 7), brain, ["cka", "shape"], **KW)
    for row in rows:
        assert np.isnan(row["estimate"]) and np.isnan(row["p_value"])
        assert np.isnan(row["ceiling_low"]) and np.isnan(row["ceiling_high"])
        assert "brain side has 1 unit(s)" in row["note"]


def test_two_repetitions_give_noted_nan_geometry():
    rows = compute_cell(_grid(6, 10, 5, 8), _grid(2, 20, 5, 9, wall=-1), ["geometry"], **KW)
    a = next(r for r in rows if r["measure"] == "A" and r["side"] == "brain")
    assert np.isnan(a["estimate"]) and np.isnan(a["ci_low"])
    assert "at least 3" in a["note"]


@pytest.mark.parametrize("side", ["brain", "model"])
def test_an_infinite_value_makes_every_measure_of_that_side_undefined(side):
    brain, model = _grid(20, 15, 5, 10), _grid(6, 10, 5, 11)
    target = brain if side == "brain" else model
    values = target.values.copy()
    values[1, 3, 2] = np.inf
    target = target.copy(data=values)
    pair = (model, target) if side == "brain" else (target, brain)
    rows = compute_cell(*pair, ["rsa", "cka", "shape", "geometry"], **KW)
    for row in rows:
        if row["kind"] == "geometry" and row["side"] != side:
            assert np.isfinite(row["estimate"]) or row["note"]
            continue
        assert np.isnan(row["estimate"]), row["measure"]
        assert "infinite value" in row["note"] and "'reward:2'" in row["note"]


def test_every_interval_contains_its_estimate_or_says_why():
    rows = compute_cell(_grid(6, 10, 5, 12), _grid(20, 15, 5, 13), ["rsa", "cka", "shape",
                                                                     "geometry"], **KW)
    for row in rows:
        est, low, high = row["estimate"], row["ci_low"], row["ci_high"]
        if np.isfinite(low) and np.isfinite(high) and not low <= est <= high:
            assert "excludes the estimate" in row["note"], row["measure"]


def test_negative_split_half_reliability_gives_no_ceiling():
    """Pure noise: the split-half reliability is not positive; no inverted ceiling."""
    rng = np.random.default_rng(14)
    coords = condition_coords((1, -1), list(range(6)))
    notes = []
    for _ in range(10):
        noise = xr.DataArray(rng.normal(size=(8, 12, 3)), dims=DIMS, coords=coords)
        (row,) = compute_cell(_grid(6, 10, 5, 15), noise, ["rsa"], n_boot=0, n_perm=0,
                              seed=0, meta={})
        low, high = row["ceiling_low"], row["ceiling_high"]
        assert (np.isnan(low) and np.isnan(high)) or 0 < low <= high
        notes.append(row["note"] or "")
    assert any("split-half reliability" in n for n in notes)


# --- the degenerate rules of neuroalign.core.degenerate, applied by every measure

ALL = ["rsa", "cka", "shape", "geometry"]


def _undefined(rows: list[dict], side: str, note: str) -> None:
    """Every pair row and every geometry row of ``side`` is NaN with ``note``."""
    checked = 0
    for row in rows:
        if row["kind"] == "geometry" and row["side"] != side:
            continue
        assert np.isnan(row["estimate"]) and np.isnan(row["ci_low"]), row["measure"]
        assert note in row["note"], (row["measure"], row["note"])
        checked += 1
    assert checked >= 4


def test_one_unit_region_or_layer_gives_no_number():
    model, brain = _grid(1, 10, 5, 20).isel(repetition=0), _grid(20, 15, 5, 21, wall=1)
    _undefined(compute_cell(model, _grid(20, 1, 5, 22), ALL, **KW), "brain",
               "brain side has 1 unit(s); every measure needs at least 2")
    _undefined(compute_cell(model.isel(unit=[3]), brain, ALL, **KW), "model",
               "model side has 1 unit(s); every measure needs at least 2")
    # a deterministic layer (one exact pattern per condition) with 10 units is measured
    rows = compute_cell(model, brain, ALL, **KW)
    assert all(np.isfinite(r["estimate"]) for r in rows if r["measure"] in ("rsa", "cka"))


@pytest.mark.parametrize("n_rep", [1, 2])
def test_fewer_than_three_repetitions_give_no_number(n_rep: int):
    model = _grid(1, 10, 5, 23).isel(repetition=0)
    rows = compute_cell(model, _grid(n_rep, 15, 5, 24, wall=1), ALL, **KW)
    _undefined(rows, "brain", f"brain side has {n_rep} repetition(s) of condition "
               "'reward:5'; cross-validated RDMs and intervals need at least 3 per condition")


def test_values_near_1e300_give_the_numbers_of_the_unscaled_values():
    model, brain = _grid(6, 10, 5, 25), _grid(20, 15, 5, 26, wall=1)
    plain = {r["measure"]: r for r in compute_cell(model, brain, ALL, **KW)}
    huge = {r["measure"]: r for r in compute_cell(model * 1e300, brain * 3e299, ALL, **KW)}
    assert set(plain) == set(huge)
    for name, row in plain.items():
        factor = 1.0
        if name.startswith("path_length"):  # a length keeps its units
            factor = 1e300 if name.endswith(".model") else 3e299
        for col in ("estimate", "ci_low", "ci_high"):
            np.testing.assert_allclose(huge[name][col], factor * row[col], rtol=1e-9,
                                       err_msg=f"{name} {col}")
