"""Probing on the mice's grid; behaviour curves; a Steinmetz session and an agent align."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from typer.testing import CliRunner

from neuroalign.cli import app
from neuroalign.compare import align_rdms, compute_rdm
from neuroalign.compare.inference import binomial_interval
from neuroalign.core.errors import ValidationError
from neuroalign.io.grid import contrast_grid
from neuroalign.zoo import AGENTS, load_agent, probe, shipped_seeds
from neuroalign.zoo.behaviour import psychometric

STEINMETZ = Path("/work/shared/realdata/steinmetz/steinmetz_s13_Lederberg_2017-12-06.npz")


@pytest.fixture(scope="module")
def gru_agent():
    """A shipped recurrent agent (trained to criterion: it makes every kind of trial)."""
    return load_agent("ppo-gru", "contrast", 0, train_if_missing=False)


def test_probe_coords_cover_contrast_outcome_time_and_every_layer(gru_agent):
    da = probe(gru_agent, n_repetitions=3, probe_seed=2)
    assert da.dims == ("repetition", "condition", "unit")
    assert set(da["layer"].values) == {"trunk.0", "trunk.1", "readout.pi", "readout.v"}
    assert set(da["role"].values) == {"trunk", "recurrent", "actor", "critic"}
    assert da.sizes["condition"] == 9 * 2 * 7
    assert sorted(set(da["time_s"].values.tolist())) == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert set(da["valence"].values.tolist()) == {1, -1}
    # the choice of every trial agrees with its cell's outcome and contrast
    right = (da["contrast"] == 1.0) & (da["valence"] == 1)
    assert (da["choice"].where(right, drop=True) == "right").all()
    diff = da["contrast_right"].values - da["contrast_left"].values
    level = np.broadcast_to(da["contrast"].values, diff.shape)
    ok = np.isfinite(diff)
    assert ok.all(), da.attrs.get("note")
    assert np.allclose(diff[ok], level[ok])
    # one trial per (repetition, cell): every time step of it carries the same choice
    ch = da["choice"].values.reshape(3, 18, 7)
    assert (ch == ch[:, :, :1]).all()
    assert not np.isnan(da.values).any(), da.attrs.get("note")


def test_probe_steps_and_levels_select_conditions(gru_agent):
    sub = probe(gru_agent, n_repetitions=2, by="side", steps=[0, 1, 2, 3])
    assert sub.sizes["condition"] == 3 * 2 * 4 and sub["label"].values[0] == "side-1.00:reward:0s"
    with pytest.raises(ValidationError, match=r"steps: got \[9\]"):
        probe(gru_agent, steps=[9])
    with pytest.raises(ValidationError, match=r"levels: got \[0.3\]"):
        probe(gru_agent, levels=[0.3])


def _steinmetz_session(n_units=40):
    d = np.load(STEINMETZ)
    spikes = d["spks"][:n_units].transpose(1, 0, 2).astype(np.float64) / 0.01
    return xr.DataArray(
        spikes, dims=("trial", "unit", "time"),
        coords={"time": np.arange(40) * 0.01 + 0.005,
                "contrast_left": ("trial", d["contrast_left"]),
                "contrast_right": ("trial", d["contrast_right"]),
                "feedback_type": ("trial", d["feedback_type"]),
                "region": ("unit", d["brain_area"][:n_units]), "session": "s13"},
        attrs={"bin_size": 0.01})


def test_a_steinmetz_session_and_an_agent_share_every_condition(gru_agent):
    session = contrast_grid(_steinmetz_session(), by="side")
    agent = probe(gru_agent, n_repetitions=4, by="side", steps=range(4))
    assert list(session["label"].values) == list(agent["label"].values)
    assert session.sizes["condition"] == 3 * 2 * 4  # side x outcome x 0-0.4 s
    rdm_a = compute_rdm(session.mean("repetition"), method="correlation")
    rdm_b = compute_rdm(agent.mean("repetition"), method="correlation")
    _, _, shared = align_rdms(rdm_a, rdm_b)
    assert len(shared) == session.sizes["condition"]  # RSA drops no condition
    # a longer agent probe still covers every condition of the session
    full = probe(gru_agent, n_repetitions=2, by="side")
    assert set(session["label"].values) < set(full["label"].values)


def test_wilson_interval_matches_scipy():
    k, n = np.array([0, 3, 17, 40, 40]), np.array([10, 10, 40, 40, 57])
    low, high = binomial_interval(k, n, level=0.9)
    for i in range(len(k)):
        ci = stats.binomtest(int(k[i]), int(n[i])).proportion_ci(0.9, method="wilson")
        assert (low[i], high[i]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    nan_low, nan_high = binomial_interval(0, 0)
    assert np.isnan(nan_low) and np.isnan(nan_high)
    with pytest.raises(ValidationError, match="expected 0 <= k <= n"):
        binomial_interval(5, 3)


def test_psychometric_counts_by_hand():
    contrast = np.array([[1, 0], [1, 0], [0, 0.25], [0, 0.25], [0, 0], [0.5, 0.5]])
    valence = np.array([1, 1, 1, -1, -1, 1])
    choice = np.array([1, 1, 2, 0, 2, 2])
    out = psychometric(contrast, valence, choice)
    acc = {row["difference"]: (row["k"], row["n"]) for row in out["accuracy"]}
    assert acc == {0.0: (1, 2), 0.25: (1, 2), 1.0: (2, 2)}
    pair = next(p for p in out["pairs"] if (p["contrast_left"], p["contrast_right"]) == (0, 0.25))
    assert (pair["n"], pair["p_nogo"], pair["p_left"], pair["p_right"]) == (2, 0.5, 0.0, 0.5)
    # 2 of 2 at the largest difference: the intervals overlap, so the curve is not "graded"
    assert out["graded"] is False
    with pytest.raises(ValidationError, match=r"valence: got values \[0, 1\]"):
        psychometric(contrast[:2], np.array([0, 1]))


def test_evaluate_command_json():
    result = CliRunner().invoke(app, ["zoo", "evaluate", "ppo-gru", "--task", "contrast",
                                      "--seed", "0", "--trials", "50", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["trunk"] == "gru" and len(payload["pairs"]) == 16
    assert sum(r["n"] for r in payload["accuracy"]) == 16 * 50
    for row in payload["accuracy"]:
        assert row["ci_low"] <= row["p"] <= row["ci_high"]
    for pair in payload["pairs"]:
        assert pair["p_nogo"] + pair["p_left"] + pair["p_right"] == pytest.approx(1.0)
    assert payload["graded"] and payload["criterion"]["criterion_met"] == 1.0


@pytest.mark.parametrize("name", [n for n, s in AGENTS.items() if s.layout == "shared"])
def test_every_shipped_contrast_agent_shows_a_graded_curve(name):
    from neuroalign.zoo.behaviour import evaluate_behaviour

    assert shipped_seeds(name, "contrast") == [0, 1, 2]
    for seed in (0, 1, 2):
        result = evaluate_behaviour(load_agent(name, "contrast", seed, train_if_missing=False))
        acc = {row["difference"]: row for row in result["accuracy"]}
        assert result["criterion"]["criterion_met"] == 1.0, (name, seed)
        assert acc[1.0]["p"] > 0.85 and result["graded"], (name, seed, acc)
        assert acc[0.25]["p"] < acc[0.5]["p"] < acc[1.0]["p"], (name, seed)
