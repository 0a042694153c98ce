"""Figures of the report (matplotlib, Agg backend; every function returns a Figure).

- :func:`plot_rdms`: RDMs side by side (each region next to its best-matching agent);
- :func:`plot_approach_profiles`: the wall/funnel picture, cumulative path per valence;
- :func:`plot_trajectories`: condition means along the approach in two PCA dimensions;
- :func:`plot_similarity_matrix`: agent/layer x region similarity, with the noise ceiling;
- :func:`plot_asymmetry`: valence asymmetry ``A`` of every region and agent, with intervals;
- :func:`plot_replication`: H1 per family x layer stage, one panel per task x architecture.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state,
no global backend switch), so they work the same in scripts, workers and
notebooks. Colours are fixed across figures: reward green, danger red, neutral grey;
value-learners blue, policy-learners orange.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from neuroalign.core.contracts import condition_labels

__all__ = [
    "FAMILY_COLORS",
    "VALENCE_COLORS",
    "pca_2d",
    "plot_approach_profiles",
    "plot_asymmetry",
    "plot_rdms",
    "plot_replication",
    "plot_similarity_matrix",
    "plot_trajectories",
    "plot_verdict",
]

VALENCE_COLORS: dict[str, str] = {"reward": "#1a9850", "danger": "#d73027", "neutral": "#7f7f7f"}
FAMILY_COLORS: dict[str, str] = {"value": "#2c7bb6", "policy": "#e66101", "brain": "#4d4d4d"}
VERDICT_COLORS: dict[str, str] = {"supported": "#1a9850", "contradicted": "#d73027",
                                  "absent": "#4575b4", "inconclusive": "#8c8c8c"}


#: width of a character and height of a line of text, in font sizes (points); the
#: figures' margins are computed from their texts with these instead of a layout engine
#: (constrained layout measured every text twice: about a third of a report's time)
_CHAR_EM, _LINE_EM = 0.62, 1.45


def _text_in(texts: Iterable[object], size: float) -> float:
    """Width (inches) of the widest line of ``texts`` at font ``size`` (points)."""
    longest = max((len(line) for t in texts for line in str(t).split("\n")), default=0)
    return _CHAR_EM * size * longest / 72


def _lines_in(text: object, size: float) -> float:
    """Height (inches) of ``text``'s lines at font ``size`` (points); 0 for no text."""
    return 0.0 if not str(text) else _LINE_EM * size * (str(text).count("\n") + 1) / 72


def _place(fig: Figure, *, left: float, right: float, bottom: float, top: float,
           wgap: float = 0.0, hgap: float = 0.0, ncols: int = 1, nrows: int = 1
           ) -> dict[str, float]:
    """Fixed margins and gaps (inches) as ``subplots`` grid parameters (fractions)."""
    width, height = fig.get_size_inches()
    cell_w = max((width - left - right - (ncols - 1) * wgap) / ncols, 0.5)
    cell_h = max((height - top - bottom - (nrows - 1) * hgap) / nrows, 0.5)
    return {"left": left / width, "right": 1 - right / width, "bottom": bottom / height,
            "top": 1 - top / height, "wspace": wgap / cell_w, "hspace": hgap / cell_h}


def _grid(n: int, ncols: int, size: tuple[float, float], *, left: float, right: float,
          bottom: float, top: float, wgap: float, hgap: float) -> tuple[Figure, np.ndarray]:
    """``n`` panels of ``size`` inches, ``ncols`` per row, with fixed margins (inches)."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(size[0] * ncols + left + right + (ncols - 1) * wgap,
                          size[1] * nrows + top + bottom + (nrows - 1) * hgap))
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=_place(
        fig, left=left, right=right, bottom=bottom, top=top, wgap=wgap, hgap=hgap,
        ncols=ncols, nrows=nrows))
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes


def _short_labels(labels: Iterable[str]) -> list[str]:
    """``"reward:3"`` -> ``"R3"``, ``"danger:0"`` -> ``"D0"`` (axis ticks)."""
    return [f"{str(lab).split(':')[0][:1].upper()}{str(lab).split(':')[-1]}" for lab in labels]


#: an RDM with more conditions than this is labelled per block, not per condition
_MAX_RDM_TICKS = 12


def _rdm_ticks(labels: Sequence[str] | np.ndarray) -> tuple[list[float], list[str]]:
    """Tick positions and texts of an RDM axis: every condition (``"R3"``) on a small
    grid; on a larger one (the contrast grid's 24 cells) one tick per block of
    conditions that differ only in their last label part (the time or approach step),
    at the block's centre, named by the rest (``"side+1.00:reward"`` -> ``"side+1.00 R"``)."""
    if len(labels) <= _MAX_RDM_TICKS:
        return list(range(len(labels))), _short_labels(labels)
    keys = [str(lab).rsplit(":", 1)[0] for lab in labels]
    where, texts, start = [], [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            head, _, valence = keys[start].rpartition(":")
            texts.append(f"{head} {valence[:1].upper()}" if head else keys[start])
            where.append((start + i - 1) / 2)
            start = i
    return where, texts


def plot_rdms(pairs: Sequence[tuple[str, xr.DataArray, str, xr.DataArray]],
              *, suptitle: str = "") -> Figure:
    """Each row: a brain RDM and a model RDM side by side, same colour scale per matrix.

    Parameters
    ----------
    pairs
        ``(left title, left RDM, right title, right RDM)`` per row; RDMs are
        ``condition x condition`` DataArrays with a ``label`` coord. Each RDM
        is shown as ranks scaled to [0, 1] (what a Spearman RSA compares), so
        the two sides share one colour scale.
    suptitle
        Figure title.
    """
    panels = [(title, rdm, condition_labels(rdm, str(title)))
              for lt, left, rt, right in pairs for title, rdm in ((lt, left), (rt, right))]
    ticks_of = [_rdm_ticks(labels) for _, _, labels in panels]
    blocked = any(len(where) < len(labels)
                  for (where, _), (_, _, labels) in zip(ticks_of, panels, strict=True))
    key = ("R = reward, D = danger; a tick per block of time steps" if blocked else
           "R = reward, D = danger; number = steps before the outcome")
    suptitle = suptitle or f"Representational dissimilarity matrices\n({key})"
    tick_in = _text_in((t for _, ticks in ticks_of for t in ticks), 6) + 0.12
    title_in = max((_lines_in(title, 8) for title, _, _ in panels), default=0.0) + 0.08
    fig, axes = _grid(len(panels), 2, (2.6, 2.6), left=tick_in + 0.05, right=1.2,
                      bottom=tick_in + 0.05, top=_lines_in(suptitle, 10) + title_in + 0.15,
                      wgap=tick_in + 0.15, hgap=tick_in + title_in + 0.15)
    image = None
    for ax, (title, rdm, labels), (where, ticks) in zip(axes.ravel(), panels, ticks_of,
                                                        strict=False):
        values = np.asarray(rdm.values, dtype=float)
        n = values.shape[0]
        iu = np.triu_indices(n, 1)
        ranks = np.full_like(values, np.nan)
        order = pd.Series(values[iu]).rank().to_numpy()
        scaled = (order - 1) / max(order.size - 1, 1)
        ranks[iu] = scaled
        ranks.T[iu] = scaled
        np.fill_diagonal(ranks, 0.0)
        image = ax.imshow(ranks, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(where, ticks, rotation=90, fontsize=6)
        ax.set_yticks(where, ticks, fontsize=6)
        valences = [str(lab).split(":")[0] for lab in labels]
        for i in range(1, n):
            if valences[i] != valences[i - 1]:
                ax.axhline(i - 0.5, color="white", lw=1.5)
                ax.axvline(i - 0.5, color="white", lw=1.5)
        ax.set_title(title, fontsize=8)
    if image is not None:  # in the right margin, beside the panels' middle
        width, height = fig.get_size_inches()
        span = min(0.5 * height, 4.0)
        cax = fig.add_axes((1 - 1.05 / width, 0.5 - span / (2 * height), 0.15 / width,
                            span / height), label="<colorbar>")
        cbar = fig.colorbar(image, cax=cax)
        cbar.set_label("dissimilarity (rank, 0 = most similar)", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    fig.suptitle(suptitle, fontsize=10, y=1 - 0.05 / fig.get_size_inches()[1], va="top")
    return fig


def plot_approach_profiles(profiles: Mapping[str, xr.Dataset],
                           subtitles: Mapping[str, str] | None = None,
                           *, ncols: int = 4) -> Figure:
    """The wall/funnel picture: share of the path covered, per valence, as the outcome nears.

    Parameters
    ----------
    profiles
        Panel title -> ``GeometryResult.profiles`` (a Dataset over
        ``(valence, approach)`` with ``path_fraction`` and its ``_ci_low`` /
        ``_ci_high``).
    subtitles
        Optional second title line per panel (e.g. the sharpness values).
    ncols
        Panels per row.

    Notes
    -----
    The x axis runs from the start of the approach (``K`` steps before the
    outcome) to the outcome (0). A *funnel* climbs steadily (dashed diagonal:
    equal steps); a *wall* stays low and jumps in the last step.
    """
    heading = ("Approach profiles: a wall jumps at the outcome, a funnel climbs steadily "
             "(bands: bootstrap interval)")
    heads = [f"{t}\n{(subtitles or {}).get(t)}" if (subtitles or {}).get(t) else t
             for t in profiles]
    head_in = max((_lines_in(h, 8) for h in heads), default=0.0) + 0.08
    axis_in = _lines_in("x", 8) + _lines_in("x", 7) + 0.12  # axis label and tick labels
    fig, axes = _grid(len(profiles), ncols, (2.6, 2.2), left=axis_in + 0.2, right=0.15,
                      bottom=axis_in + _lines_in("x", 8) + 0.15,
                      top=_lines_in(heading, 10) + head_in + 0.12,
                      wgap=axis_in + 0.25, hgap=axis_in + head_in + 0.12)
    for ax, (title, ds) in zip(axes.ravel(), profiles.items(), strict=False):
        approach = np.asarray(ds["approach"].values, dtype=float)
        k = float(approach.max())
        ax.plot([k, 0], [0, 1], ls="--", lw=0.8, color="0.6", label="equal steps (funnel)")
        for i, name in enumerate(np.asarray(ds["valence_name"].values).astype(str)):
            color = VALENCE_COLORS.get(name, "k")
            est = ds["path_fraction"].values[i]
            low = ds["path_fraction_ci_low"].values[i]
            high = ds["path_fraction_ci_high"].values[i]
            ax.plot(approach, est, marker="o", ms=3, color=color, label=name)
            if np.isfinite(low).any():
                ax.fill_between(approach, low, high, color=color, alpha=0.2, lw=0)
        ax.set_xlim(k + 0.2, -0.2)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xticks(approach)
        ax.set_xlabel("steps before outcome", fontsize=8)
        ax.set_ylabel("share of path covered", fontsize=8)
        sub = (subtitles or {}).get(title)
        ax.set_title(f"{title}\n{sub}" if sub else title, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", fontsize=8, frameon=False, ncol=3,
               borderaxespad=0.1)
    fig.suptitle(heading, fontsize=10, y=1 - 0.05 / fig.get_size_inches()[1], va="top")
    return fig


def pca_2d(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project condition means ``(condition, unit)`` on their first two principal axes.

    Returns
    -------
    (scores, explained)
        ``(condition, 2)`` coordinates and the share of variance of each axis.
    """
    x = np.asarray(means, dtype=float)
    x = x - x.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    var = s**2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    scores = x @ vt[:2].T
    if scores.shape[1] < 2:
        scores = np.pad(scores, ((0, 0), (0, 2 - scores.shape[1])))
        explained = np.pad(explained, (0, 2 - explained.size))
    return scores, explained


def plot_trajectories(patterns: Mapping[str, xr.DataArray], *, ncols: int = 4) -> Figure:
    """Condition means along the approach, per valence, in each panel's own PCA plane.

    Parameters
    ----------
    patterns
        Panel title -> patterns ``(repetition?, condition, unit)`` with
        ``valence`` and ``approach`` coords on ``condition``.
    """
    from neuroalign.core.contracts import VALENCE_NAMES

    heading = ("Trajectories of condition means along the approach, first two principal "
             "components\n(larger dots: further from the outcome; star: the outcome step)")
    head_in = max((_lines_in(t, 8) for t in patterns), default=0.0) + 0.08
    axis_in = _lines_in("x", 8) + _lines_in("x", 7) + 0.12
    fig, axes = _grid(len(patterns), ncols, (2.4, 2.2), left=axis_in + 0.3, right=0.15,
                      bottom=axis_in + _lines_in("x", 8) + 0.15,
                      top=_lines_in(heading, 10) + head_in + 0.12,
                      wgap=axis_in + 0.35, hgap=axis_in + head_in + 0.12)
    for ax, (title, da) in zip(axes.ravel(), patterns.items(), strict=False):
        means = da.mean("repetition") if "repetition" in da.dims else da
        means = means.transpose("condition", "unit")
        scores, explained = pca_2d(means.values)
        valence = np.asarray(da["valence"].values).astype(int)
        approach = np.asarray(da["approach"].values).astype(int)
        for v in dict.fromkeys(valence.tolist()):
            idx = np.flatnonzero(valence == v)
            idx = idx[np.argsort(-approach[idx])]  # start of the approach first
            name = VALENCE_NAMES.get(v, str(v))
            color = VALENCE_COLORS.get(name, "k")
            ax.plot(scores[idx, 0], scores[idx, 1], "-", color=color, lw=1.2, label=name)
            ax.scatter(scores[idx, 0], scores[idx, 1], s=8 + 6 * approach[idx], color=color,
                       alpha=0.6, lw=0)
            ax.scatter(scores[idx[-1], 0], scores[idx[-1], 1], marker="*", s=90,
                       color=color, edgecolor="k", lw=0.5, zorder=3)
        ax.set_xlabel(f"PC1 ({explained[0]:.0%})", fontsize=8)
        ax.set_ylabel(f"PC2 ({explained[1]:.0%})", fontsize=8)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", fontsize=8, frameon=False, ncol=2,
               borderaxespad=0.1)
    fig.suptitle(heading, fontsize=10, y=1 - 0.05 / fig.get_size_inches()[1], va="top")
    return fig


def plot_similarity_matrix(matrix: pd.DataFrame, *, ceiling: pd.Series | None = None,
                           lower: pd.DataFrame | None = None,
                           upper: pd.DataFrame | None = None,
                           families: Mapping[str, str] | None = None,
                           title: str = "", value_label: str = "similarity",
                           distance: bool = False) -> Figure:
    """Agent/layer (rows) x region (columns) heatmap, with the noise ceiling as a last row.

    Parameters
    ----------
    matrix
        Estimates; index = model rows (e.g. ``"dqn / trunk.1"``), columns = regions.
    ceiling
        Lower bound of the noise ceiling per region (shown in its own row).
    lower, upper
        Interval bounds with the shape of ``matrix`` (written in each cell).
    families
        Row label -> ``"value"`` or ``"policy"`` (colours the row labels).
    title, value_label
        Figure title and colour-bar label.
    distance
        The values are distances (>= 0, lower = more similar): a sequential
        colour scale from 0, darker for more similar. Similarities use a fixed
        diverging scale from -1 to 1, so colours mean the same in every report.
    """
    rows = list(matrix.index)
    cols = list(matrix.columns)
    values = matrix.to_numpy(dtype=float)
    if ceiling is not None:
        values = np.vstack([values, ceiling.reindex(cols).to_numpy(dtype=float)[None, :]])
    finite = values[np.isfinite(values)]
    if distance:
        vmin, vmax = 0.0, max(float(finite.max()) if finite.size else 1.0, 1e-12)
        cmap = "magma"
    else:
        vmin, vmax, cmap = -1.0, 1.0, "RdBu_r"
    labels = [*rows, "noise ceiling (lower)"] if ceiling is not None else rows
    left = _text_in(labels, 7) * 1.1 + 0.2  # bold row labels are wider
    bottom = 0.5 * _text_in(cols, 8) + _lines_in("x", 8) + 0.1 + (0.25 if families else 0.0)
    width = 1.3 * len(cols) + left + 1.4  # the colour bar and its label on the right
    wrap_lines = max(1, math.ceil(_text_in([title], 9) / max(width - 0.4, 1.0)))
    top = _LINE_EM * 9 * wrap_lines / 72 + 0.2 if title else 0.15
    fig = Figure(figsize=(width, 0.42 * values.shape[0] + top + bottom))
    ax = fig.subplots(gridspec_kw=_place(fig, left=left, right=1.4, bottom=bottom, top=top))
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            val = values[i, j]
            if not np.isfinite(val):
                continue
            text = f"{val:.2f}"
            if lower is not None and upper is not None and i < len(rows):
                lo, hi = lower.iloc[i, j], upper.iloc[i, j]
                if np.isfinite(lo) and np.isfinite(hi):
                    text += f"\n[{lo:.2f}, {hi:.2f}]"
            dark = val < 0.5 * vmax if distance else abs(val) > 0.6
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5,
                    color="white" if dark else "black")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xticks(range(len(cols)), cols, fontsize=8, rotation=30, ha="right")
    for tick, label in zip(ax.get_yticklabels(), labels, strict=True):
        family = (families or {}).get(label)
        if family in FAMILY_COLORS:
            tick.set_color(FAMILY_COLORS[family])
            tick.set_fontweight("bold")
    if ceiling is not None:
        ax.axhline(len(rows) - 0.5, color="k", lw=1.5)
    width, height = fig.get_size_inches()
    cax = fig.add_axes((1 - 1.2 / width, bottom / height, 0.15 / width,
                        1 - (top + bottom) / height), label="<colorbar>")
    cbar = fig.colorbar(image, cax=cax)
    cbar.set_label(value_label, fontsize=8)
    cbar.ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9, wrap=True)
    if families:
        fig.text(0.01, 0.005, "row labels: blue = value-learner, orange = policy-learner",
                 fontsize=7, color="0.3")
    return fig


def plot_asymmetry(table: pd.DataFrame, *, title: str = "") -> Figure:
    """Forest plot of the valence asymmetry ``A = S_danger - S_reward`` with intervals.

    Parameters
    ----------
    table
        One row per entity with columns ``name``, ``group`` (``"brain"``,
        ``"value"`` or ``"policy"``), ``estimate``, ``ci_low``, ``ci_high``,
        ``p_value`` and ``p`` (its text, as :func:`~neuroalign.report.asymmetry_table`
        writes it).
    """
    table = table.reset_index(drop=True)
    n = len(table)
    title = title or ("Valence asymmetry with bootstrap intervals\n(p: valence-label "
                      "permutation per entity, uncorrected; the study corrects)")
    texts = table["p"].astype(str).to_numpy() if "p" in table else np.full(n, "")
    top = _lines_in(title, 9) + 0.2
    bottom = 2 * _LINE_EM * 8 / 72 + _lines_in("x", 8) + _lines_in("x", 7) + 0.2
    fig = Figure(figsize=(6.8, 0.34 * n + top + bottom))
    ax = fig.subplots(gridspec_kw=_place(
        fig, left=_text_in(table["name"].tolist(), 7) + 0.2,
        right=_text_in(texts, 6.5) + 0.45, bottom=bottom, top=top))
    y = np.arange(n)[::-1]
    est, low, high = (table[c].to_numpy(dtype=float) for c in ("estimate", "ci_low", "ci_high"))
    groups = table["group"].astype(str).to_numpy()
    # one artist per colour, not per row: the text layout of many small artists is
    # most of a figure's drawing time
    for group in dict.fromkeys(groups.tolist()):
        color = FAMILY_COLORS.get(group, "k")
        rows = groups == group
        ci = rows & np.isfinite(low) & np.isfinite(high)
        if ci.any():
            ax.hlines(y[ci], low[ci], high[ci], color=color, lw=2.2, alpha=0.8,
                      capstyle="projecting")
        ax.plot(est[rows], y[rows], "o", ls="", color=color, ms=5, mec="k", mew=0.5)
    p_values = table["p_value"].to_numpy(dtype=float)
    for yi, p_value, ptext in zip(y, p_values, texts, strict=True):
        if np.isfinite(p_value) and ptext:
            ax.text(1.04, yi, ptext, va="center", fontsize=6.5,
                    transform=ax.get_yaxis_transform())
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(y, table["name"].tolist(), fontsize=7)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("A = S_danger − S_reward\n← reward sharper (wall around reward)     "
                  "danger sharper (wall around danger) →", fontsize=8)
    handles = [Line2D([], [], color=FAMILY_COLORS[g], lw=3, label=lab)
               for g, lab in (("brain", "brain region"), ("value", "value-learner"),
                              ("policy", "policy-learner"))
               if g in set(table["group"].astype(str))]
    fig.legend(handles=handles, fontsize=7, loc="lower center", frameon=False,
               ncol=len(handles), borderaxespad=0.1)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_verdict(table: pd.DataFrame) -> Figure:
    """The study in one picture: every test's estimate and interval, coloured by verdict.

    Rows are grouped by hypothesis on one axis (A of regions and families, and the
    differences of H3 and the best match). A grey band marks a declared
    equivalence margin, small bars at +-mde what the test could detect.

    Parameters
    ----------
    table
        The study table (``study.csv``): ``hypothesis``, ``subject``, ``estimate``,
        ``ci_low``, ``ci_high``, ``mde``, ``equivalence_margin`` and ``verdict``.

    Returns
    -------
    matplotlib.figure.Figure
        One row per test.
    """
    table = table.reset_index(drop=True)
    n = len(table)
    names = [f"{h}: {sub}" for h, sub in zip(table["hypothesis"], table["subject"],
                                             strict=True)]
    top, bottom = _lines_in("x", 9) + 0.2, _lines_in("x", 8) * 2 + _lines_in("x", 7) + 0.2
    fig = Figure(figsize=(11.5, 0.2 * n + top + bottom))
    ax = fig.subplots(gridspec_kw=_place(fig, left=_text_in(names, 6.5) + 0.2, right=0.3,
                                         bottom=bottom, top=top))
    y = np.arange(n)[::-1]
    hypothesis = table["hypothesis"].astype(str).to_numpy()
    for yi in y[1:][hypothesis[1:] != hypothesis[:-1]]:  # a line between hypotheses
        ax.axhline(yi + 0.5, color="0.75", lw=0.6)
    est, low, high, mde, margin = (table[c].to_numpy(dtype=float) for c in (
        "estimate", "ci_low", "ci_high", "mde", "equivalence_margin"))
    # one artist per kind and colour, not per row (see plot_asymmetry)
    band = np.isfinite(margin)
    if band.any():
        ax.add_collection(PolyCollection(
            [[(-m, yi - 0.4), (m, yi - 0.4), (m, yi + 0.4), (-m, yi + 0.4)]
             for m, yi in zip(margin[band], y[band], strict=True)],
            facecolors="0.85", edgecolors="none", linewidths=0))
    finite = np.isfinite(mde)
    if finite.any():
        ax.plot(np.r_[-mde[finite], mde[finite]], np.r_[y[finite], y[finite]], "|", ls="",
                color="0.35", ms=6)
    verdicts = table["verdict"].astype(str).to_numpy()
    for verdict in dict.fromkeys(verdicts.tolist()):
        color = VERDICT_COLORS.get(verdict, "k")
        rows = verdicts == verdict
        ci = rows & np.isfinite(low) & np.isfinite(high)
        if ci.any():
            ax.hlines(y[ci], low[ci], high[ci], color=color, lw=2.2, capstyle="projecting")
        shown = rows & np.isfinite(est)
        if shown.any():
            ax.plot(est[shown], y[shown], "o", ls="", color=color, ms=4, mec="k", mew=0.4)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, names, fontsize=6.5)
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlim(-2.05, 2.05)
    ax.set_xlabel("estimate with its hierarchical interval (A of regions and families in "
                  "[-1, 1]; differences in [-2, 2])", fontsize=8)
    handles = [Line2D([], [], color=c, lw=3, label=v) for v, c in VERDICT_COLORS.items()]
    handles.append(Line2D([], [], color="0.35", marker="|", ls="", ms=8, label="± mde"))
    fig.legend(handles=handles, fontsize=7, loc="lower center", frameon=False,
               ncol=len(handles), borderaxespad=0.1)
    ax.set_title("The verdict: every test, coloured by its verdict (grey band: equivalence "
                 "margin)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_replication(table: pd.DataFrame, *, ncols: int = 3) -> Figure:
    """The replication of H1: A per family x layer stage with its interval, one panel per
    task x architecture (the pooled panel last).

    Parameters
    ----------
    table
        ``replication.csv`` (:data:`neuroalign.pipeline.replication.REPLICATION_COLUMNS`):
        ``task``, ``architecture``, ``family`` (``value``, ``policy``, ``value - policy``),
        ``stage``, ``estimate``, ``ci_low``, ``ci_high`` and ``verdict``.
    ncols
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Points coloured by family, intervals by verdict; the difference ``value -
        policy`` lies in [-2, 2], the families' A in [-1, 1].
    """
    table = table.reset_index(drop=True)
    panels = list(dict.fromkeys(zip(table["task"].astype(str),
                                    table["architecture"].astype(str), strict=True)))
    panels.sort(key=lambda p: (p[0] == "all", p))
    n = max(1, len(panels))
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    most = max((int(((table["task"] == t) & (table["architecture"] == a)).sum())
                for t, a in panels), default=1)
    fig = Figure(figsize=(3.9 * ncols, (0.22 * most + 1.1) * nrows + 0.6),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    colors = {**FAMILY_COLORS, "value - policy": "#4d4d4d"}
    for ax, (task, arch) in zip(axes, panels, strict=False):
        sub = table[(table["task"] == task) & (table["architecture"] == arch)]
        y = np.arange(len(sub))[::-1]
        for yi, row in zip(y, sub.itertuples(index=False), strict=True):
            color = colors.get(str(row.family), "k")
            if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
                ax.plot([row.ci_low, row.ci_high], [yi, yi], lw=2.2,
                        color=VERDICT_COLORS.get(str(row.verdict), "0.5"))
            if np.isfinite(row.estimate):
                ax.plot(row.estimate, yi, "o", color=color, ms=4.5, mec="k", mew=0.4)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, [f"{f}, {s}" for f, s in zip(sub["family"], sub["stage"],
                                                       strict=True)], fontsize=6.5)
        ax.set_ylim(-0.8, max(len(sub), 1) - 0.2)
        ax.set_xlim(-2.05, 2.05)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title("pooled over every task and architecture" if task == "all"
                     else f"{task}, {arch}", fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=c, marker="o", ls="", mec="k", mew=0.4, label=f)
               for f, c in colors.items() if f in set(table["family"].astype(str))]
    handles += [Line2D([], [], color=c, lw=3, label=v) for v, c in VERDICT_COLORS.items()]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", frameon=False,
               ncol=len(handles))
    fig.suptitle("H1: valence asymmetry A = S_danger − S_reward per family and layer stage "
                 "(interval coloured by verdict)", fontsize=9)
    return fig
