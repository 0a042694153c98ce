"""Types of ``neuroalign.io``, whose names ``__init__.py`` imports on first use."""

from neuroalign.io.accounting import TrialAccount as TrialAccount
from neuroalign.io.binning import bin_centres as bin_centres
from neuroalign.io.binning import bin_edges as bin_edges
from neuroalign.io.binning import bin_signals as bin_signals
from neuroalign.io.binning import bin_spikes as bin_spikes
from neuroalign.io.binning import event_edges as event_edges
from neuroalign.io.events import canonical_events as canonical_events
from neuroalign.io.events import read_event_tables as read_event_tables
from neuroalign.io.grid import condition_grid as condition_grid
from neuroalign.io.grid import contrast_grid as contrast_grid
from neuroalign.io.imaging import RoiSignals as RoiSignals
from neuroalign.io.imaging import read_imaging as read_imaging
from neuroalign.io.load import inspect_source as inspect_source
from neuroalign.io.load import load_responses as load_responses
from neuroalign.io.load import resolve_profile as resolve_profile
from neuroalign.io.profiles import PROFILES as PROFILES
from neuroalign.io.profiles import Profile as Profile
from neuroalign.io.profiles import apply_profile as apply_profile
from neuroalign.io.profiles import describe_profile as describe_profile
from neuroalign.io.profiles import detect_profile as detect_profile
from neuroalign.io.profiles import generic_profile as generic_profile
from neuroalign.io.profiles import get_profile as get_profile
from neuroalign.io.regions import REGION_GROUPS as REGION_GROUPS
from neuroalign.io.regions import group_regions as group_regions
from neuroalign.io.regions import parse_region as parse_region
from neuroalign.io.source import expand_dandi_uri as expand_dandi_uri
from neuroalign.io.source import open_nwb as open_nwb
from neuroalign.io.source import parse_dandi_uri as parse_dandi_uri
from neuroalign.io.source import resolve_source as resolve_source
from neuroalign.io.store import load_store as load_store
from neuroalign.io.store import save_store as save_store
from neuroalign.io.units import SpikeUnits as SpikeUnits
from neuroalign.io.units import read_units as read_units

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
    "expand_dandi_uri",
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
