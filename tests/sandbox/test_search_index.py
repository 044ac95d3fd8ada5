"""The sorted-index shortcuts of search give exactly what brute-force evaluation gives."""

from __future__ import annotations

import random

from connector.sandbox.hubspot import SandboxClock, Store
from connector.sandbox.hubspot.search import SearchCache, parse_query, run_search

T0 = 1_700_000_000_000


def _brute(store: Store, lo: int, hi: int, descending: bool, title: str | None) -> list[str]:
    rows = [r for r in store.objects("contacts").records.values() if lo <= r.updated_ms <= hi and (title is None or r.properties.get("jobtitle", "").lower() == title)]
    rows.sort(key=lambda r: (r.updated_ms, int(r.id)), reverse=descending)
    return [r.id for r in rows]


def test_index_paths_match_brute_force_under_interleaved_writes() -> None:
    rng = random.Random(3)
    store = Store(SandboxClock(frozen_ms=T0))
    for i in range(600):
        store.add_contacts([{"email": f"{i}@x.io", "jobtitle": rng.choice(["CTO", "CEO", "Dev"])}], modified_at_ms=T0 + rng.randrange(50))
    cache = SearchCache()
    for round_ in range(60):
        if round_ % 3 == 0:  # writes between queries move records in the index
            for rid in rng.sample(sorted(store.objects("contacts").records), 20):
                store.update("contacts", rid, {"jobtitle": rng.choice(["CTO", "CEO", "Dev"])}, modified_at_ms=T0 + rng.randrange(80))
        lo, hi = sorted(rng.sample(range(-5, 90), 2))
        descending = rng.random() < 0.3
        title = rng.choice([None, "cto"])
        filters = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(T0 + lo)},
                   {"propertyName": "lastmodifieddate", "operator": "LTE", "value": str(T0 + hi)}]
        if title:
            filters.append({"propertyName": "jobtitle", "operator": "EQ", "value": "CTO"})
        expected = _brute(store, T0 + lo, T0 + hi, descending, title)
        got: list[str] = []
        after = 0
        while True:
            query = parse_query(store, "contacts", {"filterGroups": [{"filters": filters}], "limit": 37, "after": str(after),
                                                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING" if descending else "ASCENDING"}]})
            page = run_search(store, query, cache)
            assert page.total == len(expected)
            got += [r.id for r in page.records]
            if page.next_after is None:
                break
            after = page.next_after
        assert got == expected, (lo, hi, descending, title)


def test_date_property_index_matches_evaluation_under_interleaved_writes() -> None:
    """A keyset walk's query on another date property (sorted by it, ranges on it only) is a slice of its index: same answer as evaluating every record."""
    from connector.sandbox.hubspot.search import _evaluate

    rng = random.Random(5)
    store = Store(SandboxClock(frozen_ms=T0))
    for i in range(400):
        props = {"email": f"{i}@x.io"}
        if rng.random() < 0.5:
            props["lifecyclestage"] = "customer"
        store.create("contacts", props, admin=True, modified_at_ms=T0 + rng.randrange(50), created_at_ms=T0 + rng.randrange(40))
    store.archive("contacts", "3")
    cache = SearchCache()
    for round_ in range(40):
        if round_ % 4 == 0:  # new customers get the customer date of their write: the index is built again
            for rid in rng.sample(sorted(store.objects("contacts").records), 10):
                store.update("contacts", rid, {"lifecyclestage": "customer"}, admin=True, modified_at_ms=T0 + rng.randrange(60))
        prop = rng.choice(["createdate", "hs_lifecyclestage_customer_date"])
        lo, hi = sorted(rng.sample(range(-5, 70), 2))
        descending = rng.random() < 0.3
        filters = [{"propertyName": prop, "operator": "GT", "value": str(T0 + lo)}, {"propertyName": prop, "operator": "LTE", "value": str(T0 + hi)}]
        body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": prop, "direction": "DESCENDING" if descending else "ASCENDING"}]}
        expected = _evaluate(store, parse_query(store, "contacts", body), list(store.objects("contacts").records.values()))
        got: list[str] = []
        after = 0
        while True:
            page = run_search(store, parse_query(store, "contacts", {**body, "limit": 29, "after": str(after)}), cache if round_ % 2 else None)
            assert page.total == len(expected)
            got += [r.id for r in page.records]
            if page.next_after is None:
                break
            after = page.next_after
        assert got == expected, (prop, lo, hi, descending)
        assert "3" not in got
