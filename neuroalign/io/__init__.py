"""neuroalign.io: from NWB files and DANDI assets to labelled, event-aligned responses.

>>> from neuroalign.io import load_responses, condition_grid
>>> resp = load_responses("session.nwb", profile="auto", window=(-2, 1), bin_size=0.25)
>>> grid = condition_grid(resp, n_approach=5)          # (repetition, condition, unit)
"""

from neuroalign.core.lazy import lazy_exports

#: public name -> submodule that defines it (imported on first use, so the command
#: line and ``import neuroalign.io`` stay fast)
_EXPORTS: dict[str, str] = {
    "TrialAccount": "accounting",
    "bin_centres": "binning",
    "bin_edges": "binning",
    "bin_signals": "binning",
    "bin_spikes": "binning",
    "event_edges": "binning",
    "canonical_events": "events",
    "read_event_tables": "events",
    "condition_grid": "grid",
    "contrast_grid": "grid",
    "RoiSignals": "imaging",
    "read_imaging": "imaging",
    "inspect_source": "load",
    "load_responses": "load",
    "resolve_profile": "load",
    "PROFILES": "profiles",
    "Profile": "profiles",
    "apply_profile": "profiles",
    "describe_profile": "profiles",
    "detect_profile": "profiles",
    "generic_profile": "profiles",
    "get_profile": "profiles",
    "REGION_GROUPS": "regions",
    "group_regions": "regions",
    "parse_region": "regions",
    "open_nwb": "source",
    "expand_dandi_uri": "source",
    "parse_dandi_uri": "source",
    "resolve_source": "source",
    "load_store": "store",
    "save_store": "store",
    "SpikeUnits": "units",
    "read_units": "units",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
