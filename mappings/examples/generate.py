"""Regenerate the example data set in this folder (deterministic: a fixed seed and dates).

    .venv/bin/python mappings/examples/generate.py

Writes contacts.jsonl (50 contacts), contacts.csv (the same people as a CRM export with
``Select`` placeholders), activities.jsonl, identities.jsonl and adjustments.jsonl, all as of
2026-11-01 (score them with ``--as-of 2026-11-01T00:00:00Z`` for reproducible numbers).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import pathlib
import random

HERE = pathlib.Path(__file__).resolve().parent
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Ximena", "Yusuf"]
LAST = ["Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor"]
TITLES = ["VP Marketing", "Head of Growth", "Marketing Manager", "Demand Gen Specialist", "Director of Sales", "Software Engineer", "CTO", "Student", "Marketing Intern", "Office Manager", "Chief Marketing Officer", "Sales Development Rep", "Select", ""]
INDUSTRIES = ["Software", "SaaS", "Financial Services", "Retail", "Education", "Manufacturing", "Internet", "Healthcare", "Select"]
COUNTRIES = [("United States", "NA"), ("Canada", "NA"), ("Germany", "EU"), ("France", "EU"), ("India", "APAC"), ("Brazil", "LATAM"), ("Netherlands", "EU"), ("Australia", "APAC")]
COMPANY_DOMAINS = ["acme-analytics.com", "northwind.io", "globex.com", "initech.net", "umbrella-health.org", "stark-retail.com", "wayne-fin.com", "hooli.com", "cyberdyne.ai", "tyrell.co"]
FREE = ["gmail.com", "yahoo.com", "outlook.com"]
PAGES = ["/", "/product", "/pricing", "/blog/lead-scoring-101", "/integrations/hubspot", "/careers", "/docs/getting-started", "/customers"]


def main() -> None:
    rng = random.Random(20261101)
    contacts = []
    for i in range(1, 51):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        cid = f"c{i:03d}"
        if i == 7:
            domain = "rivalcrm.com"  # a competitor
        elif i == 13:
            domain = "example-saas.com"  # our own company
        elif i % 9 == 0:
            domain = rng.choice(FREE)
        else:
            domain = rng.choice(COMPANY_DOMAINS)
        country, region = rng.choice(COUNTRIES)
        props = {
            "firstname": first,
            "lastname": last,
            "job_title": rng.choice(TITLES),
            "industry": rng.choice(INDUSTRIES),
            "company_size": str(rng.choice([3, 8, 25, 60, 150, 400, 1200, 8000])),
            "country": country,
            "region": region,
            "phone": rng.choice(["+1 555 0100", "", "Select", "+49 30 1234"]),
            "lifecyclestage": "customer" if i in (21, 22) else ("opportunity" if i in (17, 18) else "lead"),
        }
        contacts.append({"id": cid, "email": f"{first.lower()}.{last.lower()}@{domain}", "properties": props, "updated_at": (AS_OF - dt.timedelta(days=rng.randint(1, 60))).isoformat()})

    activities = []
    n = 0

    def add(contact_id: str | None, kind: str, days_ago: float, attributes: dict | None = None, anonymous_id: str | None = None) -> None:
        nonlocal n
        n += 1
        rec = {"id": f"a{n:05d}", "type": kind, "occurred_at": (AS_OF - dt.timedelta(days=days_ago)).isoformat(), "attributes": attributes or {}}
        if contact_id:
            rec["contact_id"] = contact_id
        else:
            rec["anonymous_id"] = anonymous_id
        activities.append(rec)

    for c in contacts:
        cid = c["id"]
        heat = rng.random()
        for _ in range(int(heat * 12)):
            add(cid, "page_view", rng.uniform(0, 120), {"url": rng.choice(PAGES)})
        for _ in range(int(heat * 6)):
            add(cid, "email_sent", rng.uniform(0, 90), {"campaign": "nurture-q4"})
            if rng.random() < 0.6:
                add(cid, "email_open", rng.uniform(0, 90), {"campaign": "nurture-q4"})
            if rng.random() < 0.3:
                add(cid, "email_click", rng.uniform(0, 90), {"campaign": "nurture-q4", "url": "/pricing"})
        if rng.random() < 0.5:
            add(cid, "form_submit", rng.uniform(0, 200), {"form": rng.choice(["contact-us", "newsletter", "trial-signup", "event-badge"])})
        if rng.random() < 0.3:
            add(cid, "asset_download", rng.uniform(0, 150), {"asset": "State of RevOps 2026 (PDF)"})
        if rng.random() < 0.2:
            add(cid, "webinar_attend", rng.uniform(0, 150), {"webinar": "Scoring that sales trusts"})
        if heat > 0.8:
            add(cid, "demo_request", rng.uniform(0, 30), {"form": "demo"})
        if heat > 0.9:
            add(cid, "meeting", rng.uniform(0, 20), {"with": "AE"})
        if rng.random() < 0.08:
            add(cid, "unsubscribe", rng.uniform(0, 60), {"campaign": "nurture-q4"})
    # Anonymous visits before three people identified themselves, plus one visitor never identified.
    identities = []
    for cid, anon in (("c004", "anon-7f3a"), ("c011", "anon-91bc"), ("c030", "anon-55de")):
        identities.append({"anonymous_id": anon, "contact_id": cid})
        for url in ("/pricing", "/product", "/pricing", "/integrations/hubspot"):
            add(None, "page_view", rng.uniform(5, 25), {"url": url}, anonymous_id=anon)
    for url in ("/", "/pricing"):
        add(None, "page_view", rng.uniform(1, 10), {"url": url}, anonymous_id="anon-never-identified")
    activities.sort(key=lambda a: a["occurred_at"])

    adjustments = [
        {"contact_id": "c002", "dimension": "fit", "points": 15, "reason": "Met at SaaStr, budget confirmed", "by": "sam.rep@example-saas.com", "at": (AS_OF - dt.timedelta(days=3)).isoformat()},
        {"contact_id": "c015", "dimension": "engagement", "points": -20, "reason": "Asked not to be contacted this quarter", "by": "lee.sdr@example-saas.com", "at": (AS_OF - dt.timedelta(days=10)).isoformat()},
        {"contact_id": "c025", "dimension": "fit", "points": 10, "reason": "Partner referral", "by": "sam.rep@example-saas.com", "at": (AS_OF - dt.timedelta(days=1)).isoformat()},
        {"contact_id": "c040", "dimension": "contact", "points": 10, "reason": "Verified decision maker (product line B)", "by": "pat.ae@example-saas.com", "at": (AS_OF - dt.timedelta(days=2)).isoformat()},
    ]

    def write(name: str, rows: list[dict]) -> None:
        with (HERE / name).open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    write("contacts.jsonl", contacts)
    write("activities.jsonl", activities)
    write("identities.jsonl", identities)
    write("adjustments.jsonl", adjustments)
    columns = ["Contact ID", "email", *contacts[0]["properties"].keys()]
    with (HERE / "contacts.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for c in contacts:
            writer.writerow([c["id"], c["email"], *c["properties"].values()])


if __name__ == "__main__":
    main()
