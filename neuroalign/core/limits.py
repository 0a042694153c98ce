"""Memory limits: estimate what an allocation will take and refuse it before it happens.

Every large array neuroalign builds from its input (binned responses, a network
described by a checkpoint) is sized first with :func:`check_memory`. Above the
limit the call fails at once with :class:`~neuroalign.core.errors.ResourceError`
naming the size and how to raise the limit, instead of a ``MemoryError``
traceback (or the system swapping) minutes later.

The limit is, in order: the ``max_memory`` argument of the call (``--max-memory``
on the command line), the ``NEUROALIGN_MAX_MEMORY`` environment variable, else
:data:`DEFAULT_MAX_MEMORY` (8 GiB). Sizes are bytes or text such as ``"512MB"``,
``"8GiB"``, ``"1.5G"``.
"""

from __future__ import annotations

import math
import os
import re

from neuroalign.core.errors import ResourceError, ValidationError

__all__ = ["DEFAULT_MAX_MEMORY", "MAX_MEMORY_ENV", "check_memory", "format_bytes",
           "max_memory", "parse_size"]

#: the limit when neither an argument nor the environment gives one (bytes)
DEFAULT_MAX_MEMORY = 8 * 1024**3
#: environment variable that sets the limit for every command
MAX_MEMORY_ENV = "NEUROALIGN_MAX_MEMORY"

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4,
          "tb": 1000**4, "tib": 1024**4}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(value: object, name: str = "max_memory") -> int:
    """Bytes of ``value``: a positive number of bytes or text such as ``"8GiB"``.

    Raises
    ------
    ValidationError
        Not a positive size.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{name}: got {value!r}; expected a size such as '8GiB'")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        match = _SIZE_RE.match(str(value))
        if match is None or match[2].lower() not in _UNITS:
            raise ValidationError(
                f"{name}: got {value!r}; expected a size such as '512MB', '8GiB' or bytes")
        number, unit = float(match[1]), match[2].lower()
    size = number * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise ValidationError(f"{name}: got {value!r}; expected a positive size such as '8GiB'")
    return int(size)


def max_memory(value: object = None) -> int:
    """The memory limit in bytes: ``value``, else ``$NEUROALIGN_MAX_MEMORY``, else 8 GiB."""
    if value is not None:
        return parse_size(value)
    env = os.environ.get(MAX_MEMORY_ENV)
    if env:
        return parse_size(env, MAX_MEMORY_ENV)
    return DEFAULT_MAX_MEMORY


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``"75.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(n_bytes: float, what: str, limit: object = None,
                 option: str = "--max-memory") -> int:
    """Refuse an allocation of ``n_bytes`` above the limit (see :func:`max_memory`).

    Parameters
    ----------
    n_bytes
        Estimated size (may be a float: products of large shapes overflow int64).
    what
        What would be allocated and why so large, e.g.
        ``"responses of 600 trials x 800 units x 1200000 bins (int32)"``.
    limit
        The limit (bytes or text); ``None`` reads the environment or the default.
    option
        The option the user changes to raise the limit (named in the message).

    Returns
    -------
    int
        The limit in bytes.

    Raises
    ------
    ResourceError
        ``n_bytes`` above the limit.
    """
    cap = max_memory(limit)
    if not n_bytes <= cap:  # also refuses NaN / inf estimates
        raise ResourceError(
            f"{what}: needs {format_bytes(float(n_bytes))}; the memory limit is "
            f"{format_bytes(cap)}. Expected a smaller request (fewer bins, units or trials), "
            f"or raise the limit with {option} (or {MAX_MEMORY_ENV})"
        )
    return cap
