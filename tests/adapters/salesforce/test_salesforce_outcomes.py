"""Outcomes and fetch by id against the Salesforce sandbox, over HTTPS through simple-salesforce.

A lead converted through the org (admin endpoint, as a sales rep's "Convert" does) is an outcome
``converted`` of its contact dated ``ConvertedDate``; an opportunity moved to Closed Won is an
outcome ``closed_won`` of its primary contact with ``CloseDate`` and ``Amount``; an incremental
pull sees a later win; ``read_contacts`` reads current Leads and Contacts by id and leaves out
converted, deleted and unknown ones, hostile ids included.
"""

from __future__ import annotations

import datetime as dt
import typing as t
import urllib.parse

import requests

from connector.adapters.base import Outcome
from connector.adapters.salesforce import SalesforceAdapter
from connector.adapters.salesforce.mapping import SalesforceMapping
from connector.sandbox.salesforce import SalesforceSandbox
from tests.adapters.salesforce.conftest import T0, make_adapter
from tests.adapters.salesforce.test_salesforce_soql_escaping import HOSTILE

NOW = dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)


def _admin(sandbox: SalesforceSandbox, method: str, path: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
    answer = requests.request(method, sandbox.instance_url + path, json=body, verify=sandbox.ca_path, timeout=10)
    assert answer.ok, answer.text
    return answer.json() if answer.content else {}  # type: ignore[no-any-return]


def _convert(sandbox: SalesforceSandbox, lead: str, **extra: t.Any) -> dict[str, t.Any]:
    return _admin(sandbox, "POST", "/_sandbox/convert", {"leadId": lead, **extra})


def _win(sandbox: SalesforceSandbox, opportunity: str, amount: float | None, close: str) -> None:
    fields: dict[str, t.Any] = {"StageName": "Closed Won", "CloseDate": close}
    if amount is not None:
        fields["Amount"] = amount
    _admin(sandbox, "PATCH", f"/_sandbox/records/Opportunity/{opportunity}", {"fields": fields})


def _now(sandbox: SalesforceSandbox) -> dt.datetime:
    """The sync's clock: a second after the org's (the pull reads the whole second it starts from again)."""
    return dt.datetime.fromtimestamp(sandbox.clock.now_ms() / 1000 + 1, tz=dt.UTC)


def _pull(adapter: SalesforceAdapter, since: dt.datetime | None, until: dt.datetime) -> tuple[list[Outcome], list[str], dt.datetime | None]:
    pages = list(adapter.pull_outcomes(since, until))
    return [o for p in pages for o in p.records], [r.reason for p in pages for r in p.rejects], pages[-1].cursor


def _leads(sandbox: SalesforceSandbox, n: int) -> list[str]:
    return sandbox.insert("Lead", [{"LastName": f"L{i}", "Company": f"Co{i}", "Email": f"l{i}@co{i}.io"} for i in range(n)])


def test_converted_leads_and_won_opportunities_then_an_incremental_win(sandbox: SalesforceSandbox) -> None:
    a, b, c, d = _leads(sandbox, 4)
    sandbox.clock.advance(seconds=5)
    conv_a = _convert(sandbox, a, createOpportunity=True)
    conv_b = _convert(sandbox, b, createOpportunity=True)
    conv_c = _convert(sandbox, c)  # converted, no opportunity
    _win(sandbox, conv_a["opportunityId"], 12000.0, "2026-01-10")
    lost = conv_b["opportunityId"]
    _admin(sandbox, "PATCH", f"/_sandbox/records/Opportunity/{lost}", {"fields": {"StageName": "Closed Lost"}})
    account = sandbox.get("Contact", conv_a["contactId"])["AccountId"]  # type: ignore[index]
    nobody = sandbox.insert("Opportunity", [{"Name": "no contact", "AccountId": account, "StageName": "Closed Won", "CloseDate": "2026-01-11", "Amount": 5}])[0]
    adapter = make_adapter(sandbox)
    try:
        until = _now(sandbox)
        got, rejects, cursor = _pull(adapter, None, until)
        assert rejects == []
        converted_date = sandbox.get("Lead", a)["ConvertedDate"]  # type: ignore[index]
        assert sorted((o.kind, o.contact_id, o.source_id) for o in got) == sorted([
            ("converted", conv_a["contactId"], a), ("converted", conv_b["contactId"], b), ("converted", conv_c["contactId"], c),
            ("closed_won", conv_a["contactId"], conv_a["opportunityId"]),
        ]), f"lost {lost} and contact-less {nobody} are nobody's win; unconverted {d} is nobody's conversion"
        won = next(o for o in got if o.kind == "closed_won")
        assert won.occurred_at == dt.datetime(2026, 1, 10, tzinfo=dt.UTC) and won.amount == 12000.0
        first = next(o for o in got if o.source_id == a)
        assert first.occurred_at == dt.datetime.fromisoformat(converted_date).replace(tzinfo=dt.UTC) and first.amount is None
        assert cursor == until

        # Later: b's lost deal is reopened and won without an amount, d is converted. The next pull sees both, and not a again.
        sandbox.clock.advance(seconds=60)
        _win(sandbox, lost, None, "2026-01-16")
        conv_d = _convert(sandbox, d)
        later = _now(sandbox)
        again, rejects, cursor = _pull(adapter, cursor, later)
        assert rejects == [] and cursor == later
        assert sorted((o.kind, o.contact_id, o.source_id, o.amount) for o in again) == sorted([
            ("closed_won", conv_b["contactId"], lost, None), ("converted", conv_d["contactId"], d, None),
        ])
    finally:
        adapter.close()


def test_a_mapping_without_outcomes_reads_nothing_and_unreadable_ones_are_rejected(sandbox: SalesforceSandbox) -> None:
    (lead,) = _leads(sandbox, 1)
    conv = _convert(sandbox, lead, createOpportunity=True)
    _win(sandbox, conv["opportunityId"], 10.0, "2026-01-12")
    adapter = make_adapter(sandbox)
    try:
        adapter.mapping = SalesforceMapping.model_validate({"crm": "salesforce", "outcomes": {"converted_leads": False, "won_opportunities": False}})
        sandbox.requests_clear()
        got, rejects, cursor = _pull(adapter, None, _now(sandbox))
        assert (got, rejects, cursor, adapter.stats.calls) == ([], [], _now(sandbox), 0)
        adapter.mapping = SalesforceMapping.model_validate({"crm": "salesforce", "outcomes": {"converted_leads": False}})
        got, _, _ = _pull(adapter, None, _now(sandbox))
        assert [o.kind for o in got] == ["closed_won"]
    finally:
        adapter.close()


def test_fetch_by_id_returns_current_people_only(sandbox: SalesforceSandbox) -> None:
    live, converted, deleted = _leads(sandbox, 3)
    (contact,) = sandbox.insert("Contact", [{"LastName": "Ng", "Email": "ng@acme.io"}])
    conv = _convert(sandbox, converted)
    _admin(sandbox, "DELETE", f"/_sandbox/records/Lead/{deleted}", {})
    sandbox.update("Lead", live, {"Title": "VP Sales"})
    unknown = ["00Q000000000000AAA", "003000000000000AAA", "001000000000000AAA", ""]
    adapter = make_adapter(sandbox)
    try:
        pages = list(adapter.read_contacts([live, converted, deleted, contact, conv["contactId"], *unknown]))
        assert [r for p in pages for r in p.rejects] == [] and all(p.cursor is None for p in pages)
        by_id = {c.id: c for p in pages for c in p.records}
        assert sorted(by_id) == sorted([live, contact, conv["contactId"]])
        assert by_id[live].properties["job_title"] == "VP Sales" and by_id[contact].email == "ng@acme.io"
        assert list(adapter.read_contacts([])) == [] and adapter.stats.by_endpoint["GET query"] == 2, "one query per object asked for, none for no ids"

        # Hostile ids (each prefixed so it would reach its object's query) break nothing and find nothing:
        # Salesforce refuses a whole query over one malformed id (INVALID_QUERY_FILTER_OPERATOR), so
        # they are left out; the well-formed ids beside them are still read, quoted by format_soql.
        sandbox.requests_clear()
        hostile = [prefix + value for prefix in ("00Q", "003") for value in HOSTILE] + ["00Q5g0000000001' OR Id != '", "00Q' OR Id != '" + "x" * 3]
        assert [c.id for p in adapter.read_contacts([*hostile, live]) for c in p.records] == [live]
        queries = [urllib.parse.unquote_plus(r.query) for r in sandbox.requests if "/query" in r.path]
        assert len(queries) == 1 and not [r for r in sandbox.requests if r.status >= 400]
        assert f"Id IN ('{live}')" in queries[0], queries
    finally:
        adapter.close()


def test_the_demo_orgs_outcomes_are_what_its_records_say() -> None:
    from tests.sync.salesforce_support import make_sandbox

    with make_sandbox(leads=300, contacts=80) as sb:
        with sb.org.lock:
            leads = [dict(r) for r in sb.org.tables["lead"].values()]
            opportunities = [dict(r) for r in sb.org.tables["opportunity"].values()]
        expected = {("converted", r["ConvertedContactId"], r["Id"]) for r in leads if r.get("IsConverted") and not r.get("IsDeleted")}
        expected |= {("closed_won", r["ContactId"], r["Id"]) for r in opportunities if r.get("IsWon") and r.get("ContactId") and not r.get("IsDeleted")}
        assert {k for k, _, _ in expected} == {"converted", "closed_won"}, "the demo org has conversions and wins"
        adapter = make_adapter(sb)
        try:
            got, rejects, _ = _pull(adapter, None, _now(sb))
        finally:
            adapter.close()
        assert rejects == [] and len(got) == len(expected)
        assert {(o.kind, o.contact_id, o.source_id) for o in got} == expected
        amounts = {r["Id"]: r.get("Amount") for r in opportunities}
        assert all(o.amount == amounts[o.source_id] and o.occurred_at is not None for o in got if o.kind == "closed_won")
