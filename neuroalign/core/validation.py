"""Parameter checks shared by every part, each message in the form ``name: got X; expected Y``.

Public functions validate where data enter and call these; a part does not
write its own copy of a check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import SupportsFloat, SupportsIndex

import numpy as np

from neuroalign.core.errors import ValidationError
from neuroalign.core.vocabulary import HYPOTHESES

_RANGE = re.compile(r"^(?P<start>[0-9]+)(?:-(?P<end>[0-9]+))?$")

__all__ = [
    "check_choice",
    "check_level",
    "check_positive_float",
    "check_positive_int",
    "margins_by_hypothesis",
    "parse_int_ranges",
]

#: the most integers one range list may expand to (``0-999999999`` is a typo, not a plan)
MAX_RANGE_ITEMS = 100_000


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise when it is not an integer >= ``minimum``.

    Raises
    ------
    ValidationError
        ``name: got X; expected a positive integer`` (or ``an integer >= minimum``);
        booleans are not integers.
    """
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or value < minimum):
        want = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValidationError(f"{name}: got {value!r}; expected {want}")
    return int(value)


#: what ``float()`` takes (the rest is refused without trying)
_FLOATABLE = (SupportsFloat, SupportsIndex, str, bytes)


def check_positive_float(value: object, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is finite and positive (or zero when allowed)."""
    try:
        x = float(value) if isinstance(value, _FLOATABLE) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        bound = "non-negative" if allow_zero else "positive"
        raise ValidationError(f"{name}: got {value!r}; expected a finite {bound} number")
    return x


def check_level(level: object, name: str = "level") -> float:
    """Return a confidence level strictly inside (0, 1), or raise."""
    try:
        lev = float(level) if isinstance(level, _FLOATABLE) else math.nan
    except (TypeError, ValueError):
        lev = math.nan
    if not 0.0 < lev < 1.0:
        raise ValidationError(f"{name}: got {level!r}; expected a number in the open "
                              "interval (0, 1)")
    return lev


def check_choice(value: object, name: str, valid: Iterable[object]) -> object:
    """Return ``value`` if it is one of ``valid``; otherwise raise listing the valid ones."""
    valid = list(valid)
    if value not in valid:
        listed = ", ".join(repr(v) for v in valid)
        raise ValidationError(f"{name}: got {value!r}; expected one of {listed}")
    return value


def margins_by_hypothesis(margin: float | Mapping[str, float] | None) -> dict[str, float]:
    """The declared equivalence margin of each hypothesis (absent: none declared).

    ``margin`` is one positive number for every hypothesis, or a mapping from
    hypothesis (``"H1"``, ``"H2"``, ``"H3"``, ``"best match"``) to its margin
    (in the unit of that hypothesis' quantity: A, or a difference of
    similarities).

    Raises
    ------
    ValidationError
        An unknown hypothesis or a margin that is not a positive number.
    """
    if margin is None:
        return {}
    items = margin.items() if isinstance(margin, Mapping) else ((h, margin) for h in HYPOTHESES)
    out: dict[str, float] = {}
    for hyp, value in items:
        if hyp not in HYPOTHESES:
            raise ValidationError(f"equivalence_margin: got hypothesis {hyp!r}; expected one "
                                  f"of {list(HYPOTHESES)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            raise ValidationError(f"equivalence_margin[{hyp}]: got {value!r}; expected a "
                                  "positive number")
        out[str(hyp)] = number
    return out


def parse_int_ranges(text: str, name: str, minimum: int = 0) -> list[int]:
    """The integers of a list of values and inclusive ranges, e.g. ``"0-4,7"``.

    Parameters
    ----------
    text
        Comma-separated items, each an integer ``N`` or an inclusive range ``A-B``
        with ``A <= B``; spaces around items are ignored.
    name
        Names the parameter in error messages (e.g. ``"--seeds"``).
    minimum
        Smallest integer allowed.

    Returns
    -------
    list of int
        Sorted, without duplicates.

    Raises
    ------
    ValidationError
        An empty list, an item that is not an integer or a range, a range whose end
        is below its start, a value below ``minimum``, or more than
        :data:`MAX_RANGE_ITEMS` integers.
    """
    items = [item.strip() for item in str(text).split(",")]
    if not any(items):
        raise ValidationError(f"{name}: got {text!r}; expected integers and ranges such as "
                              "'0-4,7'")
    out: set[int] = set()
    for item in items:
        match = _RANGE.match(item)
        if match is None:
            raise ValidationError(f"{name}: got {item!r} in {text!r}; expected an integer "
                                  "or a range A-B such as '0-4'")
        start = int(match["start"])
        end = int(match["end"]) if match["end"] is not None else start
        if end < start:
            raise ValidationError(f"{name}: got the range {item!r}; expected its end to be "
                                  f">= its start")
        if start < minimum:
            raise ValidationError(f"{name}: got {start} in {text!r}; expected integers >= "
                                  f"{minimum}")
        if end - start + 1 + len(out) > MAX_RANGE_ITEMS:
            raise ValidationError(f"{name}: {text!r} expands to more than {MAX_RANGE_ITEMS} "
                                  "integers")
        out.update(range(start, end + 1))
    return sorted(out)
