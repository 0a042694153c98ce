"""Ground truth with real zoo agents: a region made from an agent's activations ranks first.

For an agent of the shipped zoo, a region simulated from that agent's own activations
(random positive mixing into 40 Poisson units, plus noise) must be ranked above every
region of a default session by both RSA and CKA, through the same per-cell function
that ``neuroalign run`` and ``neuroalign batch`` use.
"""

from __future__ import annotations

import pytest

from neuroalign.core.resources import package_data
from neuroalign.pipeline import compute_cell, load_brain_patterns
from neuroalign.simulate import patterns_from_activations
from neuroalign.zoo import probe

SESSION = sorted(package_data("sessions").glob("*.nwb"))[0]


@pytest.fixture(scope="module")
def session_regions(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    brain = load_brain_patterns({"path": str(SESSION), "profile": "auto"},
                                cache_dir=str(cache))
    return {region: grid for (_, region), grid in brain.items()}


@pytest.mark.parametrize("agent", ["dqn", "ppo"])
@pytest.mark.parametrize("measure", ["rsa", "cka"])
def test_agent_like_region_ranks_first(agent, measure, session_regions):
    model = probe(agent, "pavlovian", 0, layers=["trunk.1"])
    regions = dict(session_regions)
    regions["agent-like"] = patterns_from_activations(
        model.mean("repetition"), n_units=40, n_repetitions=60, noise=0.5, seed=7)
    scores = {
        name: compute_cell(model, grid, [measure], n_boot=0, n_perm=0, seed=0,
                           meta={})[0]["estimate"]
        for name, grid in regions.items()
    }
    assert set(session_regions) == {"BLA", "NAc", "mPFC"}
    assert max(scores, key=scores.get) == "agent-like", scores
