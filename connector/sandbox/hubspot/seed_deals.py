"""Deals and customers of a generated portal: what the connector reads as outcomes.

Every contact seeded at lifecycle stage ``customer`` gets a won deal and the date it became a
customer; opportunities get an open deal. Some leads further down the funnel are won too, more
often when they look like good buyers (senior or marketing titles, software/finance companies, a
mid-size company), so conversion by score band has a signal to show, as it would on a real portal.
A separate random stream keeps the contacts and activity of a seed what they were before deals.
"""

from __future__ import annotations

import random
import re
import typing as t

from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.store import Store

__all__ = ["load_deals", "open_deal", "win_deal"]

DAY_MS = 86_400_000
_GOOD_TITLE = re.compile(r"\b(vp|head|chief|director|marketing|growth)\b", re.IGNORECASE)
_GOOD_INDUSTRY = {"software", "saas", "computer software", "internet", "financial services"}
_GOOD_SIZE = {"50-100", "100-500", "500-1000"}


def win_deal(store: Store, contact_id: str, closed_ms: int, amount: float, name: str = "Deal") -> str:
    """A closed-won deal for the contact, and the contact a customer since ``closed_ms``; the deal's id.

    HubSpot sets ``hs_is_closed_won`` and ``hs_lifecyclestage_customer_date`` itself; the seed
    writes them as an admin does.
    """
    with store.lock:
        deal = store.create(
            "deals",
            {"dealname": name, "pipeline": "default", "dealstage": "closedwon", "amount": str(amount), "closedate": iso_ms(closed_ms), "hs_is_closed_won": "true"},
            admin=True, modified_at_ms=closed_ms, created_at_ms=closed_ms - 20 * DAY_MS,
        )
        store.associate("deals", deal.id, "contacts", contact_id)
        contact = store.require("contacts", contact_id)
        store.update("contacts", contact_id, {"lifecyclestage": "customer", "hs_lifecyclestage_customer_date": iso_ms(closed_ms)},
                     admin=True, modified_at_ms=max(contact.updated_ms, closed_ms))
        return deal.id


def open_deal(store: Store, contact_id: str, created_ms: int, amount: float, name: str = "Deal") -> str:
    """An open deal (not won) associated with the contact; the deal's id."""
    with store.lock:
        deal = store.create(
            "deals", {"dealname": name, "pipeline": "default", "dealstage": "presentationscheduled", "amount": str(amount), "hs_is_closed_won": "false"},
            admin=True, modified_at_ms=created_ms, created_at_ms=created_ms,
        )
        store.associate("deals", deal.id, "contacts", contact_id)
        return deal.id


def _buyer(row: t.Mapping[str, str]) -> float:
    """0..1: how much the contact looks like a buyer (what a fit score would reward)."""
    score = 0.45 * bool(_GOOD_TITLE.search(row.get("jobtitle", "")))
    score += 0.35 * (row.get("industry", "").lower() in _GOOD_INDUSTRY)
    score += 0.2 * (row.get("numemployees") in _GOOD_SIZE)
    return score


def load_deals(store: Store, seed: int, ids: t.Sequence[str], rows: t.Sequence[t.Mapping[str, str]], created: t.Sequence[int], now: int) -> None:
    """Deals for the seeded contacts (see the module docstring); deterministic for ``seed``."""
    rng = random.Random(f"deals-{seed}")
    for cid, row, born in zip(ids, rows, created, strict=True):
        stage = row.get("lifecyclestage")
        amount = float(rng.choice((5_000, 12_000, 25_000, 60_000)))
        name = f"{row.get('company') or 'Account'} - {cid}"
        if stage == "customer" or (stage in ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity") and rng.random() < 0.02 + 0.3 * _buyer(row) ** 2):
            win_deal(store, cid, born + rng.randrange(max(1, now - born)), amount, name)
        elif stage == "opportunity":
            open_deal(store, cid, born + rng.randrange(max(1, now - born)), amount, name)
