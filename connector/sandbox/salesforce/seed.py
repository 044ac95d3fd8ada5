"""Seeded orgs: the users every org has, and a realistic demo org, deterministic for a random seed.

``--seed empty`` still has users: an admin, the integration user (whose profile's permission set is
assigned to it, as Salesforce shows profiles in ``PermissionSetAssignment``) and six sales reps who
own records. ``--seed demo`` adds accounts (industry, size, revenue, country), contacts, leads (job
titles, lead source, status, rating), campaigns of several types with their member statuses
(webinars: Registered/Attended/No Show; content: Sent/Downloaded; web forms: Submitted; e-mail:
Sent/Opened/Clicked; a trade show), months of Tasks (e-mails and calls by ``TaskSubtype``/``Type``)
and Events (discovery calls, demos), converted leads with their contacts, accounts and won/lost
opportunities (with contact roles), and a few deleted and merged leads for ``queryAll``. A hidden
interest level per person drives their activity, so a scoring model finds signal. Nothing is dated
after the org clock's now.
"""

from __future__ import annotations

import random
import typing as t

from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.ops import convert_lead, merge
from connector.sandbox.salesforce.org import Org, Record
from connector.sandbox.salesforce.writes import Writer
from connector.sandbox.sampling import WeightedChoice

__all__ = ["ADMIN_USERNAME", "INTEGRATION_USERNAME", "REPS", "load_demo", "load_users", "person_rows"]

ADMIN_USERNAME = "admin@sandbox-org.example"
INTEGRATION_USERNAME = "integration@sandbox-org.example"
REPS = (("ava.lopez", "Ava", "Lopez", "Account Executive"), ("ben.okafor", "Ben", "Okafor", "Account Executive"),
        ("chloe.martin", "Chloe", "Martin", "Sales Development Rep"), ("dev.patel", "Dev", "Patel", "Sales Development Rep"),
        ("elena.rossi", "Elena", "Rossi", "Account Executive"), ("felix.wong", "Felix", "Wong", "Sales Manager"))
FIRST = ("Alex", "Sam", "Maria", "Jon", "Priya", "Li", "Fatima", "Lukas", "Emma", "Noah", "Olivia", "Mateo", "Yuki", "Aisha", "Tom", "Sofia", "Omar", "Ingrid", "Carlos", "Mei")
LAST = ("Smith", "Garcia", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Cohen", "Dubois", "Novak", "Sato", "Khan", "Jensen", "Brown", "Ivanova", "Moreau", "O'Brien")
TITLES = (("Chief Executive Officer", 5), ("CTO", 4), ("VP of Marketing", 6), ("VP Sales", 6), ("Head of Growth", 5), ("Director of Demand Gen", 4),
          ("Marketing Manager", 14), ("Sales Manager", 10), ("Software Engineer", 12), ("Data Analyst", 8), ("Marketing Intern", 5),
          ("Student", 4), ("Operations Director", 6), ("Account Executive", 8), ("Consultant", 6))
COUNTRIES = (("United States", 35), ("United Kingdom", 12), ("Germany", 10), ("France", 8), ("Canada", 7), ("India", 8), ("Brazil", 5),
             ("Australia", 5), ("Netherlands", 4), ("Japan", 3), ("Nigeria", 3))
CITIES = {"United States": "Austin", "United Kingdom": "London", "Germany": "Berlin", "France": "Paris", "Canada": "Toronto", "India": "Bengaluru",
          "Brazil": "São Paulo", "Australia": "Sydney", "Netherlands": "Amsterdam", "Japan": "Tokyo", "Nigeria": "Lagos"}
INDUSTRIES = (("Software", 18), ("SaaS", 10), ("Internet", 8), ("Financial Services", 10), ("Healthcare", 8), ("Retail", 8), ("Manufacturing", 9),
              ("Education", 6), ("Consulting", 7), ("Telecommunications", 5), ("Government", 3), ("Not For Profit", 3))
SIZES = ((3, 8), (12, 12), (40, 14), (120, 18), (350, 16), (900, 12), (2500, 10), (8000, 6), (25000, 4))
SOURCES = (("Web", 35), ("Webinar", 12), ("Partner Referral", 10), ("Purchased List", 8), ("Trade Show", 8), ("Advertisement", 12), ("Phone Inquiry", 5), ("Other", 10))
WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Aperture",
         "Monarch", "Oscorp", "Pied Piper", "Dunder", "Gringotts", "Nakatomi", "Massive")
SUFFIXES = ("Inc", "GmbH", "Ltd", "Labs", "Systems", "Group", "Analytics", "Health", "Retail", "Bank")
FREE_MAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")
CAMPAIGNS = (  # name, type, statuses (name, responded), start days ago, interest needed
    ("Webinar: Lead scoring 101", "Webinar", (("Registered", False), ("Attended", True), ("No Show", False)), 150, 0.25),
    ("Webinar: RevOps in practice", "Webinar", (("Registered", False), ("Attended", True), ("No Show", False)), 60, 0.3),
    ("E-book: The lead scoring playbook", "Content", (("Sent", False), ("Downloaded", True)), 170, 0.1),
    ("Whitepaper: Pipeline benchmarks", "Content", (("Sent", False), ("Downloaded", True)), 80, 0.2),
    ("Website: Contact sales form", "Web Form", (("Submitted", True),), 175, 0.6),
    ("Website: Demo request form", "Web Form", (("Submitted", True),), 175, 0.7),
    ("Website: Newsletter signup", "Web Form", (("Submitted", True),), 175, 0.05),
    ("Newsletter (monthly)", "Email", (("Sent", False), ("Opened", True), ("Clicked", True)), 175, 0.0),
    ("Product launch e-mail", "Email", (("Sent", False), ("Opened", True), ("Clicked", True)), 45, 0.0),
    ("SaaS Expo booth", "Trade Show", (("Invited", False), ("Visited booth", True)), 100, 0.35),
)
HOUR_MS, DAY_MS = 3_600_000, 86_400_000



def _create(org: Org, writer: Writer, sobject: str, values: dict[str, t.Any]) -> Record:
    obj = org.obj(sobject)
    assert obj is not None
    return writer.create(obj, values, None)


def load_users(org: Org, writer: Writer) -> dict[str, str]:
    """The admin, the integration user (with its profile permission set) and the reps; ``{username: id}``."""
    ids: dict[str, str] = {}
    for username, first, last, title in (("admin", "Sandbox", "Admin", "Salesforce Administrator"), ("integration", "Scoring", "Integration", "Integration User"), *REPS):
        user = _create(org, writer, "User", {"Username": f"{username}@sandbox-org.example", "FirstName": first, "LastName": last, "Title": title,
                                              "Email": f"{username}@sandbox-org.example", "Alias": (first[0] + last)[:8].lower(), "IsActive": True})
        ids[user["Username"]] = user["Id"]
    org.integration_user_id = ids[INTEGRATION_USERNAME]
    profile = _create(org, writer, "PermissionSet", {"Name": "X00e5g000001Integration", "Label": "Integration Profile", "IsOwnedByProfile": True, "IsCustom": False})
    _create(org, writer, "PermissionSetAssignment", {"AssigneeId": org.integration_user_id, "PermissionSetId": profile["Id"]})
    return ids


def person_rows(count: int, seed: int = 42, start: int = 0) -> list[dict[str, t.Any]]:
    """``count`` generated lead field dicts (unique e-mails for distinct ``start`` ranges), with a hidden ``_interest``."""
    rng = random.Random(seed * 1_000_003 + start)
    title, country, industry, size, source = WeightedChoice(TITLES), WeightedChoice(COUNTRIES), WeightedChoice(INDUSTRIES), WeightedChoice(SIZES), WeightedChoice(SOURCES)
    rows = []
    for n in range(start, start + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(WORDS)} {rng.choice(SUFFIXES)}"
        domain = rng.choice(FREE_MAIL) if rng.random() < 0.12 else company.lower().replace(" ", "").replace("'", "") + ".example"
        land = country(rng)
        employees = int(size(rng) * rng.uniform(0.7, 1.3))
        rows.append({
            "FirstName": first, "LastName": last, "Email": f"{first.lower()}.{last.lower().replace(chr(39), '')}.{n}@{domain}", "Title": title(rng),
            "Company": company, "Industry": industry(rng), "NumberOfEmployees": employees,
            "AnnualRevenue": float(round(employees * rng.uniform(80_000, 250_000), -3)) if rng.random() < 0.6 else None,
            "Country": land, "City": CITIES[land], "Phone": f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}" if rng.random() < 0.55 else None,
            "LeadSource": source(rng), "Rating": rng.choice(("Hot", "Warm", "Cold", None)), "Website": f"https://www.{domain}",
            "_interest": rng.random() ** 2,
        })
    return rows


def load_demo(org: Org, writer: Writer, leads: int = 5000, contacts: int = 2000, seed: int = 42, months: int = 6) -> dict[str, int]:
    """Fill an org that has its users (see :func:`load_users`) with the demo data; returns counts per object."""
    rng = random.Random(seed)
    now = org.clock.now_ms()
    span = months * 30 * DAY_MS
    reps = [u["Id"] for u in org.tables["user"].values() if str(u["Username"]).split("@")[0] in {r[0] for r in REPS}]
    people: list[tuple[Record, float, str]] = []  # (record, interest, sobject)
    accounts: dict[str, Record] = {}
    for row in person_rows(contacts, seed, start=0):
        interest = row.pop("_interest")
        created = now - rng.randrange(DAY_MS, span)
        account = accounts.get(row["Company"])
        if account is None:
            account = _create(org, writer, "Account", {"Name": row["Company"], "Industry": row["Industry"], "NumberOfEmployees": row["NumberOfEmployees"],
                                                       "AnnualRevenue": row["AnnualRevenue"], "BillingCountry": row["Country"], "BillingCity": row["City"],
                                                       "Website": row["Website"], "Type": rng.choice(("Prospect", "Customer - Direct")), "OwnerId": rng.choice(reps),
                                                       "CreatedDate": created - DAY_MS})
            accounts[row["Company"]] = account
        contact = _create(org, writer, "Contact", {"AccountId": account["Id"], "FirstName": row["FirstName"], "LastName": row["LastName"], "Email": row["Email"],
                                                   "Title": row["Title"], "Phone": row["Phone"], "LeadSource": row["LeadSource"], "MailingCountry": row["Country"],
                                                   "MailingCity": row["City"], "OwnerId": rng.choice(reps), "CreatedDate": created})
        people.append((contact, interest, "Contact"))
    for row in person_rows(leads, seed, start=10_000_000):
        interest = row.pop("_interest")
        created = now - rng.randrange(DAY_MS, span)
        status = "Working - Contacted" if interest > 0.4 else rng.choice(("Open - Not Contacted", "Open - Not Contacted", "Closed - Not Converted"))
        lead = _create(org, writer, "Lead", {**row, "Status": status, "OwnerId": rng.choice(reps), "CreatedDate": created,
                                             "HasOptedOutOfEmail": rng.random() < 0.04})
        people.append((lead, interest, "Lead"))
    _conversions(org, writer, rng, people, now)  # first: a converted lead's later activity is logged on its contact
    _campaigns(org, writer, rng, people, now, reps)
    _activities(org, writer, rng, people, now)
    _deletions(org, writer, rng, people, now)
    return org.counts()


def _between(rng: random.Random, start: int, end: int) -> int:
    return start + rng.randrange(max(1, end - start))


def _campaigns(org: Org, writer: Writer, rng: random.Random, people: list[tuple[Record, float, str]], now: int, reps: list[str]) -> None:
    for name, kind, statuses, days_ago, needed in CAMPAIGNS:
        start = now - days_ago * DAY_MS
        campaign = _create(org, writer, "Campaign", {"Name": name, "Type": kind, "Status": "In Progress", "IsActive": True, "OwnerId": reps[0],
                                                     "StartDate": timefmt.ms_to_date(start), "CreatedDate": start - 7 * DAY_MS})
        org.member_statuses[campaign["Id"]] = dict(statuses)
        for person, interest, sobject in people:
            joined = max(start, int(person["CreatedDate"]))
            if joined >= now - HOUR_MS or rng.random() > (0.08 + interest) * (0.35 if kind != "Email" else 0.9) or interest < needed * rng.random():
                continue
            responded = [s for s, r in statuses if r]
            waiting = [s for s, r in statuses if not r] or responded
            status = rng.choice(responded) if responded and rng.random() < 0.2 + interest else rng.choice(waiting)
            when = _between(rng, joined, now - HOUR_MS)
            key = "LeadId" if sobject == "Lead" else "ContactId"
            extra = {"ContactId": person["ConvertedContactId"]} if person.get("ConvertedContactId") else {}
            _create(org, writer, "CampaignMember", {"CampaignId": campaign["Id"], key: person["Id"], **extra, "Status": status, "CreatedDate": when,
                                                    "FirstRespondedDate": timefmt.ms_to_date(when) if dict(statuses)[status] else None})


def _activities(org: Org, writer: Writer, rng: random.Random, people: list[tuple[Record, float, str]], now: int) -> None:
    for person, interest, _sobject in people:
        created = int(person["CreatedDate"])
        owner = person["OwnerId"]
        who = person.get("ConvertedContactId") or person["Id"]  # conversion moved the lead's activities to its contact
        for _ in range(int(interest * 8) + rng.randrange(2)):
            when = _between(rng, created, now - HOUR_MS)
            _create(org, writer, "Task", {"WhoId": who, "OwnerId": owner, "Subject": rng.choice(("Email: Following up", "Email: Lead scoring guide", "Email: Quick question")),
                                          "TaskSubtype": "Email", "Type": "Email", "Status": "Completed", "Priority": "Normal",
                                          "ActivityDate": timefmt.ms_to_date(when), "CreatedDate": when})
        for _ in range(int(interest * 4) + (rng.random() < 0.3)):
            when = _between(rng, created, now - HOUR_MS)
            _create(org, writer, "Task", {"WhoId": who, "OwnerId": owner, "Subject": "Call", "TaskSubtype": "Call", "Type": "Call",
                                          "CallType": "Outbound", "CallDurationInSeconds": rng.randrange(30, 1800), "Status": "Completed", "Priority": "Normal",
                                          "ActivityDate": timefmt.ms_to_date(when), "CreatedDate": when})
        if interest > 0.45:
            for subject in ("Discovery call", "Product demo")[: 1 + (interest > 0.7)]:
                start = _between(rng, created, now - 2 * HOUR_MS)
                minutes = rng.choice((30, 45, 60))
                _create(org, writer, "Event", {"WhoId": who, "OwnerId": owner, "Subject": subject, "Type": "Meeting",
                                               "StartDateTime": start, "EndDateTime": start + minutes * 60_000, "ActivityDateTime": start,
                                               "ActivityDate": timefmt.ms_to_date(start), "DurationInMinutes": minutes, "CreatedDate": start - DAY_MS if start - DAY_MS > created else created})


def _conversions(org: Org, writer: Writer, rng: random.Random, people: list[tuple[Record, float, str]], now: int) -> None:
    opportunity, role = org.obj("Opportunity"), org.obj("OpportunityContactRole")
    assert opportunity is not None and role is not None
    for person, interest, sobject in people:
        if sobject != "Lead" or interest < 0.6 or rng.random() > 0.55:
            continue
        when = _between(rng, int(person["CreatedDate"]) + HOUR_MS, now - HOUR_MS)
        ids = convert_lead(org, writer, person["Id"], create_opportunity=rng.random() < 0.75, when_ms=when)
        if ids["opportunityId"] is None:
            continue
        opp = org.table(opportunity)[ids["opportunityId"]]
        close_ms = when + rng.randrange(10, 120) * DAY_MS
        if close_ms < now:
            stage = "Closed Won" if rng.random() < 0.45 else "Closed Lost"
            writer.update(opportunity, opp, {"StageName": stage, "CloseDate": timefmt.ms_to_date(close_ms), "Amount": float(rng.randrange(5, 120) * 1000),
                                             "Probability": 100.0 if stage == "Closed Won" else 0.0}, None, stamp=timefmt.truncate_to_second(close_ms))
        else:
            stage = rng.choice(("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review"))
            writer.update(opportunity, opp, {"StageName": stage, "CloseDate": timefmt.ms_to_date(close_ms), "Amount": float(rng.randrange(5, 120) * 1000)},
                          None, stamp=timefmt.truncate_to_second(when))
        writer.create(role, {"OpportunityId": opp["Id"], "ContactId": ids["contactId"], "Role": "Decision Maker", "IsPrimary": True, "CreatedDate": when}, None)


def _deletions(org: Org, writer: Writer, rng: random.Random, people: list[tuple[Record, float, str]], now: int) -> None:
    lead_obj = org.obj("Lead")
    assert lead_obj is not None
    leads = [p for p, _i, s in people if s == "Lead" and not p.get("IsConverted")]
    for lead in rng.sample(leads, k=len(leads) // 70):
        if not lead.get("IsDeleted"):
            writer.delete(lead_obj, lead, None)
    for original in rng.sample([p for p in leads if not p.get("IsDeleted")], k=len(leads) // 100):
        duplicate = writer.create(lead_obj, {k: original.get(k) for k in ("FirstName", "LastName", "Company", "Title", "Country", "LeadSource", "OwnerId")}
                                  | {"Email": "dup." + str(original["Email"]), "CreatedDate": _between(rng, int(original["CreatedDate"]), now - HOUR_MS)}, None)
        merge(org, "Lead", original["Id"], [duplicate["Id"]])
