"""The study: hypothesis-level inference over a results table, and a verdict.

Pools the per-cell results of ``neuroalign run`` or ``neuroalign batch`` with a
hierarchical bootstrap (animal > session > trial; algorithm > seed >
repetition), tests H1 (agents), H2 (regions), H3 (mirroring) and the best
match, corrects over every test (Holm or Benjamini-Hochberg) and gives each
test a verdict: supported, contradicted, absent (inside a declared equivalence
margin) or inconclusive, with the smallest effect each test could detect
(docs/parts/study.md). :func:`plan_study` says how many animals or seeds a
next study needs. :func:`implementation_differences` compares two implementations of
each algorithm (the zoo and its Stable-Baselines3 twins, :func:`sb3_comparison`).
"""

from neuroalign.core.lazy import lazy_exports

#: public name -> submodule that defines it (imported on first use, so the command
#: line and ``import neuroalign.study`` stay fast; ``verdict`` keeps meaning the function
#: after an import of its same-named submodule, see :mod:`neuroalign.core.lazy`)
_EXPORTS: dict[str, str] = {
    "adjust_p": "verdict",
    "format_p": "verdict",
    "verdict": "verdict",
    "bootstrap_p": "hierarchy",
    "hierarchical_weights": "hierarchy",
    "pooled_replicates": "hierarchy",
    "STUDY_COLUMNS": "run",
    "Study": "run",
    "run_study": "run",
    "score_tests": "run",
    "write_study": "run",
    "plan_study": "plan",
    "equivalence_p": "sensitivity",
    "COMPARISON_COLUMNS": "implementations",
    "implementation_differences": "implementations",
    "sb3_comparison": "twins",
    "minimum_detectable_effect": "sensitivity",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
