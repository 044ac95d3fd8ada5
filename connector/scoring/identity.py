"""Anonymous history: visits made before a visitor filled in a form belong to the contact.

Section 1 of docs/scoring-semantics.md: an activity with ``anonymous_id`` and no ``contact_id``
belongs to the contact an :class:`Identity` links it to; unlinked anonymous activity is ignored;
activities are de-duplicated by ``id`` (the first one seen wins).

One convention is shared by adapters and the sync engine: activity known only by the e-mail
address it concerns (a marketing e-mail opened, a link clicked) carries the anonymous id
:func:`email_id` (``email:<address>``, lower-cased), and belongs to the contact with that e-mail
address, whichever CRM it came from.
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

from connector.scoring.records import Activity, Identity

__all__ = ["EMAIL_ID_PREFIX", "email_id", "email_of", "identity_map", "normalize_anonymous_id", "resolve"]

#: Prefix of the anonymous ids that stand for "the contact with this e-mail address".
EMAIL_ID_PREFIX = "email:"


def email_id(address: str) -> str:
    """The anonymous id of activity known only by an e-mail address: ``email:<address>``, lower-cased."""
    return EMAIL_ID_PREFIX + address.strip().lower()


def email_of(anonymous_id: str) -> str | None:
    """The address an :func:`email_id` stands for; None for any other anonymous id."""
    if anonymous_id[: len(EMAIL_ID_PREFIX)].lower() != EMAIL_ID_PREFIX:
        return None
    return anonymous_id[len(EMAIL_ID_PREFIX) :].strip().lower()


def normalize_anonymous_id(anonymous_id: str) -> str:
    """E-mail ids in their canonical (lower-case) form; other anonymous ids unchanged."""
    address = email_of(anonymous_id)
    return anonymous_id if address is None else EMAIL_ID_PREFIX + address


def identity_map(identities: t.Iterable[Identity] | t.Mapping[str, str]) -> dict[str, str]:
    """``anonymous_id -> contact_id``; the first link given for an anonymous id wins."""
    if isinstance(identities, t.Mapping):
        return dict(identities)
    out: dict[str, str] = {}
    for ident in identities:
        out.setdefault(ident.anonymous_id, ident.contact_id)
    return out


def resolve(activities: t.Iterable[Activity], identities: t.Iterable[Identity] | t.Mapping[str, str]) -> list[Activity]:
    """Attach linked anonymous activity to its contact; drop unlinked anonymous activity and duplicates."""
    links = identity_map(identities)
    seen: set[str] = set()
    out: list[Activity] = []
    for act in activities:
        if act.id in seen:
            continue
        if act.contact_id is None:
            owner = links.get(act.anonymous_id) if act.anonymous_id is not None else None
            if owner is None:
                continue
            act = dc.replace(act, contact_id=owner)
        seen.add(act.id)
        out.append(act)
    return out
