"""What an admin asks the state store: status, one contact's explanation, the quarantine.

Read-mostly queries for ``connector status``, ``connector explain`` and ``connector quarantine``;
the only writes are the quarantine retries, which put a record back where the next run picks it up.
Plain dataclasses and dicts out, so the CLI only formats.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import sqlalchemy as sa

from connector.sync.lease import owner_gone
from connector.sync.outbox import read_written
from connector.sync.tables import actions, activities, contacts, cursors, firings, leases, outbox, quarantine, runs, scores, stage_history

__all__ = ["CRMStatus", "Explanation", "abandoned_why", "crm_names", "crm_status", "explain", "leaders", "quarantine_list", "quarantine_retry", "stage_counts"]


@dc.dataclass
class CRMStatus:
    """One CRM at a glance."""

    crm: str
    runs: list[dict[str, t.Any]]
    cursors: dict[str, dt.datetime | None]
    pending_writes: int
    pending_actions: int
    quarantine: dict[str, int]
    lease: tuple[str, dt.datetime] | None
    contacts: int


def crm_status(engine: sa.Engine, crm: str, *, last_runs: int = 5, now: dt.datetime | None = None) -> CRMStatus:
    """Last runs, cursors, pending outbox and actions, open quarantine by stream, current lease.

    A run still marked ``running`` whose process is gone is shown ``abandoned`` (see :func:`abandoned_why`).
    """
    with engine.connect() as conn:
        # The lease before the runs: a run that ends in between then reads as ended, never as abandoned.
        lease = conn.execute(sa.select(leases.c.owner, leases.c.expires_at).where(leases.c.crm == crm)).first()
        run_rows = [dict(r._mapping) for r in conn.execute(sa.select(runs).where(runs.c.crm == crm).order_by(runs.c.id.desc()).limit(last_runs))]
        cur = {s: v for s, v in conn.execute(sa.select(cursors.c.stream, cursors.c.value).where(cursors.c.crm == crm))}
        pending = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.crm == crm, outbox.c.status.in_(("pending", "sending")))).scalar_one()
        pending_actions = conn.execute(sa.select(sa.func.count()).select_from(actions).where(actions.c.crm == crm, actions.c.status == "pending")).scalar_one()
        quar = {s: n for s, n in conn.execute(sa.select(quarantine.c.stream, sa.func.count()).where(quarantine.c.crm == crm, quarantine.c.status == "open").group_by(quarantine.c.stream))}
        n_contacts = conn.execute(sa.select(sa.func.count()).select_from(contacts).where(contacts.c.crm == crm)).scalar_one()
    held = (lease[0], lease[1]) if lease else None
    for r in run_rows:
        why = abandoned_why(r, held, now or dt.datetime.now(dt.UTC)) if r["status"] == "running" else None
        if why is not None:
            r["status"], r["error"] = "abandoned", r["error"] or why
    return CRMStatus(crm, run_rows, cur, int(pending), int(pending_actions), quar, (lease[0], lease[1]) if lease else None, int(n_contacts))


def abandoned_why(run: t.Mapping[str, t.Any], lease: tuple[str, dt.datetime] | None, now: dt.datetime) -> str | None:
    """Why a run marked ``running`` is not running any more, or ``None`` when it may well be.

    A live run holds its CRM's lease under its owner name and renews it: a run whose lease is
    gone, held by another owner or expired, or whose process (on this host) no longer exists,
    was killed before it could record its end.
    """
    owner = run.get("owner")
    if lease is None or lease[0] != owner:
        return "killed: its lease was released or taken over without the run recording its end"
    if lease[1] <= now:
        return f"killed: its lease expired at {lease[1]:%Y-%m-%d %H:%M:%S} UTC without being renewed"
    if owner_gone(owner):
        return f"killed: its process ({owner}) no longer exists"
    return None


@dc.dataclass
class Explanation:
    """Everything the state store knows about why a contact scores as it does."""

    crm: str
    contact_id: str
    email: str | None
    properties: dict[str, t.Any]
    scores: list[dict[str, t.Any]]
    stage_history: list[dict[str, t.Any]]
    firings: list[dict[str, t.Any]]
    written: dict[str, t.Any]
    pending: dict[str, t.Any] | None
    #: Manual adjustments (``connector adjust``), oldest first, expired ones included.
    adjustments: list[dict[str, t.Any]] = dc.field(default_factory=list)
    #: The contact's latest activities (type, occurred_at, attributes such as a form's name), newest first.
    activities: list[dict[str, t.Any]] = dc.field(default_factory=list)


#: Activities ``explain`` shows.
RECENT_ACTIVITIES = 20


def explain(engine: sa.Engine, crm: str, contact_id: str, model: str | None = None) -> Explanation | None:
    """The contact's scores with every reason, its stage history and the triggers that fired."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(contacts.c.email, contacts.c.properties).where(contacts.c.crm == crm, contacts.c.id == contact_id)).first()
        if row is None:
            return None
        score_q = sa.select(scores).where(scores.c.crm == crm, scores.c.contact_id == contact_id).order_by(scores.c.model)
        hist_q = sa.select(stage_history).where(stage_history.c.crm == crm, stage_history.c.contact_id == contact_id).order_by(stage_history.c.id)
        fire_q = sa.select(firings).where(firings.c.crm == crm, firings.c.contact_id == contact_id).order_by(firings.c.id)
        if model is not None:
            score_q = score_q.where(scores.c.model == model)
            hist_q = hist_q.where(stage_history.c.model == model)
            fire_q = fire_q.where(firings.c.model == model)
        score_rows = [dict(r._mapping) for r in conn.execute(score_q)]
        hist = [dict(r._mapping) for r in conn.execute(hist_q)]
        fired = [dict(r._mapping) for r in conn.execute(fire_q)]
        for f in fired:
            f["actions"] = [
                dict(r._mapping)
                for r in conn.execute(sa.select(actions.c.type, actions.c.params, actions.c.status, actions.c.result, actions.c.last_error).where(actions.c.firing_id == f["id"]).order_by(actions.c.id))
            ]
        wrote = read_written(conn, crm, [contact_id]).get(contact_id, {})
        pend = conn.execute(sa.select(outbox.c["values"]).where(outbox.c.crm == crm, outbox.c.contact_id == contact_id, outbox.c.status == "pending")).first()
        recent = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(activities.c.type, activities.c.occurred_at, activities.c.attributes)
                .where(activities.c.crm == crm, activities.c.contact_id == contact_id)
                .order_by(activities.c.occurred_at.desc(), activities.c.id)
                .limit(RECENT_ACTIVITIES)
            )
        ]
    from connector.sync.adjustments import of_contact

    adjusted = [a for a in of_contact(engine, crm, contact_id) if model is None or a["model"] == model]
    return Explanation(crm, contact_id, row[0], dict(row[1] or {}), score_rows, hist, fired, wrote, dict(pend[0]) if pend else None, adjusted, recent)


def quarantine_list(engine: sa.Engine, crm: str | None = None, *, stream: str | None = None, include_retried: bool = False, limit: int = 100) -> list[dict[str, t.Any]]:
    """Quarantined records, newest first."""
    q = sa.select(quarantine).order_by(quarantine.c.id.desc()).limit(limit)
    if crm is not None:
        q = q.where(quarantine.c.crm == crm)
    if stream is not None:
        q = q.where(quarantine.c.stream == stream)
    if not include_retried:
        q = q.where(quarantine.c.status == "open")
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def quarantine_retry(engine: sa.Engine, crm: str | None = None, *, ids: t.Sequence[int] = (), stream: str | None = None) -> dict[str, int]:
    """Put quarantined records back where the next run picks them up; returns counts by stream.

    ``outbox``: the write is pending again (values recomputed if the contact is rescored first);
    ``actions``: the action is pending again; ``scoring``: the contact is rescored; ``contacts`` /
    ``activities`` (records the adapter could not translate): fix the mapping, then run
    ``connector sync --resync`` to pull them again -- the entry is marked retried.
    """
    q = sa.select(quarantine).where(quarantine.c.status == "open")
    if crm is not None:
        q = q.where(quarantine.c.crm == crm)
    if ids:
        q = q.where(quarantine.c.id.in_(list(ids)))
    if stream is not None:
        q = q.where(quarantine.c.stream == stream)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        for row in conn.execute(q).all():
            raw = row.raw if isinstance(row.raw, dict) else {}
            if row.stream == "outbox" and raw.get("outbox_id") is not None:
                busy = conn.execute(sa.select(outbox.c.id).where(outbox.c.crm == row.crm, outbox.c.contact_id == row.record_id, outbox.c.status.in_(("pending", "sending")))).first()
                if busy is None:
                    conn.execute(sa.update(outbox).where(outbox.c.id == raw["outbox_id"]).values(status="pending", attempts=0, last_error=None, done_at=None))
            elif row.stream == "actions" and raw.get("action_key"):
                conn.execute(sa.update(actions).where(actions.c.key == raw["action_key"]).values(status="pending", attempts=0, last_error=None, done_at=None))
            elif row.stream == "scoring" and row.record_id:
                conn.execute(sa.update(contacts).where(contacts.c.crm == row.crm, contacts.c.id == row.record_id).values(needs_score=True))
            conn.execute(sa.update(quarantine).where(quarantine.c.id == row.id).values(status="retried"))
            counts[row.stream] = counts.get(row.stream, 0) + 1
    return counts


def crm_names(engine: sa.Engine) -> set[str]:
    """The CRMs a state database has run for; empty when it holds no state store (yet)."""
    if not sa.inspect(engine).has_table("runs"):
        return set()
    with engine.connect() as conn:
        return {name for (name,) in conn.execute(sa.select(runs.c.crm).distinct())}


def leaders(engine: sa.Engine, crm: str, model: str, limit: int = 10) -> list[dict[str, t.Any]]:
    """The best-scored contacts under ``model`` (excluded ones left out), best first.

    Each: ``contact_id``, ``email``, ``properties`` and ``scores`` (model -> ``score``, ``grade``, ``stage``).
    """
    with engine.connect() as conn:
        best = list(
            conn.execute(
                sa.select(scores.c.contact_id)
                .where(scores.c.crm == crm, scores.c.model == model, scores.c.excluded.is_(None))
                .order_by(scores.c.score.desc(), scores.c.contact_id)
                .limit(limit)
            ).scalars()
        )
        people = {
            cid: {"contact_id": cid, "email": email, "properties": dict(props or {}), "scores": {}}
            for cid, email, props in conn.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.properties).where(contacts.c.crm == crm, contacts.c.id.in_(best)))
        }
        for cid, name, score, grade, stage in conn.execute(
            sa.select(scores.c.contact_id, scores.c.model, scores.c.score, scores.c.grade, scores.c.stage).where(scores.c.crm == crm, scores.c.contact_id.in_(best))
        ):
            people[cid]["scores"][name] = {"score": score, "grade": grade, "stage": stage}
    return [people[cid] for cid in best if cid in people]


def stage_counts(engine: sa.Engine, crm: str) -> dict[str, dict[str | None, int]]:
    """Model -> stage (``None``: no stage) -> contacts in it."""
    out: dict[str, dict[str | None, int]] = {}
    with engine.connect() as conn:
        for model, stage, n in conn.execute(sa.select(scores.c.model, scores.c.stage, sa.func.count()).where(scores.c.crm == crm).group_by(scores.c.model, scores.c.stage)):
            out.setdefault(model, {})[stage] = int(n)
    return out
