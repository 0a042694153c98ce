"""The fused check-and-bin kernel and the streamed load path, against plain loops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_builders import amygdala_trials, poisson_spikes

from neuroalign.core.contracts import DEFAULT_BIN_SIZE, DEFAULT_WINDOW
from neuroalign.core.errors import DataError
from neuroalign.io import bin_edges, event_edges, load_responses
from neuroalign.io import binning as binning_mod
from neuroalign.io import load as load_mod
from neuroalign.io import units as units_mod
from neuroalign.io._kernels import kernels


def _plain_counts(spikes: list[np.ndarray], align: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """(unit, trial, bin) counts by a comparison per spike, edge and window."""
    edges = event_edges(align, rel)
    out = np.zeros((len(spikes), len(align), len(rel) - 1), dtype=np.int64)
    for u, s in enumerate(spikes):
        for j in range(len(align)):
            for k in range(len(rel) - 1):
                out[u, j, k] = np.count_nonzero((s >= edges[j, k]) & (s < edges[j, k + 1]))
    return out


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=5),
    kinds=st.lists(st.sampled_from(["sorted", "reversed", "nan", "swap"]), min_size=5,
                   max_size=5),
    align=st.lists(st.floats(-3.0, 33.0, allow_nan=False), min_size=1, max_size=12),
    sort_events=st.booleans(),
    start=st.sampled_from([-2.0, -0.5, 0.0]),
    bin_size=st.sampled_from([0.05, 0.1, 0.5, 2.0]),
    n_bins=st.integers(1, 12),
    sort=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_check_bin_units_equals_plain_loop(sizes: list[int], kinds: list[str],
                                           align: list[float], sort_events: bool, start: float,
                                           bin_size: float, n_bins: int, sort: bool,
                                           seed: int) -> None:
    # dense units (up to 300 spikes in 30 s) with sparse events take the galloping skip,
    # sparse ones the linear one; windows may overlap and events come in any order
    rng = np.random.default_rng(seed)
    rel = start + bin_size * np.arange(n_bins + 1)
    events = np.sort(align) if sort_events else np.asarray(align)
    edges = np.sort(event_edges(events, rel).ravel())
    units, expect_state = [], []
    for size, kind in zip(sizes, kinds, strict=False):
        s = np.sort(np.concatenate([rng.uniform(-5.0, 35.0, size),
                                    rng.choice(edges, min(size, 4))]))  # spikes on edges
        state = 0
        if kind == "reversed" and size > 1 and s[0] < s[-1]:
            s, state = s[::-1].copy(), 1
        elif kind == "swap" and size > 2 and s[1] < s[2]:
            s[[1, 2]], state = s[[2, 1]], 1
        elif kind == "nan" and size > 0:
            s[rng.integers(size)], state = np.nan, 2
        units.append(s)
        expect_state.append(state)
    spikes = np.concatenate(units) if units else np.zeros(0)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in units])]).astype(np.int64)
    out = np.zeros((len(units), len(events), n_bins), dtype=np.int32)
    state = np.zeros(len(units), dtype=np.int8)
    kernels()["check_bin_units"](spikes, offsets, events, rel, out, 0, len(units), sort, state)
    assert state.tolist() == expect_state
    binned = [s == 0 or (s == 1 and sort) for s in expect_state]
    ref = _plain_counts([np.sort(s) for s in units], events, rel)
    for u, done in enumerate(binned):
        np.testing.assert_array_equal(out[u], ref[u] if done else 0)
        if expect_state[u] == 1:  # sorted in place only when asked
            got = spikes[offsets[u]:offsets[u + 1]]
            assert np.all(np.diff(got) >= 0) == sort


@pytest.fixture(params=["compiled", "numpy"])
def load_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Load with the streamed compiled path (when numba is installed) and with numpy."""
    if request.param == "numpy":
        for mod in (binning_mod, load_mod, units_mod):
            monkeypatch.setattr(mod, "kernels", lambda: None)
    else:
        assert kernels() is not None, "numba (a required dependency) does not load"
    return str(request.param)


def test_load_refuses_nan_spike_times(ephys_file: Callable[..., Path], load_engine: str) -> None:
    spikes = poisson_spikes(np.random.default_rng(3), 20, 90.0)
    spikes[13] = spikes[13].copy()
    spikes[13][[2, 5]] = np.nan
    spikes[17] = spikes[17][::-1].copy()  # a later unit out of order: NaN is named first
    path = ephys_file(spikes=spikes, trials=amygdala_trials(n_per=3))
    with pytest.raises(DataError, match=r"NaN spike times for unit id 13 \(row 13, 2 NaN\)"):
        load_responses(path, profile="amygdala", cache=False)


def test_load_unsorted_error_or_sort(ephys_file: Callable[..., Path], load_engine: str) -> None:
    spikes = poisson_spikes(np.random.default_rng(4), 20, 90.0)
    for u in (6, 15):
        spikes[u] = spikes[u][::-1].copy()
    path = ephys_file(spikes=spikes, trials=amygdala_trials(n_per=3))
    with pytest.raises(DataError, match=r"not sorted for unit id 6 \(2 unit\(s\) unsorted\)"):
        load_responses(path, profile="amygdala", unsorted="error", cache=False)
    resp = load_responses(path, profile="amygdala", cache=False)
    assert resp.attrs["n_unsorted_units_sorted"] == 2
    edges = event_edges(np.asarray(amygdala_trials(n_per=3)["outcome_time"]),
                        bin_edges(DEFAULT_WINDOW, DEFAULT_BIN_SIZE))  # the defaults
    for u in (6, 15):
        ref = [np.histogram(spikes[u], bins=e)[0] for e in edges]
        np.testing.assert_array_equal(resp.values[:, u, :], ref)
