"""Profile the contact columns: which are numbers, which are categories, which are useless.

The learner decides once, on all labelled contacts, what kind each column is; the per-fold fits
(bins, levels, medians) come later and only ever see their training rows.
"""

from __future__ import annotations

import collections
import dataclasses as dc
import typing as t

import numpy as np

from connector.scoring.predictive import is_missing
from connector.scoring.records import Contact

__all__ = ["Column", "as_number", "profile_columns"]

#: Share of present values that must parse as numbers for a column to count as numeric.
NUMERIC_SHARE = 0.95


def as_number(value: t.Any) -> float:
    """A property as a float, NaN when it does not parse (booleans never do), as the engine reads it."""
    if isinstance(value, bool):
        return float("nan")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        out = float(str(value).strip())
    except ValueError:
        return float("nan")
    return out if np.isfinite(out) else float("nan")


@dc.dataclass
class Column:
    """One property column over all labelled contacts.

    ``kind``: ``number`` | ``category`` | ``constant`` (one value or none: nothing to learn) |
    ``identifier`` (a different value on (almost) every row: an id, not a signal).
    ``missing`` marks blank and placeholder cells; ``numbers`` is NaN where a value does not parse;
    ``text`` holds the casefolded string of present values.
    """

    name: str
    kind: str
    missing: np.ndarray
    numbers: np.ndarray
    text: np.ndarray
    spelling: dict[str, str]
    #: Some values are lists (multi-select): the probability model reads the joined items as one
    #: value; the points model skips the column, since rule conditions match list items one by one.
    multi: bool = False

    @property
    def present(self) -> int:
        """How many contacts have a value."""
        return int((~self.missing).sum())


def _text(value: t.Any) -> str:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v).strip() for v in value)
    return str(value).strip()


def profile_columns(contacts: t.Sequence[Contact], columns: t.Sequence[str], placeholders: t.Collection[str]) -> list[Column]:
    """Profile every column; placeholders are compared casefolded."""
    folded = {p.strip().casefold() for p in placeholders}
    out = []
    n = len(contacts)
    for name in columns:
        values = [c.properties.get(name) for c in contacts]
        missing = np.array([is_missing(v, folded) for v in values], dtype=bool)
        numbers = np.array([float("nan") if m else as_number(v) for v, m in zip(values, missing, strict=False)], dtype=np.float64)
        counts: collections.Counter[str] = collections.Counter()
        spellings: dict[str, collections.Counter[str]] = {}
        text = np.empty(n, dtype=object)
        for i, (v, m) in enumerate(zip(values, missing, strict=False)):
            if m:
                text[i] = ""
                continue
            shown = _text(v)
            key = shown.casefold()
            text[i] = key
            counts[key] += 1
            spellings.setdefault(key, collections.Counter())[shown] += 1
        spelling = {k: c.most_common(1)[0][0] for k, c in spellings.items()}
        present = int((~missing).sum())
        parsed = int(np.isfinite(numbers).sum())
        distinct = len(counts)
        if distinct <= 1 and (present == 0 or present == n):
            kind = "constant"
        elif present and parsed >= NUMERIC_SHARE * present and distinct > 2:
            whole = bool(np.all(np.mod(numbers[np.isfinite(numbers)], 1) == 0))
            kind = "identifier" if whole and present >= 20 and distinct >= 0.98 * present else "number"
        elif present >= 20 and distinct >= 0.9 * present:
            kind = "identifier"
        else:
            kind = "category"
        multi = any(isinstance(v, (list, tuple)) for v in values)
        out.append(Column(name, kind, missing, numbers, text, spelling, multi))
    return out
