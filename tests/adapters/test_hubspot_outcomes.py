"""Outcomes from the HubSpot sandbox: customers by their stage-entry date, won deals with their contacts."""

from __future__ import annotations

from connector.adapters.base import Outcome
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.seed_deals import open_deal, win_deal
from tests.adapters.conftest import T0, at, make_adapter

DAY = 86_400_000


def _outcomes(adapter: HubSpotAdapter, since_ms: int | None, until_ms: int) -> tuple[list[Outcome], list[str]]:
    pages = list(adapter.pull_outcomes(at(since_ms) if since_ms is not None else None, at(until_ms)))
    return [o for p in pages for o in p.records], [r.reason for p in pages for r in p.rejects]


def test_customers_and_won_deals_in_the_window(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    a, b, c, d = sandbox.store.add_contacts([{"email": f"{n}@x.io"} for n in "abcd"], modified_at_ms=T0 - 30 * DAY)
    deal_a = win_deal(sandbox.store, a, T0 - 2 * DAY, 12000.0)
    deal_bc = win_deal(sandbox.store, b, T0 - DAY, 5000.0)
    sandbox.store.associate("deals", deal_bc, "contacts", c)
    open_deal(sandbox.store, d, T0 - DAY, 8000.0)
    win_deal(sandbox.store, d, T0 - 40 * DAY, 1000.0)  # before the window
    got, rejects = _outcomes(adapter, T0 - 10 * DAY, T0)
    assert rejects == []
    assert sorted((o.kind, o.contact_id, o.source_id) for o in got) == sorted(
        [("customer", a, a), ("customer", b, b), ("closed_won", a, deal_a), ("closed_won", b, deal_bc), ("closed_won", c, deal_bc)]
    )
    won_a = next(o for o in got if o.source_id == deal_a)
    assert won_a.occurred_at == at(T0 - 2 * DAY) and won_a.amount == 12000.0
    assert next(o for o in got if o.kind == "customer" and o.contact_id == b).occurred_at == at(T0 - DAY)
    everything, _ = _outcomes(adapter, None, T0)
    assert {(o.kind, o.contact_id) for o in everything} >= {("customer", d), ("closed_won", d)}


def test_a_mapping_without_outcomes_sends_no_request(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    bare = mapping.model_copy(update={"outcomes": type(mapping.outcomes)()})
    adapter = make_adapter(sandbox, bare)
    sandbox.requests_clear()
    assert list(adapter.pull_outcomes(None, at(T0))) == []
    assert adapter.stats.calls == 0
    adapter.close()


def test_a_won_deal_without_contact_is_rejected_and_the_pull_goes_on(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    (a, b) = sandbox.store.add_contacts([{"email": "a@x.io"}, {"email": "b@x.io"}], modified_at_ms=T0 - DAY)
    good = win_deal(sandbox.store, a, T0 - DAY, 100.0)
    bad = sandbox.store.create("deals", {"dealname": "x", "hs_is_closed_won": "true", "amount": "12"}, admin=True, modified_at_ms=T0 - DAY)
    sandbox.store.associate("deals", bad.id, "contacts", b)
    orphan = sandbox.store.create("deals", {"dealname": "y", "hs_is_closed_won": "true", "closedate": iso_ms(T0 - DAY)}, admin=True, modified_at_ms=T0 - DAY)
    got, rejects = _outcomes(adapter, T0 - 2 * DAY, T0)
    assert {(o.contact_id, o.source_id) for o in got if o.kind == "closed_won"} == {(a, good), (b, bad.id)}
    assert next(o for o in got if o.source_id == bad.id).occurred_at is None
    assert rejects == ["won deal has no associated contact"], orphan.id
