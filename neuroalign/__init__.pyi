"""Types of the top-level API, whose names ``__init__.py`` imports on first use."""

from neuroalign.batch import load_results as load_results
from neuroalign.compare import cka as cka
from neuroalign.compare import compare_rdms as compare_rdms
from neuroalign.compare import compute_rdm as compute_rdm
from neuroalign.compare import evaluate as evaluate
from neuroalign.compare import predictivity as predictivity
from neuroalign.compare import shape_distance as shape_distance
from neuroalign.core.errors import NeuroalignError as NeuroalignError
from neuroalign.geometry import valence_geometry as valence_geometry
from neuroalign.io import condition_grid as condition_grid
from neuroalign.io import inspect_source as inspect_source
from neuroalign.io import load_responses as load_responses
from neuroalign.io import open_nwb as open_nwb
from neuroalign.pipeline import load_config as load_config
from neuroalign.pipeline import run_pipeline as run_pipeline
from neuroalign.simulate import sample_condition_patterns as sample_condition_patterns
from neuroalign.simulate import simulate_session as simulate_session
from neuroalign.study import plan_study as plan_study
from neuroalign.study import run_study as run_study
from neuroalign.zoo import list_agents as list_agents
from neuroalign.zoo import load_agent as load_agent
from neuroalign.zoo import probe as probe

__version__: str
"""The installed version (package metadata), read on first use."""
__all__: list[str]
