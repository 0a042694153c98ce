"""Reading a results folder: a run's report folder or a batch folder, the same way.

:func:`read_results` gives the results table of either, checked against the one
schema (:func:`neuroalign.core.results.results_table`, older layouts migrated at the
cells' recorded interval level); :func:`recorded_settings` gives what the run or
batch recorded about its cells and its study.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from neuroalign.core.errors import SourceError
from neuroalign.core.results import results_table

__all__ = ["read_results", "recorded_settings"]


def recorded_settings(folder: str | Path) -> dict[str, Any]:
    """What the run or batch that wrote ``folder`` recorded about its cells and study.

    A run's report folder records its config in ``config.yaml``, a batch folder in
    its plan (``batch.json``). Returns the keys found among ``ci`` (the cells'
    interval level), ``seed`` (the cells' seed) and ``study`` (the ``study:``
    section); an empty dict when neither file is there or readable.
    """
    folder = Path(folder)
    config: Any = None
    if (folder / "config.yaml").is_file():
        import yaml

        try:
            config = yaml.safe_load((folder / "config.yaml").read_text())
        except (OSError, yaml.YAMLError):
            config = None
        options = config
    else:
        from neuroalign.batch.store import PLAN_FILE

        if (folder / PLAN_FILE).is_file():
            import json

            try:
                plan = json.loads((folder / PLAN_FILE).read_text())
            except (OSError, ValueError):
                plan = None
            config = plan.get("config") if isinstance(plan, Mapping) else None
            options = config.get("options") if isinstance(config, Mapping) else None
    if not isinstance(config, Mapping):
        return {}
    out: dict[str, Any] = {}
    ci = options.get("ci") if isinstance(options, Mapping) else None
    if isinstance(ci, (int, float)) and not isinstance(ci, bool):
        out["ci"] = float(ci)
    seed = config.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        out["seed"] = seed
    if isinstance(config.get("study"), Mapping):
        out["study"] = dict(config["study"])
    return out


def read_results(folder: str | Path, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The results table of a run's report folder or of a batch folder, read the same way.

    Parameters
    ----------
    folder
        A report folder of ``neuroalign run`` (``results.parquet``) or the ``--out``
        of ``neuroalign batch`` (its finished cells).
    columns
        Read only these columns of a batch (default: all).

    Returns
    -------
    pandas.DataFrame
        :func:`results_table` of the rows, the cells' recorded level used for
        older tables.

    Raises
    ------
    SourceError
        ``folder`` is neither.
    """
    folder = Path(folder)
    level = recorded_settings(folder).get("ci")
    if (folder / "results.parquet").is_file():
        frame = pd.read_parquet(folder / "results.parquet")
        return results_table(frame, cell_level=level, name=str(folder / "results.parquet"))
    from neuroalign.batch.store import PLAN_FILE, load_results

    if not (folder / PLAN_FILE).is_file():
        raise SourceError(f"results {folder}: holds neither {PLAN_FILE} (a batch folder) "
                          "nor results.parquet (a run's report folder)")
    frame = load_results(folder, columns=columns)
    return results_table(frame, cell_level=level, name=str(folder))
