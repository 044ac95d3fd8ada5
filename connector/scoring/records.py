"""Canonical records: the only shapes the scoring core reads.

Adapters translate CRM payloads into these and nothing else; the core never sees a CRM field name.
Plain frozen dataclasses keep them cheap to create by the million and hashable where needed.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

__all__ = [
    "ACTIVITY_TYPES",
    "Activity",
    "Adjustment",
    "Contact",
    "Identity",
    "utc",
]

#: The documented activity vocabulary. Any other string is accepted as a custom type.
ACTIVITY_TYPES: tuple[str, ...] = (
    "page_view",
    "email_sent",
    "email_open",
    "email_click",
    "form_submit",
    "asset_download",
    "webinar_attend",
    "demo_request",
    "meeting",
    "call",
    "unsubscribe",
    "support_ticket",
    "purchase",
)


def utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@dc.dataclass(frozen=True, slots=True)
class Contact:
    """A person as the CRM knows them; ``properties`` uses canonical property names.

    ``owner_id`` is the CRM user who owns the contact (tasks created by triggers go to them);
    ``stage_dates`` maps a model stage name to the instant the CRM says the contact entered it
    (the adapter reads it through its mapping; the sync seeds the stage history from it on the
    first scoring). The scoring reads neither.
    """

    id: str
    email: str | None = None
    properties: t.Mapping[str, t.Any] = dc.field(default_factory=dict)
    updated_at: dt.datetime | None = None
    owner_id: str | None = None
    stage_dates: t.Mapping[str, dt.datetime] = dc.field(default_factory=dict)


@dc.dataclass(frozen=True, slots=True)
class Activity:
    """Something a contact (or a not-yet-identified visitor) did.

    Exactly one of ``contact_id`` / ``anonymous_id`` is normally set; an :class:`Identity`
    links an anonymous history to a contact once the visitor identifies themselves.
    """

    id: str
    type: str
    occurred_at: dt.datetime
    contact_id: str | None = None
    attributes: t.Mapping[str, t.Any] = dc.field(default_factory=dict)
    anonymous_id: str | None = None


@dc.dataclass(frozen=True, slots=True)
class Identity:
    """Links an anonymous visitor id to the contact it turned out to be."""

    anonymous_id: str
    contact_id: str


@dc.dataclass(frozen=True, slots=True)
class Adjustment:
    """Points a person gave or took by hand; shown in the explanation with its reason."""

    contact_id: str
    dimension: str
    points: float
    reason: str
    by: str
    at: dt.datetime
