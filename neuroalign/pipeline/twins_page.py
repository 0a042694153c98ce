"""The zoo against its Stable-Baselines3 twins: the folder and the Markdown page.

``neuroalign zoo twins`` runs :func:`neuroalign.study.twins.sb3_comparison` and writes
:func:`write_twins_outputs`: the comparison table and the side rows (by
``sb3_comparison``), ``timing.json`` (the command, the versions, the wall time and every
SB3 twin's training record) and ``twins.md``, rendered by :func:`render_twins_page` from
the table and the timing alone, so every number on the page comes from those files.
:func:`copy_twins_to_docs` puts the page in the documentation
(``docs/replication-sb3.md``) with its data beside it (``docs/replication-sb3/``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from neuroalign.pipeline.replication_page import (
    _count,
    _num,
    _p_text,
    _seconds,
    read_table_and_timing,
)

__all__ = ["TWINS_FILES", "copy_twins_to_docs", "read_twins_outputs", "render_twins_page",
           "sb3_training_records", "write_twins_outputs"]

#: the files of a twins folder (the table and the sides are sb3_comparison's)
TWINS_FILES: dict[str, str] = {"table": "sb3_comparison.csv",
                               "sides": "sb3_comparison_sides.csv",
                               "timing": "timing.json", "page": "twins.md"}

#: the page's name in the documentation, and its data folder beside it
DOCS_PAGE = "replication-sb3.md"


def sb3_training_records(models: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The training record of every SB3 twin in ``models`` (its sidecar JSON): agent
    (its algorithm and layout), task, seed, steps, criterion met, wall time."""
    from neuroalign.zoo.foreign.sb3_train import read_sb3_metrics

    out = []
    for path in sorted(Path(models).glob("sb3-*.zip")):
        meta = read_sb3_metrics(path)
        sep = "-sep" if meta.get("layout") == "separate" else ""
        out.append({"file": path.name, "agent": f"{meta.get('algorithm')}{sep}",
                    "algorithm": meta.get("algorithm"), "layout": meta.get("layout"),
                    "task": meta.get("task"), "seed": meta.get("seed"),
                    "steps": meta.get("steps"), "criterion_met": meta.get("criterion_met"),
                    "train_s": meta.get("wall_time_s")})
    return out


def read_twins_outputs(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The comparison table and ``timing.json`` of a twins folder.

    Raises
    ------
    ValidationError
        A file is missing or ``timing.json`` is not a JSON object.
    """
    return read_table_and_timing(folder, TWINS_FILES["table"], TWINS_FILES["timing"],
                                 "twins")


def _table_lines(table: pd.DataFrame) -> list[str]:
    lines = ["| algorithm | task | stage | A, zoo | A, SB3 | SB3 − zoo | interval | p "
             "| adjusted p | differs | seeds zoo / SB3 | note |",
             "|---|---|---|---:|---:|---:|---|---:|---:|---|---:|---|"]
    for r in table.to_dict("records"):
        n_boot = int(r["n_boot"])
        lo, hi = float(r["ci_low"]), float(r["ci_high"])
        interval = f"[{_num(lo)}, {_num(hi)}]" if math.isfinite(lo) else "n/a"
        p = (str(r["p_display"]).removeprefix("p ").removeprefix("= ")
             if isinstance(r["p_display"], str) else "n/a")
        note = str(r["note"]) if isinstance(r.get("note"), str) else ""
        lines.append(
            f"| {r['algorithm']} | {r['task']} | {r['stage']} | {_num(r['mean_zoo'])} | "
            f"{_num(r['mean_sb3'])} | {_num(r['difference'])} | {interval} | {p} | "
            f"{_p_text(r['p_adjusted'], n_boot)} | {'yes' if r['differs'] else 'no'} | "
            f"{_count(r['n_seeds_zoo'])} / {_count(r['n_seeds_sb3'])} | "
            f"{note.replace('|', '/')} |")
    return lines


def _time_lines(timing: dict[str, Any]) -> list[str]:
    jobs = pd.DataFrame(timing.get("sb3_jobs", []))
    lines = [f"Wall time of the command: {_seconds(timing.get('total_s'))} on "
             f"{timing.get('cpus', '?')} CPU(s), {timing.get('workers', '?')} worker(s)."]
    if not jobs.empty:
        lines += ["", "SB3 twins' training, per agent and task (from each model's record):",
                  "", "| agent | task | models | criterion met | training, mean |",
                  "|---|---|---:|---:|---:|"]
        for (agent, task), sub in jobs.groupby(["agent", "task"], sort=True):
            met = int(sub["criterion_met"].fillna(False).astype(bool).sum())
            train = pd.to_numeric(sub["train_s"], errors="coerce")
            lines.append(f"| {agent} | {task} | {len(sub)} | {met}/{len(sub)} | "
                         f"{_seconds(train.mean())} |")
    return lines


def render_twins_page(table: pd.DataFrame, timing: dict[str, Any]) -> str:
    """The Markdown page of a twins comparison, from its table and timing only.

    Returns
    -------
    str
        The page, ending in a newline; the same inputs give the same text.
    """
    design = timing.get("design", {})
    level = float(table["level"].iloc[0]) if len(table) else math.nan
    n_boot = int(table["n_boot"].iloc[0]) if len(table) else 0
    correction = str(table["correction"].iloc[0]) if len(table) else "holm"
    n_diff = int(table["differs"].astype(bool).sum()) if len(table) else 0
    lines = [
        "# The zoo against Stable-Baselines3 twins",
        "",
        "<!-- generated by `neuroalign zoo twins` from sb3_comparison.csv and timing.json; "
        "do not edit -->",
        "",
        "Is an agent's valence geometry a property of its learning algorithm, or of the "
        "zoo's implementation of it? Each zoo agent is compared with a Stable-Baselines3 "
        "twin trained on the same task with the zoo's budget, trunk and hyper-parameters "
        "(the trunk as a shared features extractor; [zoo](parts/zoo.md)), from the same "
        "seeds. The table gives, per algorithm x task x layer stage, the mean A over seeds "
        "of each implementation and SB3 − zoo with its interval (hierarchical bootstrap: "
        "seeds within each implementation, then each seed's own bootstrap se). Every "
        "number comes from the outputs of the command below; the zoo's side of the claim "
        "is on [replication.md](replication.md).",
        "",
        f"Design: algorithms {', '.join(map(str, design.get('algorithms', [])))}; tasks "
        f"{', '.join(map(str, design.get('tasks', [])))}; layouts "
        f"{', '.join(map(str, design.get('layouts', [])))}; seeds "
        f"{', '.join(map(str, design.get('seeds', [])))}.",
        "",
        "```bash",
        str(timing.get("command", "")),
        "```",
        "",
        f"neuroalign {timing.get('neuroalign_version', '?')}, stable-baselines3 "
        f"{timing.get('sb3_version', '?')}. {len(table)} differences, "
        f"{correction.replace('holm', 'Holm').replace('bh', 'BH')}-corrected together; "
        f"intervals {level:.0%} with {n_boot} replicates; {n_diff} differ after correction.",
        "",
        "## SB3 − zoo",
        "",
        *_table_lines(table),
        "",
        "## Time",
        "",
        *_time_lines(timing),
        "",
    ]
    return "\n".join(lines)


def write_twins_outputs(folder: str | os.PathLike[str], timing: dict[str, Any]) -> str:
    """Write ``timing.json`` and the page into a folder that holds the comparison's
    table; return the page (rendered from the files written)."""
    from neuroalign.core.atomic import atomic_file

    base = Path(folder)
    with atomic_file(base / TWINS_FILES["timing"]) as tmp:
        tmp.write_text(json.dumps(timing, indent=2, allow_nan=False, default=str) + "\n",
                       encoding="utf-8")
    page = render_twins_page(*read_twins_outputs(base))
    with atomic_file(base / TWINS_FILES["page"]) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return page


def copy_twins_to_docs(folder: str | os.PathLike[str], docs: str | os.PathLike[str]) -> Path:
    """Copy a twins folder's page to ``docs/replication-sb3.md`` and its table and timing
    to ``docs/replication-sb3/`` (the data the page is rendered from)."""
    from neuroalign.core.atomic import atomic_file

    src, dst = Path(folder), Path(docs)
    page = render_twins_page(*read_twins_outputs(src))
    data = dst / DOCS_PAGE.removesuffix(".md")
    for name in (TWINS_FILES["table"], TWINS_FILES["timing"]):
        with atomic_file(data / name, suffix=Path(name).suffix) as tmp:
            shutil.copyfile(src / name, tmp)
    with atomic_file(dst / DOCS_PAGE) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dst / DOCS_PAGE
