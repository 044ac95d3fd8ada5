"""Outcomes in the state store: what became of each contact, as the CRM says, with its date.

The pipeline pulls them once a run's contact pull is over, while it scores and pushes (stream
``outcomes``, with its own cursor, like contacts and activity), through
:meth:`CRMAdapter.pull_outcomes`, and stores them after its writes; :func:`save_outcomes` keeps one
row per contact, kind and CRM record (pulled again, a row is replaced, never doubled). The KPI
report's conversion charts and ``connector learn --crm`` read them with :func:`converted_contacts`.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa

from connector.sync.bulk import upsert
from connector.sync.tables import outcomes

if t.TYPE_CHECKING:
    from connector.adapters.base import Outcome

__all__ = ["converted_contacts", "save_outcomes"]


def save_outcomes(engine: sa.Engine, crm: str, records: t.Sequence[Outcome], now: dt.datetime) -> None:
    """Store (or replace) pulled outcomes, one transaction per page."""
    rows = [
        {"crm": crm, "contact_id": o.contact_id, "kind": o.kind, "source_id": o.source_id, "occurred_at": o.occurred_at, "amount": o.amount, "pulled_at": now}
        for o in {(o.contact_id, o.kind, o.source_id): o for o in records}.values()
    ]
    with engine.begin() as conn:
        upsert(conn, outcomes, rows, ["crm", "contact_id", "kind", "source_id"], ["occurred_at", "amount", "pulled_at"])


def converted_contacts(conn: sa.Connection, crm: str, kinds: t.Collection[str] | None = None) -> dict[str, dt.datetime | None]:
    """Contact id -> the earliest date of an outcome (of ``kinds``; ``None``: any kind)."""
    query = sa.select(outcomes.c.contact_id, sa.func.min(outcomes.c.occurred_at)).where(outcomes.c.crm == crm)
    if kinds is not None:
        query = query.where(outcomes.c.kind.in_(list(kinds)))
    return {cid: at for cid, at in conn.execute(query.group_by(outcomes.c.contact_id))}
