"""Types of ``neuroalign.study``, whose names ``__init__.py`` imports on first use."""

from neuroalign.study.hierarchy import bootstrap_p as bootstrap_p
from neuroalign.study.hierarchy import hierarchical_weights as hierarchical_weights
from neuroalign.study.hierarchy import pooled_replicates as pooled_replicates
from neuroalign.study.implementations import COMPARISON_COLUMNS as COMPARISON_COLUMNS
from neuroalign.study.implementations import (
    implementation_differences as implementation_differences,
)
from neuroalign.study.plan import plan_study as plan_study
from neuroalign.study.run import STUDY_COLUMNS as STUDY_COLUMNS
from neuroalign.study.run import Study as Study
from neuroalign.study.run import run_study as run_study
from neuroalign.study.run import score_tests as score_tests
from neuroalign.study.run import write_study as write_study
from neuroalign.study.sensitivity import equivalence_p as equivalence_p
from neuroalign.study.sensitivity import minimum_detectable_effect as minimum_detectable_effect
from neuroalign.study.twins import sb3_comparison as sb3_comparison
from neuroalign.study.verdict import adjust_p as adjust_p
from neuroalign.study.verdict import format_p as format_p
from neuroalign.study.verdict import verdict as verdict

__all__ = [
    "COMPARISON_COLUMNS",
    "STUDY_COLUMNS",
    "Study",
    "adjust_p",
    "bootstrap_p",
    "equivalence_p",
    "format_p",
    "hierarchical_weights",
    "implementation_differences",
    "minimum_detectable_effect",
    "plan_study",
    "pooled_replicates",
    "run_study",
    "sb3_comparison",
    "score_tests",
    "verdict",
    "write_study",
]
