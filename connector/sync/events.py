"""The real-time event queue: events accepted by ``connector serve``, stored before they are acknowledged.

Why a table and not memory: HubSpot (and any at-least-once sender) gives up on a request that is
not answered within seconds and retries it later, so an event is acknowledged only once it is
committed here -- a server killed right after answering loses nothing. The sender's event id is
unique per CRM and source: a redelivered event is recognised (``duplicates``) and stored once.
Workers read pending events oldest occurrence first (:meth:`EventQueue.pending`) and mark them
done only after their contacts were rescored and the changes committed to the outbox, so a crash
in between makes the events be processed again -- which writes nothing twice (the outbox diff).
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import sqlalchemy as sa

from connector.sync.tables import realtime_events

__all__ = ["EventQueue", "NewEvent", "QueuedEvent"]

_CHUNK = 500
#: Attempts after which an event that keeps failing is set aside (``failed``), so it blocks nothing.
MAX_ATTEMPTS = 5


@dc.dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to store: the sender's id, what happened, to whom, when, and the details workers need."""

    key: str
    kind: str
    contact_id: str | None
    occurred_at: dt.datetime
    detail: t.Mapping[str, t.Any] = dc.field(default_factory=dict)


@dc.dataclass(frozen=True, slots=True)
class QueuedEvent:
    """A stored event waiting for a worker."""

    id: int
    source: str
    key: str
    kind: str
    contact_id: str | None
    occurred_at: dt.datetime
    received_at: dt.datetime
    detail: t.Mapping[str, t.Any]
    attempts: int


class EventQueue:
    """The stored events of one CRM."""

    def __init__(self, engine: sa.Engine, crm: str) -> None:
        self.engine = engine
        self.crm = crm

    def accept(self, source: str, events: t.Sequence[NewEvent], now: dt.datetime) -> tuple[int, int]:
        """Store new events (one transaction); returns ``(stored, duplicates)``.

        A key seen before (stored earlier, or twice in ``events``) counts as a duplicate.
        """
        unique: dict[str, NewEvent] = {}
        for event in events:
            unique.setdefault(event.key, event)
        duplicates = len(events) - len(unique)
        if not unique:
            return 0, duplicates
        with self.engine.begin() as conn:
            keys = list(unique)
            for i in range(0, len(keys), _CHUNK):
                part = keys[i : i + _CHUNK]
                for (key,) in conn.execute(
                    sa.select(realtime_events.c.event_key).where(
                        realtime_events.c.crm == self.crm, realtime_events.c.source == source, realtime_events.c.event_key.in_(part)
                    )
                ):
                    unique.pop(key, None)
                    duplicates += 1
            rows = [
                {
                    "crm": self.crm,
                    "source": source,
                    "event_key": e.key,
                    "kind": e.kind,
                    "contact_id": e.contact_id,
                    "detail": dict(e.detail),
                    "occurred_at": e.occurred_at,
                    "received_at": now,
                    "status": "pending",
                    "attempts": 0,
                }
                for e in unique.values()
            ]
            if rows:
                stmt = _insert_ignoring_duplicates(conn)
                conn.execute(stmt, rows)
        return len(rows), duplicates

    def pending(self, limit: int) -> list[QueuedEvent]:
        """Up to ``limit`` pending events, in order of occurrence (then arrival)."""
        c = realtime_events.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.id, c.source, c.event_key, c.kind, c.contact_id, c.occurred_at, c.received_at, c.detail, c.attempts)
                .where(c.crm == self.crm, c.status == "pending")
                .order_by(c.occurred_at, c.id)
                .limit(limit)
            ).all()
        return [QueuedEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] or {}, r[8]) for r in rows]

    def finish(self, ids: t.Sequence[int], now: dt.datetime) -> None:
        """The events were processed (their contacts rescored, changes in the outbox)."""
        with self.engine.begin() as conn:
            for i in range(0, len(ids), _CHUNK):
                part = list(ids[i : i + _CHUNK])
                conn.execute(sa.update(realtime_events).where(realtime_events.c.id.in_(part)).values(status="done", done_at=now))

    def failed(self, ids: t.Sequence[int], error: str, now: dt.datetime) -> None:
        """Count a failed attempt; an event failing :data:`MAX_ATTEMPTS` times is set aside as ``failed``."""
        c = realtime_events.c
        with self.engine.begin() as conn:
            for i in range(0, len(ids), _CHUNK):
                part = list(ids[i : i + _CHUNK])
                conn.execute(sa.update(realtime_events).where(c.id.in_(part)).values(attempts=c.attempts + 1, error=error[:2000]))
                conn.execute(sa.update(realtime_events).where(c.id.in_(part), c.attempts >= MAX_ATTEMPTS).values(status="failed", done_at=now))

    def depth(self) -> int:
        """How many events wait for a worker."""
        c = realtime_events.c
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(c.crm == self.crm, c.status == "pending")).scalar_one())

    def prune(self, older_than: dt.datetime) -> int:
        """Forget processed events done before ``older_than`` (kept until then to recognise redeliveries)."""
        c = realtime_events.c
        with self.engine.begin() as conn:
            return int(conn.execute(sa.delete(realtime_events).where(c.crm == self.crm, c.status != "pending", c.done_at < older_than)).rowcount or 0)


def _insert_ignoring_duplicates(conn: sa.Connection) -> t.Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` on the event key: a redelivery racing its first copy is stored once."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(realtime_events).on_conflict_do_nothing(constraint="uq_realtime_events_key")
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(realtime_events).on_conflict_do_nothing(index_elements=["crm", "source", "event_key"])
