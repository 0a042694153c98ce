"""Inference for every comparison measure: resampling, intervals, tests, ceilings.

A resample is an index array. Bootstrap and permutation draws come from explicit
generators (``rng``/``seed`` arguments); :func:`evaluate` runs any measure through
them and returns a tidy table.
"""

from neuroalign.compare.inference.evaluate import BOOTSTRAP_KINDS, evaluate, evaluate_results
from neuroalign.compare.inference.pattern_resampling import split_half_ceiling
from neuroalign.compare.inference.patterns import (
    PatternMeasure,
    cka_measure,
    function_measure,
    predictivity_measure,
    shape_measure,
)
from neuroalign.compare.inference.rdm import (
    as_rdm_vectors,
    rdm_bootstrap_evaluations,
    rdm_noise_ceiling,
    rdm_permutation_null,
    resampled_pairs,
)
from neuroalign.compare.inference.resample import (
    PermutationIndices,
    bootstrap_indices,
    index_counts,
    kfold_indices,
    permutation_indices,
    two_level_bootstrap_indices,
)
from neuroalign.compare.inference.stats import (
    RESULT_COLUMNS,
    InferenceResult,
    binomial_interval,
    check_permutation_power,
    confidence_interval,
    p_value,
    spearman_brown,
)
from neuroalign.compare.inference.weighted import (
    fixed_weighted_corr_matrix,
    pair_weights,
    weighted_corr,
    weighted_corr_matrix,
    weighted_rank,
)

__all__ = [
    "BOOTSTRAP_KINDS",
    "RESULT_COLUMNS",
    "InferenceResult",
    "PatternMeasure",
    "PermutationIndices",
    "as_rdm_vectors",
    "binomial_interval",
    "bootstrap_indices",
    "check_permutation_power",
    "cka_measure",
    "confidence_interval",
    "evaluate",
    "evaluate_results",
    "fixed_weighted_corr_matrix",
    "function_measure",
    "index_counts",
    "kfold_indices",
    "p_value",
    "pair_weights",
    "permutation_indices",
    "predictivity_measure",
    "rdm_bootstrap_evaluations",
    "rdm_noise_ceiling",
    "rdm_permutation_null",
    "resampled_pairs",
    "shape_measure",
    "spearman_brown",
    "split_half_ceiling",
    "two_level_bootstrap_indices",
    "weighted_corr",
    "weighted_corr_matrix",
    "weighted_rank",
]
