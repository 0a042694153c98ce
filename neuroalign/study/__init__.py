"""The study: hypothesis-level inference over a results table, and a verdict.

Pools the per-cell results of ``neuroalign run`` or ``neuroalign batch`` with a
hierarchical bootstrap (animal > session > trial; algorithm > seed >
repetition), tests H1 (agents), H2 (regions), H3 (mirroring) and the best
match, corrects over every test (Holm or Benjamini-Hochberg) and gives each
test a verdict: supported, contradicted, absent (inside a declared equivalence
margin) or inconclusive, with the smallest effect each test could detect
(docs/parts/study.md). :func:`plan_study` says how many animals or seeds a
next study needs.
"""

from neuroalign.study.hierarchy import bootstrap_p, hierarchical_weights, pooled_replicates
from neuroalign.study.plan import plan_study
from neuroalign.study.run import STUDY_COLUMNS, Study, run_study, write_study
from neuroalign.study.sensitivity import equivalence_p, minimum_detectable_effect
from neuroalign.study.verdict import adjust_p, format_p, verdict

__all__ = [
    "STUDY_COLUMNS",
    "Study",
    "adjust_p",
    "bootstrap_p",
    "equivalence_p",
    "format_p",
    "hierarchical_weights",
    "minimum_detectable_effect",
    "plan_study",
    "pooled_replicates",
    "run_study",
    "verdict",
    "write_study",
]
