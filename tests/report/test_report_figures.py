"""Report figures, tables and HTML on small in-memory inputs."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from neuroalign.core.contracts import condition_coords
from neuroalign.report import (
    Section,
    asymmetry_table,
    best_matches,
    family_table,
    pca_2d,
    plot_approach_profiles,
    plot_asymmetry,
    plot_rdms,
    plot_similarity_matrix,
    plot_trajectories,
    render_html,
    similarity_matrix,
    summary_table,
)


def _patterns(seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    signal = np.cumsum(rng.normal(size=(1, 12, 10)), axis=1)
    return xr.DataArray(signal + 0.3 * rng.normal(size=(6, 12, 10)),
                        dims=("repetition", "condition", "unit"),
                        coords=condition_coords((1, -1), range(6)))


def _results() -> pd.DataFrame:
    """A hand-made results table: 2 agents x 1 layer x 2 sessions x 2 regions."""
    rows = []
    for agent, family, base in (("dqn", "value", 0.6), ("ppo", "policy", 0.2)):
        for s, session in enumerate(("s1", "s2")):
            for r, region in enumerate(("BLA", "NAc")):
                common = {"agent": agent, "family": family, "layer": "trunk.0", "seed": 0,
                          "session": session, "region": region, "n": 12, "note": None}
                est = base + 0.1 * r - 0.05 * s
                rows.append({**common, "measure": "rsa", "estimate": est, "ci_low": est - 0.1,
                             "ci_high": est + 0.1, "p_value": 0.01, "ceiling_low": 0.8,
                             "ceiling_high": 0.9, "higher_is_similar": True})
                rows.append({**common, "measure": "shape", "estimate": 1 - est,
                             "ci_low": 0.9 - est, "ci_high": 1.1 - est, "p_value": 0.02,
                             "ceiling_low": 0.1, "ceiling_high": 0.2,
                             "higher_is_similar": False})
                rows.append({**common, "measure": "A.brain", "estimate": 0.5 - r,
                             "ci_low": 0.3 - r, "ci_high": 0.7 - r, "p_value": 0.03,
                             "ceiling_low": np.nan, "ceiling_high": np.nan,
                             "higher_is_similar": None})
                rows.append({**common, "measure": "A.model", "estimate": 0.4 if base > 0.5
                             else -0.4, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
                             "ceiling_low": np.nan, "ceiling_high": np.nan,
                             "higher_is_similar": None})
    return pd.DataFrame(rows)


def test_similarity_matrix_averages_over_sessions():
    mat = similarity_matrix(_results(), "rsa")
    est = mat["estimate"]
    assert list(est.columns) == ["BLA", "NAc"]
    assert est.loc["dqn / trunk.0", "NAc"] == pytest.approx(0.6 + 0.1 - 0.025)
    assert mat["ceiling_low"]["BLA"] == pytest.approx(0.8)
    assert mat["families"]["ppo / trunk.0"] == "policy"
    with pytest.raises(KeyError, match=r"measure 'cka' not in the results; measures: \["):
        similarity_matrix(_results(), "cka")


def test_best_matches_pick_highest_similarity_and_lowest_distance():
    for measure in ("rsa", "shape"):
        best = best_matches(_results(), measure)
        assert len(best) == 4 and set(best["agent"]) == {"dqn"}


def test_asymmetry_and_summary_tables():
    table = asymmetry_table(_results())
    assert table["name"].tolist() == ["BLA (s1)", "BLA (s2)", "NAc (s1)", "NAc (s2)",
                                      "ppo / trunk.0 (seed 0)", "dqn / trunk.0 (seed 0)"]
    assert table["group"].tolist()[-2:] == ["policy", "value"]
    results = _results().assign(n_perm=200)
    brain = results["measure"] == "A.brain"
    results.loc[brain, "p_value"] = 4 / 201
    results.loc[brain & (results["region"] == "NAc"), "p_value"] = 2 / 201
    texts = asymmetry_table(results)["p"].tolist()
    # never more digits than 200 permutations resolve; the floor shown as a bound
    assert texts[:4] == ["p = 0.020", "p = 0.020", "p <= 0.01", "p <= 0.01"]
    fam = family_table(_results(), "rsa").set_index("region")
    assert fam.loc["BLA", "rsa value"] == pytest.approx(0.6 - 0.025)
    assert fam.loc["NAc", "rsa policy"] == pytest.approx(0.3 - 0.025)
    summary = summary_table(_results())
    assert summary["region"].tolist() == ["BLA", "NAc"]
    assert summary["best match"].tolist() == ["dqn / trunk.0", "dqn / trunk.0"]
    assert summary.loc[0, "rsa"] == "0.57 [0.47, 0.67]"
    assert summary.loc[1, "A region"] == "-0.50 [-0.70, -0.30]"
    assert summary.loc[0, "A match"] == "0.40"


def test_pca_matches_svd_reference():
    from sklearn.decomposition import PCA

    means = _patterns().mean("repetition").values
    scores, explained = pca_2d(means)
    ref = PCA(n_components=2).fit(means)
    np.testing.assert_allclose(explained, ref.explained_variance_ratio_, rtol=1e-10)
    ref_scores = ref.transform(means)
    for k in range(2):  # equal up to the sign of each axis
        assert min(np.abs(scores[:, k] - ref_scores[:, k]).max(),
                   np.abs(scores[:, k] + ref_scores[:, k]).max()) < 1e-8


def test_figures_draw_and_save(tmp_path):
    from neuroalign.compare import compute_rdm
    from neuroalign.geometry import valence_geometry

    da = _patterns()
    rdm = compute_rdm(da)
    geo = valence_geometry(da, n_boot=20, n_perm=0, seed=0)
    results = _results()
    mat = similarity_matrix(results, "rsa")
    figures = {
        "rdms": plot_rdms([("region", rdm, "agent", rdm)]),
        "profiles": plot_approach_profiles({"a": geo.profiles, "b": geo.profiles},
                                           {"a": "S=..."}),
        "traj": plot_trajectories({"a": da, "b": da.mean("repetition")}),
        "matrix": plot_similarity_matrix(mat["estimate"], ceiling=mat["ceiling_low"],
                                         lower=mat["ci_low"], upper=mat["ci_high"],
                                         families=mat["families"]),
        "asym": plot_asymmetry(asymmetry_table(results)),
    }
    visible = {name: sum(ax.get_visible() for ax in fig.axes if ax.get_label() != "<colorbar>")
               for name, fig in figures.items()}
    assert visible == {"rdms": 2, "profiles": 2, "traj": 2, "matrix": 1, "asym": 1}
    for name, fig in figures.items():
        assert isinstance(fig, Figure)
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.read_bytes()[:4] == b"\x89PNG"
    # the ceiling is the last row of the matrix, labelled as such
    labels = [t.get_text() for t in figures["matrix"].axes[0].get_yticklabels()]
    assert labels[-1] == "noise ceiling (lower)"


def test_html_embeds_images_and_escapes_text(tmp_path):
    png = tmp_path / "x.png"
    Figure(figsize=(1, 1)).savefig(png)
    page = render_html("t <1>", ["meta & more"], [
        Section("s", text="a < b", image=png, caption="cap",
                table=pd.DataFrame({"x": [1.23456]})),
    ], notes=["SYNTHETIC"])
    assert "t &lt;1&gt;" in page and "a &lt; b" in page and "meta &amp; more" in page
    data = page.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(data) == png.read_bytes()
    assert "1.235" in page and "SYNTHETIC" in page


def test_html_collapses_the_details_of_a_section_and_skips_empty_ones():
    page = render_html("t", [], [
        Section("s", table=pd.DataFrame({"x": [1.0]}),
                details=[("rows <a> (2 rows)", pd.DataFrame({"y": [7.5, 8.5]})),
                         ("nothing", pd.DataFrame({"y": []}))]),
    ])
    (block,) = re.findall(r"<details><summary>(.*?)</summary>(.*?)</details>", page, re.S)
    assert block[0] == "rows &lt;a&gt; (2 rows)"
    assert "7.500" in block[1] and "8.500" in block[1] and "nothing" not in page
    assert page.index("1.000") < page.index("<details>")


def test_rdm_ticks_read_the_condition_labels_like_every_part():
    from neuroalign.compare import compute_rdm

    rdm = compute_rdm(_patterns())
    # labels built from valence/approach when the label coord is absent, as compare does
    bare = rdm.drop_vars("label")
    fig = plot_rdms([("with label", rdm, "valence/approach only", bare)])
    ticks = [[t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes[:2]]
    assert ticks[0] == ticks[1] == ["R5", "R4", "R3", "R2", "R1", "R0",
                                    "D5", "D4", "D3", "D2", "D1", "D0"]


def test_figures_drawn_in_worker_processes_equal_those_drawn_here(tmp_path):
    from neuroalign.report import render_figures
    from neuroalign.report.html import PAGE_WIDTH_PX

    da = _patterns()
    results = _results()
    mat = similarity_matrix(results, "rsa")

    def jobs(folder):
        folder.mkdir()
        return [("traj", plot_trajectories, ({"a": da, "b": da.mean("repetition")},),
                 folder / "traj.png"),
                ("wide", plot_trajectories, ({str(i): da for i in range(8)},),
                 folder / "wide.png"),
                ("asym", plot_asymmetry, (asymmetry_table(results),), folder / "asym.png"),
                ("matrix", plot_similarity_matrix, (mat["estimate"],), folder / "matrix.png")]

    here = render_figures(jobs(tmp_path / "here"), workers=1)
    forked = render_figures(jobs(tmp_path / "forked"), workers=2)
    assert list(here) == list(forked) == ["traj", "wide", "asym", "matrix"]
    for name in here:
        assert here[name].read_bytes() == forked[name].read_bytes(), name
    # a figure wider than the page is written no wider than the page shows it
    from PIL import Image

    with Image.open(here["wide"]) as img:
        assert img.width <= PAGE_WIDTH_PX + 1
    with Image.open(here["traj"]) as img:
        assert img.width < PAGE_WIDTH_PX  # narrower ones keep their resolution


def _per_row_asymmetry(table: pd.DataFrame, frame: Figure) -> Figure:
    """The forest plot drawn the way it was before, two artists per row (the reference),
    in the figure size and axes position of ``frame``."""
    from matplotlib.lines import Line2D

    from neuroalign.report.figures import FAMILY_COLORS

    table = table.reset_index(drop=True)
    n = len(table)
    fig = Figure(figsize=tuple(frame.get_size_inches()))
    ax = fig.add_axes(frame.axes[0].get_position())
    y = np.arange(n)[::-1]
    for yi, row in zip(y, table.itertuples(index=False), strict=True):
        color = FAMILY_COLORS.get(str(row.group), "k")
        if np.isfinite(row.ci_low) and np.isfinite(row.ci_high):
            ax.plot([row.ci_low, row.ci_high], [yi, yi], color=color, lw=2.2, alpha=0.8)
        ax.plot(row.estimate, yi, "o", color=color, ms=5, mec="k", mew=0.5)
        ptext = str(getattr(row, "p", "")) if np.isfinite(row.p_value) else ""
        ax.text(1.04, yi, ptext, va="center", fontsize=6.5,
                transform=ax.get_yaxis_transform())
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(y, table["name"].tolist(), fontsize=7)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("A = S_danger \u2212 S_reward\n\u2190 reward sharper (wall around reward)     "
                  "danger sharper (wall around danger) \u2192", fontsize=8)
    handles = [Line2D([], [], color=FAMILY_COLORS[g], lw=3, label=lab)
               for g, lab in (("brain", "brain region"), ("value", "value-learner"),
                              ("policy", "policy-learner"))
               if g in set(table["group"].astype(str))]
    fig.legend(handles=handles, fontsize=7, loc="lower center", frameon=False,
               ncol=len(handles), borderaxespad=0.1)
    ax.set_title("Valence asymmetry with bootstrap intervals\n(p: valence-label "
                 "permutation per entity, uncorrected; the study corrects)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


def test_asymmetry_figure_draws_one_artist_per_colour_and_the_same_pixels(tmp_path):
    from PIL import Image

    table = asymmetry_table(_results())
    fig = plot_asymmetry(table)
    ax = fig.axes[0]
    groups = list(dict.fromkeys(table["group"].astype(str)))
    # one interval collection per group with finite intervals, one marker line per group
    with_ci = table[np.isfinite(table["ci_low"]) & np.isfinite(table["ci_high"])]
    assert len(ax.collections) == with_ci["group"].nunique()
    markers = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(markers) == len(groups)
    y = np.arange(len(table))[::-1]
    drawn = sorted((float(yy), float(xx)) for line in markers
                   for xx, yy in zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert drawn == sorted(zip(y.astype(float), table["estimate"].astype(float), strict=True))
    segments = sorted(tuple(map(tuple, seg)) for c in ax.collections for seg in c.get_segments())
    assert segments == sorted(((lo, yy), (hi, yy)) for yy, lo, hi in zip(
        y[with_ci.index], with_ci["ci_low"], with_ci["ci_high"], strict=True))
    # the same picture as drawing every row with its own artists
    for name, figure in (("new", fig), ("old", _per_row_asymmetry(table, fig))):
        figure.savefig(tmp_path / f"{name}.png", dpi=60)
    with Image.open(tmp_path / "new.png") as new, Image.open(tmp_path / "old.png") as old:
        assert new.size == old.size
        assert np.array_equal(np.asarray(new.convert("RGB")), np.asarray(old.convert("RGB")))


def test_verdict_figure_draws_every_test_once():
    from neuroalign.report.figures import VERDICT_COLORS, plot_verdict

    table = pd.DataFrame({
        "hypothesis": ["H1", "H1", "H2", "H3"], "subject": ["a", "b", "c", "d"],
        "estimate": [0.3, -0.2, np.nan, 0.1], "ci_low": [0.1, -0.5, np.nan, -0.2],
        "ci_high": [0.5, 0.1, np.nan, 0.4], "mde": [0.2, np.inf, np.nan, 0.3],
        "equivalence_margin": [np.nan, 0.15, np.nan, np.nan],
        "verdict": ["supported", "inconclusive", "inconclusive", "absent"]})
    ax = plot_verdict(table).axes[0]
    y = np.arange(4)[::-1]
    points = {(float(xx), float(yy), line.get_color()) for line in ax.lines
              if line.get_marker() == "o" for xx, yy in zip(line.get_xdata(), line.get_ydata(),
                                                            strict=True)}
    assert points == {(0.3, 3.0, VERDICT_COLORS["supported"]),
                      (-0.2, 2.0, VERDICT_COLORS["inconclusive"]),
                      (0.1, 0.0, VERDICT_COLORS["absent"])}  # no point for a NaN estimate
    mde = [line for line in ax.lines if line.get_marker() == "|"]
    assert len(mde) == 1 and sorted(mde[0].get_xdata()) == [-0.3, -0.2, 0.2, 0.3]
    bands = [c for c in ax.collections if c.get_paths() and len(c.get_paths()) == 1
             and c.get_facecolor().size and np.allclose(c.get_facecolor()[0][:3], 0.85)]
    (band,) = bands  # the one declared margin, around the second test
    assert np.allclose(band.get_paths()[0].vertices[:4], [[-0.15, y[1] - 0.4],
                                                          [0.15, y[1] - 0.4],
                                                          [0.15, y[1] + 0.4],
                                                          [-0.15, y[1] + 0.4]])
    # a line between hypotheses: after the second row and after the third
    separators = sorted(float(line.get_ydata()[0]) for line in ax.lines
                        if line.get_marker() in ("None", "", None)
                        and np.allclose(line.get_ydata(), line.get_ydata()[0])
                        and line.get_color() == "0.75")
    assert separators == [0.5, 1.5]
