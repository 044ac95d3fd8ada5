"""The CRM's echo of the connector's own writes: left out of the next contact pull, the written contacts read again.

Why: HubSpot moves a contact's ``lastmodifieddate`` when the connector writes it, so the next
incremental pull found every contact the last run wrote: after a full sync of 100,000 contacts,
525 searches and 105 s at HubSpot's 5 searches per second, to learn that nothing had changed; the
same after every model change that rewrites everyone.

What the run does instead (the choice, and why it is correct):

1. The pusher records the window its writes were sent and answered in, and the run stores it
   with the instant it scored as of (``runs.pushed_from``/``pushed_until``/``as_of``). Every
   value it wrote carries that instant in the ``scored_at`` output (a companion of every real
   change, :mod:`connector.sync.outbox`).
2. The next contact pull picks, among the runs whose window overlaps the pulled range, the one
   that wrote most, and hands its window to the adapter as an :class:`~connector.adapters.base.Echo`:
   the search leaves out only contacts modified inside the window **and** carrying that run's
   ``scored_at`` (HubSpot: four filter groups, see :func:`connector.adapters.hubspot.contacts.echo_filters`).
   A contact a user edited inside the window that the run did not write has another (or no)
   ``scored_at``: it is pulled. A contact modified outside the window is pulled as before.
3. A contact the run wrote may hide a user's edit made between the run's pull of it and its write,
   or after its write while the window was still open. So every contact that run staged a write
   for is read again (:meth:`~connector.adapters.base.CRMAdapter.read_contacts`; HubSpot: batch
   read, 100 per call, on the general budget -- 19 per second against 5 searches per second)
   before the contact cursor can move past the window; what changed is stored and scored as if
   pulled. An edit made after that read moves ``lastmodifieddate`` past the window: the next pull
   finds it.

Cost: N/100 batch reads on the general budget instead of about N/200 searches on the search
budget: at HubSpot's default limits the first run after writing N contacts takes about N/1,900
seconds instead of N/1,000, and it leaves the search budget to the pull. Measured figures are in
``docs/operations.md``. A clock difference between the connector and the CRM only shrinks what is
left out (the window has a margin of :data:`MARGIN`; stamps outside it are pulled), never hides an
edit: what decides is the marker, which only that run's writes carry.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import sqlalchemy as sa

from connector.adapters.base import Echo
from connector.sync.tables import outbox, runs

__all__ = ["MARGIN", "EchoPlan", "forget_sent", "plan_echo", "record_window"]

#: Added on both sides of a run's write window: stamps the CRM made a little outside our clock's
#: window are left out too (a wider window costs nothing in correctness: the marker decides).
MARGIN = dt.timedelta(seconds=5)


@dc.dataclass(frozen=True)
class EchoPlan:
    """What the contact pull leaves out, and the contacts to read again instead."""

    echo: Echo
    run_id: int
    ids: list[str]


def plan_echo(conn: sa.Connection, crm: str, since: dt.datetime | None, checked: dt.datetime | None, until: dt.datetime, marker: str) -> EchoPlan | None:
    """The echo to leave out of a pull of ``(since, until]``: the run with the most writes whose window overlaps it.

    ``checked``: the contact cursor checked in before this pull (``since`` is it minus the overlap).
    When it is past the run's window, a pull that ran after the window already read those contacts
    (again, or through the search); so has a finished run that read them again (``echo_run``):
    then none needs reading again. ``None`` when no run with a
    recorded window overlaps, or on a pull of everything (which wants every contact anyway).
    """
    if since is None:
        return None
    row = conn.execute(
        sa.select(runs.c.id, runs.c.pushed_from, runs.c.pushed_until, runs.c.as_of)
        .where(
            runs.c.crm == crm,
            runs.c.pushed_from.is_not(None),
            runs.c.pushed_until.is_not(None),
            runs.c.as_of.is_not(None),
            runs.c.pushed_until > since - MARGIN,
            runs.c.pushed_from <= until + MARGIN,
        )
        .order_by(runs.c.written.desc(), runs.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    run_id, start, end, as_of = row
    ids: list[str] = []
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id, _unread(crm, checked))).first() is not None:
        ids = sorted({cid for (cid,) in conn.execute(sa.select(outbox.c.contact_id).where(outbox.c.crm == crm, outbox.c.run_id == run_id))})
    return EchoPlan(Echo(window=(start - MARGIN, end + MARGIN), marker=marker, marker_value=as_of), run_id, ids)


def _unread(crm: str, checked: dt.datetime | None) -> sa.ColumnElement[bool]:
    """Runs (rows of ``runs`` with a window) whose written contacts may still have to be read again.

    None has to be once a finished run read them again (its ``echo_run``), or once the contact
    cursor ``checked`` is past the run's window: a pull that ran after the window read them.
    """
    later = runs.alias("later")
    read_again = sa.exists().where(later.c.crm == crm, later.c.echo_run == runs.c.id, later.c.status.in_(("ok", "partial")))
    if checked is None:
        return ~read_again
    return sa.and_(~read_again, runs.c.pushed_until > checked - MARGIN)


def forget_sent(conn: sa.Connection, crm: str, run_id: int | None, checked: dt.datetime | None, *, limit: int) -> int:
    """Delete up to ``limit`` outbox rows that are over (``done``, ``superseded``) and that no echo will read again; returns how many.

    Why: every contact a run writes leaves a row; a daily rescore of a million contacts left some
    680,000 a day (half a gigabyte a day on SQLite with its indexes), and :func:`plan_echo` scans
    the table for a run's rows. The rows of a run are kept while its written contacts may still
    have to be read again (the rule :func:`plan_echo` follows, with the same contact cursor
    ``checked``), and those of run ``run_id`` (the run calling this). Pending, ``sending`` and
    quarantined rows are never touched (a quarantine entry names its outbox row). ``limit``: a
    slice per transaction, so a million rows do not hold SQLite's one write lock for 17 s.
    """
    kept = sa.select(runs.c.id).where(runs.c.crm == crm, runs.c.pushed_until.is_not(None), _unread(crm, checked))
    unneeded: sa.ColumnElement[bool] = outbox.c.run_id.not_in(kept)
    if run_id is not None:
        unneeded = sa.and_(unneeded, outbox.c.run_id != run_id)
    over = (
        sa.select(outbox.c.id)
        .where(outbox.c.crm == crm, outbox.c.status.in_(("done", "superseded")), sa.or_(outbox.c.run_id.is_(None), unneeded))
        .limit(limit)
    )
    return int(conn.execute(sa.delete(outbox).where(outbox.c.id.in_(over))).rowcount or 0)


def record_window(conn: sa.Connection, run_id: int, window: tuple[dt.datetime, dt.datetime] | None, as_of: dt.datetime, plan: EchoPlan | None) -> None:
    """Store when the run's writes were sent and answered, the ``scored_at`` they carried, and whose contacts it read again."""
    values: dict[str, t.Any] = {"echo_run": plan.run_id} if plan is not None and plan.ids else {}
    if window is not None:
        values.update(pushed_from=window[0], pushed_until=window[1], as_of=as_of)
    if values:
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(**values))
