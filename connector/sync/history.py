"""One contact's history, in time order: stage changes, trigger firings, manual adjustments.

What ``connector history CONTACT`` prints. Read-only, from the state store: ``stage_history``
(each move with the reason recorded when it happened: the stage's parts with the values that met
them, or the CRM's own stage date it was seeded from), ``trigger_firings`` with their actions, and
``adjustments`` (given, and expired once their expiry has passed). A firing's reason is read from
the model's trigger as configured now (the level it watches); its old value is the level it was
below while armed, its new value the value that reached it.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import sqlalchemy as sa

from connector.scoring.model import ScoringModel, Trigger
from connector.sync import adjustments as adjustments_mod
from connector.sync.tables import actions, firings, stage_history

__all__ = ["Event", "contact_history"]


@dc.dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to a contact under a model."""

    at: dt.datetime
    #: ``stage`` | ``trigger`` | ``adjustment`` | ``adjustment expired``
    kind: str
    model: str
    #: What changed: the dimension, trigger or ``stage``.
    subject: str
    old: str | None
    new: str | None
    reason: str
    detail: str | None = None

    def to_dict(self) -> dict[str, t.Any]:
        """JSON-ready form."""
        return {**dc.asdict(self), "at": self.at.isoformat()}


def contact_history(
    engine: sa.Engine, crm: str, contact_id: str, models: t.Sequence[ScoringModel], *, now: dt.datetime, model: str | None = None
) -> list[Event]:
    """Every stage change, trigger firing and adjustment of a contact, oldest first (ties: that order)."""
    triggers = {(m.model, trig.id): trig for m in models for trig in m.triggers}
    events: list[tuple[dt.datetime, int, int, Event]] = []
    with engine.connect() as conn:
        q = sa.select(stage_history).where(stage_history.c.crm == crm, stage_history.c.contact_id == contact_id).order_by(stage_history.c.id)
        for r in conn.execute(q):
            reason = r.reason or "(recorded before reasons were kept)"
            events.append((r.at, 0, r.id, Event(r.at, "stage", r.model, "stage", r.from_stage, r.to_stage, reason)))
        q = sa.select(firings).where(firings.c.crm == crm, firings.c.contact_id == contact_id).order_by(firings.c.id)
        for r in conn.execute(q):
            done = conn.execute(sa.select(actions.c.type, actions.c.status, actions.c.last_error).where(actions.c.firing_id == r.id).order_by(actions.c.id)).all()
            detail = "; ".join(f"{a.type} {a.status}" + (f" ({a.last_error})" if a.last_error else "") for a in done) or None
            trig = triggers.get((r.model, r.trigger))
            old, reason = _firing_reason(trig, r.trigger, r.watched)
            events.append((r.fired_at, 1, r.id, Event(r.fired_at, "trigger", r.model, r.trigger, old, _text(r.value), reason, detail)))
    for a in adjustments_mod.of_contact(engine, crm, contact_id):
        by = f"by {a['by']}, {a['source']}"
        expiry = f"; expires {a['expires_at'].isoformat()}" if a["expires_at"] else ""
        given = f"#{a['id']} {by}{expiry}"
        events.append((a["at"], 2, a["id"], Event(a["at"], "adjustment", a["model"], a["dimension"], None, f"{a['points']:+g}", a["reason"], given)))
        if a["expires_at"] is not None and a["expires_at"] <= now:
            events.append(
                (a["expires_at"], 3, a["id"], Event(a["expires_at"], "adjustment expired", a["model"], a["dimension"], f"{a['points']:+g}", None, a["reason"], f"given {a['at'].isoformat()} {by}"))
            )
    events.sort(key=lambda e: e[:3])
    return [e for _, _, _, e in events if model is None or e.model == model]


def _firing_reason(trig: Trigger | None, trigger_id: str, watched: str) -> tuple[str | None, str]:
    """The level a firing crossed (its old value: below it) and the reason, from the model's trigger."""
    if trig is None:
        return None, f"trigger {trigger_id} fired ({watched}); the model no longer has it"
    watch = trig.watch
    if watch.stage is not None:
        return f"below {watch.stage}", f"stage {watch.stage} reached"
    strict, bound = watch.level
    sign = ">" if strict else ">="
    return f"< {bound:g}" if not strict else f"<= {bound:g}", f"{watch.dimension} reached {sign} {bound:g}"


def _text(value: t.Any) -> str | None:
    if value is None:
        return None
    return f"{value:g}" if isinstance(value, float) else str(value)
