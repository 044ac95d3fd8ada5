"""The demo portal's activity, as real portals accumulate it, never dated after the portal's "now".

- Page views over the whole span, also before the contact existed: HubSpot associates a
  visitor's earlier anonymous page views with the contact it becomes (``visitors.py``).
- Form submissions name their form by GUID (``hs_form_id``); about half the contacts were
  created by one (at their creation time).
- Marketing e-mail: sends after the contact exists, opens 1-3 days and clicks 3-4 days later,
  kept only when that moment has already come.
- Meetings, calls and logged e-mails happen (``hs_timestamp``) after the contact exists and are
  logged (``hs_createdate``/``hs_lastmodifieddate``) shortly after, or for about one in seven a
  day to ten days late, as reps log them.
- Some calls and meetings have no contact at all (calls from unknown numbers, internal meetings),
  and some visitors never convert: their page views belong to no contact yet.
"""

from __future__ import annotations

import random
import typing as t

from connector.sandbox.hubspot.store import Store
from connector.sandbox.hubspot.visitors import add_visitor_events

__all__ = ["PAGES", "generate_activity"]

PAGES = (("/", "Home", 30), ("/blog/lead-scoring-guide", "Lead scoring guide", 20), ("/product", "Product", 15),
         ("/pricing", "Pricing", 10), ("/careers", "Careers", 5), ("/docs/api", "API docs", 8), ("/case-studies", "Case studies", 7),
         ("/demo", "Book a demo", 5))
SITE = "https://www.sandbox.example"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MEETING_MS = 1_800_000


def _page_view(object_id: str, when: int, path: str, title: str) -> dict[str, t.Any]:
    return {"objectId": object_id, "eventType": "e_visited_page", "occurredAt": when, "properties": {"hs_url": SITE + path, "hs_title": title}}


def _form_submission(object_id: str, when: int, form: tuple[str, str]) -> dict[str, t.Any]:
    return {"objectId": object_id, "eventType": "e_submitted_form", "occurredAt": when, "properties": {"hs_form_id": form[0], "hs_url": SITE + form[1]}}


def _engagement(store: Store, rng: random.Random, kind: str, when: int, now: int, contact_ids: list[str]) -> None:
    """One meeting/call/logged e-mail that happened at ``when``, logged soon after or days late."""
    late = rng.random() < 0.15
    logged = min(now, when + (rng.randrange(DAY_MS, 10 * DAY_MS) if late else rng.randrange(0, 2 * HOUR_MS)))
    if kind == "meetings":
        props: dict[str, t.Any] = {"hs_timestamp": when, "hs_meeting_title": "Discovery call", "hs_meeting_outcome": "COMPLETED",
                                   "hs_meeting_start_time": when, "hs_meeting_end_time": when + MEETING_MS}
    elif kind == "calls":
        props = {"hs_timestamp": when, "hs_call_title": "Intro call", "hs_call_duration": str(rng.randrange(60_000, 1_800_000)),
                 "hs_call_direction": "OUTBOUND", "hs_call_status": "COMPLETED"}
    else:
        props = {"hs_timestamp": when, "hs_email_subject": "Following up", "hs_email_direction": "INCOMING_EMAIL", "hs_email_status": "SENT"}
    store.add_engagement(kind, props, contact_ids, modified_at_ms=logged)


def _after(rng: random.Random, born: int, now: int, margin: int = 0) -> int:
    """A moment between a contact's creation and ``now - margin``."""
    top = max(born, now - margin)
    return born + rng.randrange(max(1, top - born))


def _hot_lead(store: Store, cid: str, born: int, email: str, forms: list[tuple[str, str]], now: int,
              web: list[dict[str, t.Any]], mail: list[dict[str, t.Any]]) -> None:
    """Recent engagement for the demo's unassigned hot lead: enough for its MQL task, not for "hot engagement"."""
    for day in range(1, 9):
        path, title = (("/case-studies", "Case studies"), ("/demo", "Book a demo"), ("/product", "Product"))[day % 3]
        web.append(_page_view(cid, now - day * DAY_MS, path, title))
    web.append(_form_submission(cid, born, forms[1]))
    for week in range(1, 3):
        sent = now - week * 7 * DAY_MS
        mail += [{"recipient": email, "type": "SENT", "created": sent}, {"recipient": email, "type": "OPEN", "created": sent + HOUR_MS},
                 {"recipient": email, "type": "CLICK", "created": sent + 2 * HOUR_MS, "url": SITE + "/pricing"}]
    when = now - 10 * DAY_MS
    store.add_engagement("meetings", {"hs_timestamp": when, "hs_meeting_title": "Discovery call", "hs_meeting_outcome": "COMPLETED",
                                      "hs_meeting_start_time": when, "hs_meeting_end_time": when + MEETING_MS}, [cid],
                         modified_at_ms=now - 3 * DAY_MS)  # logged a week late


def generate_activity(store: Store, rng: random.Random, ids: list[str], rows: list[dict[str, str]], created: list[int],
                      forms: list[tuple[str, str]], now: int, span: int) -> None:
    """Add the activity of every contact (the first is the unassigned hot lead), then the contact-less extras."""
    web: list[dict[str, t.Any]] = []
    mail: list[dict[str, t.Any]] = []
    for i, (cid, row, born) in enumerate(zip(ids, rows, created, strict=True)):
        if i == 0:
            _hot_lead(store, cid, born, row["email"], forms, now, web, mail)
            continue
        interest = rng.random() ** 2  # most contacts are cold, a few are hot
        for _ in range(int(interest * 40) + rng.randrange(3)):
            path, title, _w = rng.choices(PAGES, weights=[p[2] * (3 if p[0] in ("/pricing", "/demo") and interest > 0.5 else 1) for p in PAGES])[0]
            web.append(_page_view(cid, now - rng.randrange(span), path, title))
        if rng.random() < 0.5:
            web.append(_form_submission(cid, born, rng.choice(forms)))
        for _ in range(int(interest * 3 + rng.random())):
            web.append(_form_submission(cid, _after(rng, born, now), rng.choice(forms)))
        for _ in range(rng.randrange(2, 8)):
            sent = _after(rng, born, now)
            mail.append({"recipient": row["email"], "type": "SENT", "created": sent})
            opened = sent + rng.randrange(HOUR_MS, 3 * DAY_MS)
            if rng.random() < 0.2 + interest * 0.6 and opened <= now:
                mail.append({"recipient": row["email"], "type": "OPEN", "created": opened})
                clicked = sent + rng.randrange(3 * DAY_MS, 4 * DAY_MS)
                if rng.random() < 0.15 + interest * 0.5 and clicked <= now:
                    mail.append({"recipient": row["email"], "type": "CLICK", "created": clicked, "url": SITE + "/pricing"})
        if rng.random() < 0.03 * (1 - interest):
            mail.append({"recipient": row["email"], "type": "STATUSCHANGE", "created": _after(rng, born, now), "source": "SOURCE_RECIPIENT",
                         "subscriptions": [{"id": 1, "status": "UNSUBSCRIBED"}]})
        for kind, threshold, share in (("meetings", 0.4, 1.0), ("calls", 0.2, 1.0), ("emails", 0.3, 0.5)):
            if interest > threshold and rng.random() < interest * share:
                _engagement(store, rng, kind, _after(rng, born, now, MEETING_MS), now, [cid])
    for _ in range(max(1, len(ids) // 100)):
        _engagement(store, rng, "calls", now - rng.randrange(MEETING_MS, span), now, [])
        _engagement(store, rng, "meetings", now - rng.randrange(MEETING_MS, span), now, [])
    store.add_events(sorted(web, key=lambda e: e["occurredAt"]))
    store.add_email_events(sorted(mail, key=lambda e: e["created"]))
    for n in range(max(1, len(ids) // 25)):
        add_visitor_events(store, f"demo-visitor-{n}", [
            {"eventType": "e_visited_page", "occurredAt": now - rng.randrange(1, 30 * DAY_MS), "properties": {"hs_url": SITE + path, "hs_title": title}}
            for path, title, _w in rng.choices(PAGES, k=rng.randrange(1, 6))])
