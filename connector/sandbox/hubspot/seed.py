"""Generated portals: deterministic for a seed, realistic enough to score, fast at 100,000 contacts.

``--seed demo`` loads owners, ~5,000 contacts (titles, industries, company sizes, countries,
lifecycle stages, owners) and months of activity: page views (incl. /pricing and /careers), form
submissions, marketing email sent/open/click/unsubscribe, meetings, calls and logged (sales) emails. Contacts differ in
intent on purpose (a hidden "interest" drives how active they are), so scoring has signal to find.
"""

from __future__ import annotations

import random
import typing as t

from connector.sandbox.hubspot.store import Store
from connector.sandbox.sampling import WeightedChoice as _Pick

__all__ = ["OWNERS", "contact_rows", "load_demo", "load_owners"]

OWNERS = (("ava.lopez@sandbox.example", "Ava", "Lopez"), ("ben.okafor@sandbox.example", "Ben", "Okafor"),
          ("chloe.martin@sandbox.example", "Chloe", "Martin"), ("dev.patel@sandbox.example", "Dev", "Patel"))
FIRST = ("Alex", "Sam", "Maria", "Jon", "Priya", "Li", "Fatima", "Lukas", "Emma", "Noah", "Olivia", "Mateo", "Yuki", "Aisha", "Tom", "Sofia", "Omar", "Ingrid", "Carlos", "Mei")
LAST = ("Smith", "Garcia", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Cohen", "Dubois", "Novak", "Sato", "Khan", "Jensen", "Brown", "Ivanova", "Moreau")
TITLES = (("Chief Executive Officer", 5), ("CTO", 4), ("VP of Marketing", 6), ("VP Sales", 6), ("Head of Growth", 5),
          ("Marketing Manager", 14), ("Sales Manager", 10), ("Software Engineer", 12), ("Data Analyst", 8),
          ("Marketing Intern", 5), ("Student", 5), ("Operations Director", 6), ("Account Executive", 8), ("Consultant", 6))
COUNTRIES = (("United States", 35), ("United Kingdom", 12), ("Germany", 10), ("France", 8), ("Canada", 7), ("India", 8),
             ("Brazil", 5), ("Australia", 5), ("Netherlands", 4), ("Japan", 3), ("Nigeria", 3))
INDUSTRIES = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL", "MANUFACTURING", "EDUCATION_MANAGEMENT",
              "MARKETING_AND_ADVERTISING", "INFORMATION_TECHNOLOGY_AND_SERVICES", "LOGISTICS_AND_SUPPLY_CHAIN", "TELECOMMUNICATIONS")
BANDS = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
STAGES = (("subscriber", 30), ("lead", 35), ("marketingqualifiedlead", 15), ("salesqualifiedlead", 8), ("opportunity", 6), ("customer", 5), ("other", 1))
PAGES = (("/", "Home", 30), ("/blog/lead-scoring-guide", "Lead scoring guide", 20), ("/product", "Product", 15),
         ("/pricing", "Pricing", 10), ("/careers", "Careers", 5), ("/docs/api", "API docs", 8), ("/case-studies", "Case studies", 7),
         ("/demo", "Book a demo", 5))
FORMS = (("f-newsletter", "Newsletter signup"), ("f-demo", "Request a demo"), ("f-ebook", "Download the e-book"), ("f-contact", "Contact sales"))
DAY_MS = 86_400_000



def _weighted(rng: random.Random, items: t.Sequence[tuple[t.Any, int]]) -> t.Any:
    return _Pick(items)(rng)


def load_owners(store: Store) -> list[str]:
    """The demo owners (idempotent: existing owners are kept)."""
    if store.owners:
        return list(store.owners)
    return [store.add_owner(*o).id for o in OWNERS]


def contact_rows(count: int, seed: int = 42, owner_ids: t.Sequence[str] = (), start: int = 0) -> list[dict[str, str]]:
    """``count`` generated contact property dicts; emails are unique for distinct ``start`` ranges."""
    rng = random.Random(seed * 1_000_003 + start)
    title, country, stage = _Pick(TITLES), _Pick(COUNTRIES), _Pick(STAGES)
    band = _Pick(list(zip(BANDS, (10, 20, 15, 15, 20, 10, 10))))
    owners = list(owner_ids)
    rows = []
    for n in range(start, start + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(('Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Tyrell', 'Cyberdyne'))} {rng.choice(('Labs', 'Corp', 'GmbH', 'Ltd', 'Inc', 'Group'))}"
        domain = company.lower().replace(" ", "") + ".example"
        row = {
            "email": f"{first.lower()}.{last.lower()}.{n}@{domain}".encode("ascii", "ignore").decode(),
            "firstname": first, "lastname": last, "jobtitle": title(rng), "company": company,
            "website": f"https://{domain}", "country": country(rng), "industry": rng.choice(INDUSTRIES),
            "numemployees": band(rng), "lifecyclestage": stage(rng),
        }
        if owners and rng.random() < 0.8:
            row["hubspot_owner_id"] = rng.choice(owners)
        if rng.random() < 0.3:
            row["annualrevenue"] = str(rng.choice((250_000, 1_000_000, 5_000_000, 20_000_000, 100_000_000)))
        rows.append(row)
    return rows


def load_demo(store: Store, contacts: int = 5000, seed: int = 42, months: int = 6, activity: bool = True) -> list[str]:
    """Fill a store with a demo portal; returns the contact ids. Deterministic for (contacts, seed, clock)."""
    rng = random.Random(seed)
    owners = load_owners(store)
    now = store.clock.now_ms()
    span = months * 30 * DAY_MS
    rows = contact_rows(contacts, seed, owners)
    ids = []
    with store.lock:
        for row in rows:
            created = now - rng.randrange(span)
            record = store.create("contacts", row, admin=True, modified_at_ms=created + rng.randrange(max(1, now - created)), created_at_ms=created)
            ids.append(record.id)
        if activity:
            _activity(store, rng, ids, rows, now, span)
    return ids


def _activity(store: Store, rng: random.Random, ids: list[str], rows: list[dict[str, str]], now: int, span: int) -> None:
    web: list[dict[str, t.Any]] = []
    mail: list[dict[str, t.Any]] = []
    for cid, row in zip(ids, rows):
        interest = rng.random() ** 2  # most contacts are cold, a few are hot
        for _ in range(int(interest * 40) + rng.randrange(3)):
            path, title, _w = rng.choices(PAGES, weights=[p[2] * (3 if p[0] in ("/pricing", "/demo") and interest > 0.5 else 1) for p in PAGES])[0]
            web.append({"objectId": cid, "eventType": "e_visited_page", "occurredAt": now - rng.randrange(span),
                        "properties": {"hs_url": f"https://www.sandbox.example{path}", "hs_title": title}})
        for _ in range(int(interest * 3 + rng.random())):
            form_id, form_title = rng.choice(FORMS)
            web.append({"objectId": cid, "eventType": "e_submitted_form", "occurredAt": now - rng.randrange(span),
                        "properties": {"hs_form_id": form_id, "hs_form_title": form_title, "hs_url": "https://www.sandbox.example/demo"}})
        for _ in range(rng.randrange(2, 8)):
            sent = now - rng.randrange(span)
            mail.append({"recipient": row["email"], "type": "SENT", "created": sent})
            if rng.random() < 0.2 + interest * 0.6:
                mail.append({"recipient": row["email"], "type": "OPEN", "created": sent + rng.randrange(1, 3 * DAY_MS)})
                if rng.random() < 0.15 + interest * 0.5:
                    mail.append({"recipient": row["email"], "type": "CLICK", "created": sent + rng.randrange(3 * DAY_MS, 4 * DAY_MS),
                                 "url": "https://www.sandbox.example/pricing"})
        if rng.random() < 0.03 * (1 - interest):
            mail.append({"recipient": row["email"], "type": "STATUSCHANGE", "created": now - rng.randrange(span), "source": "SOURCE_RECIPIENT",
                         "subscriptions": [{"id": 1, "status": "UNSUBSCRIBED"}]})
        if interest > 0.4 and rng.random() < interest:
            when = now - rng.randrange(span)
            store.add_engagement("meetings", {"hs_timestamp": when, "hs_meeting_title": "Discovery call", "hs_meeting_outcome": "COMPLETED",
                                              "hs_meeting_start_time": when, "hs_meeting_end_time": when + 1_800_000}, [cid], modified_at_ms=when)
        if interest > 0.2 and rng.random() < interest:
            when = now - rng.randrange(span)
            store.add_engagement("calls", {"hs_timestamp": when, "hs_call_title": "Intro call", "hs_call_duration": str(rng.randrange(60_000, 1_800_000)),
                                           "hs_call_direction": "OUTBOUND", "hs_call_status": "COMPLETED"}, [cid], modified_at_ms=when)
        if interest > 0.3 and rng.random() < interest / 2:
            when = now - rng.randrange(span)
            store.add_engagement("emails", {"hs_timestamp": when, "hs_email_subject": "Following up", "hs_email_direction": "INCOMING_EMAIL",
                                            "hs_email_status": "SENT"}, [cid], modified_at_ms=when)
    store.add_events(sorted(web, key=lambda e: e["occurredAt"]))
    store.add_email_events(sorted(mail, key=lambda e: e["created"]))
