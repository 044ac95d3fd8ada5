"""HubSpot's "Became a ... Date" properties: the sandbox stamps them, the adapter reads them as stage dates."""

from __future__ import annotations

import types

import pytest

from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.errors import ApiError
from tests.adapters.conftest import T0, at


def test_a_lifecycle_change_stamps_its_date_and_the_pull_reads_it_into_stage_dates(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    cid = sandbox.store.add_contacts([{"email": "m@x.io", "lifecyclestage": "lead"}], modified_at_ms=T0 - 10_000)[0]
    sandbox.clock.set_ms(T0 - 5_000)
    sandbox.store.update_contact(cid, {"lifecyclestage": "marketingqualifiedlead"})
    sandbox.store.update_contact(cid, {"jobtitle": "CMO"})  # no stage change: the MQL date stays
    record = sandbox.store.get("contacts", cid)
    assert record is not None
    assert "hs_lifecyclestage_lead_date" in record.properties
    (contact,) = [c for p in adapter.pull_contacts(None, at(T0)) for c in p.records]
    assert contact.stage_dates == {"lead": at(T0 - 10_000), "mql": at(T0 - 5_000)}


def test_an_unreadable_stage_date_quarantines_the_contact_with_the_property_named(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    from connector.adapters.base import Reject
    from connector.adapters.hubspot.contacts import translate_contact

    raw = types.SimpleNamespace(
        id="7", properties={"email": "a@b.c", "hs_lifecyclestage_marketingqualifiedlead_date": "yesterday", "lastmodifieddate": "2026-01-01T00:00:00Z"}
    )
    got = translate_contact(raw, mapping)
    assert isinstance(got, Reject)
    assert "hs_lifecyclestage_marketingqualifiedlead_date" in got.reason and "stage date of mql" in got.reason


def test_check_reports_a_stage_date_property_the_portal_lacks(sandbox: HubSpotSandbox, adapter: HubSpotAdapter, tmp_path) -> None:
    from connector.adapters.hubspot import load_mapping
    from tests.adapters.conftest import EXAMPLE_MAPPING, make_adapter

    text = EXAMPLE_MAPPING.read_text().replace("sql: hs_lifecyclestage_salesqualifiedlead_date", "sql: hs_lifecyclestage_salesqualified_date")
    path = tmp_path / "hubspot.yaml"
    path.write_text(text)
    checked = make_adapter(sandbox, load_mapping(path))
    problems = [p for p in checked.check([]) if p.key.startswith("contacts.stage_dates")]
    checked.close()
    assert [p.key for p in problems] == ["contacts.stage_dates.sql"]
    assert "hs_lifecyclestage_salesqualified_date" in problems[0].message and problems[0].line > 0


def test_the_stage_dates_are_read_only_for_an_app(sandbox: HubSpotSandbox) -> None:
    cid = sandbox.store.add_contacts([{"email": "r@x.io"}])[0]
    with pytest.raises(ApiError) as refused:
        sandbox.store.update("contacts", cid, {"hs_lifecyclestage_customer_date": "2026-01-01T00:00:00Z"})
    assert refused.value.status == 400 and "READ_ONLY_VALUE" in str(refused.value.body)
