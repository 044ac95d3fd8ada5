"""The scores' due index, set aside on SQLite while a large full rescore rewrites the scores.

Why: ``ix_scores_crm_changes_at`` finds the contacts whose score moves with time (a decay step, a
window closing) for incremental runs. A daily full rescore moves that instant for most of a large
portal (decay: 683,000 of a million contacts in the bench, two models each), and every move takes
the row's entry out of one place in the index and puts it into another: measured on SQLite,
rewriting 5,000 score rows dirtied 1,300 pages with the instant unchanged and 5,000 with it moved,
ten times the time. Spread over some 140 commits, the index was about 20 s of the million-contact
rescore (145.7-157.5 s with it, 130.0-131.9 s set aside), while building it afresh from the
rewritten table is one sorted pass (2.1 s at two million score rows).

So on SQLite a full rescore of at least :data:`SET_ASIDE_MIN` stored contacts drops the index
first and builds it again when the scoring is done (:func:`due_index_set_aside`), and every run
starts by building it if it is missing (:func:`restore_due_index`): a run killed in between leaves
it absent only until the next run of any CRM. Meanwhile the due query (another CRM's incremental
run in the same database) still works, by reading the table. Nothing else reads by this index.

Not on PostgreSQL: the same rescore took 159.6 s set aside against 153.9 s with it. Most likely
because there a rewritten score row is a new row version with new entries in every index whatever
changed (a heap-only update needs free space in the row's page, which a table written full lacks),
so the due index was one cost among several. And there dropping an index needs the table to
itself, waiting for every reader of ``scores`` (other instances' runs) and making the queries
behind it wait too.
"""

from __future__ import annotations

import contextlib
import logging
import typing as t

import sqlalchemy as sa

from connector.sync.tables import scores

__all__ = ["SET_ASIDE_MIN", "due_index_set_aside", "restore_due_index"]

log = logging.getLogger(__name__)

#: Stored contacts from which a full rescore on SQLite sets the index aside. Below it the index
#: costs the rescore a few seconds at most, not worth a drop and a build.
SET_ASIDE_MIN = 100_000

_INDEX: sa.Index = next(i for i in scores.indexes if i.name == "ix_scores_crm_changes_at")


def restore_due_index(engine: sa.Engine) -> bool:
    """Build the due index if a rescore that set it aside did not (a killed run); ``True`` if it was built."""
    with engine.begin() as conn:
        if _present(conn):
            return False
        log.info("building the scores' due index (%s), left out by an interrupted full rescore", _INDEX.name)
        _create(conn)
    return True


@contextlib.contextmanager
def due_index_set_aside(engine: sa.Engine, *, stored_contacts: t.Callable[[], int]) -> t.Iterator[bool]:
    """Without the due index for the block's writes, with it again after (also on errors).

    ``stored_contacts`` counts the CRM's stored contacts (asked only on SQLite). Yields whether the
    index was set aside (``False``: not SQLite, fewer than :data:`SET_ASIDE_MIN` contacts, or
    another run has it set aside already; the block runs with what is there).
    """
    dropped = engine.dialect.name == "sqlite" and stored_contacts() >= SET_ASIDE_MIN and _drop(engine)
    try:
        yield dropped
    finally:
        if dropped:
            with engine.begin() as conn:
                _create(conn)


def _drop(engine: sa.Engine) -> bool:
    with engine.begin() as conn:
        if not _present(conn):
            return False
        conn.execute(sa.schema.DropIndex(_INDEX, if_exists=True))
    return True


def _create(conn: sa.Connection) -> None:
    conn.execute(sa.schema.CreateIndex(_INDEX, if_not_exists=True))


def _present(conn: sa.Connection) -> bool:
    return any(i["name"] == _INDEX.name for i in sa.inspect(conn).get_indexes(scores.name))
