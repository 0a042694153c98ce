"""Brain-region strings as labs write them, and the order in which they are trusted.

Each unit's region comes from the first of these rules that gives a non-empty
name, and the rule is recorded with the unit (coord ``region_rule``):

1. ``units.<column>``: a region column the caller or the profile names
   (IBL ``beryl_location`` / ``allen_location``), or a lookup
   ``units.<column>->electrodes.<column>`` (Steinmetz ``peak_channel`` ->
   electrode ``location``);
2. ``units.location``: the units table's own ``location`` column;
3. ``electrodes.location``: the location of the unit's electrodes (ragged or
   non-ragged ``electrodes`` column); with several electrodes the most common
   non-empty name wins;
4. ``electrode_group.location``: the location of the unit's electrode group
   (``electrode_group`` column of the units table, else the ``group`` of its
   electrodes);
5. ``none``: region ``"unknown"``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["UNKNOWN", "parse_region", "pick_region"]

UNKNOWN = "unknown"
_EMPTY = {"", "n/a", "na", "none", "null", "nan", "unknown", "undefined", "?", "-"}
_REGION_KEYS = ("brain_region", "region", "brain_area", "area", "location", "structure",
                "acronym")


def parse_region(value: object) -> str:
    """One region name from a raw location value, ``""`` when it names none.

    Bytes are decoded; ``"brain_region: ALM; cortical_layer: 5; ..."`` key-value
    strings give the value of the first key among ``brain_region``, ``region``,
    ``brain_area``, ``area``, ``location``, ``structure``, ``acronym`` (else the
    first non-empty value); empty strings and placeholders (``N/A``, ``none``,
    ``unknown``, ``nan``) give ``""``.

    Examples
    --------
    >>> parse_region(b"brain_region: ALM; cortical_layer: 5")
    'ALM'
    >>> parse_region("  CA1 ")
    'CA1'
    >>> parse_region("N/A")
    ''
    """
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("utf-8", errors="replace")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    raw = str(value).strip()
    if ":" in raw and not raw.startswith(("http:", "https:")):
        pairs: dict[str, str] = {}
        for item in raw.split(";"):
            key, sep, val = item.partition(":")
            if sep:
                pairs[key.strip().lower()] = val.strip()
        for key in _REGION_KEYS:
            if key in pairs and pairs[key].lower() not in _EMPTY:
                return pairs[key]
        for val in pairs.values():
            if val.lower() not in _EMPTY:
                return val
        return ""
    return "" if raw.lower() in _EMPTY else raw


def pick_region(values: Sequence[object]) -> str:
    """The most common non-empty parsed region among ``values`` (``""`` if none)."""
    names = [parse_region(v) for v in values]
    counts = Counter(n for n in names if n)
    if not counts:
        return ""
    return counts.most_common(1)[0][0]
