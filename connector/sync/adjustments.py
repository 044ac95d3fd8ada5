"""Manual adjustments in the state store: recorded by hand, counted by the next sync, never lost.

``connector adjust`` records points a person gives or takes (one contact, a CSV of many, or every
contact matching a property condition), with who, when and why, and optionally until when. Each
is a row of the ``adjustments`` table, apart from the pulled contact, so pulling the contact again
never touches it; the same transaction marks the contact for scoring, so the next sync counts it
(a crash before the commit records nothing; after it, the mark and the row are both there).

The scoring stays pure: :func:`for_scoring` reads a chunk's adjustments and the sync hands the
active ones (``expires_at`` still ahead of the scoring's instant) to the engine as data, under the
model they were given for. An adjustment that expires changes the score at its expiry, so the
sync folds the next expiry into the contact's ``changes_at`` (:func:`next_expiry`): the contact is
rescored once it has expired, by the mechanism that rescores decay.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import math
import pathlib
import typing as t

import sqlalchemy as sa

from connector.scoring.conditions import matches
from connector.scoring.engine import contact_values
from connector.scoring.model import ScoringModel, When
from connector.scoring.readers import parse_datetime
from connector.scoring.records import Adjustment, Contact, utc
from connector.scoring.rows import BadRow, read_rows
from connector.sync.tables import adjustments, contacts

__all__ = [
    "Planned",
    "Stored",
    "active",
    "add",
    "for_scoring",
    "model_named",
    "next_expiry",
    "of_contact",
    "parse_expiry",
    "plan",
    "read_csv",
    "resolve",
    "segment",
    "withdraw",
]

#: Columns of a bulk CSV; ``by`` and ``expires`` may be left out (or blank).
CSV_COLUMNS = ("contact", "model", "dimension", "points", "reason")


@dc.dataclass(frozen=True, slots=True)
class Planned:
    """An adjustment checked and ready to record (``contact_id`` resolved from an id or e-mail)."""

    contact_id: str
    model: str
    dimension: str
    points: float
    reason: str
    by: str
    expires_at: dt.datetime | None
    source: str


@dc.dataclass(frozen=True, slots=True)
class Stored:
    """A recorded adjustment as the scoring of a chunk needs it."""

    model: str
    record: Adjustment
    expires_at: dt.datetime | None


def resolve(engine: sa.Engine, crm: str, refs: t.Iterable[str]) -> dict[str, str]:
    """Contact reference (its id in the CRM, or its e-mail address) -> stored contact id; unknown ones left out.

    An id wins over an e-mail when a text is both.
    """
    wanted = sorted({r.strip() for r in refs if r and r.strip()})
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            for (cid,) in conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == crm, contacts.c.id.in_(part))):
                found[cid] = cid
            mails = {p.lower(): p for p in part if "@" in p and p not in found}
            if mails:
                for cid, email in conn.execute(
                    sa.select(contacts.c.id, contacts.c.email).where(contacts.c.crm == crm, contacts.c.email.in_(list(mails))).order_by(contacts.c.id)
                ):
                    found.setdefault(mails[email], cid)
    return found


def plan(
    models: t.Sequence[ScoringModel],
    *,
    contact_id: str,
    model: str,
    dimension: str,
    points: float,
    reason: str,
    by: str,
    expires_at: dt.datetime | None,
    source: str,
    now: dt.datetime,
) -> Planned:
    """Check one adjustment against the CRM's models; raises ``ValueError`` naming the field at fault."""
    found = model_named(models, model)
    if dimension not in found.dimensions:
        raise ValueError(f"dimension: model '{model}' has no dimension '{dimension}' (its dimensions: {', '.join(found.dimensions)})")
    if not math.isfinite(points) or points == 0:
        raise ValueError(f"points: expected a non-zero finite number, got {points!r}")
    if not reason.strip():
        raise ValueError("reason: required (say why, for whoever reads the explanation)")
    if not by.strip():
        raise ValueError("by: required (who gives the points)")
    if expires_at is not None and utc(expires_at) <= utc(now):
        raise ValueError(f"expires: {utc(expires_at).isoformat()} is not in the future (now {utc(now).isoformat()})")
    return Planned(contact_id, model, dimension, float(points), reason.strip(), by.strip(), utc(expires_at) if expires_at else None, source)


def model_named(models: t.Sequence[ScoringModel], name: str) -> ScoringModel:
    """The CRM's model called ``name``; raises ``ValueError`` listing the models there are."""
    found = next((m for m in models if m.model == name), None)
    if found is None:
        raise ValueError(f"model: '{name}' is not a model of this CRM (its models: {', '.join(m.model for m in models)})")
    return found


def parse_expiry(text: str | None) -> dt.datetime | None:
    """``--expires`` / the CSV's ``expires``: ISO 8601, without an offset meaning UTC; blank: never."""
    if text is None or not text.strip():
        return None
    return parse_datetime(text, "expires")  # the record readers' reading: raises ValueError naming the field


def read_csv(
    path: str | pathlib.Path, engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel], *, default_by: str, now: dt.datetime
) -> tuple[list[Planned], list[str]]:
    """Every row of a bulk file checked: the planned adjustments and the problems as ``file:line: field: message``.

    Columns ``contact`` (id or e-mail), ``model``, ``dimension``, ``points``, ``reason``, and
    optionally ``by`` (else ``default_by``) and ``expires`` (ISO 8601). CSV or JSON Lines, read
    like every record file of the project (:func:`connector.scoring.rows.read_rows`).
    """
    name = str(path)
    rows: list[tuple[int, dict[str, t.Any]]] = []
    problems: list[str] = []
    for row in read_rows(path, required=CSV_COLUMNS):
        if isinstance(row, BadRow):
            problems.append(f"{name}:{row.line}: {row.message}" if row.line else f"{name}: {row.message}")
            if row.final:
                return [], problems
            continue
        rows.append((row.line, row.values))
    known = resolve(engine, crm, [str(v.get("contact") or "") for _, v in rows])
    planned: list[Planned] = []
    for line, values in rows:
        ref = str(values.get("contact") or "").strip()
        try:
            if not ref:
                raise ValueError("contact: required (an id or an e-mail address)")
            if ref not in known:
                raise ValueError(f"contact: '{ref}' is not in the state store of CRM '{crm}' (has it been synced?)")
            planned.append(
                plan(
                    models,
                    contact_id=known[ref],
                    model=str(values.get("model") or "").strip(),
                    dimension=str(values.get("dimension") or "").strip(),
                    points=_number(values.get("points")),
                    reason=str(values.get("reason") or ""),
                    by=str(values.get("by") or "").strip() or default_by,
                    expires_at=parse_expiry(_text(values.get("expires"))),
                    source=f"csv:{pathlib.Path(name).name}:{line}",
                    now=now,
                )
            )
        except ValueError as exc:
            problems.append(f"{name}:{line}: {exc}")
    return planned, problems


def _number(value: t.Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"points: expected a number, got {value!r}")
    try:
        return float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise ValueError(f"points: expected a number, got {value!r}") from None


def _text(value: t.Any) -> str | None:
    return None if value is None else str(value)


def segment(engine: sa.Engine, crm: str, when: When, placeholders: t.Iterable[str]) -> list[tuple[str, str | None]]:
    """``(contact id, e-mail)`` of every stored contact whose properties match ``when`` (the models' condition syntax)."""
    marks = frozenset(placeholders)
    out: list[tuple[str, str | None]] = []
    with engine.connect() as conn:
        for cid, email, props in conn.execute(sa.select(contacts.c.id, contacts.c.email, contacts.c.properties).where(contacts.c.crm == crm).order_by(contacts.c.id)):
            if matches(when, contact_values(Contact(id=cid, email=email, properties=props or {})), marks):
                out.append((cid, email))
    return out


def add(engine: sa.Engine, crm: str, planned: t.Sequence[Planned], now: dt.datetime) -> list[int]:
    """Record ``planned`` and mark their contacts for the next sync, in one transaction; their ids."""
    ids: list[int] = []
    with engine.begin() as conn:
        for p in planned:
            ids.append(
                int(
                    conn.execute(
                        sa.insert(adjustments)
                        .values(
                            crm=crm, contact_id=p.contact_id, model=p.model, dimension=p.dimension, points=p.points, reason=p.reason[:2000],
                            by=p.by[:255], at=utc(now), expires_at=p.expires_at, source=p.source[:500],
                        )
                        .returning(adjustments.c.id)
                    ).scalar_one()
                )
            )
        touched = sorted({p.contact_id for p in planned})
        for i in range(0, len(touched), 500):
            conn.execute(sa.update(contacts).where(contacts.c.crm == crm, contacts.c.id.in_(touched[i : i + 500])).values(needs_score=True))
    return ids


def withdraw(engine: sa.Engine, crm: str, ids: t.Sequence[int], now: dt.datetime) -> list[int]:
    """End adjustments now (their ``expires_at`` becomes ``now``) and mark their contacts; the ids ended.

    Adjustments already expired, or of another CRM, are left as they are. The record stays, so
    ``history`` shows when it was given and when it stopped counting.
    """
    now = utc(now)
    with engine.begin() as conn:
        live = (adjustments.c.expires_at.is_(None)) | (adjustments.c.expires_at > now)
        rows = conn.execute(sa.select(adjustments.c.id, adjustments.c.contact_id).where(adjustments.c.crm == crm, adjustments.c.id.in_(list(ids)), live)).all()
        if rows:
            conn.execute(sa.update(adjustments).where(adjustments.c.id.in_([r.id for r in rows])).values(expires_at=now))
            conn.execute(sa.update(contacts).where(contacts.c.crm == crm, contacts.c.id.in_(sorted({r.contact_id for r in rows}))).values(needs_score=True))
    return sorted(r.id for r in rows)


def for_scoring(engine: sa.Engine, crm: str, ids: t.Sequence[str]) -> dict[str, list[Stored]]:
    """Contact id -> its recorded adjustments (expired ones too: which count depends on the scoring's instant)."""
    out: dict[str, list[Stored]] = {}
    cols = (adjustments.c.contact_id, adjustments.c.model, adjustments.c.dimension, adjustments.c.points, adjustments.c.reason, adjustments.c.by, adjustments.c.at, adjustments.c.expires_at)
    with engine.connect() as conn:
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            for cid, model, dim, points, reason, by, at, expires in conn.execute(
                sa.select(*cols).where(adjustments.c.crm == crm, adjustments.c.contact_id.in_(part)).order_by(adjustments.c.id)
            ):
                out.setdefault(cid, []).append(Stored(model, Adjustment(cid, dim, points, reason, by, at), expires))
    return out


def active(stored: t.Iterable[Stored], model: str, as_of: dt.datetime) -> list[Adjustment]:
    """The adjustments given for ``model`` that have not expired at ``as_of`` (the engine checks ``at``)."""
    return [s.record for s in stored if s.model == model and (s.expires_at is None or s.expires_at > as_of)]


def next_expiry(stored: t.Iterable[Stored], model: str, as_of: dt.datetime) -> dt.datetime | None:
    """The next instant after ``as_of`` at which an adjustment for ``model`` stops counting."""
    later = [s.expires_at for s in stored if s.model == model and s.expires_at is not None and s.expires_at > as_of]
    return min(later) if later else None


def of_contact(engine: sa.Engine, crm: str, contact_id: str) -> list[dict[str, t.Any]]:
    """A contact's adjustments, oldest first, as plain rows (for ``explain`` and ``history``)."""
    with engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(sa.select(adjustments).where(adjustments.c.crm == crm, adjustments.c.contact_id == contact_id).order_by(adjustments.c.id))
        ]
