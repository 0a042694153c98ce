"""neuroalign.io: from NWB files and DANDI assets to labelled, event-aligned responses.

>>> from neuroalign.io import load_responses, condition_grid
>>> resp = load_responses("session.nwb", profile="auto", window=(-2, 1), bin_size=0.25)
>>> grid = condition_grid(resp, n_approach=5)          # (repetition, condition, unit)
"""

from neuroalign.io.accounting import TrialAccount
from neuroalign.io.binning import bin_centres, bin_edges, bin_signals, bin_spikes, event_edges
from neuroalign.io.events import canonical_events, read_event_tables
from neuroalign.io.grid import condition_grid, contrast_grid
from neuroalign.io.imaging import RoiSignals, read_imaging
from neuroalign.io.load import inspect_source, load_responses, resolve_profile
from neuroalign.io.profiles import (
    PROFILES,
    Profile,
    apply_profile,
    describe_profile,
    detect_profile,
    generic_profile,
    get_profile,
)
from neuroalign.io.regions import REGION_GROUPS, group_regions, parse_region
from neuroalign.io.source import open_nwb, parse_dandi_uri, resolve_source
from neuroalign.io.store import load_store, save_store
from neuroalign.io.units import SpikeUnits, read_units

__all__ = [
    "PROFILES",
    "REGION_GROUPS",
    "Profile",
    "RoiSignals",
    "SpikeUnits",
    "TrialAccount",
    "apply_profile",
    "bin_centres",
    "bin_edges",
    "bin_signals",
    "bin_spikes",
    "canonical_events",
    "condition_grid",
    "contrast_grid",
    "describe_profile",
    "detect_profile",
    "event_edges",
    "generic_profile",
    "get_profile",
    "group_regions",
    "inspect_source",
    "load_responses",
    "load_store",
    "open_nwb",
    "parse_dandi_uri",
    "parse_region",
    "read_event_tables",
    "read_imaging",
    "read_units",
    "resolve_profile",
    "resolve_source",
    "save_store",
]
