"""The one table of method and measure names, with their aliases.

Every public entry point that takes a method or measure name validates it here,
so each accepts the same names and the same aliases:

* :data:`RDM_METHODS`: how an RDM is built (``compare.compute_rdm``,
  the ``rdm_method`` option);
* :data:`COMPARE_METHODS` and :data:`COMPARE_ALIASES`: how two RDMs are compared
  (``compare.compare_rdms``, ``compare.compare_vectors``, ``compare.evaluate``,
  the ``rsa_method`` option);
* :data:`PATTERN_MEASURES`: the pattern measures of ``compare.evaluate``;
* :data:`MEASURES` and :data:`MEASURE_ALIASES`: the measures of a run or batch cell,
  the ``measure`` column of the results (``rsa`` is an RDM comparison with
  ``rsa_method``, ``spearman`` by default); what each measure is (kind, direction,
  per-side work, scorer) is stated once, in
  :data:`neuroalign.pipeline.measures.MEASURE_SPECS`;
* :data:`GEOMETRY_DISTANCES` and :data:`GEOMETRY_ALIASES`: the distances of the
  valence geometry;
* :data:`AGENT_FAMILIES`: the learning families an agent is declared as (the zoo's
  agents carry theirs; a foreign agent's comes from its config entry);
* :data:`DATASET_PROFILES` and :data:`PROFILE_CHOICES`: the dataset profiles of
  :mod:`neuroalign.io` (defined there) and the values a source's ``profile`` takes.

Note the two meanings of ``"correlation"``: as an RDM *construction* it is the
correlation distance ``1 - r`` between condition patterns; as an RDM *comparison*
it is an alias of ``"pearson"``.
"""

from __future__ import annotations

from collections.abc import Mapping

from neuroalign.core.errors import ValidationError

__all__ = [
    "AGENT_FAMILIES",
    "COMPARE_ALIASES",
    "COMPARE_METHODS",
    "DATASET_PROFILES",
    "GEOMETRY_ALIASES",
    "GEOMETRY_DISTANCES",
    "HYPOTHESES",
    "MEASURES",
    "MEASURE_ALIASES",
    "PATTERN_MEASURES",
    "PROFILE_CHOICES",
    "RDM_METHODS",
    "canonical_name",
    "compare_method",
    "measure_name",
]

#: names of the dataset profiles :mod:`neuroalign.io.profiles` defines (its ``PROFILES``)
DATASET_PROFILES: tuple[str, ...] = ("ibl", "steinmetz", "amygdala", "photometry")
#: values of a source's ``profile``: a dataset profile, detection, or a user's mapping
PROFILE_CHOICES: tuple[str, ...] = tuple(sorted({*DATASET_PROFILES, "auto", "generic"}))

#: how an RDM is built from condition patterns
RDM_METHODS: tuple[str, ...] = (
    "euclidean",
    "sqeuclidean",
    "correlation",
    "cosine",
    "mahalanobis",
    "crossnobis",
    "poisson",
)

#: how two RDMs are compared (canonical names)
COMPARE_METHODS: tuple[str, ...] = (
    "pearson",
    "spearman",
    "kendall_tau_a",
    "rho_a",
    "cosine",
    "corr_cov",
    "cosine_cov",
)
#: alias -> canonical RDM comparison (rsatoolbox's names and common spellings)
COMPARE_ALIASES: Mapping[str, str] = {
    "corr": "pearson",
    "correlation": "pearson",
    "tau-a": "kendall_tau_a",
    "tau_a": "kendall_tau_a",
    "rho-a": "rho_a",
    "whitened_pearson": "corr_cov",
    "whitened_cosine": "cosine_cov",
}

#: pattern measures of :func:`neuroalign.compare.evaluate` (aliases: cka_linear, procrustes)
PATTERN_MEASURES: tuple[str, ...] = (
    "cka", "cka_linear", "cka_rbf", "shape", "procrustes", "predictivity",
)

#: the measures of one cell of a run or batch (the ``measure`` column of the results)
MEASURES: tuple[str, ...] = ("rsa", "cka", "shape", "geometry")
#: alias -> canonical measure of a cell (compare's names of the same measures)
MEASURE_ALIASES: Mapping[str, str] = {
    "cka_linear": "cka",
    "procrustes": "shape",
    "valence_geometry": "geometry",
}

#: learning families of agents: H1 pools ``value`` and ``policy``; ``other`` is compared
#: but pooled into no family
AGENT_FAMILIES: tuple[str, ...] = ("value", "policy", "other")

#: the hypotheses a study tests (the ``hypothesis`` column of study.csv)
HYPOTHESES: tuple[str, ...] = ("H1", "H2", "H3", "best match")

#: distances between condition patterns along the approach (valence geometry)
GEOMETRY_DISTANCES: tuple[str, ...] = ("crossnobis", "euclidean")
#: alias -> canonical geometry distance
GEOMETRY_ALIASES: Mapping[str, str] = {
    "crossvalidated euclidean": "crossnobis",
    "cross-validated euclidean": "crossnobis",
    "cv-euclidean": "crossnobis",
    "cv_euclidean": "crossnobis",
}


def canonical_name(value: object, name: str, canonical: tuple[str, ...],
                   aliases: Mapping[str, str] | None = None) -> str:
    """The canonical spelling of ``value`` in ``canonical`` (directly or through ``aliases``).

    Raises
    ------
    ValidationError
        ``name: got X; expected one of ...`` listing the canonical names and the aliases.
    """
    aliases = aliases or {}
    key = value if isinstance(value, str) else None
    if key in canonical:
        return key
    if key is not None and key in aliases:
        return aliases[key]
    listed = ", ".join(repr(v) for v in canonical)
    extra = f" (aliases: {', '.join(repr(a) for a in aliases)})" if aliases else ""
    raise ValidationError(f"{name}: got {value!r}; expected one of {listed}{extra}")


def compare_method(value: object, name: str = "method") -> str:
    """The canonical RDM comparison named by ``value`` (a name of the table or an alias)."""
    return canonical_name(value, name, COMPARE_METHODS, COMPARE_ALIASES)


def measure_name(value: object, name: str = "measure") -> str:
    """The canonical measure of a cell named by ``value`` (a name of the table or an alias)."""
    return canonical_name(value, name, MEASURES, MEASURE_ALIASES)
