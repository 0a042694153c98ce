"""compute_cell: condition alignment, row layout, determinism (measures faked or real)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroalign.core.contracts import condition_coords
from neuroalign.core.errors import ConfigError, ValidationError
from neuroalign.core.results import Estimate
from neuroalign.pipeline import cell as cell_mod
from neuroalign.pipeline.cell import ROW_COLUMNS, align_conditions, compute_cell, derive_seed
from neuroalign.pipeline.measures import Measure, Score


def _patterns(n_rep: int | None, n_units: int, seed: int, approaches=range(6)) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    coords = condition_coords((1, -1), list(approaches))
    n_cond = len(coords["label"][1])
    if n_rep is None:
        return xr.DataArray(rng.normal(size=(n_cond, n_units)), dims=("condition", "unit"),
                            coords=coords)
    return xr.DataArray(rng.normal(size=(n_rep, n_cond, n_units)),
                        dims=("repetition", "condition", "unit"), coords=coords)


def _fake_measure(model, brain, labels, *, n_boot, n_perm, seed, options):
    """Stands in for a compare measure: a deterministic function of its inputs and seed."""
    rng = np.random.default_rng(seed)
    value = float(model.aligned(labels).mean() - brain.aligned(labels).mean()) + rng.normal()
    return Score(Estimate(value, ci_low=value - 1, ci_high=value + 1, level=0.95, boot_se=0.5,
                          p_value=0.5, n=brain.n_rep, method="fake"))


def _fake_spec(name):
    return Measure(name, "similarity", True, score=_fake_measure)


@pytest.fixture
def fake_measures(monkeypatch):
    monkeypatch.setitem(cell_mod.MEASURE_SPECS, "fake", _fake_spec("fake"))


def test_align_reorders_model_to_brain_order_and_keeps_shared():
    brain = _patterns(4, 3, 0)
    model = _patterns(None, 2, 1, approaches=range(3))  # approach 0..2 only
    model = model.isel(condition=[5, 4, 3, 2, 1, 0])  # reversed order
    m, b = align_conditions(model, brain)
    assert m.dims == ("repetition", "condition", "unit") and m.sizes["repetition"] == 1
    expected = ["reward:2", "reward:1", "reward:0", "danger:2", "danger:1", "danger:0"]
    assert m["label"].values.tolist() == expected
    assert b["label"].values.tolist() == expected
    # the values travel with their labels
    ref = model.sel(condition=model["label"] == "danger:1").values[0]
    np.testing.assert_array_equal(m.sel(condition=m["label"] == "danger:1").values[0, 0], ref)


def test_align_builds_labels_from_valence_and_approach():
    brain = _patterns(3, 3, 0).drop_vars("label")
    model = _patterns(2, 3, 1)
    _, b = align_conditions(model, brain)
    assert b["label"].values.tolist() == model["label"].values.tolist()


def test_align_reads_labels_from_a_condition_coord_like_every_part():
    brain = _patterns(3, 3, 0)
    labels = brain["label"].values
    bare = brain.drop_vars(["label", "valence", "approach"]).assign_coords(condition=labels)
    model = _patterns(2, 3, 1).isel(condition=slice(None, None, -1))
    m, b = align_conditions(model, bare)
    assert b["label"].values.tolist() == m["label"].values.tolist() == labels.tolist()
    with pytest.raises(ValidationError, match=r"^brain patterns: got dims .* no 'label', "):
        align_conditions(model, brain.drop_vars(["label", "valence", "approach"]))


def test_align_refuses_too_few_shared_labels_listing_both():
    brain = _patterns(3, 3, 0)
    model = brain.isel(repetition=0).assign_coords(
        label=("condition", [f"reward:{i + 10}" for i in range(12)]))
    with pytest.raises(ValidationError, match=r"share 0 condition label\(s\).*model labels"):
        align_conditions(model, brain)


def test_align_requires_repetitions_on_brain():
    with pytest.raises(ValidationError, match="brain patterns: dims"):
        align_conditions(_patterns(2, 3, 1), _patterns(None, 3, 0))


def test_rows_carry_meta_and_every_column(fake_measures):
    meta = {"agent": "dqn", "task": "pavlovian", "seed": 3, "layer": "trunk.0",
            "session": "s1", "region": "BLA", "note": "x"}
    rows = compute_cell(_patterns(2, 4, 1), _patterns(5, 3, 0), ["fake"], n_boot=3, n_perm=2,
                        seed=11, meta=meta)
    assert len(rows) == 1
    row = rows[0]
    assert list(row)[: len(ROW_COLUMNS)] == list(ROW_COLUMNS)
    assert row["note"] == "x" and row["family"] is None
    assert (row["agent"], row["seed"], row["region"], row["rng_seed"]) == ("dqn", 3, "BLA", 11)
    assert (row["n_conditions"], row["n_units_model"], row["n_units_brain"]) == (12, 4, 3)
    assert (row["n_rep_model"], row["n_rep_brain"], row["n_boot"], row["n_perm"]) == (2, 5, 3, 2)


def test_each_measure_gets_its_own_stable_stream(fake_measures, monkeypatch):
    model, brain = _patterns(2, 4, 1), _patterns(5, 3, 0)
    kwargs = {"n_boot": 1, "n_perm": 1, "meta": {}}
    a = compute_cell(model, brain, ["fake"], seed=5, **kwargs)
    b = compute_cell(model, brain, ["fake"], seed=5, **kwargs)
    c = compute_cell(model, brain, ["fake"], seed=6, **kwargs)
    assert a == b and a[0]["estimate"] != c[0]["estimate"]
    monkeypatch.setitem(cell_mod.MEASURE_SPECS, "other", _fake_spec("other"))
    both = compute_cell(model, brain, ["other", "fake"], seed=5, **kwargs)
    assert both[1]["estimate"] == a[0]["estimate"]  # adding a measure changes nothing else
    assert derive_seed(5, "fake") == derive_seed(5, "fake") != derive_seed(5, "other")


@pytest.mark.parametrize(
    ("measures", "kwargs", "error", "match"),
    [
        (["rsa", "nope"], {}, ValidationError,
         r"measures: unknown \['nope'\]; expected names from"),
        (["rsa"], {"n_boot": -1}, ValidationError, "n_boot: got -1"),
        (["rsa"], {"options": {"rsa_method": "kendall"}}, ConfigError,
         r"^options: rsa_method: got 'kendall'; expected 'spearman' or 'pearson'$"),
    ],
)
def test_bad_arguments(measures, kwargs, error, match):
    args = {"n_boot": 2, "n_perm": 2, "seed": 0, "meta": {}} | kwargs
    with pytest.raises(error, match=match):
        compute_cell(_patterns(2, 4, 1), _patterns(5, 3, 0), measures, **args)


# --- the real measures, against independent references ---------------------------------


def _signal_pair(seed: int = 0):
    """Brain (20 reps x 12 conditions x 30 units) and a model sharing its signal."""
    rng = np.random.default_rng(seed)
    coords = condition_coords((1, -1), range(6))
    signal = np.cumsum(rng.normal(size=(1, 12, 30)), axis=1)
    dims = ("repetition", "condition", "unit")
    brain = xr.DataArray(signal + rng.normal(size=(20, 12, 30)), dims=dims, coords=coords)
    model = xr.DataArray(signal[..., :20] + rng.normal(size=(8, 12, 20)), dims=dims,
                         coords=coords)
    return model, brain


def _crossnobis_loop(x: np.ndarray) -> np.ndarray:
    """Leave-one-repetition-out cross-validated squared distances, a plain loop."""
    n_rep, n_cond, _ = x.shape
    out = np.zeros((n_cond, n_cond))
    for i in range(n_cond):
        for j in range(n_cond):
            d = x[:, i] - x[:, j]
            total = sum(d[k] @ d[m] for k in range(n_rep) for m in range(n_rep) if k != m)
            out[i, j] = total / (n_rep * (n_rep - 1))
    return out


def _hsic_unbiased(k: np.ndarray, g: np.ndarray) -> float:
    """Song et al. (2012) unbiased HSIC, written from the paper."""
    n = k.shape[0]
    kt, gt = k - np.diag(np.diag(k)), g - np.diag(np.diag(g))
    one = np.ones(n)
    term = np.trace(kt @ gt) + (one @ kt @ one) * (one @ gt @ one) / ((n - 1) * (n - 2))
    term -= 2 / (n - 2) * (one @ kt @ gt @ one)
    return term / (n * (n - 3))


def test_rsa_equals_spearman_of_crossnobis_rdms():
    from scipy.stats import spearmanr

    model, brain = _signal_pair()
    (row,) = compute_cell(model, brain, ["rsa"], n_boot=0, n_perm=0, seed=0, meta={})
    iu = np.triu_indices(12, 1)
    ref = spearmanr(_crossnobis_loop(model.values)[iu], _crossnobis_loop(brain.values)[iu])
    assert row["estimate"] == pytest.approx(ref.statistic, abs=1e-10)
    assert row["measure"] == "rsa" and row["higher_is_similar"] is True
    assert row["ceiling_low"] <= row["ceiling_high"] <= 1.0


def test_cka_equals_debiased_formula_on_condition_means():
    model, brain = _signal_pair()
    (row,) = compute_cell(model, brain, ["cka"], n_boot=0, n_perm=0, seed=0, meta={})
    x, y = model.mean("repetition").values, brain.mean("repetition").values
    k, g = x @ x.T, y @ y.T
    ref = _hsic_unbiased(k, g) / np.sqrt(_hsic_unbiased(k, k) * _hsic_unbiased(g, g))
    assert row["estimate"] == pytest.approx(ref, abs=1e-10)


def test_identical_sides_are_maximally_similar():
    _, brain = _signal_pair()
    rows = compute_cell(brain, brain, ["rsa", "cka", "shape"], n_boot=20, n_perm=19, seed=0,
                        meta={})
    est = {r["measure"]: r for r in rows}
    assert est["rsa"]["estimate"] == pytest.approx(1.0)
    assert est["cka"]["estimate"] == pytest.approx(1.0)
    assert est["shape"]["estimate"] == pytest.approx(0.0, abs=1e-6)
    assert est["shape"]["ceiling_low"] <= est["shape"]["ceiling_high"]
    assert all(r["p_value"] == pytest.approx(1 / 20) for r in rows)  # nothing beats identity


def test_geometry_rows_are_valence_geometry_of_each_side():
    from neuroalign.geometry import valence_geometry

    model, brain = _signal_pair()
    meta = {"agent": "dqn", "task": "pavlovian", "seed": 1, "layer": "trunk.0",
            "session": "s1", "region": "BLA"}
    rows = compute_cell(model, brain, ["geometry"], n_boot=30, n_perm=19, seed=4, meta=meta)
    by = {(r["measure"], r["side"]): r for r in rows}
    assert len(by) == len(rows)  # one row per statistic and side, the side a column
    for side, da in (("model", model), ("brain", brain)):
        ref = valence_geometry(da, n_boot=30, n_perm=19, seed=derive_seed(4, "geometry"))
        for name in ("A", "S_reward", "S_danger"):
            row = by[(name, side)]
            assert row["kind"] == "geometry" and row["higher_is_similar"] is None
            assert row["estimate"] == pytest.approx(ref[name].estimate)
            assert (row["ci_low"], row["ci_high"]) == pytest.approx(
                (ref[name].ci_low, ref[name].ci_high))
            assert row["boot_se"] == pytest.approx(ref[name].boot_se)
            assert row["level"] == 0.95 and row["n_resamples"] == ref[name].n_resamples
            # keyed by its own side only: a region's geometry names no agent
            own = ("agent", "task", "seed", "layer") if side == "model" else ("session",
                                                                               "region")
            other = ("session", "region") if side == "model" else ("agent", "task", "layer")
            assert all(row[k] == meta[k] for k in own)
            assert all(row[k] is None for k in other)


def test_undefined_geometry_is_a_noted_nan_row():
    _, brain = _signal_pair()
    flat = brain.copy(data=np.zeros(brain.shape))  # no change along the approach
    rows = compute_cell(brain, flat, ["geometry"], n_boot=0, n_perm=0, seed=0, meta={})
    a = next(r for r in rows if r["measure"] == "A" and r["side"] == "brain")
    assert np.isnan(a["estimate"]) and "path length" in a["note"]
    assert np.isfinite(next(r for r in rows
                            if r["measure"] == "A" and r["side"] == "model")["estimate"])


def test_one_measure_at_a_time_equals_all_at_once():
    """A distributed batch computes a cell's measures separately; the numbers must agree."""
    model, brain = _signal_pair(1)
    kw = {"n_boot": 20, "n_perm": 19, "seed": 9, "meta": {"agent": "a"}}
    together = compute_cell(model, brain, ["rsa", "cka", "shape", "geometry"], **kw)
    apart = [r for m in ("rsa", "cka", "shape", "geometry")
             for r in compute_cell(model, brain, [m], **kw)]
    assert pd.DataFrame(together).equals(pd.DataFrame(apart))


def test_region_made_from_an_agent_ranks_that_agent_first():
    """A region simulated from one agent's activations (plus noise) matches it best."""
    from pipeline_fakes import fake_probe

    from neuroalign.simulate import patterns_from_activations

    walls = fake_probe("walls", "pavlovian", 0)["trunk"]
    funnels = fake_probe("funnels", "pavlovian", 0)["trunk"]
    region = patterns_from_activations(walls, n_units=30, n_repetitions=20, noise=0.3, seed=1)
    kw = {"n_boot": 0, "n_perm": 0, "seed": 0, "meta": {}}
    for measure in ("rsa", "cka"):
        (own,) = compute_cell(walls, region, [measure], **kw)
        (other,) = compute_cell(funnels, region, [measure], **kw)
        assert own["estimate"] > other["estimate"] + 0.2, measure


def test_a_silent_layer_gives_noted_nan_rows_not_an_error():
    _, brain = _signal_pair()
    silent = brain.copy(data=np.ones(brain.shape))  # every condition identical
    rows = compute_cell(silent, brain, ["rsa", "cka"], n_boot=10, n_perm=19, seed=0, meta={})
    for row in rows:
        assert np.isnan(row["estimate"]) and row["note"], row
