"""The keyset walk: thousands of leads on one SystemModstamp, a query locator killed mid-walk, the window's edges, deletions."""

from __future__ import annotations

import datetime as dt

from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import salesforce_client
from tests.adapters.salesforce.conftest import T0, make_adapter

NOW = dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)


def test_ties_on_one_stamp_and_a_killed_locator_lose_nothing_and_read_nothing_twice(sandbox: SalesforceSandbox) -> None:
    ids = sandbox.app.add_leads(4500, modstamp_ms=T0 - 60_000)  # three pages, all in one second
    adapter = make_adapter(sandbox)
    other = salesforce_client(sandbox)
    seen: list[str] = []
    try:
        for n, page in enumerate(adapter.pull_contacts(None, NOW)):
            seen += [c.id for c in page.records]
            if n == 0:
                # The same user opens 10 more cursors: Salesforce closes the oldest, ours (INVALID_QUERY_LOCATOR next).
                for _ in range(10):
                    other.query("SELECT Id FROM Lead")
        assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
        assert adapter.stats.by_endpoint["GET queryAll"] >= 2, "the walk never had to resume: the test proves too little"
    finally:
        adapter.close()


def test_window_edges_and_people_who_left(sandbox: SalesforceSandbox) -> None:
    early, edge, late = (sandbox.insert("Lead", [{"LastName": n, "Company": "Acme", "Email": f"{n}@acme.io"}]) for n in ("early", "edge", "late"))
    stamp = {early[0]: T0 - 120_000, edge[0]: T0 - 60_000, late[0]: T0 + 60_000}
    for rid, ms in stamp.items():
        sandbox.org.tables["lead"][rid]["SystemModstamp"] = ms
    adapter = make_adapter(sandbox)
    try:
        since = dt.datetime.fromtimestamp((T0 - 60_000) / 1000 + 0.4, tz=dt.UTC)  # mid-second: that whole second is read again
        pages = list(adapter.pull_contacts(since, NOW))
        assert [c.id for p in pages for c in p.records] == edge
        assert pages[-1].cursor == NOW and all(p.cursor is None or p.cursor <= NOW for p in pages)
        contact = sandbox.insert("Contact", [{"LastName": "Ng", "Email": "ng@acme.io"}])[0]
        sandbox.clock.advance(seconds=1)
        converted = requests_post(sandbox, "/_sandbox/convert", {"leadId": early[0], "contactId": contact})
        deleted = edge[0]
        salesforce_client(sandbox).Lead.delete(deleted)
        later = dt.datetime.fromtimestamp(sandbox.clock.now_ms() / 1000, tz=dt.UTC)
        gone: dict[str, str | None] = {}
        people: list[str] = []
        for page in adapter.pull_contacts(NOW - dt.timedelta(seconds=1), later):
            gone.update(page.gone)
            people += [c.id for c in page.records]
        assert gone == {early[0]: converted["contactId"], deleted: None}
        assert contact in people and early[0] not in people

        loser = sandbox.insert("Contact", [{"LastName": "Ng (duplicate)", "Email": "ng2@acme.io"}])[0]
        sandbox.clock.advance(seconds=1)
        requests_post(sandbox, "/_sandbox/merge", {"sobject": "Contact", "masterId": contact, "mergedIds": [loser]})
        since, later = later, dt.datetime.fromtimestamp(sandbox.clock.now_ms() / 1000, tz=dt.UTC)
        merged = {k: v for page in adapter.pull_contacts(since, later) for k, v in page.gone.items()}
        assert merged[loser] == contact  # (the second the previous pull ended in is read again: its two are there too)
    finally:
        adapter.close()


def requests_post(sandbox: SalesforceSandbox, path: str, body: dict[str, object]) -> dict[str, str]:
    import requests

    return requests.post(sandbox.instance_url + path, json=body, verify=sandbox.ca_path, timeout=10).json()  # type: ignore[no-any-return]
