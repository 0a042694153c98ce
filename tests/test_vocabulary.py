"""One table of method names: every entry point accepts the same names and aliases."""

from __future__ import annotations

import numpy as np
import pytest

import neuroalign.compare as compare
import neuroalign.compare.inference as inference
from neuroalign.core import vocabulary as vocab
from neuroalign.core.errors import ValidationError
from neuroalign.geometry import DISTANCES
from neuroalign.geometry.kernels import normalise_distance


def test_each_table_is_defined_once():
    assert compare.RDM_METHODS is vocab.RDM_METHODS
    assert compare.COMPARE_METHODS is vocab.COMPARE_METHODS
    assert DISTANCES is vocab.GEOMETRY_DISTANCES
    # construction and comparison names no longer share one name with two meanings
    assert not hasattr(inference, "RDM_METHODS")
    # every alias points at a canonical name of its table
    assert set(vocab.COMPARE_ALIASES.values()) <= set(vocab.COMPARE_METHODS)
    assert set(vocab.GEOMETRY_ALIASES.values()) <= set(vocab.GEOMETRY_DISTANCES)
    assert not set(vocab.COMPARE_ALIASES) & set(vocab.COMPARE_METHODS)


@pytest.mark.parametrize(("alias", "canonical"), sorted(vocab.COMPARE_ALIASES.items()))
def test_compare_vectors_and_evaluate_accept_every_alias(alias, canonical):
    rng = np.random.default_rng(3)
    n = 6
    a, b = rng.random((2, n * (n - 1) // 2))
    kw = {"n_conditions": n} if canonical.endswith("_cov") else {}
    np.testing.assert_allclose(compare.compare_vectors(a, b, alias, **kw),
                               compare.compare_vectors(a, b, canonical, **kw))
    subjects = rng.random((3, n * (n - 1) // 2))
    by_alias = compare.evaluate(alias, a, subjects)
    by_name = compare.evaluate(canonical, a, subjects)
    np.testing.assert_allclose(by_alias["estimate"], by_name["estimate"])


def test_rsa_in_evaluate_is_the_runs_rdm_comparison():
    rng = np.random.default_rng(0)
    model, subjects = rng.random(15), rng.random((4, 15))
    rsa = compare.evaluate("rsa", model, subjects)
    np.testing.assert_allclose(rsa["estimate"],
                               compare.evaluate("spearman", model, subjects)["estimate"])
    pearson = compare.evaluate("rsa", model, subjects, measure_kwargs={"rsa_method": "pearson"})
    np.testing.assert_allclose(pearson["estimate"],
                               compare.evaluate("pearson", model, subjects)["estimate"])


def test_unknown_names_list_names_and_aliases():
    with pytest.raises(ValidationError, match=r"^method: got 'tau_b'; expected one of 'pearson'"
                                              r".*\(aliases: 'corr', 'correlation', 'tau-a'"):
        vocab.compare_method("tau_b")
    with pytest.raises(ValidationError, match=r"^distance: got 'cosine'; expected one of "
                                              r"'crossnobis', 'euclidean' \(aliases: "):
        normalise_distance("cosine")
    assert normalise_distance(" CV-Euclidean ") == "crossnobis"
    with pytest.raises(ValidationError, match=r"^method: got 3; expected one of 'euclidean'"):
        vocab.canonical_name(3, "method", vocab.RDM_METHODS)


def test_seed_is_the_name_and_rng_still_works_with_a_warning():
    from neuroalign.simulate import make_region_model, sample_condition_patterns

    new = sample_condition_patterns("wall_danger", n_units=5, n_repetitions=3, seed=4)
    with pytest.warns(DeprecationWarning, match="sample_condition_patterns: the keyword 'rng'"):
        old = sample_condition_patterns("wall_danger", n_units=5, n_repetitions=3, rng=4)
    np.testing.assert_array_equal(new.values, old.values)
    assert new.attrs["seed"] == 4
    with pytest.raises(ValidationError, match="make_region_model: got both seed and rng"):
        make_region_model("symmetric", 5, seed=1, rng=1)


def test_measure_facts_are_stated_once_and_aliases_are_accepted_everywhere(tmp_path):
    import xarray as xr

    from neuroalign.batch import plan_batch, validate_config
    from neuroalign.core.config import validate_model
    from neuroalign.pipeline.cell import compute_cell
    from neuroalign.pipeline.config import RunConfig
    from neuroalign.pipeline.measures import MEASURE_SPECS

    assert tuple(MEASURE_SPECS) == vocab.MEASURES
    assert {m.name: (m.kind, m.higher_is_similar) for m in MEASURE_SPECS.values()} == {
        "rsa": ("similarity", True), "cka": ("similarity", True),
        "shape": ("distance", False), "geometry": ("geometry", None)}
    assert set(vocab.MEASURE_ALIASES.values()) <= set(vocab.MEASURES)
    # the run config
    cfg = validate_model(RunConfig, {"measures": ["procrustes", "cka_linear"],
                                     "rsa_method": "corr", "geometry_distance": "cv-euclidean"})
    assert (cfg.measures, cfg.rsa_method, cfg.geometry_distance) == (
        ["shape", "cka"], "pearson", "crossnobis")
    # the cell function: an alias gives the canonical rows
    rng = np.random.default_rng(0)
    labels = [f"{v}:{a}" for v in ("reward", "danger") for a in range(4)]
    brain = xr.DataArray(rng.normal(size=(6, 8, 5)), dims=("repetition", "condition", "unit"),
                         coords={"label": ("condition", labels)})
    model = xr.DataArray(rng.normal(size=(8, 4)), dims=("condition", "unit"),
                         coords={"label": ("condition", labels)})
    kw = {"n_boot": 5, "n_perm": 5, "seed": 1, "meta": {}}
    assert compute_cell(model, brain, ["procrustes"], **kw) == compute_cell(
        model, brain, ["shape"], **kw)
    # the batch's check of the default cell
    source = tmp_path / "x.nwb"
    source.write_bytes(b"")
    cells, _ = plan_batch(validate_config(dict(
        agents=["dqn"], tasks=["pavlovian"], seeds=[0], layers=["trunk.1"],
        sources=[str(source)], regions=["BLA"], measures=["procrustes"])))
    assert [c.measure for c in cells] == ["procrustes"]
    with pytest.raises(ValidationError, match=r"measures: unknown \['mmd'\]; expected names "
                                              r"from \['rsa', .*\(aliases: \['cka_linear'"):
        compute_cell(model, brain, ["mmd"], **kw)
