"""The batch scorer: the same scores as the per-contact engine, for millions of contacts at once.

Reads ``docs/scoring-semantics.md`` column-wise with numpy. What keeps it *exactly* equal to
:class:`connector.scoring.engine.Scorer` (a randomised test compares them field by field):

- each condition is evaluated once per *distinct* value with the shared
  :func:`connector.scoring.conditions.test` and broadcast through categorical codes;
- an activity's worth depends only on its whole-day age, so it is a lookup table filled with the
  scalar :func:`connector.scoring.decay.worth` for every age that occurs;
- ``round2`` is ``np.floor(x * 100 + 0.5) / 100``, bit for bit the scalar formula; sums are sums
  of 2-decimal values rounded afterwards, so their order cannot change a result;
- ``max_times`` ranks candidates newest first (ties: lowest id) -- only for contacts that have
  more candidates than the cap, so the sort touches few rows;
- stages, grades and triggers are a handful of vector operations over all contacts.

The sync calls :meth:`BatchScorer.score` ~200 contacts at a time, where a call's fixed costs
matter more than its vector work, so a scorer keeps what depends only on the model and on values
it has already seen: condition answers per distinct value of each field (bounded, see
:class:`~connector.scoring.batch.memo.FieldMemo`), decay tables per rule, and one immutable
:class:`~connector.scoring.result.Reason` per rule, points and count. None of it depends on a
chunk's contacts, so none of it can change a result. A column with
:data:`~connector.scoring.batch.memo.LARGE_COLUMN` distinct values or more (one call over a whole
portal) skips the condition memos and answers per call, like the scorer did before it had them.

:meth:`BatchScorer.score_columns` is columnar in and out (what the benchmark times);
:meth:`BatchScorer.score` takes and returns canonical records and materialises full
:class:`~connector.scoring.result.ScoreResult` objects (the sync engine uses it to rescore many
contacts at once).

The parts, one job each: ``scorer`` (:class:`BatchScorer`: the whole model, dimensions, total),
``call`` (what one call works on), ``memo`` (condition masks and their memos), ``distinct``
(condition answers per distinct value), ``activity`` (activity rules), ``outcomes`` (stages,
triggers, grades, matrix) and ``results`` (result columns into ``ScoreResult`` objects).
"""

from __future__ import annotations

from connector.scoring.batch.call import round2_array
from connector.scoring.batch.scorer import BatchScorer

__all__ = ["BatchScorer", "round2_array"]
