"""Multiple-comparison correction, p-values at their resolution, and the verdict rule.

The verdict of one test, at family-wise level ``alpha`` (default 0.05):

- ``supported``: the adjusted p-value is below ``alpha`` *and* the interval
  lies entirely on the predicted side of 0;
- ``contradicted``: the adjusted p-value is below ``alpha`` *and* the interval
  lies entirely on the opposite side;
- ``absent``: neither of these, and an equivalence margin was declared and
  the adjusted p-value of its two one-sided tests (the quantity lies inside
  ``(-margin, +margin)``) is below ``alpha``; a test with no prediction can
  be ``absent`` too;
- ``inconclusive``: anything else (including a test with no prediction, an
  undefined estimate, or an interval that straddles 0).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from neuroalign.core.errors import ValidationError

if TYPE_CHECKING:  # numpy is imported on use: the command line starts without it
    import numpy as np

__all__ = ["CORRECTIONS", "VERDICTS", "adjust_p", "format_p", "verdict"]

CORRECTIONS = ("holm", "bh")
VERDICTS = ("supported", "contradicted", "absent", "inconclusive")


def adjust_p(p_values: np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values over every test of one study (NaN entries stay NaN, take no part).

    ``"holm"``: Holm's step-down family-wise correction; ``"bh"``:
    Benjamini-Hochberg false discovery rate
    (:func:`scipy.stats.false_discovery_control`).
    """
    if method not in CORRECTIONS:
        raise ValidationError(f"correction: got {method!r}; expected one of {list(CORRECTIONS)}")
    import numpy as np

    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    q = p[ok]
    if method == "bh":
        from scipy.stats import false_discovery_control

        out[ok] = false_discovery_control(q, method="bh")
        return out
    order = np.argsort(q, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * q[order])
    adj = np.empty(m)
    adj[order] = np.minimum(stepped, 1.0)
    out[ok] = adj
    return out


def format_p(p: float, n_resamples: int, two_sided: bool = True) -> str:
    """A Monte Carlo p-value at the resolution its ``n_resamples`` give.

    At the floor (no resample as extreme as the observation: ``1 / (n + 1)``,
    twice that two-sided) the text is ``"p <= floor"`` with the number; otherwise
    the p-value rounded to the decimals that ``1 / (n + 1)`` resolves, never
    more.
    """
    if p is None or not math.isfinite(p):
        return "p undefined"
    if n_resamples <= 0:
        return f"p = {p:.2g}"
    floor = (2.0 if two_sided else 1.0) / (n_resamples + 1)
    if p <= floor * (1 + 1e-9):
        return f"p <= {floor:.1g}"
    decimals = max(1, math.ceil(math.log10(n_resamples + 1)))
    return f"p = {p:.{decimals}f}"


def verdict(predicted: int, p_adjusted: float, low: float, high: float,
            alpha: float = 0.05, p_equivalence_adjusted: float = math.nan) -> str:
    """``supported`` / ``contradicted`` / ``absent`` / ``inconclusive`` by the rule in the
    module docs.

    ``predicted`` is +1 (the hypothesis predicts a positive quantity), -1
    (negative) or 0 (no prediction: never supported or contradicted).
    ``p_equivalence_adjusted`` is the adjusted p-value of the equivalence test
    (NaN: no margin declared, never ``absent``).
    """
    decided = _decided(predicted, p_adjusted, low, high, alpha)
    if decided:
        return decided
    if math.isfinite(p_equivalence_adjusted) and p_equivalence_adjusted < alpha:
        return "absent"
    return "inconclusive"


def _decided(predicted: int, p_adjusted: float, low: float, high: float,
             alpha: float) -> str | None:
    """``supported`` or ``contradicted`` where the test of 0 decides, else None."""
    if predicted == 0 or not all(map(math.isfinite, (p_adjusted, low, high))):
        return None
    if p_adjusted >= alpha:
        return None
    if low > 0:
        return "supported" if predicted > 0 else "contradicted"
    if high < 0:
        return "supported" if predicted < 0 else "contradicted"
    return None
