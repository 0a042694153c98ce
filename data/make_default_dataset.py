"""Regenerate the default synthetic dataset in ``neuroalign/data/sessions`` from its fixed seed.

Usage::

    python data/make_default_dataset.py            # rewrite neuroalign/data/sessions
    python data/make_default_dataset.py --check    # regenerate elsewhere, compare bytes

The files are identical byte for byte across runs with the same neuroalign,
pynwb and hdmf versions (recorded in ``neuroalign/data/sessions/manifest.json``).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from neuroalign.core.resources import package_data
from neuroalign.simulate.dataset import DEFAULT_DATASET, make_dataset

SESSIONS = package_data("sessions")


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, verify) the default dataset; return an exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and compare with the shipped "
                        "sessions")
    args = parser.parse_args(argv)
    params = dict(DEFAULT_DATASET)
    n_sessions, seed = params.pop("n_sessions"), params.pop("seed")
    if not args.check:
        files = make_dataset(SESSIONS, n_sessions, seed, overwrite=True, **params)
        for path in files:
            print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "sessions"
        make_dataset(fresh, n_sessions, seed, **params)
        names = sorted(p.name for p in fresh.iterdir())
        _, mismatch, errors = filecmp.cmpfiles(SESSIONS, fresh, names, shallow=False)
    for name in mismatch + errors:
        print(f"differs: {name}")
    print("identical" if not (mismatch or errors) else "NOT identical")
    return 1 if mismatch or errors else 0


if __name__ == "__main__":
    sys.exit(main())
