"""Condition answers for every distinct value of a column, with exact shortcuts for near-unique columns.

The batch scorer evaluates a condition once per distinct value of the column it reads (with the
very same :func:`connector.scoring.conditions.test` the per-contact engine uses) and broadcasts
the answer through the column's codes; :class:`DistinctValues` holds those per-value answers.
"""

from __future__ import annotations

import math
import typing as t

import numpy as np

from connector.scoring import conditions
from connector.scoring.conditions import normalize_placeholders, present_values, to_number

__all__ = ["GROUP_TAILS_FROM", "DistinctValues"]

_NUMERIC_OPS = frozenset({"gt", "gte", "lt", "lte", "between"})
_KEYED_OPS = frozenset({"exists", "missing", "email_domain_in", "starts_with", "ends_with"})
_COLLECTIONS = (list, tuple, set, frozenset)


def _wanted_domains(expected: t.Any) -> tuple[frozenset[str], tuple[str, ...]]:
    """The domains of an ``email_domain_in`` value as ``conditions._one`` normalises them.

    A domain matches when it equals one of them (the set) or ends with ``.`` plus one of them
    (the tuple, for ``str.endswith``); empty entries match nothing.
    """
    wanted = [str(e).strip().casefold().lstrip("@").rstrip(".") for e in (list(expected) if isinstance(expected, (list, tuple)) else [expected])]
    wanted = [w for w in wanted if w]
    return frozenset(wanted), tuple("." + w for w in wanted)


#: Distinct values from which ``email_domain_in`` groups values by tail (one domain per tail)
#: rather than reading every value's domain: a big call holds many addresses per tail, a
#: sync-sized chunk hardly any, and grouping costs a dictionary pass of its own.
GROUP_TAILS_FROM = 4096


class DistinctValues:
    """Answers :func:`connector.scoring.conditions.test` for every distinct value of a column.

    Built once per column and scoring run, shared by every condition that reads the column. The
    plain way is one ``test`` call per distinct value; a column such as ``email``, ``phone`` or
    a head count has close to one distinct value per contact, and ``test`` costs microseconds,
    so three kinds of condition take an exact shortcut:

    - ``exists``/``missing``: a string longer (after ``strip``) than every placeholder is present
      (``casefold`` never shortens text), so the answer is known without a call;
    - ``email_domain_in``: for a present string the answer is the domain (what follows its last
      ``@``, or the whole text, normalised as ``conditions`` does) compared with the wanted
      domains, computed inline per value (e-mail addresses rarely share a tail within a small
      batch) or, from :data:`GROUP_TAILS_FROM` values on, once per distinct tail;
    - ``starts_with``/``ends_with``: for a present string the answer reads only its first/last
      characters (as many as the longest needle), so one call per distinct head/end suffices;
    - ``gt``/``gte``/``lt``/``lte``/``between``: for a present scalar the answer is a comparison
      of ``conditions.to_number(value)`` with the bound, done for all values at once in float64
      (the same IEEE comparison Python makes). Missing or non-numeric values never match.

    Everything else (short strings, lists, other operators) goes through ``test`` one by one.
    """

    def __init__(self, values: t.Sequence[t.Any], placeholders: frozenset[str]) -> None:
        self.values = values
        self.placeholders = placeholders
        self._long: np.ndarray | None = None
        self._groups: dict[tuple[str, int], tuple[np.ndarray, list[int]]] = {}
        self._numbers: tuple[np.ndarray, np.ndarray] | None = None
        self._domain_list: list[str] | None = None
        self._tail_domain_list: list[str] | None = None

    def answers(self, cond: t.Any) -> np.ndarray:
        """``test(cond, value)`` for each distinct value, in dictionary order."""
        values, placeholders = self.values, self.placeholders
        if cond.op in _KEYED_OPS:
            long = self._long_present()
            out = np.empty(len(values), dtype=bool)
            for i in np.flatnonzero(~long).tolist():
                out[i] = conditions.test(cond, values[i], placeholders)
            if cond.op in ("exists", "missing"):
                out[long] = cond.op == "exists"
                return out
            if cond.op == "email_domain_in":
                # ``conditions._one`` inlined for a present string: a few C-level str calls per
                # value instead of a ``test`` call per distinct tail (tails rarely repeat).
                exact, dotted = _wanted_domains(cond.value)
                if len(values) < GROUP_TAILS_FROM:
                    out[long] = [bool(d) and (d in exact or d.endswith(dotted)) for d in self._domains()]
                    return out
                # Many values (one call over a whole portal): addresses share tails, so each
                # distinct tail (what follows the last ``@``, which alone decides) is read once.
                codes, reps = self._keys("tail", 0)
                per_key = np.array([bool(d) and (d in exact or d.endswith(dotted)) for d in self._tail_domains(reps)], dtype=bool)
                out[long] = per_key[codes[long]]
                return out
            else:  # starts_with / ends_with: only the first / last L characters can matter
                width = max(max(len(str(e).strip()), len(str(e).strip().casefold())) for e in (cond.value if isinstance(cond.value, list) else [cond.value]))
                codes, reps = self._keys("head" if cond.op == "starts_with" else "end", width)
            per_key = np.array([conditions.test(cond, values[i], placeholders) for i in reps], dtype=bool)
            out[long] = per_key[codes[long]]
            return out
        if cond.op in _NUMERIC_OPS:
            numbers, scalar = self._numbers_of()
            if cond.op == "between":
                low, high = (float(v) for v in cond.value)
                out = (numbers >= low) & (numbers <= high)
            else:
                bound = float(cond.value)
                out = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}[cond.op](numbers, bound)
            for i in np.flatnonzero(~scalar).tolist():
                out[i] = conditions.test(cond, values[i], placeholders)
            return out
        return np.array([conditions.test(cond, v, placeholders) for v in values], dtype=bool)

    def _domains(self) -> list[str]:
        """The domain (as ``conditions._domain`` reads it) of each long present string, in order."""
        if self._domain_list is None:
            values = self.values
            texts = [values[i] for i in np.flatnonzero(self._long_present()).tolist()]
            self._domain_list = [v.strip().casefold().rpartition("@")[2].strip().rstrip(".") for v in texts]
        return self._domain_list

    def _tail_domains(self, reps: list[int]) -> list[str]:
        """The domain of one value per distinct tail (``reps`` from :meth:`_keys`), as ``_domains`` reads it."""
        if self._tail_domain_list is None:
            values = self.values
            self._tail_domain_list = [values[i].strip().casefold().rpartition("@")[2].strip().rstrip(".") for i in reps]
        return self._tail_domain_list

    def _long_present(self) -> np.ndarray:
        """Which values are strings longer (after ``strip``) than every placeholder: present for sure."""
        if self._long is None:
            longest = max((len(p) for p in normalize_placeholders(self.placeholders)), default=0)
            values = self.values
            try:  # all plain strings (the usual case): C-level loops
                if not all(type(v) is str for v in values):
                    raise TypeError
                lengths = np.fromiter(map(len, map(str.strip, values)), dtype=np.int64, count=len(values))
                self._long = lengths > longest
            except TypeError:
                self._long = np.fromiter((type(v) is str and len(v.strip()) > longest for v in values), dtype=bool, count=len(values))
        return self._long

    def _keys(self, kind: str, width: int) -> tuple[np.ndarray, list[int]]:
        """Group the long present strings by a key; per value its key code, and one value per key.

        ``tail``: the text after the last ``@``; ``head``/``end``: the first/last ``width``
        characters after ``strip`` (``casefold`` maps each character on its own, to at least
        one character, so the first/last ``width`` characters of the folded text come from
        these).
        """
        cached = self._groups.get((kind, width))
        if cached is not None:
            return cached
        rows = np.flatnonzero(self._long_present())
        values = self.values
        texts = [values[i] for i in rows.tolist()]
        if kind == "tail":
            keys = [v.rpartition("@")[2] for v in texts]
        elif kind == "head":
            keys = [v.strip()[:width] for v in texts]
        else:
            keys = [v.strip()[-width:] for v in texts] if width else [""] * len(texts)
        index: dict[str, int] = {}
        key_codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys))
        codes = np.full(len(values), -1, dtype=np.int64)
        codes[rows] = key_codes
        first = np.unique(key_codes, return_index=True)[1]
        reps = rows[first].tolist()
        self._groups[(kind, width)] = (codes, reps)
        return codes, reps

    def _numbers_of(self) -> tuple[np.ndarray, np.ndarray]:
        """Per value: its number when present and numeric (else NaN), and whether it is a scalar."""
        if self._numbers is None:
            norm = normalize_placeholders(frozenset(self.placeholders))
            nan = math.nan
            found: list[float] = []
            scalar = np.ones(len(self.values), dtype=bool)
            for i, v in enumerate(self.values):
                kind = type(v)
                if kind is int:  # present; to_number is float(v) (or infinite beyond float's range)
                    try:
                        found.append(float(v))
                    except OverflowError:
                        found.append(t.cast(float, to_number(v)))
                elif kind is str:  # present_values and to_number inlined (NaN stays NaN)
                    text = v.strip()
                    if text and text.casefold() not in norm:
                        try:
                            found.append(float(text))
                        except ValueError:
                            found.append(nan)
                    else:
                        found.append(nan)
                elif isinstance(v, _COLLECTIONS):
                    scalar[i] = False
                    found.append(nan)
                else:
                    number = to_number(v) if present_values(v, self.placeholders) else None
                    found.append(nan if number is None else number)
            self._numbers = (np.array(found, dtype=np.float64).reshape(len(self.values)), scalar)
        return self._numbers
