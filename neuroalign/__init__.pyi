"""Types of the top-level API, whose names ``__init__.py`` imports on first use.

Each name is imported from the module that defines it: ``neuroalign.zoo`` exports
lazily too (a type checker would see its names as ``Any``), and ``neuroalign.zoo.probe``
is also a module.
"""

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
from neuroalign.study import run_study as run_study
from neuroalign.zoo.probe import probe as probe
from neuroalign.zoo.registry import list_agents as list_agents
from neuroalign.zoo.registry import load_agent as load_agent

__version__: str
__all__: list[str]
