"""neuroalign: put reinforcement-learning agents and mouse brain recordings side by side.

The parts, one sub-package each: :mod:`neuroalign.io` (NWB and DANDI loading),
:mod:`neuroalign.simulate` (synthetic sessions with planted geometry),
:mod:`neuroalign.zoo` (valence tasks and agents), :mod:`neuroalign.compare`
(RDMs, RSA, CKA, shape metrics and inference), :mod:`neuroalign.geometry`
(walls and funnels), :mod:`neuroalign.pipeline` (the main job),
:mod:`neuroalign.study` (hypotheses, replication levels, verdict),
:mod:`neuroalign.report` (figures, HTML) and :mod:`neuroalign.batch` (dask grids).

The few functions a notebook needs are available from the top level; they are
imported on first use, so ``import neuroalign`` stays fast::

    import neuroalign as na
    resp = na.load_responses("session.nwb", window=(-1.25, 0.25), bin_size=0.25)
    brain = na.condition_grid(resp, n_approach=5)
    model = na.probe("dqn", "pavlovian", seed=0, layers=["trunk.1"])
    na.valence_geometry(brain.sel(unit=brain.region == "BLA")).to_frame()
"""

from __future__ import annotations

from typing import Any

from neuroalign.core.errors import NeuroalignError
from neuroalign.core.lazy import lazy_exports

#: top-level name -> the module that defines it
_LAZY: dict[str, str] = {
    "load_responses": "neuroalign.io",
    "condition_grid": "neuroalign.io",
    "inspect_source": "neuroalign.io",
    "open_nwb": "neuroalign.io",
    "sample_condition_patterns": "neuroalign.simulate",
    "simulate_session": "neuroalign.simulate",
    "list_agents": "neuroalign.zoo",
    "load_agent": "neuroalign.zoo",
    "probe": "neuroalign.zoo",
    "compute_rdm": "neuroalign.compare",
    "compare_rdms": "neuroalign.compare",
    "cka": "neuroalign.compare",
    "shape_distance": "neuroalign.compare",
    "predictivity": "neuroalign.compare",
    "evaluate": "neuroalign.compare",
    "valence_geometry": "neuroalign.geometry",
    "load_config": "neuroalign.pipeline",
    "run_pipeline": "neuroalign.pipeline",
    "load_results": "neuroalign.batch",
    "run_study": "neuroalign.study",
    "plan_study": "neuroalign.study",
}

__all__ = ["NeuroalignError", "__version__", *sorted(_LAZY)]


_lazy_getattr, _lazy_dir = lazy_exports(__name__, _LAZY)


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the installed metadata on first use
        from neuroalign.core.provenance import neuroalign_version

        globals()[name] = neuroalign_version()
        return globals()[name]
    return _lazy_getattr(name)


def __dir__() -> list[str]:
    return sorted(set(_lazy_dir()) | {"__version__"})
