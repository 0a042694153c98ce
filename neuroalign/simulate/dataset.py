"""A folder of synthetic sessions: the default dataset and ``neuroalign simulate``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neuroalign.core.atomic import atomic_dir
from neuroalign.core.provenance import file_sha256, neuroalign_version
from neuroalign.core.validation import check_positive_int
from neuroalign.simulate.model import (
    DEFAULT_NEUTRAL_TRIALS,
    DEFAULT_TRIALS_PER_VALENCE,
    DEFAULT_UNITS_PER_REGION,
)
from neuroalign.simulate.nwb import DEFAULT_REGIONS, _umask, simulate_session

__all__ = ["DEFAULT_DATASET", "make_dataset", "session_file_name"]

#: parameters of the default dataset shipped in ``neuroalign/data/sessions``
DEFAULT_DATASET: Mapping[str, Any] = {
    "n_sessions": 3,
    "seed": 20240101,
    "n_units_per_region": DEFAULT_UNITS_PER_REGION,
    "n_trials_per_valence": DEFAULT_TRIALS_PER_VALENCE,
    "n_neutral_trials": DEFAULT_NEUTRAL_TRIALS,
}


def session_file_name(index: int) -> str:
    """File name of session ``index`` in a simulated dataset folder."""
    return f"sub-synthetic-mouse-{index}_ses-sim-{index}.nwb"


def make_dataset(
    out: str | os.PathLike[str],
    n_sessions: int = 3,
    seed: int = 0,
    *,
    regions: Mapping[str, str] | None = None,
    overwrite: bool = False,
    **session_options: Any,
) -> list[Path]:
    """Write ``n_sessions`` synthetic NWB sessions and a ``manifest.json`` into ``out``.

    The folder is written atomically (a temporary sibling renamed into place).
    Session ``i`` uses ``simulate_session(seed=seed, session_index=i)``, so the
    same arguments reproduce every file byte for byte (with the same
    neuroalign, pynwb and hdmf versions, which the files record).

    Parameters
    ----------
    out
        Output folder; must not exist or be empty unless ``overwrite``.
    n_sessions
        Number of sessions.
    seed
        Dataset seed.
    regions
        Region -> planting (default :data:`~neuroalign.simulate.DEFAULT_REGIONS`).
    overwrite
        Replace an existing non-empty folder once the new one is complete.
    **session_options
        Passed to :func:`~neuroalign.simulate.simulate_session`.

    Returns
    -------
    list of pathlib.Path
        The session files, in their final place.

    Raises
    ------
    OutputExistsError
        If ``out`` exists with content and ``overwrite`` is false.
    ValidationError
        For bad counts or plantings.
    """
    import hdmf
    import pynwb

    n = check_positive_int(n_sessions, "n_sessions")
    regs = dict(DEFAULT_REGIONS if regions is None else regions)
    target = Path(out)
    names = [session_file_name(i) for i in range(n)]
    with atomic_dir(target, overwrite=overwrite) as tmp:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; use the usual folder mode
        files = {}
        for i, name in enumerate(names):
            path = simulate_session(tmp / name, regions=regs, seed=seed, session_index=i,
                                    **session_options)
            files[name] = file_sha256(path)
        manifest = {
            "description": "SYNTHETIC sessions with planted valence geometry "
                           "(neuroalign.simulate); no animal was recorded",
            "synthetic": True,
            "seed": int(seed),
            "n_sessions": n,
            "regions": regs,
            "session_options": dict(session_options),
            "neuroalign_version": neuroalign_version(),
            "pynwb_version": pynwb.__version__,
            "hdmf_version": hdmf.__version__,
            "sha256": files,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, default=str)
        (tmp / "manifest.json").write_text(text + "\n")
    return [target / name for name in names]
