"""Write a report folder: tables, figures, a self-contained ``report.html``, provenance.

Layout of the folder::

    results.parquet   one row per agent x layer x session x region x measure
    results.csv       the same table as CSV
    summary.csv       per region: best-matching agent/layer, ceiling, asymmetry
    figures/*.png     the figures embedded in report.html
    report.html       self-contained (inline CSS, base64 images)
    config.yaml       the configuration that produced it (every default filled in)
    manifest.json     provenance: version, time, sources, agents, run time, files
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.core.csvsafe import write_csv
from neuroalign.core.provenance import provenance_attrs
from neuroalign.report.figures import (
    plot_approach_profiles,
    plot_asymmetry,
    plot_rdms,
    plot_similarity_matrix,
    plot_trajectories,
)
from neuroalign.report.html import Section, render_html
from neuroalign.report.tables import (
    asymmetry_table,
    best_matches,
    family_table,
    model_label,
    similarity_matrix,
    summary_table,
)

__all__ = ["FIGURE_NAMES", "write_report", "write_tables"]

#: the figures a full report holds, in page order
FIGURE_NAMES = ("similarity_rsa", "similarity_cka", "similarity_shape", "asymmetry",
                "approach_profiles", "trajectories", "rdms")
_MAX_PANELS = 12


def write_tables(folder: Path, results: pd.DataFrame) -> None:
    """``results.parquet``, ``results.csv`` and ``summary.csv`` under ``folder``."""
    table = results.copy()
    if "higher_is_similar" in table:
        table["higher_is_similar"] = table["higher_is_similar"].astype("boolean")
    if "note" in table:
        table["note"] = table["note"].astype("string")
    table.to_parquet(folder / "results.parquet", index=False)
    write_csv(table, folder / "results.csv", index=False)
    write_csv(summary_table(results), folder / "summary.csv", index=False)


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=120)
    return path


def _rdm(patterns: xr.DataArray) -> xr.DataArray:
    """Cross-validated RDM, or squared euclidean when there is one repetition."""
    from neuroalign.compare import compute_rdm

    n_rep = patterns.sizes.get("repetition", 1)
    if n_rep >= 2:
        return compute_rdm(patterns, method="crossnobis")
    flat = patterns.isel(repetition=0) if "repetition" in patterns.dims else patterns
    return compute_rdm(flat, method="sqeuclidean")


def _fmt_stat(row: Any, name: str) -> str:
    est = row.estimate
    if not np.isfinite(est):
        return f"{name} undefined"
    if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
        return f"{name}={est:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}]"
    return f"{name}={est:.2f}"


def _entities(results: pd.DataFrame, inputs: Any) -> tuple[dict, dict]:
    """Panels of the geometry figures: one session per region, the best layer per agent."""
    brain: dict[str, tuple[str, str]] = {}
    for session, region in sorted(inputs.brain, key=lambda k: (k[1], k[0])):
        if region not in {k[1] for k in brain.values()}:
            brain[f"{region} ({session})"] = (session, region)
    models: dict[str, Any] = {}
    main = next((m for m in ("rsa", "cka") if m in set(results["measure"])), None)
    keys = list(inputs.models)
    by_agent: dict[str, list] = {}
    for key in keys:
        by_agent.setdefault(key[0], []).append(key)
    for agent, agent_keys in by_agent.items():
        chosen = agent_keys[0]
        if main is not None:
            sub = results[(results["measure"] == main) & (results["agent"] == agent)]
            if len(sub):
                layer = sub.groupby("layer")["estimate"].mean().idxmax()
                chosen = next(k for k in agent_keys if k[4] == layer)
        family = chosen[1]
        models[f"{agent} / {chosen[4]} [{family}]"] = chosen
    return brain, models


def _geometry_figures(folder: Path, results: pd.DataFrame, inputs: Any, config: Any
                      ) -> dict[str, Path]:
    from neuroalign.pipeline.cell import align_conditions
    from neuroalign.pipeline.measures import CellOptions, geometry_result

    options = CellOptions(**config.cell_options())
    brain_ents, model_ents = _entities(results, inputs)
    any_model = next(iter(inputs.models.values()))
    panels: dict[str, xr.DataArray] = {}
    for title, key in brain_ents.items():
        panels[title] = align_conditions(any_model, inputs.brain[key])[1]
    first_brain = next(iter(inputs.brain.values()))
    for title, key in model_ents.items():
        panels[title] = align_conditions(inputs.models[key], first_brain)[0]
    panels = dict(list(panels.items())[:_MAX_PANELS])
    profiles, subtitles = {}, {}
    measured = "A.brain" in set(results["measure"])  # geometry was asked for
    for title, da in panels.items() if measured else ():
        res = geometry_result(da, n_boot=config.n_boot, n_perm=config.n_perm,
                              seed=config.seed, options=options)
        if isinstance(res, str):
            continue
        profiles[title] = res.profiles
        subtitles[title] = "\n".join(_fmt_stat(res[n], n) for n in ("S_reward", "S_danger"))
    out = {}
    if profiles:
        out["approach_profiles"] = _save(plot_approach_profiles(profiles, subtitles),
                                         folder / "approach_profiles.png")
    out["trajectories"] = _save(plot_trajectories(panels), folder / "trajectories.png")
    return out


def _rdm_figure(folder: Path, results: pd.DataFrame, inputs: Any) -> Path | None:
    main = next((m for m in ("rsa", "cka") if m in set(results["measure"])), None)
    if main is None:
        return None
    best = best_matches(results, main)
    pairs = []
    seen: set[str] = set()
    for row in best.sort_values(["region", "session"]).itertuples(index=False):
        if row.region in seen or len(pairs) >= 6:
            continue
        seen.add(row.region)
        brain = inputs.brain[(row.session, row.region)]
        mkey = next(k for k in inputs.models
                    if (k[0], k[3], k[4]) == (row.agent, row.seed, row.layer))
        from neuroalign.pipeline.cell import align_conditions

        m, b = align_conditions(inputs.models[mkey], brain)
        pairs.append((f"{row.region} ({row.session})\ncross-validated RDM", _rdm(b),
                      f"best match: {model_label(row.agent, row.layer)}\n"
                      f"{main.upper()} (this session) = {row.estimate:.2f}", _rdm(m)))
    if not pairs:
        return None
    return _save(plot_rdms(pairs), folder / "rdms.png")


def _similarity_figures(folder: Path, results: pd.DataFrame) -> dict[str, Path]:
    out = {}
    labels = {"rsa": ("RSA (Spearman between cross-validated RDMs)", "RSA"),
              "cka": ("Debiased linear CKA", "CKA"),
              "shape": ("Angular Procrustes distance (lower = more similar)", "angle (rad)")}
    for measure, (title, vlabel) in labels.items():
        if measure not in set(results["measure"]):
            continue
        mat = similarity_matrix(results, measure)
        ceiling = mat["ceiling_low"] if measure != "shape" else None
        fig = plot_similarity_matrix(
            mat["estimate"], ceiling=ceiling if ceiling is not None and
            np.isfinite(ceiling.to_numpy(dtype=float)).any() else None,
            lower=mat["ci_low"], upper=mat["ci_high"], families=mat["families"],
            title=f"{title}\nagent layer x region, mean over sessions and seeds",
            value_label=vlabel, distance=measure == "shape")
        out[f"similarity_{measure}"] = _save(fig, folder / f"similarity_{measure}.png")
    return out


_CAPTIONS = {
    "similarity_rsa": "Each cell: Spearman correlation between the agent layer's RDM and the "
    "region's cross-validated RDM, averaged over sessions and seeds, with the mean bootstrap "
    "interval. Last row: lower bound of the noise ceiling (how well the data could be "
    "matched at their noise level). Row labels: blue value-learners, orange policy-learners.",
    "similarity_cka": "Debiased linear CKA between condition-mean patterns; near 0 for "
    "unrelated representations.",
    "similarity_shape": "Angular Procrustes distance between condition-mean patterns "
    "(0 = identical up to rotation and scale; lower is more similar).",
    "asymmetry": "Valence asymmetry A = S_danger - S_reward per region and per agent layer. "
    "A > 0: the representation jumps at the outcome for danger (a wall) and changes "
    "gradually for reward (a funnel); the claim under test attributes A > 0 to "
    "value-learners and A < 0 to policy-learners. Intervals: bootstrap over repetitions; "
    "p: permutation of valence labels.",
    "approach_profiles": "Share of the representational path covered as the outcome "
    "nears, per valence. A funnel climbs steadily (dashed diagonal = equal steps); a wall "
    "stays low and jumps in the final step. S: share covered in the final step.",
    "trajectories": "Condition means projected on each panel's first two principal "
    "components; the star marks the outcome step.",
    "rdms": "Each region's cross-validated RDM beside the RDM of its best-matching agent "
    "layer, shown as ranks (what Spearman RSA compares).",
}


def write_report(folder: str | Path, results: pd.DataFrame, inputs: Any, config: Any, *,
                 elapsed_s: float = float("nan"), figures: bool = True,
                 prog: Any = None) -> list[Path]:
    """Write the whole report into ``folder`` (an existing, empty folder).

    Parameters
    ----------
    folder
        Target folder (the caller makes it atomic, see
        :func:`neuroalign.core.atomic.atomic_dir`).
    results
        The tidy results table.
    inputs
        The run's patterns (``inputs.brain``: ``(session, region) -> DataArray``,
        ``inputs.models``: ``(agent, family, task, seed, layer) -> DataArray``).
    config
        The :class:`~neuroalign.pipeline.config.RunConfig` of the run.
    elapsed_s
        Compute time so far, recorded in the manifest and the page.
    figures
        Draw the figures (off: tables and HTML only).
    prog
        A rich ``Progress`` to report on (optional).

    Returns
    -------
    list of Path
        The figure files written.
    """
    folder = Path(folder)
    task = prog.add_task("writing report", total=3) if prog is not None else None
    write_tables(folder, results)
    (folder / "config.yaml").write_text(_yaml(config.model_dump(mode="json")))
    if prog is not None:
        prog.update(task, advance=1)
    figs: dict[str, Path] = {}
    if figures:
        fig_dir = folder / "figures"
        fig_dir.mkdir()
        figs.update(_similarity_figures(fig_dir, results))
        if {"A.brain", "A.model"} & set(results["measure"]):
            figs["asymmetry"] = _save(plot_asymmetry(asymmetry_table(results)),
                                      fig_dir / "asymmetry.png")
        figs.update(_geometry_figures(fig_dir, results, inputs, config))
        rdm = _rdm_figure(fig_dir, results, inputs)
        if rdm is not None:
            figs["rdms"] = rdm
    if prog is not None:
        prog.update(task, advance=1)
    synthetic = any(int(da.attrs.get("synthetic", 0)) for da in inputs.brain.values())
    manifest = provenance_attrs(
        kind="neuroalign run report", elapsed_s=round(float(elapsed_s), 2),
        sources=list(getattr(inputs, "sources", [])),
        sessions=sorted({k[0] for k in inputs.brain}),
        regions=sorted({k[1] for k in inputs.brain}),
        models=[list(map(str, k)) for k in inputs.models],
        n_cells=len(inputs.brain) * len(inputs.models), n_rows=len(results),
        synthetic=synthetic, files=sorted(str(p.relative_to(folder)) for p in
                                          folder.rglob("*") if p.is_file()),
    )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    (folder / "report.html").write_text(_page(results, figs, config, manifest, synthetic,
                                              _data_notes(inputs)))
    if prog is not None:
        prog.update(task, advance=1)
    return [figs[name] for name in FIGURE_NAMES if name in figs]


def _yaml(data: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(data), sort_keys=False)


def _data_notes(inputs: Any) -> list[str]:
    """What the recordings can and cannot show (their files' ``data_collection``), and the
    approach axis when it does not count bins before the outcome."""
    notes: list[str] = []
    for da in inputs.brain.values():
        unit = str(da.attrs.get("approach_unit", "bins before the outcome"))
        about = str(da.attrs.get("data_collection", ""))
        for text in (f"About the recordings (from the files): {about}" if about else "",
                     "" if unit == "bins before the outcome" else f"Approach axis: {unit}."):
            if text and text not in notes:
                notes.append(text)
    return notes


def _page(results: pd.DataFrame, figs: Mapping[str, Path], config: Any,
          manifest: Mapping[str, Any], synthetic: bool, data_notes: Sequence[str] = ()) -> str:
    meta = [
        f"neuroalign {manifest['neuroalign_version']} · {manifest['created']} · "
        f"compute time {manifest['elapsed_s']} s",
        f"{len(manifest['sessions'])} session(s), regions {', '.join(manifest['regions'])}; "
        f"{len(manifest['models'])} agent layer(s); {manifest['n_cells']} cells",
        f"bootstrap n={config.n_boot}, permutations n={config.n_perm}, seed={config.seed}, "
        f"RSA comparison {config.rsa_method}, interval level {config.ci:g}",
    ]
    notes = []
    if synthetic:
        notes.append("The recordings in this report are SYNTHETIC (simulated sessions with "
                     "planted geometry), not mouse data.")
    notes.extend(data_notes)
    notes.append("Walls and funnels are neuroalign's operational definition of a hypothesis "
                 "(docs/parts/geometry.md), not an established measure.")
    sections = [Section("Summary: best-matching agent per region",
                        text="Averaged over sessions and seeds; the full per-cell table is in "
                             "results.csv / results.parquet. A = S_danger - S_reward of the "
                             "region and of its best match.",
                        table=summary_table(results))]
    main = next((m for m in ("rsa", "cka") if m in set(results["measure"])), None)
    if main is not None:
        sections.append(Section(
            "Learner families per region",
            text=f"Mean {main.upper()} over every agent, layer, session and seed of each "
                 "family (value-learners vs policy-learners).",
            table=family_table(results, main)))
    titles = {"similarity_rsa": "Agent x region similarity: RSA",
              "similarity_cka": "Agent x region similarity: CKA",
              "similarity_shape": "Agent x region shape distance",
              "asymmetry": "Walls and funnels: valence asymmetry",
              "approach_profiles": "Approach profiles per valence",
              "trajectories": "Trajectories along the approach",
              "rdms": "RDMs: each region beside its best match"}
    for name in FIGURE_NAMES:
        if name in figs:
            sections.append(Section(titles[name], image=figs[name], caption=_CAPTIONS[name]))
    asym = asymmetry_table(results)
    if len(asym):
        sections.append(Section("Valence asymmetry table", table=asym.drop(columns="note")))
    return render_html("neuroalign report", meta, sections, notes)
