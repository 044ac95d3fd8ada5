"""Paging: 2,000 records per page, Sforce-Query-Options batchSize, nextRecordsUrl, dead locators, query_all_iter."""

from __future__ import annotations

import typing as t

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import api


@pytest.fixture()
def many(sandbox: SalesforceSandbox) -> list[str]:
    return sandbox.app.add_leads(4500, seed=3)


def test_default_page_is_2000_with_next_records_url(sf: t.Any, many: list[str]) -> None:
    first = sf.query("SELECT Id FROM Lead ORDER BY Id")
    assert first["totalSize"] == 4500 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g") and first["nextRecordsUrl"].endswith("-2000")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 2000 and third["done"] is True and "nextRecordsUrl" not in third and len(third["records"]) == 500
    ids = [r["Id"] for page in (first, second, third) for r in page["records"]]
    assert ids == sorted(many)


def test_batch_size_header_and_clamping(sf: t.Any, many: list[str]) -> None:
    page = sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500 and page["nextRecordsUrl"].endswith("-500")
    nxt = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(nxt["records"]) == 500
    assert len(sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=50"})["records"]) == 200
    assert len(sf.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=9000"})["records"]) == 2000


def test_query_all_iter_walks_every_page(sf: t.Any, sandbox: SalesforceSandbox, many: list[str]) -> None:
    sandbox.requests_clear()
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id, Email FROM Lead WHERE Company != null ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=1000"})]
    assert ids == sorted(many)
    assert len(sandbox.requests) == 5  # ceil(4500 / 1000) pages
    assert sf.query_all("SELECT Id FROM Lead")["totalSize"] == 4500


def test_limit_below_a_page_closes_the_cursor(sf: t.Any, sandbox: SalesforceSandbox, many: list[str]) -> None:
    page = sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2000")
    assert page["done"] is True and len(page["records"]) == 2000
    assert sandbox.app.cursors.open_count == 0


def test_a_read_locator_is_dead(sf: t.Any, http: requests.Session, sandbox: SalesforceSandbox, many: list[str]) -> None:
    first = sf.query("SELECT Id FROM Lead")
    sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert err.value.content == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
    assert http.get(api(sandbox, "query/01g5gnothing-2000")).json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_an_eleventh_cursor_closes_the_oldest(sf: t.Any, many: list[str]) -> None:
    pages = [sf.query("SELECT Id FROM Lead") for _ in range(11)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_more(pages[0]["nextRecordsUrl"], identifier_is_url=True)
    assert len(sf.query_more(pages[10]["nextRecordsUrl"], identifier_is_url=True)["records"]) == 2000
