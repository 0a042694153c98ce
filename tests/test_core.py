"""The foundation: errors, contracts, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest

from neuroalign.core import (
    NeuroalignError,
    OutputExistsError,
    ValidationError,
    atomic_dir,
    atomic_file,
    condition_coords,
    condition_label,
    parse_condition_label,
    valence_code,
)


def test_every_error_is_a_neuroalign_error() -> None:
    import neuroalign.core.errors as errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), NeuroalignError)


@pytest.mark.parametrize("value,code", [(1, 1), (-1, -1), (0, 0), ("reward", 1),
                                        ("danger", -1), ("neutral", 0), (np.int64(-1), -1)])
def test_valence_code(value: object, code: int) -> None:
    assert valence_code(value) == code


@pytest.mark.parametrize("bad", [2, "shock", 1.5, None])
def test_valence_code_rejects(bad: object) -> None:
    with pytest.raises(ValidationError, match="expected one of"):
        valence_code(bad)


def test_condition_labels_round_trip() -> None:
    coords = condition_coords([1, -1], range(3))
    labels = list(coords["label"][1])
    assert labels == ["reward:2", "reward:1", "reward:0", "danger:2", "danger:1", "danger:0"]
    for label, v, a in zip(labels, coords["valence"][1], coords["approach"][1], strict=True):
        assert parse_condition_label(label) == (v, a)
        assert condition_label(v, a) == label


def test_parse_condition_label_error() -> None:
    with pytest.raises(ValidationError, match="'sweet:1'"):
        parse_condition_label("sweet:1")


def test_atomic_file_leaves_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_file(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_atomic_dir_refuses_nonempty_and_replaces_with_overwrite(tmp_path) -> None:
    target = tmp_path / "report"
    target.mkdir()
    (target / "old.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="not empty"), atomic_dir(target):
        pass
    with pytest.raises(RuntimeError), atomic_dir(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("y")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_condition_labels_one_lookup_for_every_part():
    import xarray as xr

    from neuroalign.core.contracts import condition_coords, condition_labels
    from neuroalign.core.errors import ValidationError

    grid = xr.DataArray(np.zeros((4, 2)), dims=("condition", "unit")).assign_coords(
        condition_coords((1, -1), range(2)))
    expected = ["reward:1", "reward:0", "danger:1", "danger:0"]
    assert condition_labels(grid).tolist() == expected
    # without a label coord the valence and approach coords name the conditions
    assert condition_labels(grid.drop_vars("label")).tolist() == expected
    named = xr.DataArray(np.zeros((2, 2)), dims=("condition", "unit"),
                         coords={"condition": ["a", "b"]})
    assert condition_labels(named).tolist() == ["a", "b"]
    bare = xr.DataArray(np.zeros((3, 2)), dims=("condition", "unit"))
    assert condition_labels(bare).tolist() == ["c0", "c1", "c2"]
    assert condition_labels(bare, missing="none") is None
    with pytest.raises(ValidationError, match=r"^model: got dims \('condition', 'unit'\) and "
                                              r"no 'label'"):
        condition_labels(bare, "model", missing="error")
    # compare and predictivity read the same labels
    from neuroalign.compare import rdm_labels
    from neuroalign.compare._align import pattern_matrix

    assert pattern_matrix(grid.drop_vars("label"), "x")[1].tolist() == expected
    assert rdm_labels(xr.DataArray(np.zeros((4, 4)), dims=("condition", "condition_b"),
                                   coords={"label": ("condition", expected)})).tolist() \
        == expected


def test_the_deprecated_rng_keyword_takes_a_generator_or_an_int_seed_only() -> None:
    from neuroalign.core.random import seed_argument

    gen = np.random.default_rng(1)
    with pytest.warns(DeprecationWarning, match="'rng' is deprecated"):
        assert seed_argument(None, gen, "f") is gen
    with pytest.warns(DeprecationWarning):
        seed = seed_argument(None, np.int64(7), "f")
    assert type(seed) is int and seed == 7
    with pytest.warns(DeprecationWarning), pytest.raises(
            ValidationError, match="f: rng: got str; expected a numpy Generator or an int seed"):
        seed_argument(None, "7", "f")


class _WorkerError(RuntimeError):
    pass


def test_forked_map_keeps_order_and_uses_other_processes() -> None:
    import os

    from neuroalign.core.workers import forked_map

    offset = np.arange(5.0)  # a closure over prepared data: inherited, not pickled

    def work(i: int) -> tuple[int, float, int]:
        return i, float(offset.sum()) * i, os.getpid()

    items = list(range(12))
    here = list(forked_map(work, items, workers=1))
    forked = list(forked_map(work, items, workers=2))
    assert [r[:2] for r in here] == [r[:2] for r in forked] == [(i, 10.0 * i) for i in items]
    assert {r[2] for r in here} == {os.getpid()}
    assert os.getpid() not in {r[2] for r in forked}
    assert list(forked_map(work, [], workers=2)) == []


def test_forked_map_raises_the_error_of_a_worker() -> None:
    from neuroalign.core.workers import forked_map

    def work(i: int) -> int:
        if i == 3:
            raise _WorkerError(f"item {i} failed")
        return i

    with pytest.raises(_WorkerError, match="item 3 failed"):
        list(forked_map(work, list(range(6)), workers=2))


def test_usable_cpus_is_positive() -> None:
    from neuroalign.core.workers import usable_cpus

    assert usable_cpus() >= 1


def _forked_map_in_a_pool_worker(n: int) -> list[int]:
    from neuroalign.core.workers import forked_map

    return list(forked_map(lambda i: i * i, list(range(n)), workers=2))


def test_forked_map_runs_in_process_inside_a_daemonic_worker() -> None:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_forked_map_in_a_pool_worker, (5,)) == [0, 1, 4, 9, 16]
