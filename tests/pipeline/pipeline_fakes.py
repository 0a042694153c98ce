"""A stand-in zoo for pipeline tests: two 'agents' whose layers carry planted geometry.

The real zoo trains torch agents; the orchestration tests only need pattern
arrays with the probe's contract (repetition x condition x unit, ``layer`` coord),
so they stay fast and independent of shipped checkpoints.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

FAKE_ZOO = [
    {"name": "walls", "family": "value", "tasks": ["pavlovian"], "seeds": [0, 1]},
    {"name": "funnels", "family": "policy", "tasks": ["pavlovian"], "seeds": [0]},
]
_PLANTING = {"walls": "wall_danger", "funnels": "wall_reward"}


def fake_probe(agent: str, task: str, seed: int, layers=None,
               include_neutral: bool = False, cache_dir=None,
               probe_cache_dir=None) -> dict[str, xr.DataArray]:
    """Per-layer patterns: planted geometry ('trunk') and the same plus noise ('head')."""
    from neuroalign.simulate import sample_condition_patterns

    base = sample_condition_patterns(_PLANTING[agent], n_units=16, n_repetitions=8,
                                     seed=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 100)
    out = {}
    for layer, noise in (("trunk", 0.0), ("head", 1.0)):
        if layers and layer not in layers:
            continue
        vals = base.values + noise * rng.normal(size=base.shape)
        da = xr.DataArray(vals, dims=base.dims, coords={
            k: v for k, v in base.coords.items() if "unit" not in v.dims})
        da = da.assign_coords(layer=("unit", [layer] * da.sizes["unit"]))
        da.attrs = {"agent": agent, "task": task, "seed": seed, "synthetic": 1}
        out[layer] = da
    return out


def install(monkeypatch) -> None:
    """Route the pipeline's zoo calls to the fakes."""
    from neuroalign.pipeline import run as run_mod

    monkeypatch.setattr(run_mod, "_zoo_table", lambda: [dict(r) for r in FAKE_ZOO])
    monkeypatch.setattr(run_mod, "model_patterns_by_layer", fake_probe)
    seeds = {r["name"]: r["seeds"] for r in FAKE_ZOO}
    monkeypatch.setattr(run_mod, "_has_checkpoint",
                        lambda agent, task, seed: seed in seeds.get(agent, []))
