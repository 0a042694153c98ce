"""neuroalign.report: figures and a self-contained HTML report of a run.

:func:`write_report` writes a report folder from a results table and the
patterns of a run; the figure functions also work on their own in notebooks.
"""

from neuroalign.report.build import FIGURE_NAMES, render_figures, write_report, write_tables
from neuroalign.report.figures import (
    pca_2d,
    plot_approach_profiles,
    plot_asymmetry,
    plot_rdms,
    plot_replication,
    plot_similarity_matrix,
    plot_trajectories,
    plot_verdict,
)
from neuroalign.report.html import Section, render_html
from neuroalign.report.tables import (
    SimilarityMatrix,
    asymmetry_table,
    best_matches,
    family_table,
    similarity_matrix,
    summary_table,
)

__all__ = [
    "FIGURE_NAMES",
    "Section",
    "SimilarityMatrix",
    "asymmetry_table",
    "best_matches",
    "family_table",
    "pca_2d",
    "plot_approach_profiles",
    "plot_asymmetry",
    "plot_rdms",
    "plot_replication",
    "plot_similarity_matrix",
    "plot_trajectories",
    "plot_verdict",
    "render_figures",
    "render_html",
    "similarity_matrix",
    "summary_table",
    "write_report",
    "write_tables",
]
