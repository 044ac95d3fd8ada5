"""What ``connector learn --crm`` learns from: the stored contacts, their activity and their outcomes.

Read-only. A contact is labelled 1 when it has an outcome of the chosen kinds (see
:mod:`connector.sync.outcomes`), else 0: every stored contact has a label, the way a CRM export
with a "converted" column would. What happened *after* a contact's outcome is not evidence of
what led to it -- a customer's onboarding meetings and product e-mails would teach the model that
customers have meetings -- so a converted contact's activity from its outcome date on is left out
(counted in a note). Properties that only exist because of the outcome (a lifecycle stage of
``customer``) are the learner's leak screen's job, as with a CSV.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import sqlalchemy as sa

from connector.scoring.records import Activity, Contact
from connector.sync.outcomes import converted_contacts
from connector.sync.store import Store
from connector.sync.tables import contacts

__all__ = ["TrainingSet", "training_set"]


@dc.dataclass
class TrainingSet:
    """Labelled canonical contacts, the columns they have, and their activity before the outcome."""

    contacts: list[Contact]
    labels: list[int]
    columns: list[str]
    activities: dict[str, list[Activity]]
    as_of: dt.datetime
    notes: list[str]


def training_set(engine: sa.Engine, crm: str, kinds: t.Collection[str] | None, as_of: dt.datetime) -> TrainingSet:
    """Every stored contact of ``crm``, labelled by its outcomes of ``kinds`` (``None``: any kind)."""
    with engine.connect() as conn:
        ids = [cid for (cid,) in conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == crm).order_by(contacts.c.id))]
        won = converted_contacts(conn, crm, kinds)
    loaded = Store(engine, crm).load_for_scoring(ids)
    columns: dict[str, None] = {}
    labels: list[int] = []
    activities: dict[str, list[Activity]] = {}
    dropped = late = 0
    for c in loaded.contacts:
        columns.update(dict.fromkeys(c.properties))
        converted = c.id in won and (won[c.id] is None or won[c.id] <= as_of)  # type: ignore[operator]
        late += c.id in won and not converted
        labels.append(int(converted))
        acts = loaded.activities.get(c.id, [])
        when = won.get(c.id) if converted else None
        if when is not None:
            kept = [a for a in acts if a.occurred_at < when]
            dropped += len(acts) - len(kept)
            acts = kept
        activities[c.id] = acts
    notes = []
    if dropped:
        notes.append(f"{dropped} activities of converted contacts on or after their outcome date were left out (they follow the outcome)")
    if late:
        notes.append(f"{late} outcomes dated after {as_of.isoformat()} were not counted")
    return TrainingSet(loaded.contacts, labels, list(columns), activities, as_of, notes)
