"""Condition masks over columns, each condition answered once per distinct value and remembered.

The sync calls the batch scorer ~200 contacts at a time, and a job title or a URL seen in one
chunk is seen again in the next, so a scorer remembers every condition's answer per distinct
value of its field (:class:`FieldMemo`, bounded by :data:`MEMO_LIMIT`). A column with
:data:`LARGE_COLUMN` distinct values or more (one call over a whole portal) skips the memos and is
answered for that call only.
"""

from __future__ import annotations

import threading
import typing as t

import numpy as np

from connector.scoring import conditions
from connector.scoring.batch.call import Call
from connector.scoring.batch.distinct import DistinctValues
from connector.scoring.columns import Categorical, value_key
from connector.scoring.model import AllOf, AnyOf, Condition, ScoringModel, When

__all__ = ["LARGE_COLUMN", "MEMO_LIMIT", "Conditions", "FieldMemo", "fields"]


#: Distinct values a :class:`FieldMemo` remembers before it starts afresh (bounds the memory
#: that columns with one value per contact -- e-mail, phone -- would otherwise take).
MEMO_LIMIT = 1 << 16
#: Distinct values of a column from which a call skips the memos: such a call (a whole portal
#: at once) finds few of its values remembered, would push out what the sync's chunks share,
#: and pays per value in Python what per-call :class:`DistinctValues` answers in C-level
#: passes, for only the conditions it reaches.
LARGE_COLUMN = 1 << 14


class FieldMemo:
    """Answers of every condition that reads one field, for each distinct value seen so far.

    Lives as long as the :class:`~connector.scoring.batch.BatchScorer`: the sync scores a portal ~200 contacts at a time,
    and a job title or a URL seen in one chunk is seen again in the next, so a value is tested
    once per scorer, not once per call. An answer depends only on the condition, the value (as
    :func:`connector.scoring.columns.value_key` tells values apart) and the model's placeholders,
    which a scorer never changes, so remembering it cannot change a result. ``connector run``
    keeps a CRM's scorers from run to run and runs jobs on threads, hence the lock.
    """

    __slots__ = ("answers", "conds", "index", "lock", "none", "size")

    def __init__(self, conds: t.Sequence[Condition], placeholders: frozenset[str]) -> None:
        self.conds = list(conds)
        #: The answers for an absent value (code -1 reads the last row of a table).
        self.none = np.array([conditions.test(c, None, placeholders) for c in self.conds], dtype=bool)
        self.index: dict[t.Hashable, int] = {}
        self.answers = np.zeros((64, len(self.conds)), dtype=bool)
        self.size = 0
        self.lock = threading.Lock()

    def table(self, values: t.Sequence[t.Any], placeholders: frozenset[str]) -> np.ndarray:
        """``(conditions, len(values) + 1)`` answers: per condition, per value, then for ``None``."""
        keys = [v if type(v) is str or type(v) is int else value_key(v) for v in values]  # see columns._PLAIN_KEYS
        with self.lock:
            return self._table(values, keys, placeholders)

    def _table(self, values: t.Sequence[t.Any], keys: list[t.Hashable], placeholders: frozenset[str]) -> np.ndarray:
        get = self.index.get
        rows = [get(k, -1) for k in keys]
        if -1 in rows:
            if self.size + len(values) > MEMO_LIMIT:
                self.index.clear()
                self.size = 0
                rows = [-1] * len(values)
            new = [i for i, r in enumerate(rows) if r < 0]
            facts = DistinctValues([values[i] for i in new], placeholders)  # shared by the field's conditions
            start, end = self.size, self.size + len(new)
            if end > len(self.answers):
                grown = np.zeros((max(end, 2 * len(self.answers)), len(self.conds)), dtype=bool)
                grown[:start] = self.answers[:start]
                self.answers = grown
            for j, cond in enumerate(self.conds):
                self.answers[start:end, j] = facts.answers(cond)
            index = self.index
            for at, i in enumerate(new, start):
                index[keys[i]] = rows[i] = at
            self.size = end
        out = np.empty((len(self.conds), len(values) + 1), dtype=bool)
        out[:, :-1] = self.answers[rows].T
        out[:, -1] = self.none
        return out


class Conditions:
    """Boolean masks of a model's conditions over categorical columns.

    Every single condition of the model reads its field's :class:`FieldMemo`, created once per
    field here and kept as long as the scorer.
    """

    def __init__(self, model: ScoringModel) -> None:
        self.placeholders = frozenset(model.placeholders)
        self._slots: dict[int, tuple[FieldMemo, int]] = {}  # id(condition) -> (memo of its field, its row)
        for leaves in _leaves(model).values():
            by_field: dict[str, list[Condition]] = {}
            for leaf in leaves:
                by_field.setdefault(leaf.field, []).append(leaf)
            for conds in by_field.values():
                memo = FieldMemo(conds, self.placeholders)
                self._slots.update({id(c): (memo, j) for j, c in enumerate(conds)})

    def mask(self, call: Call, when: When, columns: t.Mapping[str, Categorical], rows: np.ndarray | None, size: int) -> np.ndarray:
        """Boolean mask of ``when`` over ``rows`` of ``columns`` (every row when ``rows`` is None)."""
        if isinstance(when, (AllOf, AnyOf)):
            parts = when.all if isinstance(when, AllOf) else when.any
            out = self.mask(call, parts[0], columns, rows, size)
            for part in parts[1:]:
                more = self.mask(call, part, columns, rows, size)
                out = (out & more) if isinstance(when, AllOf) else (out | more)
            return out
        slot = self._slots.get(id(when))
        if slot is None:  # not one of the model's conditions: remember it too
            slot = self._slots[id(when)] = (FieldMemo([when], self.placeholders), 0)
        memo, j = slot
        column = columns.get(when.field)
        if column is None:
            return np.full(size, bool(memo.none[j]))
        if len(column.values) >= LARGE_COLUMN:
            return self._large(call, when, column, bool(memo.none[j]), rows)
        key = (id(memo), id(column))
        table = call.tables.get(key)
        if table is None:  # every condition on the field at once, then the answer for absent (code -1)
            table = call.tables[key] = memo.table(column.values, self.placeholders)
        return table[j][column.codes if rows is None else column.codes[rows]]

    def _large(self, call: Call, when: Condition, column: Categorical, none: bool, rows: np.ndarray | None) -> np.ndarray:
        """:meth:`mask` of one condition on a column too big for the memos (see :data:`LARGE_COLUMN`).

        The answers are the memo's (both come from :class:`DistinctValues`), built for this call
        only and for this condition only; ``none`` is the answer for an absent value (code -1).
        """
        key = (id(when), id(column))
        table = call.answers.get(key)
        if table is None:
            facts = call.facts.get(id(column))
            if facts is None:
                facts = call.facts[id(column)] = DistinctValues(column.values, self.placeholders)
            table = call.answers[key] = np.append(facts.answers(when), none)
        return table[column.codes if rows is None else column.codes[rows]]

    def contacts(self, call: Call, when: When) -> np.ndarray:
        """Mask of ``when`` over the call's contacts."""
        return self.mask(call, when, call.contacts.properties, None, call.n)


def _leaves(model: ScoringModel) -> dict[str, list[Condition]]:
    """The model's single conditions, on contact properties and on activity attributes."""
    out: dict[str, list[Condition]] = {"property": [], "attribute": []}

    def walk(when: When | None, into: list[Condition]) -> None:
        if when is None:
            return
        if isinstance(when, (AllOf, AnyOf)):
            for part in when.all if isinstance(when, AllOf) else when.any:
                walk(part, into)
        elif all(when is not seen for seen in into):
            into.append(when)

    for ex in model.exclusions:
        walk(ex.when, out["property"])
    for rule in model.rules:
        walk(rule.when, out["property"])
        for where in rule.activity.where if rule.activity else []:
            walk(where, out["attribute"])
    for stage in model.stages.order if model.stages else []:
        walk(stage.when, out["property"])
    return out


def fields(model: ScoringModel) -> tuple[set[str], set[str]]:
    """Property names and attribute names the model's conditions read (only those become columns)."""
    leaves = _leaves(model)
    return {c.field for c in leaves["property"]}, {c.field for c in leaves["attribute"]}
