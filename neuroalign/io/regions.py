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

Fine atlas acronyms can be pooled into coarser groups on request
(:func:`group_regions`, ``region_groups=True`` when loading), so that regions
line up across sessions whose probes hit neighbouring structures. The built-in
table :data:`REGION_GROUPS` follows the Allen Mouse Brain Atlas hierarchy where
it has a parent (``STRv`` ventral striatum, ``HPF`` hippocampal formation, ...)
and groups frontal cortex functionally (``mPFC``, ``ORB``); an acronym the
table does not name keeps its own name. The original acronym is always kept in
the ``acronym`` coord.

=======  ===============================  ==============================================
group    meaning                          acronyms
=======  ===============================  ==============================================
AMY      amygdala                         BLA BLAa BLAp BLAv BMA BMAa BMAp LA CEA CEAc
                                          CEAl CEAm MEA IA PA
mPFC     medial prefrontal cortex         PL ILA ACA ACAd ACAv
ORB      orbitofrontal cortex             ORB ORBl ORBm ORBvl
MO       motor cortex                     MOp MOs
SS       somatosensory cortex             SSp SSs and their subfields
VIS      visual cortex                    VISp VISl VISal VISam VISpm VISrl VISa VISli
                                          VISpor
RSP      retrosplenial cortex             RSP RSPd RSPv RSPagl
STRd     dorsal striatum                  CP
STRv     ventral striatum                 ACB OT FS
LSX      lateral septal complex           LS LSr LSc LSv SF SH
PAL      pallidum                         GPe GPi SI MS NDB MA
SN-VTA   substantia nigra and VTA         SNr SNc VTA
HPF      hippocampal formation            CA CA1 CA2 CA3 DG SUB POST PRE ProS ENTl ENTm
TH       thalamus                         TH LGd LGv LP LD PO POL VPL VPM VAL VM MD MG
                                          RT CL LH PT SPF SGN Eth PVT RE CM PCN IMD
HY       hypothalamus                     HY ZI LHA
MB       midbrain (other)                 MB MRN SCm SCs SCsg SCig SCop RN PAG APN NB
OLF      olfactory areas                  OLF TT DP PIR AON EPd EPv COA
=======  ===============================  ==============================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import xarray as xr

from neuroalign.core.errors import ValidationError

__all__ = ["REGION_GROUPS", "UNKNOWN", "group_regions", "parse_region", "pick_region"]

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


def pick_region(values: Iterable[object]) -> str:
    """The most common non-empty parsed region among ``values`` (``""`` if none)."""
    names = [parse_region(v) for v in values]
    counts = Counter(n for n in names if n)
    if not counts:
        return ""
    return counts.most_common(1)[0][0]


_GROUP_MEMBERS: dict[str, str] = {
    "AMY": "BLA BLAa BLAp BLAv BMA BMAa BMAp LA CEA CEAc CEAl CEAm MEA IA PA",
    "mPFC": "PL ILA ACA ACAd ACAv",
    "ORB": "ORB ORBl ORBm ORBvl",
    "MO": "MOp MOs",
    "SS": "SSp SSs SSp-bfd SSp-ll SSp-m SSp-n SSp-tr SSp-ul SSp-un",
    "VIS": "VISp VISl VISal VISam VISpm VISrl VISa VISli VISpor",
    "RSP": "RSP RSPd RSPv RSPagl",
    "STRd": "CP",
    "STRv": "ACB OT FS",
    "LSX": "LS LSr LSc LSv SF SH",
    "PAL": "GPe GPi SI MS NDB MA",
    "SN-VTA": "SNr SNc VTA",
    "HPF": "CA CA1 CA2 CA3 DG SUB POST PRE ProS ENTl ENTm",
    "TH": "TH LGd LGv LP LD PO POL VPL VPM VAL VM MD MG RT CL LH PT SPF SGN Eth PVT RE CM "
          "PCN IMD",
    "HY": "HY ZI LHA",
    "MB": "MB MRN SCm SCs SCsg SCig SCop RN PAG APN NB",
    "OLF": "OLF TT DP PIR AON EPd EPv COA",
}

#: Allen acronym -> coarser group (the table in the module docs)
REGION_GROUPS: dict[str, str] = {
    acronym: group for group, members in _GROUP_MEMBERS.items() for acronym in members.split()
}


def group_regions(
    data: xr.DataArray, groups: bool | Mapping[str, str] = True
) -> xr.DataArray:
    """Pool fine region acronyms into coarser groups, keeping the acronym.

    Parameters
    ----------
    data
        Any DataArray with a ``region`` coord (responses, condition grids).
    groups
        ``True`` for :data:`REGION_GROUPS`, or a mapping acronym -> group
        (acronyms it does not name keep their name); ``False`` returns ``data``.

    Returns
    -------
    xarray.DataArray
        ``region`` holds the group, ``acronym`` the original name (kept from a
        previous grouping), ``attrs["region_groups"]`` says which table was used.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray([1, 2, 3], dims="unit",
    ...                   coords={"region": ("unit", ["ACB", "PL", "root"])})
    >>> group_regions(da)["region"].values.tolist()
    ['STRv', 'mPFC', 'root']
    >>> group_regions(da)["acronym"].values.tolist()
    ['ACB', 'PL', 'root']
    """
    if groups is False:
        return data
    if "region" not in data.coords:
        raise ValidationError("region_groups: the data have no 'region' coord to group")
    if groups is True:
        table: Mapping[str, str] = REGION_GROUPS
        name = "built-in (neuroalign.io.regions.REGION_GROUPS)"
    elif isinstance(groups, Mapping):
        table = {str(k): str(v) for k, v in groups.items()}
        name = "user table " + ", ".join(f"{k}->{v}" for k, v in sorted(table.items()))
    else:
        raise ValidationError(
            f"region_groups: got {groups!r}; expected True, False or a mapping acronym -> group")
    source = data["acronym"] if "acronym" in data.coords else data["region"]
    acronyms = np.asarray(source.values).astype(str)
    grouped = np.asarray([table.get(a, a) for a in acronyms.tolist()], dtype=str)
    dim = data["region"].dims
    out = data.assign_coords(region=(dim, grouped), acronym=(dim, acronyms))
    out.attrs = {**data.attrs, "region_groups": name}
    return out
