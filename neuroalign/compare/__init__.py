"""neuroalign.compare: similarity measures between representations.

RDMs (:func:`compute_rdm`) and their comparison (:func:`compare_rdms`,
batched :func:`compare_vectors`), CKA (:func:`cka`), shape metrics
(:func:`shape_distance`, :class:`ShapeMetric`) and encoding-model predictivity
(:func:`predictivity`), and one inference layer for all of them
(:func:`evaluate` and the resampling primitives of :mod:`neuroalign.compare.inference`).
"""

from neuroalign.compare.cka import (
    center_gram,
    cka,
    gram_linear,
    gram_rbf,
    hsic_biased,
    hsic_unbiased,
)

# the inference layer builds on the measures above, so it is imported last
from neuroalign.compare.inference import (
    InferenceResult,
    bootstrap_indices,
    confidence_interval,
    evaluate,
    p_value,
    permutation_indices,
)
from neuroalign.compare.noise import noise_covariance, noise_precision
from neuroalign.compare.predictivity import PredictivityResult, predictivity
from neuroalign.compare.rdm import (
    RDM_METHODS,
    align_rdms,
    compute_rdm,
    from_rsatoolbox,
    rdm_labels,
    rdm_vector,
    square_from_vector,
    to_rsatoolbox,
    upper_tri,
)
from neuroalign.compare.rdm_compare import COMPARE_METHODS, compare_rdms, compare_vectors
from neuroalign.compare.shape import ShapeMetric, shape_distance

__all__ = [
    "COMPARE_METHODS",
    "RDM_METHODS",
    "InferenceResult",
    "PredictivityResult",
    "ShapeMetric",
    "align_rdms",
    "bootstrap_indices",
    "center_gram",
    "cka",
    "compare_rdms",
    "compare_vectors",
    "compute_rdm",
    "confidence_interval",
    "evaluate",
    "from_rsatoolbox",
    "gram_linear",
    "gram_rbf",
    "hsic_biased",
    "hsic_unbiased",
    "noise_covariance",
    "noise_precision",
    "p_value",
    "permutation_indices",
    "predictivity",
    "rdm_labels",
    "rdm_vector",
    "shape_distance",
    "square_from_vector",
    "to_rsatoolbox",
    "upper_tri",
]
