"""The outputs of ``neuroalign replicate`` and the Markdown page rendered from them.

:func:`write_outputs` writes ``replication.csv``, ``timing.json``,
``results.parquet``, ``replication.png`` and ``replication.md`` into a folder;
:func:`render_page` builds the page from ``replication.csv`` and ``timing.json``
alone, so the page a folder holds is :func:`render_folder` of that folder, and
``docs/replication.md`` is the render of the data committed beside it
(``docs/replication/``). Every number on the page comes from those two files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuroalign.core.errors import ValidationError

__all__ = ["FILES", "copy_to_docs", "read_outputs", "read_table_and_timing", "render_folder",
           "render_page", "write_outputs"]

#: the files of a replication folder
FILES: dict[str, str] = {
    "table": "replication.csv", "timing": "timing.json", "results": "results.parquet",
    "figure": "replication.png", "page": "replication.md",
}

_DPI = 110


def read_outputs(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``replication.csv`` and ``timing.json`` of a replication folder.

    Raises
    ------
    ValidationError
        A file is missing or ``timing.json`` is not a JSON object.
    """
    return read_table_and_timing(folder, FILES["table"], FILES["timing"], "replication")


def read_table_and_timing(folder: str | os.PathLike[str], table_file: str, timing_file: str,
                          what: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A results folder's table (CSV) and its timing record (a JSON object), the two
    files a generated page is rendered from; ``what`` names the folder's kind in errors.

    Raises
    ------
    ValidationError
        A file is missing or the timing file is not a JSON object.
    """
    from neuroalign.core.atomic import check_regular_file

    base = Path(folder)
    table = pd.read_csv(check_regular_file(base / table_file, f"{what} table"),
                        keep_default_na=True)
    with open(check_regular_file(base / timing_file, "timing file"),
              encoding="utf-8") as handle:
        timing = json.load(handle)
    if not isinstance(timing, dict):
        raise ValidationError(f"{base / timing_file}: got {type(timing).__name__}; "
                              "expected a JSON object")
    return table, timing


def _num(value: Any, digits: int = 2, sign: bool = True) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else "none detectable"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p_text(p: Any, n_boot: int) -> str:
    """An adjusted p-value at the resolution of its bootstrap (never more digits)."""
    from neuroalign.study.verdict import format_p

    try:
        x = float(p)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return "n/a"
    return format_p(x, n_boot).removeprefix("p ").removeprefix("= ")


def _count(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if not math.isfinite(x) else str(int(x))


def _seconds(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.0f} s ({x / 60:.1f} min)" if x >= 60 else f"{x:.1f} s"


def _results_table(table: pd.DataFrame) -> list[str]:
    lines = ["| task | architecture | family | stage | A | interval | p | adjusted p | mde "
             "| verdict | seeds used | left out |",
             "|---|---|---|---|---:|---|---:|---:|---:|---|---:|---:|"]
    for r in table.to_dict("records"):
        n_boot = int(r["n_boot"])
        interval = (f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
                    if np.isfinite(float(r["ci_low"])) else "n/a")
        p = str(r["p_display"]).removeprefix("p ").removeprefix("= ") \
            if isinstance(r["p_display"], str) else "n/a"
        task = "pooled" if r["task"] == "all" else r["task"]
        arch = "every one" if r["architecture"] == "all" else r["architecture"]
        lines.append(f"| {task} | {arch} | {r['family']} | {r['stage']} | "
                     f"{_num(r['estimate'])} | {interval} | {p} | "
                     f"{_p_text(r['p_adjusted'], n_boot)} | {_num(r['mde'], sign=False)} | "
                     f"{r['verdict']} | {_count(r['n_seeds'])} | {_count(r['n_left_out'])} |")
    return lines


def _left_out_lines(table: pd.DataFrame, timing: dict[str, Any]) -> list[str]:
    per_group = table[table["task"] != "all"].drop_duplicates(
        ["task", "architecture", "family"])
    per_group = per_group[per_group["family"] != "value - policy"]
    lines = []
    for r in per_group.to_dict("records"):
        below, failed = int(r["n_below_criterion"]), int(r["n_failed"])
        if below or failed:
            lines.append(f"- {r['task']}, {r['architecture']}, {r['family']}-learners: "
                         f"{below} below the success criterion, {failed} failed to train "
                         f"({int(r['n_left_out'])} left out)")
    head = [f"Networks that did not meet their task's success criterion are "
            f"{'kept in' if timing.get('include_failed') else 'left out of'} the families; "
            "those that failed to train are left out."]
    if not lines:
        lines = ["- none: every network trained and met its task's criterion"]
    skipped = [f"- {s}" for s in timing.get("skipped", [])]
    if skipped:
        skipped = ["", "Combinations the zoo does not train (not part of the replication):",
                   "", *skipped]
    return [*head, "", *lines, *skipped]


def _timing_lines(timing: dict[str, Any]) -> list[str]:
    jobs = pd.DataFrame(timing.get("jobs", []))
    proj = timing.get("projection", {})
    lines = [
        f"Measured on {timing.get('cpus', '?')} CPU(s) with {timing.get('workers', '?')} "
        f"worker(s): {timing.get('n_jobs', 0)} networks, {timing.get('n_trained', 0)} trained "
        f"by this run, {timing.get('n_existing', 0)} found, {timing.get('n_failed', 0)} "
        "failed.", "",
        "| step | wall time |", "|---|---:|",
        f"| sweep (training) | {_seconds(timing.get('sweep_s'))} |",
        f"| probing and geometry | {_seconds(timing.get('probing_s'))} |",
        f"| study | {_seconds(timing.get('study_s'))} |",
        f"| total | {_seconds(timing.get('total_s'))} |", "",
    ]
    if not jobs.empty:
        lines += ["Per-job costs (training time as measured by this run's sweep, or as "
                  "recorded in a shipped checkpoint; probing as measured here):", "",
                  "| agent | task | jobs | training, mean | training, max | probing, mean |",
                  "|---|---|---:|---:|---:|---:|"]
        for (agent, task), sub in jobs.groupby(["agent", "task"], sort=True):
            train = pd.to_numeric(sub["train_s"], errors="coerce")
            probe = pd.to_numeric(sub["probe_s"], errors="coerce")
            lines.append(f"| {agent} | {task} | {len(sub)} | {_seconds(train.mean())} | "
                         f"{_seconds(train.max())} | {_seconds(probe.mean())} |")
        lines.append("")
    if proj:
        lines += [f"Projected from these per-job costs ({proj.get('rule', '')}): "
                  f"{_seconds(proj.get('wall_s'))} on {proj.get('workers')} workers, "
                  f"{_seconds(proj.get('one_worker_s'))} on one worker, "
                  f"{_seconds(proj.get('this_machine_s'))} on {timing.get('workers')} "
                  "worker(s)."]
        unknown = int(proj.get("jobs_without_training_time", 0))
        if unknown:
            lines += ["", f"{unknown} network(s) were trained by an earlier run, whose "
                      "checkpoints do not record their training time: the projection counts "
                      "their probing only and is a lower bound. Run from an empty sweep "
                      "folder to measure every job."]
    return lines


def _design_lines(design: dict[str, Any]) -> list[str]:
    """What was trained and tested, and a warning when it cannot settle the claim."""
    if not design:
        return []
    seeds = [int(s) for s in design.get("seeds", [])]
    lines = [f"Design: algorithms {', '.join(design.get('algorithms', []))}; tasks "
             f"{', '.join(design.get('tasks', []))}; trunks "
             f"{', '.join(design.get('trunks', []))}; layouts "
             f"{', '.join(design.get('layouts', []))}; {len(seeds)} seeds "
             f"({_seed_text(seeds)}).", ""]
    if len(seeds) < 10:
        lines += [f"!!! warning \"Provisional\"\n    {len(seeds)} seeds per algorithm: a "
                  "check of the pipeline, not a test of the claim (at least 10 are needed; "
                  "`neuroalign replicate replication` runs the full design).", ""]
    return lines


def _seed_text(seeds: list[int]) -> str:
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def _floor_lines(study: dict[str, Any], n_tests: int) -> list[str]:
    """A warning when the bootstrap's resolution keeps Holm's correction from alpha."""
    n_boot, alpha = int(study.get("n_boot", 0) or 0), float(study.get("alpha", 0.05))
    if study.get("correction") != "holm" or n_boot <= 0 or not n_tests:
        return []
    floor = 2.0 / (n_boot + 1)
    if floor * n_tests < alpha:
        return []
    return [f"!!! warning \"Resolution\"\n    With {n_boot} replicates the smallest p is "
            f"{floor:.2g}; Holm over {n_tests} tests cannot reach alpha = {alpha:g}. Raise "
            "`study.n_boot`.", ""]


def render_page(table: pd.DataFrame, timing: dict[str, Any],
                figure: str = FILES["figure"]) -> str:
    """The Markdown page of a replication, from its table and its timing record only.

    Parameters
    ----------
    table
        ``replication.csv`` (as read by :func:`read_outputs`).
    timing
        ``timing.json``: the command, the study settings, the times and the counts.
    figure
        The figure's path relative to the page.

    Returns
    -------
    str
        The page, ending in a newline; the same inputs give the same text.
    """
    study = timing.get("study", {})
    n_tests = len(table)
    lines = [
        "# Replication of the agents' side (H1)",
        "",
        "<!-- generated by `neuroalign replicate` from replication.csv and timing.json; "
        "do not edit -->",
        "",
        "Does the learning algorithm set the valence geometry of an agent's layers? The "
        "claim: value-learners have walls around danger (A = S_danger − S_reward > 0), "
        "policy-learners the opposite (A < 0). This page tests it on the zoo's agents, "
        "trained from many seeds, for each task and architecture (trunk x actor-critic "
        "layout), with neuroalign's own definition of A ([geometry](parts/geometry.md)). "
        "Every number on it comes from the outputs of the command below. The same "
        "algorithms against their Stable-Baselines3 twins: "
        "[replication-sb3.md](replication-sb3.md).",
        "",
        *_design_lines(timing.get("design", {})),
        "```bash",
        str(timing.get("command", "")),
        "```",
        "",
        f"neuroalign {timing.get('neuroalign_version', '?')}. {n_tests} tests, "
        f"{str(study.get('correction', 'holm')).replace('holm', 'Holm').replace('bh', 'BH')}"
        f"-corrected together (alpha = {study.get('alpha', '?')}); intervals "
        f"{float(study.get('level', math.nan)):.0%}, hierarchical bootstrap over "
        f"algorithm > seed > repetition with {study.get('n_boot', '?')} replicates; mde: the "
        f"smallest |A| (or difference) each test detects with "
        f"{float(study.get('power', math.nan)):.0%} power at its corrected alpha. Per task "
        "x architecture the leaves are the seeds; pooled, every trained network is a leaf "
        "under its algorithm. Stages: each trunk (or actor / critic) "
        "layer, and the readouts together.",
        "",
        *_floor_lines(study, n_tests),
        "## Results",
        "",
        *_results_table(table),
        "",
        f"![A per family and layer stage, with intervals, per task and architecture]"
        f"({figure})",
        "",
        "## Left out",
        "",
        *_left_out_lines(table, timing),
        "",
        "## Time",
        "",
        *_timing_lines(timing),
        "",
    ]
    return "\n".join(lines)


def render_folder(folder: str | os.PathLike[str]) -> str:
    """:func:`render_page` of a replication folder's ``replication.csv`` and
    ``timing.json``."""
    table, timing = read_outputs(folder)
    return render_page(table, timing)


def write_outputs(folder: str | os.PathLike[str], table: pd.DataFrame,
                  results: pd.DataFrame, timing: dict[str, Any]) -> str:
    """Write every output of a replication into ``folder``; return the page.

    The page is rendered from the files just written (:func:`render_folder`), so it
    is exactly what the folder's table and timing give. Each file is written
    atomically.
    """
    from neuroalign.core.atomic import atomic_file
    from neuroalign.core.csvsafe import write_csv
    from neuroalign.report.figures import plot_replication

    base = Path(folder)
    write_csv(table, base / FILES["table"], index=False)
    with atomic_file(base / FILES["timing"]) as tmp:
        tmp.write_text(json.dumps(timing, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    frame = results.copy()
    if "note" in frame:
        frame["note"] = frame["note"].astype("string")
    with atomic_file(base / FILES["results"]) as tmp:
        frame.to_parquet(tmp, index=False)
    read_table, read_timing = read_outputs(base)
    fig = plot_replication(read_table)
    with atomic_file(base / FILES["figure"], suffix=".png") as tmp:
        fig.savefig(tmp, dpi=_DPI, metadata={"Software": None})
    page = render_page(read_table, read_timing)
    with atomic_file(base / FILES["page"]) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return page


def copy_to_docs(folder: str | os.PathLike[str], docs: str | os.PathLike[str]) -> Path:
    """Copy a replication's page to ``docs/replication.md``, its figure beside it and its
    table and timing to ``docs/replication/`` (the data the page is rendered from).

    Returns
    -------
    pathlib.Path
        The page written.
    """
    from neuroalign.core.atomic import atomic_file

    src, dst = Path(folder), Path(docs)
    page = render_folder(src)
    for name, target in ((FILES["table"], dst / "replication" / FILES["table"]),
                         (FILES["timing"], dst / "replication" / FILES["timing"]),
                         (FILES["figure"], dst / FILES["figure"])):
        with atomic_file(target, suffix=Path(name).suffix) as tmp:
            shutil.copyfile(src / name, tmp)
    with atomic_file(dst / FILES["page"]) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dst / FILES["page"]
