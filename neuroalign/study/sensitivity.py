"""Sensitivity and equivalence of the study's tests (docs/parts/study.md).

Pure functions on one test's hierarchical bootstrap replicates:

- :func:`minimum_detectable_effect`: the smallest |effect| the test detects
  with a given power (80% by default) at its corrected alpha, from the
  spread of its replicates, with the floors that bound every test whatever
  the effect: the resolution of the bootstrap p-value, ``2 / (n_boot + 1)``,
  and, where the study's p rests on the top-level units alone, the exact sign
  test's ``0.5 ** (k - 1)`` for ``k`` units;
- :func:`equivalence_p`: the two one-sided tests (TOST) of "the quantity lies
  inside ``(-margin, +margin)``" on the same replicates;
- :func:`corrected_alpha`: the per-test alpha the correction guarantees;
- :func:`neuroalign.core.validation.margins_by_hypothesis` / :func:`parse_margin`: the declared
  equivalence margins, one number or one per hypothesis.

The power model behind :func:`minimum_detectable_effect`: the test rejects
"the quantity is 0" at level ``a`` when the estimate lies ``z(1 - a/2)``
bootstrap standard errors from 0; an effect ``d`` estimated with that
standard error ``se`` does so with probability ``Phi(d / se - z(1 - a/2))``
(the far tail is negligible), so 80% power needs
``d = (z(1 - a/2) + z(0.8)) * se``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st

from neuroalign.core.errors import ValidationError
from neuroalign.core.validation import margins_by_hypothesis

__all__ = [
    "corrected_alpha",
    "equivalence_p",
    "minimum_detectable_effect",
    "parse_margin",
    "replicate_se",
    "sign_test_floor",
]

#: hypotheses a margin can be declared for


def sign_test_floor(n_top: int) -> float:
    """The smallest two-sided p-value ``k`` independent top-level units can give when all
    lie on one side of 0 (the exact sign test): ``0.5 ** (k - 1)``."""
    return float(0.5 ** (max(int(n_top), 1) - 1))


def replicate_se(replicates: np.ndarray) -> float:
    """Bootstrap standard error: the standard deviation of the finite replicates
    (NaN with fewer than two)."""
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    return float(np.std(r, ddof=1)) if r.size >= 2 else float("nan")


def corrected_alpha(alpha: float, n_tests: int) -> float:
    """The per-test level the correction guarantees: ``alpha / m`` for ``m`` tests.

    Holm and Benjamini-Hochberg both reject every raw p-value below
    ``alpha / m`` whatever the other tests give (it is Holm's first step, and
    BH's threshold for the smallest rank), so a test reaching it is declared;
    it is the conservative alpha of a test planned without knowing the others.
    """
    if not 0 < alpha < 1:
        raise ValidationError(f"alpha: got {alpha}; expected a number in (0, 1)")
    return float(alpha / max(int(n_tests), 1))


def minimum_detectable_effect(se: float, alpha_test: float, power: float = 0.8, *,
                              n_boot: int | None = None, sign_test_units: int | None = None
                              ) -> tuple[float, str | None]:
    """Smallest |effect| detected with probability ``power`` at level ``alpha_test``.

    Parameters
    ----------
    se
        Bootstrap standard error of the test's pooled quantity.
    alpha_test
        Per-test level after correction (:func:`corrected_alpha`).
    power
        Target power, in (0, 1).
    n_boot
        Replicates of the bootstrap p-value: it cannot go below
        ``2 / (n_boot + 1)``.
    sign_test_units
        Where the study floors the test's p at the exact sign test of its
        top-level units (cells without intervals), their number ``k``: it cannot
        go below ``0.5 ** (k - 1)``.

    Returns
    -------
    tuple of (float, str or None)
        ``(z(1 - alpha_test / 2) + z(power)) * se``, and ``None``; ``inf`` with
        a note when a floor keeps the test from ever reaching ``alpha_test``;
        NaN with a note when ``se`` is undefined or 0.
    """
    if not 0 < power < 1:
        raise ValidationError(f"power: got {power}; expected a number in (0, 1)")
    if not 0 < alpha_test < 1:
        raise ValidationError(f"alpha_test: got {alpha_test}; expected a number in (0, 1)")
    if n_boot is not None and 2.0 / (n_boot + 1) >= alpha_test:
        return math.inf, (f"no effect is detectable: with {n_boot} replicates the smallest "
                          f"p is {2.0 / (n_boot + 1):.2g}, not below the corrected alpha "
                          f"{alpha_test:.2g}; raise n_boot")
    if sign_test_units is not None and sign_test_floor(sign_test_units) >= alpha_test:
        k = int(sign_test_units)
        return math.inf, (f"no effect is detectable: the exact sign test of {k} top-level "
                          f"unit(s) cannot go below {sign_test_floor(k):.2g}, the corrected "
                          f"alpha is {alpha_test:.2g}")
    if not math.isfinite(se) or se <= 0:
        return math.nan, "no minimum detectable effect: the replicates have no spread"
    z = _st.norm.ppf(1.0 - alpha_test / 2.0) + _st.norm.ppf(power)
    return float(z * se), None


def equivalence_p(replicates: np.ndarray, margin: float) -> float:
    """Two one-sided tests (TOST) of ``|quantity| < margin`` on bootstrap replicates.

    The larger of the bootstrap p-values of "quantity <= -margin",
    ``(1 + #{r <= -margin}) / (1 + n)``, and of "quantity >= +margin",
    ``(1 + #{r >= +margin}) / (1 + n)``; it resolves ``1 / (n + 1)``. NaN
    without finite replicates.
    """
    if not math.isfinite(margin) or margin <= 0:
        raise ValidationError(f"equivalence margin: got {margin}; expected a positive number")
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan")
    below = (1 + np.sum(r <= -margin)) / (1 + r.size)
    above = (1 + np.sum(r >= margin)) / (1 + r.size)
    return float(max(below, above))


def parse_margin(text: str | None) -> float | dict[str, float] | None:
    """A margin from the command line: ``"0.2"`` (every hypothesis) or
    ``"H2=0.2,H1=0.1"`` (per hypothesis; ``best match`` or ``best-match``).

    Raises
    ------
    ValidationError
        Text that is neither form.
    """
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if "=" not in text:
        try:
            value = float(text)
        except ValueError:
            raise ValidationError(f"--equivalence-margin: got {text!r}; expected a number "
                                  "or HYPOTHESIS=NUMBER pairs, e.g. H2=0.2,H1=0.1") from None
        margins_by_hypothesis(value)
        return value
    out: dict[str, float] = {}
    for part in text.split(","):
        key, _sep, number = part.partition("=")
        key = key.strip().replace("-", " ")
        try:
            out[key] = float(number)
        except ValueError:
            raise ValidationError(f"--equivalence-margin: got {part!r}; expected "
                                  "HYPOTHESIS=NUMBER, e.g. H2=0.2") from None
    margins_by_hypothesis(out)
    return out
