"""Default sizes of simulated sessions, without numpy: the command line reads them.

:mod:`neuroalign.simulate.model` re-exports them; ``neuroalign simulate`` takes its
option defaults from here, so that ``neuroalign --help`` does not import numpy.
"""

from __future__ import annotations

__all__ = ["DEFAULT_NEUTRAL_TRIALS", "DEFAULT_TRIALS_PER_VALENCE", "DEFAULT_UNITS_PER_REGION"]

#: units per simulated region: the one default size of every simulated population
#: (``simulate_session``, ``make_dataset``, ``neuroalign simulate``, the samplers)
DEFAULT_UNITS_PER_REGION = 40
#: sucrose and shock trials each per session, i.e. repetitions per condition
DEFAULT_TRIALS_PER_VALENCE = 60
#: neutral trials per simulated session
DEFAULT_NEUTRAL_TRIALS = 20
