"""Convert the shipped Steinmetz et al. (2019) sessions into NWB files.

They go to ``neuroalign/data/steinmetz/nwb``.

Usage::

    python data/make_steinmetz.py            # rewrite neuroalign/data/steinmetz/nwb
    python data/make_steinmetz.py --check    # re-import every NWB file, compare counts

The .npz files in ``neuroalign/data/steinmetz/npz`` are the originals (see
``neuroalign/data/steinmetz/PROVENANCE.md``). The NWB files keep only the units of the
valence-relevant areas (:data:`AREAS`), so that the repository stays small;
sessions with none of them get no NWB file. ``--check`` imports each NWB file
back with ``--profile steinmetz --align cue --window 0 0.4 --bin 0.01`` and
compares the counts with the .npz, exactly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from neuroalign.core.resources import package_data
from neuroalign.io import load_responses
from neuroalign.io.convert import convert_binned, read_binned, read_binned_arrays

NPZ = package_data("steinmetz", "npz")
NWB = package_data("steinmetz", "nwb")

#: areas kept in the NWB files: amygdala, striatum, basal ganglia output, frontal cortex
AREAS = ("BLA", "ACB", "CP", "SNr", "PL", "ILA", "ACA", "MOs", "ORB")


def _areas_of(path: Path) -> list[str]:
    return sorted(set(read_binned_arrays(path).region.tolist()) & set(AREAS))


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, verify) the NWB files; return an exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="re-import every NWB file and compare its counts with the .npz")
    args = parser.parse_args(argv)
    sources = sorted(NPZ.glob("*.npz"))
    if not sources:
        print(f"no .npz in {NPZ}", file=sys.stderr)
        return 1
    bad = 0
    summary = {}
    for src in sources:
        areas = _areas_of(src)
        out = NWB / f"{src.stem}.nwb"
        if not areas:
            print(f"{src.name}: none of {list(AREAS)}; no NWB file")
            continue
        if not args.check:
            convert_binned(src, out, "steinmetz", regions=areas, overwrite=True)
        resp = load_responses(out, profile="steinmetz", align="cue", window=(0.0, 0.4),
                              bin_size=0.01, cache=False)
        ref = read_binned(src, regions=areas)
        same = np.array_equal(resp.values, ref.values) and np.array_equal(
            resp["unit_id"].values, ref["unit_id"].values)
        bad += not same
        units = dict(zip(*np.unique(resp["region"].values, return_counts=True), strict=True))
        summary[out.name] = {"units": {str(k): int(v) for k, v in units.items()},
                             "trials": int(resp.sizes["trial"]),
                             "bytes": out.stat().st_size}
        print(f"{out.relative_to(NWB.parents[3])}  {out.stat().st_size / 1e6:.2f} MB  "
              f"{summary[out.name]['units']}  counts {'identical' if same else 'DIFFER'}")
    if not args.check:
        (NWB / "manifest.json").write_text(json.dumps(
            {"areas": list(AREAS), "files": summary,
             "import": "--profile steinmetz --align cue --window 0 0.4 --bin 0.01"},
            indent=2, sort_keys=True) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
