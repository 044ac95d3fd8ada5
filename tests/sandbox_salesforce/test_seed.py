"""The demo org: deterministic, realistic (titles, industries, sizes, countries, campaigns, activity, conversions), nothing in the future."""

from __future__ import annotations

import collections
import typing as t

import pytest

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.salesforce.timefmt import ms_to_date
from connector.sandbox.testing import salesforce_client

NOW = 1_736_942_400_000


@pytest.fixture(scope="module")
def demo() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(seed="demo", seed_leads=800, seed_contacts=300, clock=SandboxClock(frozen_ms=NOW)) as sandbox:
        yield sandbox


def test_deterministic_for_a_seed(demo: SalesforceSandbox) -> None:
    with SalesforceSandbox(seed="demo", seed_leads=800, seed_contacts=300, clock=SandboxClock(frozen_ms=NOW)) as again:
        assert again.org.counts() == demo.org.counts()
        assert again.org.tables["lead"] == demo.org.tables["lead"]
    with SalesforceSandbox(seed="demo", seed_leads=800, seed_contacts=300, random_seed=7, clock=SandboxClock(frozen_ms=NOW)) as other:
        assert other.org.tables["lead"] != demo.org.tables["lead"]


def test_nothing_is_dated_after_now(demo: SalesforceSandbox) -> None:
    today = ms_to_date(NOW)
    for table in demo.org.tables.values():
        for row in table.values():
            for key in ("CreatedDate", "LastModifiedDate", "SystemModstamp", "StartDateTime", "EndDateTime", "CompletedDateTime"):
                assert row.get(key) is None or row[key] <= NOW, (key, row)
            for key in ("ActivityDate", "ConvertedDate", "FirstRespondedDate", "StartDate"):
                assert row.get(key) is None or row[key] <= today, (key, row)
            if row.get("IsClosed") and "CloseDate" in row:
                assert row["CloseDate"] <= today


def test_people_have_a_spread_a_scoring_model_can_use(demo: SalesforceSandbox) -> None:
    leads = [r for r in demo.org.tables["lead"].values() if not r["IsDeleted"]]
    titles = collections.Counter(r["Title"] for r in leads)
    assert len(titles) >= 12 and any("VP" in t or "Head" in t for t in titles) and titles["Student"] > 0
    assert {"Software", "SaaS", "Financial Services", "Retail"} <= {r["Industry"] for r in leads}
    assert {"United States", "Germany", "Canada", "India"} <= {r["Country"] for r in leads}
    sizes = [r["NumberOfEmployees"] for r in leads]
    assert min(sizes) < 10 and max(sizes) > 5000 and 0.2 < sum(50 <= s <= 5000 for s in sizes) / len(sizes) < 0.9
    assert sum(1 for r in leads if r["Email"].endswith(("gmail.com", "yahoo.com", "hotmail.com", "outlook.com"))) > 0


def test_campaigns_activity_conversions_and_opportunities(demo: SalesforceSandbox) -> None:
    sf = salesforce_client(demo)
    types = {r["Type"] for r in sf.query("SELECT Type FROM Campaign")["records"]}
    assert {"Webinar", "Content", "Web Form", "Email", "Trade Show"} <= types
    statuses = {r["Status"] for r in sf.query_all("SELECT Status FROM CampaignMember WHERE Campaign.Type = 'Webinar'")["records"]}
    assert statuses == {"Registered", "Attended", "No Show"}
    assert sf.query("SELECT COUNT() FROM CampaignMember WHERE HasResponded = true")["totalSize"] > 50
    subtypes = collections.Counter(r["TaskSubtype"] for r in sf.query_all("SELECT TaskSubtype FROM Task")["records"])
    assert subtypes["Email"] > subtypes["Call"] > 0
    assert {r["Subject"] for r in sf.query_all("SELECT Subject FROM Event WHERE Type = 'Meeting'")["records"]} == {"Discovery call", "Product demo"}
    converted = sf.query_all("SELECT ConvertedContactId, ConvertedAccountId, ConvertedDate FROM Lead WHERE IsConverted = true")["records"]
    assert len(converted) > 10 and all(r["ConvertedContactId"] and r["ConvertedAccountId"] and r["ConvertedDate"] for r in converted)
    opportunities = sf.query_all("SELECT StageName, IsWon, IsClosed, CloseDate, Account.Name FROM Opportunity")["records"]
    assert {"Closed Won", "Closed Lost"} <= {o["StageName"] for o in opportunities}
    assert all(o["IsWon"] == (o["StageName"] == "Closed Won") for o in opportunities) and all(o["Account"] for o in opportunities)
    assert sf.query("SELECT COUNT() FROM OpportunityContactRole WHERE IsPrimary = true")["totalSize"] == len(opportunities)
    gone = sf.query_all("SELECT Id, MasterRecordId FROM Lead WHERE IsDeleted = true", include_deleted=True)["records"]
    assert gone and any(r["MasterRecordId"] for r in gone) and any(not r["MasterRecordId"] for r in gone)


def test_integration_user_and_owners(demo: SalesforceSandbox) -> None:
    sf = salesforce_client(demo)
    owners = {r["OwnerId"] for r in sf.query_all("SELECT OwnerId FROM Lead")["records"]}
    assert len(owners) == 6 and demo.integration_user_id not in owners
    profile = sf.query(f"SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile FROM PermissionSetAssignment WHERE AssigneeId = '{demo.integration_user_id}'")
    assert profile["records"][0]["PermissionSet"]["IsOwnedByProfile"] is True
