"""Columnar (numpy) forms of contacts, activities and scoring results for the batch scorer.

Why columns: a million contacts as Python objects cost seconds just to walk; as a few integer
arrays they cost milliseconds. Every property and attribute is *categorical*: an ``int32`` code
per row and a dictionary of the distinct raw values. The batch scorer evaluates a condition once
per distinct value (with the very same :func:`connector.scoring.conditions.test` the per-contact
engine uses) and broadcasts the answer through the codes, so both engines share the semantics of
every operator for free.

:class:`DistinctValues` holds those per-value answers, with exact shortcuts for columns that have
about one distinct value per row (e-mail, phone, head count).

Conventions:
- code ``-1`` means *absent* (no such key); NumPy's negative indexing then reads the last entry
  of a per-value lookup table, which the scorer fills with the answer for ``None``;
- instants are ``int64`` microseconds since the Unix epoch (UTC), which keeps ``within_days``
  comparisons exact to the microsecond like ``datetime`` arithmetic.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import math
import typing as t

import numpy as np

from connector.scoring.engine import contact_values
from connector.scoring.records import Activity, Contact, utc

__all__ = [
    "NO_TIME",
    "ActivityColumns",
    "AdjustmentColumns",
    "Categorical",
    "CategoricalBuilder",
    "ContactColumns",
    "DistinctValues",
    "PreviousColumns",
    "ResultColumns",
    "from_micros",
    "to_micros",
]

_UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_MICRO = dt.timedelta(microseconds=1)
#: Sentinel for "no instant" (``None``) in an ``int64`` microsecond column.
NO_TIME = np.iinfo(np.int64).min


class _Absent:
    """The type of :data:`_ABSENT` (a key a row does not have; ``None`` is a value a row can hold)."""


_ABSENT = _Absent()
#: Value types whose values are their own keys: a ``str`` never equals an ``int`` and ``int``
#: equality is exact (``bool`` and ``float`` are not here: ``True == 1 == 1.0``).
_PLAIN_KEYS = frozenset({str, int, _Absent})


def to_micros(value: dt.datetime) -> int:
    """Exact microseconds since the epoch (naive datetimes are taken as UTC, like the records)."""
    if value.tzinfo is not dt.UTC:
        value = utc(value)
    return (value - EPOCH) // _MICRO


def from_micros(value: int) -> dt.datetime:
    """Inverse of :func:`to_micros`: an aware UTC datetime."""
    return EPOCH + dt.timedelta(microseconds=int(value))


def _key(value: t.Any) -> t.Hashable:
    """A dictionary key that never merges values the conditions tell apart.

    ``1``, ``1.0`` and ``True`` are equal (and hash alike) in Python, but booleans never parse as
    numbers, so the type is part of the key. Lists (multi-select) become tuples; NaN, which is not
    equal to itself, gets one fixed key; ``0.0`` and ``-0.0`` are equal but read differently as
    text (``contains "-"``), so a float's sign is part of its key. The batch scorer also keys its
    answers remembered across calls by this, so it must hold for any two values, not one batch.
    """
    if isinstance(value, float):
        return ("nan",) if math.isnan(value) else (type(value), value, math.copysign(1.0, value))
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_key(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return (type(value), tuple(sorted(repr(v) for v in value)))
    if isinstance(value, dict):
        return (dict, repr(value))
    return (type(value), value)


@dc.dataclass(frozen=True, slots=True)
class Categorical:
    """A column of raw values as ``codes`` (``int32``, ``-1`` = absent) into ``values``."""

    codes: np.ndarray
    values: list[t.Any]

    def value(self, row: int) -> t.Any:
        """The raw value at ``row`` (``None`` when absent)."""
        code = int(self.codes[row])
        return None if code < 0 else self.values[code]


class CategoricalBuilder:
    """Accumulates raw values row by row into codes and a dictionary of distinct values."""

    def __init__(self) -> None:
        self._index: dict[t.Hashable, int] = {}
        self.values: list[t.Any] = []

    def code(self, value: t.Any) -> int:
        """The code of ``value``, adding it to the dictionary on first sight."""
        # A plain string never equals a value of another type, so it is its own key (fast path).
        key = value if type(value) is str else _key(value)
        code = self._index.get(key)
        if code is None:
            code = self._index[key] = len(self.values)
            self.values.append(value)
        return code


def _categoricals(rows: t.Sequence[t.Mapping[str, t.Any]], names: t.Iterable[str] | None) -> dict[str, Categorical]:
    """Build one categorical column per key (all keys seen, or only ``names``)."""
    n = len(rows)
    if names is None:
        names = sorted({name for row in rows for name in row})
    out: dict[str, Categorical] = {}
    for name in names:
        raw = [row.get(name, _ABSENT) for row in rows]
        if set(map(type, raw)) <= _PLAIN_KEYS:
            # Strings and integers (the usual case) are their own keys: one dict pass, no calls.
            index: dict[t.Any, int] = {}
            setdefault = index.setdefault
            plain = [setdefault(v, len(index)) if v is not _ABSENT else -1 for v in raw]
            values = list(index)
            if values:
                out[name] = Categorical(np.array(plain, dtype=np.int32), values)
            continue
        builder = CategoricalBuilder()
        code = builder.code
        codes = np.fromiter((code(v) if v is not _ABSENT else -1 for v in raw), dtype=np.int32, count=n)
        if builder.values:
            out[name] = Categorical(codes, builder.values)
    return out


@dc.dataclass(frozen=True, slots=True)
class ContactColumns:
    """Contacts as columns: ``ids`` (one per row) and categorical ``properties``.

    ``records`` optionally keeps the original :class:`Contact` objects; only predictive
    dimensions need them (a predictor reads a whole contact).
    """

    ids: t.Sequence[t.Any]
    properties: t.Mapping[str, Categorical]
    records: t.Sequence[Contact] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_records(cls, contacts: t.Sequence[Contact], names: t.Iterable[str] | None = None) -> ContactColumns:
        """Columns from canonical contacts (``names`` limits the properties kept).

        Properties are read as :func:`connector.scoring.engine.contact_values` reads them (the
        contact's ``email`` field stands in for a blank ``email`` property).
        """
        # contact_values copies the properties; only a contact whose e-mail stands in needs a copy.
        rows = [contact_values(c) if c.email and c.properties.get("email") in (None, "") else c.properties for c in contacts]
        return cls(ids=[c.id for c in contacts], properties=_categoricals(rows, names), records=list(contacts))


@dc.dataclass(frozen=True, slots=True)
class ActivityColumns:
    """Activities as columns, one row per activity.

    - ``contact``: ``int32`` row of the owning contact in the :class:`ContactColumns` (``-1``:
      not linked to any contact, ignored);
    - ``type``: categorical activity type;
    - ``occurred``: ``int64`` microseconds since the epoch;
    - ``order``: ``int64`` rank of the activity id in ascending id order (ties in ``occurred``
      are broken by it, newest first then lowest id);
    - ``attributes``: categorical attribute columns.
    """

    contact: np.ndarray
    type: Categorical
    occurred: np.ndarray
    order: np.ndarray
    attributes: t.Mapping[str, Categorical]
    records: t.Sequence[Activity] | None = None

    def __len__(self) -> int:
        return len(self.contact)

    @classmethod
    def from_records(
        cls,
        activities: t.Sequence[Activity],
        contact_rows: t.Mapping[str, int],
        names: t.Iterable[str] | None = None,
    ) -> ActivityColumns:
        """Columns from canonical activities; ``contact_rows`` maps a contact id to its row.

        Activities of contacts not in ``contact_rows`` (or without ``contact_id``) get row -1.
        The caller de-duplicates (the first activity of each id per contact counts).
        """
        types = CategoricalBuilder()
        n = len(activities)
        row_of, code = contact_rows.get, types.code
        contact = np.fromiter((row_of(a.contact_id, -1) if a.contact_id is not None else -1 for a in activities), dtype=np.int32, count=n)
        type_codes = np.fromiter((code(a.type) for a in activities), dtype=np.int32, count=n)
        occurred = np.fromiter(
            ((a.occurred_at - EPOCH) // _MICRO if a.occurred_at.tzinfo is _UTC else to_micros(a.occurred_at) for a in activities), dtype=np.int64, count=n
        )
        ids = [a.id for a in activities]
        ranked = sorted(range(n), key=ids.__getitem__)
        order = np.empty(n, dtype=np.int64)
        order[np.asarray(ranked, dtype=np.int64)] = np.arange(n, dtype=np.int64)
        attributes = _categoricals([a.attributes for a in activities], names)
        return cls(contact=contact, type=Categorical(type_codes, types.values), occurred=occurred, order=order, attributes=attributes, records=list(activities))


@dc.dataclass(frozen=True, slots=True)
class AdjustmentColumns:
    """Manual adjustments as columns: owning contact row, dimension name, points, instant.

    ``records`` keeps the originals (their reason text and author go into the explanation).
    """

    contact: np.ndarray
    dimension: t.Sequence[str]
    points: np.ndarray
    at: np.ndarray
    records: t.Sequence[t.Any] | None = None

    def __len__(self) -> int:
        return len(self.contact)

    @classmethod
    def empty(cls) -> AdjustmentColumns:
        """No adjustments."""
        return cls(np.zeros(0, np.int32), [], np.zeros(0, np.float64), np.zeros(0, np.int64), [])

    @classmethod
    def from_records(cls, adjustments: t.Sequence[t.Any], contact_rows: t.Mapping[str, int]) -> AdjustmentColumns:
        """Columns from canonical :class:`~connector.scoring.records.Adjustment` records."""
        n = len(adjustments)
        return cls(
            contact=np.fromiter((contact_rows.get(a.contact_id, -1) for a in adjustments), dtype=np.int32, count=n),
            dimension=[a.dimension for a in adjustments],
            points=np.fromiter((float(a.points) for a in adjustments), dtype=np.float64, count=n),
            at=np.fromiter((to_micros(a.at) for a in adjustments), dtype=np.int64, count=n),
            records=list(adjustments),
        )


@dc.dataclass(frozen=True, slots=True)
class PreviousColumns:
    """The previous :class:`~connector.scoring.result.ScoringState` of every contact, as columns.

    ``stage`` holds the previous stage *name* per row (``None``: no stage); ``entered`` is the
    entry instant (``NO_TIME``: none); ``armed`` maps a trigger id to a bool array (absent: armed).
    ``records`` keeps the original states (an excluded contact hands its state back unchanged).
    """

    stage: t.Sequence[str | None]
    entered: np.ndarray
    armed: t.Mapping[str, np.ndarray]
    records: t.Sequence[t.Any] | None = None

    @classmethod
    def initial(cls, n: int) -> PreviousColumns:
        """Every contact scored for the first time."""
        return cls([None] * n, np.full(n, NO_TIME, dtype=np.int64), {})

    @classmethod
    def from_states(cls, ids: t.Sequence[str], states: t.Mapping[str, t.Any], trigger_ids: t.Iterable[str]) -> PreviousColumns:
        """Columns from a mapping of contact id to ``ScoringState`` (absent ids: initial state)."""
        n = len(ids)
        got = [states.get(i) for i in ids]
        stage = [s.stage if s is not None else None for s in got]
        when = [s.stage_entered_at if s is not None else None for s in got]
        entered = np.array(
            [NO_TIME if w is None else (w - EPOCH) // _MICRO if w.tzinfo is _UTC else to_micros(w) for w in when], dtype=np.int64
        ).reshape(n)
        armed: dict[str, np.ndarray] = {}
        for trig in trigger_ids:
            armed[trig] = np.array([bool(s.armed.get(trig, True)) if s is not None else True for s in got], dtype=bool).reshape(n)
        return cls(stage, entered, armed, got)


@dc.dataclass(frozen=True, slots=True)
class ResultColumns:
    """Scores of every contact as columns (what :meth:`BatchScorer.score_columns` returns).

    - ``dimensions``: name -> ``float64`` values; ``score``: the weighted total;
    - ``grade``/``matrix``/``stage``/``excluded``: ``int16`` codes into ``grade_labels``,
      ``matrix_labels``, ``stage_names``, ``exclusion_ids`` (``-1`` = ``None``);
    - ``stage_entered``/``changes_at``: ``int64`` microseconds (``NO_TIME`` = ``None``);
    - ``fired``/``armed``: trigger id -> bool arrays (fired now; armed for the next run);
    - ``rule_points``/``rule_counts``: (contacts x rules) points after caps and decay, and how
      many activities counted, in the model's rule order; ``clamp``: (contacts x dimensions)
      points removed or added by a dimension's floor/ceiling;
    - ``adjustment_counted``: per adjustment row, whether it counted.

    The state for the next run is ``stage`` (as a name), ``stage_entered`` and ``armed`` -- except
    for excluded contacts (``excluded >= 0``), whose state is their previous one unchanged:
    ``stage_entered`` and ``armed`` then repeat the previous columns and ``stage`` is ``-1``
    (store the previous stage name again).
    """

    contact_ids: t.Sequence[t.Any]
    dimensions: t.Mapping[str, np.ndarray]
    score: np.ndarray
    grade: np.ndarray
    grade_labels: list[str]
    matrix: np.ndarray
    matrix_labels: list[str]
    stage: np.ndarray
    stage_names: list[str]
    stage_entered: np.ndarray
    excluded: np.ndarray
    exclusion_ids: list[str]
    fired: t.Mapping[str, np.ndarray]
    armed: t.Mapping[str, np.ndarray]
    rule_points: np.ndarray
    rule_counts: np.ndarray
    clamp: np.ndarray
    adjustment_counted: np.ndarray
    changes_at: np.ndarray
    predictive_reasons: t.Mapping[str, list[t.Any]] = dc.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.score)

    def take(self, rows: t.Sequence[int] | np.ndarray) -> ResultColumns:
        """The results of some contacts only (e.g. to materialise a sample); adjustments stay whole."""
        rows = np.asarray(rows, dtype=np.int64)
        ids = [self.contact_ids[i] for i in rows.tolist()]
        return dc.replace(
            self,
            contact_ids=ids,
            dimensions={k: v[rows] for k, v in self.dimensions.items()},
            score=self.score[rows],
            grade=self.grade[rows],
            matrix=self.matrix[rows],
            stage=self.stage[rows],
            stage_entered=self.stage_entered[rows],
            excluded=self.excluded[rows],
            fired={k: v[rows] for k, v in self.fired.items()},
            armed={k: v[rows] for k, v in self.armed.items()},
            rule_points=self.rule_points[rows],
            rule_counts=self.rule_counts[rows],
            clamp=self.clamp[rows],
            changes_at=self.changes_at[rows],
            predictive_reasons={k: [v[i] for i in rows.tolist()] for k, v in self.predictive_reasons.items()},
        )


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
        from connector.scoring import conditions

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
            from connector.scoring.conditions import normalize_placeholders

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
            from connector.scoring.conditions import normalize_placeholders, present_values, to_number

            norm = normalize_placeholders(frozenset(self.placeholders))
            nan = math.nan
            found: list[float] = []
            scalar = np.ones(len(self.values), dtype=bool)
            for i, v in enumerate(self.values):
                kind = type(v)
                if kind is int:  # present; to_number is float(v)
                    found.append(float(v))
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
