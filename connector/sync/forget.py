"""Removing a person from the state store: data-protection requests and CRM deletions.

:func:`forget` finds everything that names the person -- the contact row (by id or e-mail), its
anonymous ids (identities, the ``email:`` id of e-mail activity) -- and deletes every row of the
CRM that mentions any of them, in one transaction. It walks *every* table of the schema by its
columns rather than a fixed list, so a table added later (by any part of the connector) is covered
as long as it names the contact in a column called ``contact_id``, ``record_id`` or
``anonymous_id``, or mentions its e-mail address or an anonymous id in a text or JSON column.

:func:`drop_contact` is the lighter step for a contact deleted (or merged away) in the CRM: its
row, scores and unsent writes go, its activity history stays (a restored contact keeps it).
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

import sqlalchemy as sa

from connector.scoring.identity import email_id
from connector.sync.tables import activities, contacts, identities, metadata, outbox, scores, written

__all__ = ["ForgetReport", "drop_contact", "forget", "merge_into"]

_EXACT = ("contact_id", "record_id", "anonymous_id")
#: Tables that hold no personal data of a contact (checked by the forget test all the same).
_SKIP = frozenset({"alembic_version", "leases", "cursors", "api_keys", "runs"})


@dc.dataclass
class ForgetReport:
    """What :func:`forget` removed: the contact ids found and rows deleted per table."""

    contact_ids: list[str] = dc.field(default_factory=list)
    rows: dict[str, int] = dc.field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows deleted in all."""
        return sum(self.rows.values())


def _text(column: sa.Column[t.Any]) -> bool:
    return isinstance(column.type, (sa.String, sa.Text, sa.JSON))


def forget(conn: sa.Connection, crm: str, who: str) -> ForgetReport:
    """Delete every row of ``crm`` that names the person ``who`` (a contact id or an e-mail address)."""
    report = ForgetReport()
    c = contacts.c
    ids: set[str] = set()
    emails: set[str] = set()
    if "@" in who:
        emails.add(who.strip().lower())
        ids.update(r for (r,) in conn.execute(sa.select(c.id).where(c.crm == crm, sa.func.lower(c.email) == who.strip().lower())))
    else:
        ids.add(who.strip())
    for part in _parts(ids):
        emails.update(e.lower() for (e,) in conn.execute(sa.select(c.email).where(c.crm == crm, c.id.in_(part))) if e)
    anon = {email_id(e) for e in emails}
    for part in _parts(ids):
        anon.update(a for (a,) in conn.execute(sa.select(identities.c.anonymous_id).where(identities.c.crm == crm, identities.c.contact_id.in_(part))))
    report.contact_ids = sorted(ids)
    exact = ids | anon
    # Contact ids are often short numbers ("101"): matched in id columns only, never as text, so
    # another contact whose property happens to be "101" is left alone. E-mail addresses and
    # anonymous ids are distinctive enough to be searched for in every text and JSON column.
    needles = sorted(emails | anon)
    for table in metadata.sorted_tables:
        if table.name in _SKIP or "crm" not in table.c:
            continue
        conds: list[sa.ColumnElement[bool]] = []
        for name in _EXACT:
            if name in table.c and exact:
                conds.append(table.c[name].in_(sorted(exact)))
        if table is contacts and ids:
            conds.append(c.id.in_(sorted(ids)))
        for column in table.c:
            if _text(column) and column.name not in ("crm",):
                as_text = sa.cast(column, sa.Text)
                conds.extend(sa.func.lower(as_text).contains(n.lower(), autoescape=True) for n in needles)
        if not conds:
            continue
        deleted = conn.execute(sa.delete(table).where(table.c.crm == crm, sa.or_(*conds))).rowcount or 0
        if deleted:
            report.rows[table.name] = deleted
    return report


def drop_contact(conn: sa.Connection, crm: str, contact_ids: t.Iterable[str]) -> int:
    """A contact deleted in the CRM: its row, scores, written values and unsent writes go; its activity stays."""
    gone = 0
    for part in _parts(set(contact_ids)):
        gone += conn.execute(sa.delete(contacts).where(contacts.c.crm == crm, contacts.c.id.in_(part))).rowcount or 0
        conn.execute(sa.delete(scores).where(scores.c.crm == crm, scores.c.contact_id.in_(part)))
        conn.execute(sa.delete(written).where(written.c.crm == crm, written.c.contact_id.in_(part)))
        conn.execute(sa.delete(outbox).where(outbox.c.crm == crm, outbox.c.contact_id.in_(part), outbox.c.status.in_(("pending", "sending"))))
    return gone


def merge_into(conn: sa.Connection, crm: str, winner: str, merged: t.Iterable[str]) -> None:
    """Contacts merged into ``winner`` in the CRM: their activity and identities move to it, the rest goes."""
    losers = sorted(set(merged) - {winner})
    if not losers:
        return
    conn.execute(sa.update(activities).where(activities.c.crm == crm, activities.c.contact_id.in_(losers)).values(contact_id=winner))
    conn.execute(sa.update(identities).where(identities.c.crm == crm, identities.c.contact_id.in_(losers)).values(contact_id=winner))
    drop_contact(conn, crm, losers)
    conn.execute(sa.update(contacts).where(contacts.c.crm == crm, contacts.c.id == winner).values(needs_score=True))


def _parts(items: t.Iterable[str], size: int = 500) -> t.Iterator[list[str]]:
    ordered = sorted(items)
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]
