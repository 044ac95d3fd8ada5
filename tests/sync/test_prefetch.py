"""Prefetch: pages come in order, errors arrive where they happened, an early exit ends the thread."""

from __future__ import annotations

import threading
import typing as t

import pytest

from connector.sync.prefetch import Prefetch


def test_pages_arrive_in_order_and_are_fetched_ahead() -> None:
    fetched: list[int] = []
    first_taken = threading.Event()

    def pages() -> t.Iterator[int]:
        for i in range(5):
            fetched.append(i)
            yield i

    got = []
    with Prefetch(pages(), depth=2) as it:
        for page in it:
            if page == 0:
                first_taken.set()
                # while page 0 is being "stored", the next ones are already fetched
                for _ in range(200):
                    if len(fetched) >= 3:
                        break
                    threading.Event().wait(0.01)
                assert len(fetched) >= 3
            got.append(page)
    assert got == [0, 1, 2, 3, 4]


def test_an_error_of_the_pull_is_raised_after_the_pages_before_it() -> None:
    def pages() -> t.Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("HubSpot down")

    got = []
    with pytest.raises(RuntimeError, match="HubSpot down"), Prefetch(pages()) as it:
        for page in it:
            got.append(page)
    assert got == [1, 2]


def test_leaving_early_stops_fetching_and_closes_the_iterator() -> None:
    closed = threading.Event()
    fetched: list[int] = []

    def pages() -> t.Iterator[int]:
        try:
            for i in range(1000):
                fetched.append(i)
                yield i
        finally:
            closed.set()

    with Prefetch(pages(), depth=2, name="t") as it:
        for page in it:
            if page == 1:
                break
    assert closed.is_set()
    assert len(fetched) <= 6  # the consumer's pages, the queue and the one in flight: no runaway pull
    assert not any(th.name == "t" for th in threading.enumerate())


def test_max_records_bounds_what_waits_ahead() -> None:
    class Page:
        def __init__(self, n: int) -> None:
            self.records = list(range(n))

    fetched: list[int] = []

    def pages() -> t.Iterator[Page]:
        for i in range(10):
            fetched.append(i)
            yield Page(100)

    got = 0
    with Prefetch(pages(), depth=1000, max_records=300, size=lambda page: len(page.records)) as it:
        first = next(it)
        threading.Event().wait(0.3)  # the producer runs ahead as far as the bound lets it
        # page 0 taken; at most 300 records (3 pages) wait, plus the one the producer holds
        assert len(fetched) <= 1 + 3 + 1
        got = len(first.records) + sum(len(p.records) for p in it)
    assert got == 1000 and len(fetched) == 10
