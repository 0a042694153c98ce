"""Where every trial of an import went: kept, or dropped and why.

An import counts the trials of each label (the value of the valence column,
e.g. ``shock`` or ``water``) as it reads them, and every step that leaves
trials out records how many of each label it left out and the reason. The
result travels with the responses as ``attrs["trial_counts"]`` (JSON) and is
printed by ``neuroalign import``, so no trial is lost without a word.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

__all__ = ["MISSING_LABEL", "TrialAccount"]

#: label of a row whose valence column is empty
MISSING_LABEL = "<missing>"


class TrialAccount:
    """Per-label counts of trials read, kept and dropped (with the reason).

    Examples
    --------
    >>> acc = TrialAccount()
    >>> acc.add(["water", "water", "shock"])
    >>> acc.drop(["water"], "outside the recording")
    >>> acc.kept()
    {'shock': 1, 'water': 1}
    >>> acc.lines()
    ['shock: 1 of 1 kept', 'water: 1 of 2 kept (1 outside the recording)']
    """

    def __init__(self) -> None:
        self._total: Counter[str] = Counter()
        self._dropped: dict[str, Counter[str]] = {}

    def add(self, labels: Iterable[object]) -> None:
        """Count trials read, one label each."""
        self._total.update(str(v) for v in labels)

    def drop(self, labels: Iterable[object], reason: str) -> None:
        """Record trials left out (one label each) for ``reason``."""
        for label in labels:
            self._dropped.setdefault(str(label), Counter())[reason] += 1

    def kept(self) -> dict[str, int]:
        """Trials kept per label (read minus dropped)."""
        return {k: self._total[k] - sum(self._dropped.get(k, Counter()).values())
                for k in sorted(self._total)}

    def n_dropped(self) -> int:
        """Trials dropped over every label and reason."""
        return sum(sum(c.values()) for c in self._dropped.values())

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{label: {"read": n, "kept": n, "dropped": {reason: n}}}``, labels sorted."""
        kept = self.kept()
        return {k: {"read": int(self._total[k]), "kept": int(kept[k]),
                    "dropped": dict(sorted(self._dropped.get(k, Counter()).items()))}
                for k in kept}

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string (an attribute netCDF can store)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrialAccount:
        """The account written by :meth:`to_json`."""
        acc = cls()
        for label, rec in json.loads(text).items():
            acc._total[label] = int(rec["read"])
            if rec["dropped"]:
                acc._dropped[label] = Counter({r: int(n) for r, n in rec["dropped"].items()})
        return acc

    def lines(self) -> list[str]:
        """One line per label: ``"shock: 8 of 10 kept (2 outside the recording)"``."""
        out = []
        for label, rec in self.to_dict().items():
            why = ", ".join(f"{n} {reason}" for reason, n in rec["dropped"].items())
            out.append(f"{label}: {rec['kept']} of {rec['read']} kept" + (f" ({why})" if why
                                                                           else ""))
        return out
