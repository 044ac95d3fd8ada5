"""Columnar (numpy) forms of contacts, activities and scoring results for the batch scorer.

Why columns: a million contacts as Python objects cost seconds just to walk; as a few integer
arrays they cost milliseconds. Every property and attribute is *categorical*: an ``int32`` code
per row and a dictionary of the distinct raw values. The batch scorer evaluates a condition once
per distinct value (with the very same :func:`connector.scoring.conditions.test` the per-contact
engine uses; ``connector.scoring.batch.distinct``) and broadcasts the answer through the codes,
so both engines share the semantics of every operator for free.

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
    "PreviousColumns",
    "ResultColumns",
    "datetimes",
    "from_micros",
    "to_micros",
    "value_key",
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


def datetimes(micros: np.ndarray) -> list[dt.datetime | None]:
    """:func:`from_micros` of every instant (``NO_TIME``: ``None``), converted by numpy in C.

    ``datetime64[us]`` counts microseconds from the same epoch, so its naive ``datetime`` with
    UTC attached is ``from_micros``'s; ``NO_TIME`` is ``NaT``, which becomes ``None``. An
    instant outside ``datetime``'s years (numpy hands back an int) goes through ``from_micros``.
    """
    utc_ = dt.UTC
    distinct, inverse = np.unique(micros, return_inverse=True)  # contacts share entry instants
    naive = distinct.astype("datetime64[us]").tolist()
    made = [d if d is None else d.replace(tzinfo=utc_) if type(d) is dt.datetime else from_micros(m) for d, m in zip(naive, distinct.tolist(), strict=False)]
    return [made[k] for k in inverse.reshape(-1).tolist()]


def value_key(value: t.Any) -> t.Hashable:
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
        return (type(value), tuple(value_key(v) for v in value))
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

    def rows(self, start: int, stop: int) -> Categorical:
        """Rows ``start`` to ``stop`` with only the values they use.

        Why: conditions are evaluated once per value in the dictionary, so a slice of a big
        column (a million e-mail addresses) scored with the whole dictionary pays for every value
        of every other slice too.
        """
        codes = self.codes[start:stop]
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(self.values)))
        if len(used) == len(self.values):
            return Categorical(codes, self.values)
        recode = np.full(len(self.values) + 1, -1, dtype=np.int32)  # the last entry: code -1 stays -1
        recode[used] = np.arange(len(used), dtype=np.int32)
        return Categorical(recode[codes], [self.values[k] for k in used.tolist()])


class CategoricalBuilder:
    """Accumulates raw values row by row into codes and a dictionary of distinct values."""

    def __init__(self) -> None:
        self._index: dict[t.Hashable, int] = {}
        self.values: list[t.Any] = []

    def code(self, value: t.Any) -> int:
        """The code of ``value``, adding it to the dictionary on first sight."""
        # A plain string never equals a value of another type, so it is its own key (fast path).
        key = value if type(value) is str else value_key(value)
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
        n = len(activities)
        row_of = contact_rows.get
        contact = np.fromiter((row_of(a.contact_id, -1) if a.contact_id is not None else -1 for a in activities), dtype=np.int32, count=n)
        occurred = np.fromiter(
            ((a.occurred_at - EPOCH) // _MICRO if a.occurred_at.tzinfo is _UTC else to_micros(a.occurred_at) for a in activities), dtype=np.int64, count=n
        )
        return cls.from_values(
            contact, [a.type for a in activities], occurred, [a.id for a in activities], [a.attributes for a in activities], names, records=list(activities)
        )

    @classmethod
    def from_values(
        cls,
        contact: np.ndarray,
        types: t.Sequence[str],
        occurred: np.ndarray,
        ids: t.Sequence[str],
        attributes: t.Sequence[t.Mapping[str, t.Any]],
        names: t.Iterable[str] | None = None,
        records: t.Sequence[Activity] | None = None,
    ) -> ActivityColumns:
        """Columns from per-activity values (contact row, type, occurred in microseconds, id, attributes).

        What :meth:`from_records` builds from records; a caller reading a million activities from
        a database can skip making an :class:`Activity` of each (``connector whatif``).
        """
        builder = CategoricalBuilder()
        code = builder.code
        n = len(types)
        type_codes = np.fromiter((code(kind) for kind in types), dtype=np.int32, count=n)
        ranked = sorted(range(n), key=ids.__getitem__)
        order = np.empty(n, dtype=np.int64)
        order[np.asarray(ranked, dtype=np.int64)] = np.arange(n, dtype=np.int64)
        return cls(
            contact=contact, type=Categorical(type_codes, builder.values), occurred=occurred, order=order, attributes=_categoricals(attributes, names), records=records
        )


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
