"""Generated portals: deterministic for a seed, realistic enough to score, fast at 100,000 contacts.

``--seed demo`` loads owners, forms, ~5,000 contacts (titles, free-text industries, company sizes,
countries, lifecycle stages, an owner each) and months of activity (``seed_activity.py``). Contacts
differ in intent on purpose (a hidden "interest" drives how active they are), so scoring has signal
to find. Nothing is dated after the portal's "now": the seed reads the clock once.

One contact is broken on purpose: the first one (``riley.unassigned@northwind-labs.example``) is a
hot lead with no owner, so a connector whose mapping names no default task owner must quarantine
its task, and the demo shows what a quarantined action looks like. Every other contact has an owner.
"""

from __future__ import annotations

import random
import typing as t
import uuid

from connector.sandbox.hubspot.seed_activity import generate_activity
from connector.sandbox.hubspot.seed_deals import load_deals
from connector.sandbox.hubspot.store import Store
from connector.sandbox.sampling import WeightedChoice as _Pick

__all__ = ["FORMS", "OWNERS", "UNASSIGNED_EMAIL", "contact_rows", "load_demo", "load_forms", "load_owners"]

OWNERS = (("ava.lopez@sandbox.example", "Ava", "Lopez"), ("ben.okafor@sandbox.example", "Ben", "Okafor"),
          ("chloe.martin@sandbox.example", "Chloe", "Martin"), ("dev.patel@sandbox.example", "Dev", "Patel"))
FIRST = ("Alex", "Sam", "Maria", "Jon", "Priya", "Li", "Fatima", "Lukas", "Emma", "Noah", "Olivia", "Mateo", "Yuki", "Aisha", "Tom", "Sofia", "Omar", "Ingrid", "Carlos", "Mei")
LAST = ("Smith", "Garcia", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Cohen", "Dubois", "Novak", "Sato", "Khan", "Jensen", "Brown", "Ivanova", "Moreau")
TITLES = (("Chief Executive Officer", 5), ("CTO", 4), ("VP of Marketing", 6), ("VP Sales", 6), ("Head of Growth", 5),
          ("Marketing Manager", 14), ("Sales Manager", 10), ("Software Engineer", 12), ("Data Analyst", 8),
          ("Marketing Intern", 5), ("Student", 5), ("Operations Director", 6), ("Account Executive", 8), ("Consultant", 6))
COUNTRIES = (("United States", 35), ("United Kingdom", 12), ("Germany", 10), ("France", 8), ("Canada", 7), ("India", 8),
             ("Brazil", 5), ("Australia", 5), ("Netherlands", 4), ("Japan", 3), ("Nigeria", 3))
# The contact's `industry` is free text on real portals: what people type or enrichment fills in,
# in several spellings for one trade, sometimes blank.
INDUSTRIES = (("Software", 14), ("SaaS", 6), ("Computer Software", 5), ("software", 2), ("Internet", 5), ("Financial Services", 8),
              ("Banking", 4), ("Healthcare", 6), ("Hospital & Health Care", 3), ("Retail", 6), ("Manufacturing", 7),
              ("Education", 4), ("Higher Education", 2), ("Marketing and Advertising", 6), ("Information Technology and Services", 6),
              ("IT services", 3), ("Logistics", 3), ("Telecommunications", 3), ("", 7))
BANDS = ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+")
STAGES = (("subscriber", 30), ("lead", 35), ("marketingqualifiedlead", 15), ("salesqualifiedlead", 8), ("opportunity", 6), ("customer", 5), ("other", 1))
#: The demo's forms: (human name, page it is embedded in). Their ids are GUIDs, as in HubSpot.
FORMS = (("Contact us", "/contact"), ("Request a demo", "/demo"), ("Newsletter signup", "/blog/lead-scoring-guide"),
         ("Download the e-book", "/resources/ebook"))
UNASSIGNED_EMAIL = "riley.unassigned@northwind-labs.example"
DAY_MS = 86_400_000



def load_owners(store: Store) -> list[str]:
    """The demo owners (idempotent: existing owners are kept)."""
    if store.owners:
        return list(store.owners)
    return [store.add_owner(*o).id for o in OWNERS]


def load_forms(store: Store, rng: random.Random, created_ms: int) -> list[tuple[str, str]]:
    """The demo forms with seeded GUIDs; returns ``(form id, page path)`` per form."""
    out = []
    for name, path in FORMS:
        form = store.forms.add(name, created_ms, form_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                               fields=("email", "firstname", "lastname", "company", "jobtitle"))
        out.append((form.id, path))
    return out


def contact_rows(count: int, seed: int = 42, owner_ids: t.Sequence[str] = (), start: int = 0) -> list[dict[str, str]]:
    """``count`` generated contact property dicts, each owned by one of ``owner_ids`` if given.

    Emails are unique for distinct ``start`` ranges.
    """
    rng = random.Random(seed * 1_000_003 + start)
    title, country, stage, industry = _Pick(TITLES), _Pick(COUNTRIES), _Pick(STAGES), _Pick(INDUSTRIES)
    band = _Pick(list(zip(BANDS, (10, 20, 15, 15, 20, 10, 10), strict=False)))
    owners = list(owner_ids)
    rows = []
    for n in range(start, start + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(('Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Tyrell', 'Cyberdyne'))} {rng.choice(('Labs', 'Corp', 'GmbH', 'Ltd', 'Inc', 'Group'))}"
        domain = company.lower().replace(" ", "") + ".example"
        row = {
            "email": f"{first.lower()}.{last.lower()}.{n}@{domain}".encode("ascii", "ignore").decode(),
            "firstname": first, "lastname": last, "jobtitle": title(rng), "company": company,
            "website": f"https://{domain}", "country": country(rng), "numemployees": band(rng), "lifecyclestage": stage(rng),
        }
        trade = industry(rng)
        if trade:
            row["industry"] = trade
        if owners:
            row["hubspot_owner_id"] = rng.choice(owners)
        if rng.random() < 0.3:
            row["annualrevenue"] = str(rng.choice((250_000, 1_000_000, 5_000_000, 20_000_000, 100_000_000)))
        rows.append(row)
    return rows


def _unassigned_hot_lead() -> dict[str, str]:
    """The one deliberately broken contact: a strong fit with no owner (see the module docstring)."""
    return {"email": UNASSIGNED_EMAIL, "firstname": "Riley", "lastname": "Unassigned", "jobtitle": "VP of Marketing",
            "company": "Northwind Labs", "website": "https://northwind-labs.example", "country": "United States",
            "industry": "Software", "numemployees": "100-500", "lifecyclestage": "lead"}


def load_demo(store: Store, contacts: int = 5000, seed: int = 42, months: int = 6, activity: bool = True) -> list[str]:
    """Fill a store with a demo portal; returns the contact ids. Deterministic for (contacts, seed, clock)."""
    rng = random.Random(seed)
    owners = load_owners(store)
    now = store.clock.now_ms()
    span = months * 30 * DAY_MS
    forms = load_forms(store, rng, now - span - 30 * DAY_MS)
    rows = contact_rows(contacts, seed, owners)
    if rows:
        rows[0] = _unassigned_hot_lead()
    ids, created = [], []
    with store.lock:
        for i, row in enumerate(rows):
            born = now - (rng.randrange(14 * DAY_MS, 45 * DAY_MS) if i == 0 else rng.randrange(span))
            record = store.create("contacts", row, admin=True, modified_at_ms=born + rng.randrange(max(1, now - born)), created_at_ms=born)
            ids.append(record.id)
            created.append(born)
        if activity:
            generate_activity(store, rng, ids, rows, created, forms, now, span)
        load_deals(store, seed, ids, rows, created, now)
    return ids
