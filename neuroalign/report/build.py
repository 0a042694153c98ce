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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign.core.csvsafe import write_csv
from neuroalign.core.provenance import provenance_attrs
from neuroalign.core.results import results_table, side_statistics
from neuroalign.core.workers import forked_map
from neuroalign.report.figures import (
    plot_approach_profiles,
    plot_asymmetry,
    plot_rdms,
    plot_similarity_matrix,
    plot_trajectories,
    plot_verdict,
)
from neuroalign.report.html import PAGE_WIDTH_PX, Section, render_html
from neuroalign.report.tables import (
    asymmetry_table,
    best_matches,
    family_table,
    model_label,
    similarity_matrix,
    summary_table,
)

__all__ = ["FIGURE_NAMES", "render_figures", "write_report", "write_tables"]

#: the figures a full report holds, in page order
FIGURE_NAMES = ("verdict", "similarity_rsa", "similarity_cka", "similarity_shape",
                "asymmetry", "approach_profiles", "trajectories", "rdms")
#: the same, slowest to draw first
_DRAW_ORDER = ("verdict", "asymmetry", "trajectories", "approach_profiles", "rdms",
               "similarity_rsa", "similarity_cka", "similarity_shape")
_MAX_PANELS = 12


def write_tables(folder: Path, results: pd.DataFrame, study: Any = None,
                 summary: pd.DataFrame | None = None) -> None:
    """``results.parquet``, ``results.csv`` and ``summary.csv`` under ``folder``
    (``summary``: the :func:`~neuroalign.report.summary_table` of ``results`` and
    ``study`` when already made)."""
    table = results.copy()
    if "higher_is_similar" in table:
        table["higher_is_similar"] = table["higher_is_similar"].astype("boolean")
    if "note" in table:
        table["note"] = table["note"].astype("string")
    table.to_parquet(folder / "results.parquet", index=False)
    write_csv(table, folder / "results.csv", index=False)
    if summary is None:
        summary = summary_table(results, study)
    write_csv(summary, folder / "summary.csv", index=False)


#: a figure to draw: its name, the function building it, its arguments, its file
Job = tuple[str, Callable[..., Any], tuple[Any, ...], Path]


#: resolution of the figures, lowered for figures wider than the page shows
_DPI = 120
#: zlib level of the PNG files: 3 writes them about twice as fast as the default (6),
#: a few per cent larger
_PNG_COMPRESSION = 3


def _draw(build: Callable[..., Any], args: tuple[Any, ...], path: Path) -> Path:
    """Build one figure and write it as PNG (Agg), no wider than the page shows it."""
    fig = build(*args)
    width_in = float(fig.get_figwidth())
    fig.savefig(path, dpi=min(_DPI, max(72, PAGE_WIDTH_PX / width_in)),
                pil_kwargs={"compress_level": _PNG_COMPRESSION})
    return path


def render_figures(jobs: Sequence[Job], workers: int | None = None) -> dict[str, Path]:
    """Draw and save every figure of ``jobs``, in parallel processes where possible.

    Text layout and rasterisation (matplotlib Agg) take almost all of a report's time
    and hold the interpreter, so the figures are drawn in forked worker processes (one
    per CPU by default, the first figures first: put the slowest first); where ``fork``
    is not available, or with one CPU or one figure, they are drawn here
    (:func:`neuroalign.core.workers.forked_map`). The files are identical either way.

    Returns
    -------
    dict
        Figure name -> file written.
    """
    paths = forked_map(lambda job: _draw(*job[1:]), list(jobs), workers)
    return {job[0]: path for job, path in zip(jobs, paths, strict=True)}


def _fmt_stat(row: Any, name: str) -> str:
    est = row.estimate
    if not np.isfinite(est):
        return f"{name} undefined"
    if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
        return f"{name}={est:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}]"
    return f"{name}={est:.2f}"


def _entities(results: pd.DataFrame, arts: Any) -> tuple[dict, dict, list[str]]:
    """Panels of the geometry figures: one session per region, the best layer per agent.

    Layers with a single unit are skipped (a PCA of one unit is not a
    trajectory); the skipped ones are returned for the caption.
    """
    brain: dict[str, tuple] = {}
    for key in sorted((k for k in arts.means if k[0] == "brain"), key=lambda k: (k[2], k[1])):
        if key[2] not in {k[2] for k in brain.values()}:
            brain[f"{key[2]} ({key[1]})"] = key
    models: dict[str, tuple] = {}
    skipped: list[str] = []
    main = next((m for m in ("rsa", "cka") if m in set(results["measure"])), None)
    by_agent: dict[str, list] = {}
    for key in (k for k in arts.means if k[0] == "model"):
        if arts.n_units.get(key, 0) < 2:
            skipped.append(f"{key[1]}/{key[5]}")
            continue
        by_agent.setdefault(key[1], []).append(key)
    for agent, agent_keys in by_agent.items():
        chosen = agent_keys[0]
        if main is not None:
            sub = results[(results["measure"] == main) & (results["agent"] == agent)]
            sub = sub[sub["layer"].isin({k[5] for k in agent_keys})]
            if len(sub) and sub["estimate"].notna().any():
                layer = sub.groupby("layer")["estimate"].mean().idxmax()
                chosen = next(k for k in agent_keys if k[5] == layer)
        models[f"{agent} / {chosen[5]} (seed {chosen[4]}) [{chosen[2]}]"] = chosen
    return brain, models, sorted(set(skipped))


def _geometry_figures(folder: Path, results: pd.DataFrame, arts: Any
                      ) -> tuple[list[Job], list[str]]:
    brain_ents, model_ents, skipped = _entities(results, arts)
    keys = dict(list({**brain_ents, **model_ents}.items())[:_MAX_PANELS])
    profiles, subtitles = {}, {}
    for title, key in keys.items():
        if key in arts.profiles:
            prof = arts.profiles[key]
            profiles[title] = prof
            subtitles[title] = _profile_subtitle(results, key)
    out: list[Job] = []
    if profiles:
        out.append(("approach_profiles", plot_approach_profiles, (profiles, subtitles),
                    folder / "approach_profiles.png"))
    panels = {title: arts.means[key] for title, key in keys.items()}
    if panels:
        out.append(("trajectories", plot_trajectories, (panels,), folder / "trajectories.png"))
    return out, skipped


def _profile_subtitle(results: pd.DataFrame, key: tuple) -> str:
    """``S_reward`` and ``S_danger`` of one side, read from the results table."""
    if key[0] == "brain":
        sel = (results["session"] == key[1]) & (results["region"] == key[2])
    else:
        sel = ((results["agent"] == key[1]) & (results["task"] == key[3])
               & (results["seed"] == key[4]) & (results["layer"] == key[5]))
    lines = []
    for name in ("S_reward", "S_danger"):
        rows = side_statistics(results[sel], key[0], name)
        if len(rows):
            lines.append(_fmt_stat(rows.iloc[0], name))
    return "\n".join(lines)


def _rdm_figure(folder: Path, results: pd.DataFrame, arts: Any) -> Job | None:
    main = next((m for m in ("rsa", "cka") if m in set(results["measure"])), None)
    if main is None:
        return None
    best = best_matches(results, main)
    pairs: list[tuple[str, xr.DataArray, str, xr.DataArray]] = []
    seen: set[str] = set()
    for row in best.sort_values(["region", "session"]).itertuples(index=False):
        if row.region in seen or len(pairs) >= 6:
            continue
        bkey = ("brain", row.session, row.region)
        mkey = next((k for k in arts.rdms if k[0] == "model"
                     and (k[1], k[4], k[5]) == (row.agent, row.seed, row.layer)), None)
        if bkey not in arts.rdms or mkey is None:
            continue
        seen.add(row.region)
        b_rdm = arts.rdms[bkey]
        labels = [lab for lab in b_rdm["label"].values if lab in set(arts.rdms[mkey]["label"]
                                                                      .values)]
        m_rdm = _sub_rdm(arts.rdms[mkey], labels)
        pairs.append((f"{row.region} ({row.session})\ncross-validated RDM",
                      _sub_rdm(b_rdm, labels),
                      f"best match: {model_label(row.agent, row.layer)}\n"
                      f"{main.upper()} (this session) = {row.estimate:.2f}", m_rdm))
    if not pairs:
        return None
    return ("rdms", plot_rdms, (pairs,), folder / "rdms.png")


def _sub_rdm(rdm: xr.DataArray, labels: list[str]) -> xr.DataArray:
    pos = {lab: i for i, lab in enumerate(rdm["label"].values.tolist())}
    idx = [pos[lab] for lab in labels]
    return rdm.isel({d: idx for d in rdm.dims})


def _similarity_figures(folder: Path, results: pd.DataFrame) -> list[Job]:
    out: list[Job] = []
    labels = {"rsa": ("RSA (Spearman between cross-validated RDMs)", "RSA"),
              "cka": ("Debiased linear CKA", "CKA"),
              "shape": ("Angular Procrustes distance (lower = more similar)", "angle (rad)")}
    for measure, (title, vlabel) in labels.items():
        if measure not in set(results["measure"]):
            continue
        mat = similarity_matrix(results, measure)
        ceiling = mat["ceiling_low"] if measure != "shape" else None
        kwargs = {
            "ceiling": ceiling if ceiling is not None and
            np.isfinite(ceiling.to_numpy(dtype=float)).any() else None,
            "lower": mat["ci_low"], "upper": mat["ci_high"], "families": mat["families"],
            "title": f"{title}\nagent layer x region, mean over sessions and seeds",
            "value_label": vlabel, "distance": measure == "shape"}
        out.append((f"similarity_{measure}", _similarity_figure, (mat["estimate"], kwargs),
                    folder / f"similarity_{measure}.png"))
    return out


def _similarity_figure(estimate: pd.DataFrame, kwargs: dict[str, Any]) -> Any:
    return plot_similarity_matrix(estimate, **kwargs)


_CAPTIONS = {
    "similarity_rsa": "Each cell: Spearman correlation between the agent layer's RDM and the "
    "region's cross-validated RDM, averaged over sessions and seeds, with the mean bootstrap "
    "interval. Last row: lower bound of the noise ceiling (how well the data could be "
    "matched at their noise level). Row labels: blue value-learners, orange policy-learners.",
    "similarity_cka": "Debiased linear CKA between condition-mean patterns; near 0 for "
    "unrelated representations.",
    "similarity_shape": "Angular Procrustes distance between condition-mean patterns "
    "(0 = identical up to rotation and scale; lower is more similar).",
    "asymmetry": "Valence asymmetry A = S_danger - S_reward: first the study's pooled "
    "values (each region over animals and sessions, each family over algorithms and seeds, "
    "hierarchical intervals, verdict and corrected p), then every session and agent layer. "
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


def write_report(folder: str | Path, results: pd.DataFrame, artifacts: Any, config: Any, *,
                 elapsed_s: float = float("nan"), figures: bool = True,
                 prog: Any = None, study: Any = None,
                 workers: int | None = None) -> list[Path]:
    """Write the whole report into ``folder`` (an existing, empty folder).

    The report computes nothing: it reads the results table, the study and
    what the pipeline prepared for each side (``artifacts``).

    Parameters
    ----------
    folder
        Target folder (the caller makes it atomic, see
        :func:`neuroalign.core.atomic.atomic_dir`).
    results
        The tidy results table.
    artifacts
        :class:`~neuroalign.pipeline.run.RunArtifacts`: RDMs, geometry
        profiles and condition means per side, keyed ``("brain", session,
        region)`` / ``("model", agent, family, task, seed, layer)``; ``sources``
        and ``synthetic``.
    config
        The :class:`~neuroalign.pipeline.config.RunConfig` of the run.
    elapsed_s
        Compute time so far, recorded in the manifest and the page.
    figures
        Draw the figures (off: tables and HTML only).
    prog
        A rich ``Progress`` to report on (optional).
    study
        The :class:`~neuroalign.study.Study` of the results: written to
        ``study.csv`` and shown first, as the Verdict section.
    workers
        Processes drawing the figures (see :func:`render_figures`).

    Returns
    -------
    list of Path
        The figure files written.
    """
    results = results_table(results)
    folder = Path(folder)
    task = prog.add_task("writing report", total=3) if prog is not None else None
    summary = summary_table(results, study)  # written and shown: made once
    asymmetry = asymmetry_table(results)
    write_tables(folder, results, study, summary)
    if study is not None:
        from neuroalign.study import write_study

        write_study(folder, study)
    (folder / "config.yaml").write_text(_yaml(config.model_dump(mode="json")))
    if prog is not None:
        prog.update(task, advance=1)
    figs: dict[str, Path] = {}
    skipped: list[str] = []
    if figures:
        fig_dir = folder / "figures"
        fig_dir.mkdir()
        jobs = _similarity_figures(fig_dir, results)
        if study is not None and len(study.table):
            jobs.append(("verdict", plot_verdict, (study.table,), fig_dir / "verdict.png"))
        if len(side_statistics(results, "brain", "A")) or len(
                side_statistics(results, "model", "A")):
            table = pd.concat([_pooled_asymmetry(study), asymmetry],
                              ignore_index=True)
            jobs.append(("asymmetry", plot_asymmetry, (table,), fig_dir / "asymmetry.png"))
        geo, skipped = _geometry_figures(fig_dir, results, artifacts)
        jobs += geo
        rdm = _rdm_figure(fig_dir, results, artifacts)
        if rdm is not None:
            jobs.append(rdm)
        # the most text-heavy figures first, so that the workers finish together
        jobs.sort(key=lambda job: _DRAW_ORDER.index(job[0]))
        figs.update(render_figures(jobs, workers))
    if prog is not None:
        prog.update(task, advance=1)
    brain_keys = sorted({k[1:] for k in artifacts.means if k[0] == "brain"})
    model_keys = [k[1:] for k in artifacts.means if k[0] == "model"]
    synthetic = bool(artifacts.synthetic)
    manifest = provenance_attrs(
        kind="neuroalign run report", elapsed_s=round(float(elapsed_s), 2),
        sources=list(artifacts.sources),
        sessions=sorted({k[0] for k in brain_keys}),
        regions=sorted({k[1] for k in brain_keys}),
        models=[list(map(str, k)) for k in model_keys],
        n_cells=len(brain_keys) * len(model_keys), n_rows=len(results),
        synthetic=synthetic, files=sorted(str(p.relative_to(folder)) for p in
                                          folder.rglob("*") if p.is_file()),
    )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    (folder / "report.html").write_text(_page(results, figs, config, manifest, synthetic,
                                              study, skipped, artifacts.data_notes,
                                              summary=summary, asymmetry=asymmetry))
    if prog is not None:
        prog.update(task, advance=1)
    return [figs[name] for name in FIGURE_NAMES if name in figs]


def _yaml(data: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(data), sort_keys=False)


def _pooled_asymmetry(study: Any) -> pd.DataFrame:
    """The study's pooled A (H2 per region, H1 per family and stage) as forest-plot rows."""
    columns = ["name", "group", "estimate", "ci_low", "ci_high", "p_value", "p", "n", "note"]
    if study is None:
        return pd.DataFrame(columns=columns)
    t = study.table
    rows = []
    for row in t[t["hypothesis"] == "H2"].itertuples():
        rows.append({"name": f"{row.subject}, pooled ({row.n_animals} animals)",
                     "group": "brain", "estimate": row.estimate, "ci_low": row.ci_low,
                     "ci_high": row.ci_high, "p_value": row.p_value,
                     "p": f"{row.verdict}, adj. p {row.p_adjusted:.2g}", "n": row.n_sessions,
                     "note": row.note})
    h1 = t[(t["hypothesis"] == "H1") & ~t["subject"].str.startswith("value - policy")]
    for row in h1.itertuples():
        family = str(row.subject).split("-", 1)[0]
        rows.append({"name": f"{row.subject}, pooled", "group": family,
                     "estimate": row.estimate, "ci_low": row.ci_low, "ci_high": row.ci_high,
                     "p_value": row.p_value, "p": f"{row.verdict}, adj. p {row.p_adjusted:.2g}",
                     "n": row.n_seeds, "note": row.note})
    return pd.DataFrame(rows, columns=columns)


_ASYMMETRY_TEXT = ("Valence asymmetry A per brain session and region and per agent seed and "
                   "layer. p: valence-label permutation per entity, uncorrected, at the "
                   "resolution of its permutations; the Verdict pools and corrects.")


def _asymmetry_details(asym: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The per-session (brain) and per-seed (model) rows of the asymmetry table, each with
    the summary line of its collapsed block."""
    if asym.empty:
        return []
    asym = asym.drop(columns=["note", "p_value"])
    brain, model = asym[asym["group"] == "brain"], asym[asym["group"] != "brain"]
    out = []
    if len(brain):
        out.append((f"Per-session rows: valence asymmetry A of each brain region in each "
                    f"session ({len(brain)} rows)", brain))
    if len(model):
        out.append((f"Per-seed rows: valence asymmetry A of each agent seed and layer "
                    f"({len(model)} rows)", model))
    return out


def _verdict_section(study: Any, image: Path | None = None) -> Section:
    table = study.table[["hypothesis", "subject", "estimate", "ci_low", "ci_high",
                         "p_display", "p_adjusted", "mde", "verdict", "note"]].copy()
    for col in ("estimate", "ci_low", "ci_high"):
        table[col] = table[col].map(lambda v: f"{v:+.3f}" if np.isfinite(v) else "–")
    table["p_adjusted"] = table["p_adjusted"].map(lambda v: f"{v:.3g}" if np.isfinite(v)
                                                  else "–")
    table["mde"] = table["mde"].map(lambda v: f"{v:.2g}" if np.isfinite(v)
                                    else "none" if v == np.inf else "–")
    return Section("Verdict", text=" ".join(study.lines) + " Rule: supported = adjusted p < "
                   "alpha and the interval on the predicted side of 0; contradicted = the "
                   "same on the opposite side; absent = inside the declared equivalence "
                   "margin (two one-sided tests, corrected with the others); otherwise "
                   "inconclusive. mde: the smallest |effect| the test detects with "
                   f"{study.power:.0%} power at its corrected alpha (docs/parts/study.md). "
                   "Every row is in study.csv.", table=table, image=image,
                   caption="Every test's estimate and hierarchical interval, coloured by "
                           "its verdict, grouped by hypothesis; grey band: the declared "
                           "equivalence margin; bars at +-mde: the smallest effect it "
                           "detects with 80% power." if image is not None else "")


def _page(results: pd.DataFrame, figs: Mapping[str, Path], config: Any,
          manifest: Mapping[str, Any], synthetic: bool, study: Any = None,
          skipped: list[str] | None = None, data_notes: Sequence[str] = (), *,
          summary: pd.DataFrame, asymmetry: pd.DataFrame) -> str:
    meta = [
        f"neuroalign {manifest['neuroalign_version']} · {manifest['created']} · "
        f"compute time {manifest['elapsed_s']} s",
        f"{len(manifest['sessions'])} session(s), regions {', '.join(manifest['regions'])}; "
        f"{len(manifest['models'])} agent layer(s); {manifest['n_cells']} cells",
        f"bootstrap n={config.n_boot}, permutations n={config.n_perm}, seed={config.seed}, "
        f"RSA comparison {config.rsa_method}, interval level {config.ci:g}",
    ]
    if {"agent", "task"} <= set(results.columns):
        learned = results[["agent", "task"]].dropna().drop_duplicates()
        grid = getattr(config, "grid", "valence")
        by = f" by {config.contrast_by}" if grid == "contrast" else ""
        meta.append(f"condition grid: {grid}{by}; task each agent learned: " + ", ".join(
            f"{r.agent} ({r.task})" for r in learned.itertuples()))
    notes = []
    if synthetic:
        notes.append("The recordings in this report are SYNTHETIC (simulated sessions with "
                     "planted geometry), not mouse data.")
    notes.extend(data_notes)
    notes.append("Walls and funnels are neuroalign's operational definition of a hypothesis "
                 "(docs/parts/geometry.md), not an established measure.")
    sections = [_verdict_section(study, figs.get("verdict"))] if study is not None else []
    rows = _asymmetry_details(asymmetry)
    if sections:  # the long per-session and per-seed rows, collapsed under the verdict
        sections[0].details = rows
    elif rows:
        sections.append(Section("Valence asymmetry per session and per seed",
                                text=_ASYMMETRY_TEXT, details=rows))
    sections += [Section("Summary: best-matching agent per region",
                        text="Similarities averaged over sessions and seeds; the full per-cell "
                             "table is in results.csv / results.parquet. A region: the "
                             "study's pooled A = S_danger - S_reward over animals and "
                             "sessions (hierarchical interval) and its H2 verdict; A match: "
                             "the best match's A, averaged over seeds.",
                        table=summary)]
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
        if name in figs and name != "verdict":  # drawn in the Verdict section
            caption = _CAPTIONS[name]
            if name in ("trajectories", "approach_profiles") and skipped:
                caption += (" Single-unit layers are not drawn (a PCA of one unit is not a "
                            f"trajectory): {', '.join(skipped)}.")
            sections.append(Section(titles[name], image=figs[name], caption=caption))
    return render_html("neuroalign report", meta, sections, notes)
