"""neuroalign: put reinforcement-learning agents and mouse brain recordings side by side.

The parts, one sub-package each: :mod:`neuroalign.io` (NWB and DANDI loading),
:mod:`neuroalign.simulate` (synthetic sessions with planted geometry),
:mod:`neuroalign.zoo` (valence tasks and agents), :mod:`neuroalign.compare`
(RDMs, RSA, CKA, shape metrics and inference), :mod:`neuroalign.geometry`
(walls and funnels), :mod:`neuroalign.pipeline` (the main job),
:mod:`neuroalign.report` (figures, HTML) and :mod:`neuroalign.batch` (dask grids).
"""

from __future__ import annotations

from neuroalign.core.errors import NeuroalignError
from neuroalign.core.provenance import neuroalign_version

__version__ = neuroalign_version()

__all__ = ["NeuroalignError", "__version__"]
