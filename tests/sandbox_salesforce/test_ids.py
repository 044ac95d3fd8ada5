"""Record ids: 18-character form with Salesforce's checksum, creation order equals lexical order."""

from __future__ import annotations

from connector.sandbox.salesforce.ids import IdAllocator, is_id, normalize_id, to18


def test_checksum_matches_salesforce() -> None:
    assert to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # chunks 001A0 / 00000 / 6Vm9r: upper-case masks 8, 0, 2 -> I, A, C
    assert normalize_id("001A0000006Vm9r") == normalize_id("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    assert normalize_id("not-an-id") is None and not is_id("00Q' OR Id != '")


def test_allocation_order_is_lexical_order() -> None:
    alloc = IdAllocator()
    ids = [alloc.allocate("00Q") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5000 and all(len(i) == 18 and i.startswith("00Q") for i in ids)
