"""Anonymous history: visits made before a visitor filled in a form belong to the contact.

Section 1 of docs/scoring-semantics.md: an activity with ``anonymous_id`` and no ``contact_id``
belongs to the contact an :class:`Identity` links it to; unlinked anonymous activity is ignored;
activities are de-duplicated by ``id`` (the first one seen wins).
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

from connector.scoring.records import Activity, Identity

__all__ = ["identity_map", "resolve"]


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
