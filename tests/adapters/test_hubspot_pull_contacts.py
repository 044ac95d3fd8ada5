"""Incremental contact pull: (since, until] windows, cursors, and no contact missed at any volume."""

from __future__ import annotations

from connector.adapters.base import Reject
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import T0, at, make_adapter


def test_window_is_since_exclusive_until_inclusive_and_oldest_first(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    ids = {}
    for offset in (-5, 0, 3, 7, 10, 11):
        ids[offset] = sandbox.store.add_contacts([{"email": f"c{offset}@x.io", "jobtitle": "CTO"}], modified_at_ms=T0 + offset)[0]
    pages = list(adapter.pull_contacts(at(T0), at(T0 + 10)))
    got = [c.id for p in pages for c in p.records]
    assert got == [ids[3], ids[7], ids[10]]
    assert pages[-1].cursor == at(T0 + 10)
    assert all(p.cursor is not None and p.cursor <= at(T0 + 10) for p in pages)
    contact = pages[0].records[0]
    assert contact.email == "c3@x.io" and contact.properties["job_title"] == "CTO" and contact.updated_at == at(T0 + 3)


def test_full_resync_takes_everything_up_to_until(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    old = sandbox.store.add_contacts([{"email": "old@x.io"}], modified_at_ms=T0 - 86_400_000 * 400)
    new = sandbox.store.add_contacts([{"email": "new@x.io"}], modified_at_ms=T0)
    assert [c.id for p in adapter.pull_contacts(None, at(T0)) for c in p.records] == old + new


def test_more_than_10000_contacts_in_one_second_none_missed(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    """10,600 contacts inside one second: 10,000 spread over its milliseconds (10 per ms), and
    600 sharing one single millisecond (more than a search page), so both the keyset walk and
    its secondary-key fallback are exercised, far past the 10,000-results cap of one query."""
    expected: set[str] = set()
    for ms in range(1000):
        expected.update(sandbox.store.add_contacts([{"email": f"u{ms}-{i}@x.io"} for i in range(10)], modified_at_ms=T0 + ms))
    expected.update(sandbox.store.add_contacts([{"email": f"same{i}@x.io"} for i in range(600)], modified_at_ms=T0 + 500))
    adapter = make_adapter(sandbox, mapping)
    sandbox.requests_clear()
    seen: list[str] = []
    cursors = []
    for page in adapter.pull_contacts(at(T0 - 1), at(T0 + 999)):
        seen += [c.id for c in page.records]
        cursors.append(page.cursor)
    assert len(seen) == len(set(seen)) == 10_600
    assert set(seen) == expected
    assert cursors == sorted(cursors) and cursors[-1] == at(T0 + 999)
    statuses = {r.status for r in sandbox.requests}
    assert statuses == {200}, "no request ever hit the 10,000-result cap (400)"
    # each request starts at offset 0; cost stays near the floor of ceil(N/200) pages
    assert len(sandbox.requests) <= 10_600 / 200 * 1.25


def test_a_contact_modified_during_the_walk_shifts_nothing(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    """Offset paging would skip a record when an already-read one leaves the window; keyset does not."""
    ids = [sandbox.store.add_contacts([{"email": f"w{i}@x.io"}], modified_at_ms=T0 + i)[0] for i in range(450)]
    walk = adapter.pull_contacts(None, at(T0 + 1000))
    first = next(walk)
    sandbox.clock.set_ms(T0 + 5000)
    sandbox.store.update_contact(first.records[0].id, {"jobtitle": "changed"})  # leaves the window
    rest = [c.id for p in walk for c in p.records]
    assert set(c.id for c in first.records) | set(rest) == set(ids)


def test_a_bad_record_is_rejected_and_the_page_goes_on(sandbox: HubSpotSandbox) -> None:
    from connector.adapters.hubspot.mapping import HubSpotMapping as M

    # a free-text property the admin declared as a number: one contact typed a letter O for a zero
    mapping = M.model_validate({"crm": "hubspot", "contacts": {"properties": {"revenue": {"property": "website", "type": "number"}}}})
    good = sandbox.store.add_contacts([{"email": "g@x.io", "website": "1200"}], modified_at_ms=T0)
    bad = sandbox.store.add_contacts([{"email": "b@x.io", "website": "12O0"}], modified_at_ms=T0)
    adapter = make_adapter(sandbox, mapping)
    (page,) = list(adapter.pull_contacts(None, at(T0)))
    assert [c.id for c in page.records] == good
    assert [r.record_id for r in page.rejects] == bad
    reject = page.rejects[0]
    assert isinstance(reject, Reject) and reject.stream == "contacts"
    assert "website" in reject.reason and reject.raw["properties"]["website"] == "12O0"
