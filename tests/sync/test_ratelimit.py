"""The rate limiter on a fake clock: rolling windows, search limit, announced limits, 429s, daily allowance."""

from __future__ import annotations

import typing as t

import pytest

from connector.adapters.base import RateLimitInfo
from connector.sync.ratelimit import DailyLimitReached, RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sent: list[tuple[float, str]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _limiter(ft: FakeTime, **kw: t.Any) -> RateLimiter:
    kw = {"requests": 190, "per_seconds": 10, "searches_per_second": 5, **kw}
    return RateLimiter(clock=ft.clock, sleep=ft.sleep, **kw)


def _send(limiter: RateLimiter, ft: FakeTime, kind: str = "default", status: int = 200, info: RateLimitInfo | None = None) -> None:
    limiter.before_request(kind)  # type: ignore[arg-type]
    ft.sent.append((ft.now, kind))
    limiter.after_response(status, info or RateLimitInfo())


def _max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_never_more_than_the_limit_in_any_rolling_window() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=190, per_seconds=10)
    for _ in range(1000):
        _send(limiter, ft)
    times = [t for t, _ in ft.sent]
    assert _max_in_window(times, 10.0) == 190
    # ... and still at the full allowed rate: 1000 requests in about 1000/19 seconds.
    assert times[-1] == pytest.approx((1000 // 190) * 10, abs=10)


def test_first_burst_goes_without_waiting() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=190, per_seconds=10)
    for _ in range(190):
        _send(limiter, ft)
    assert ft.now == 0.0
    assert limiter.stats.waited_seconds == 0.0


def test_searches_have_their_own_limit() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=190, per_seconds=10, searches_per_second=5)
    for _ in range(20):
        _send(limiter, ft, "search")
    times = [t for t, _ in ft.sent]
    assert _max_in_window(times, 1.0) == 5
    assert times[-1] == pytest.approx(3.0)
    assert limiter.default.available() == 190  # searches did not spend the general budget


def test_token_returns_an_interval_after_the_answer() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=1, per_seconds=10)
    limiter.before_request("default")
    ft.now += 2.0  # a slow answer
    limiter.after_response(200, RateLimitInfo())
    limiter.before_request("default")
    assert ft.now == pytest.approx(12.0)


def test_announced_remaining_lowers_the_budget() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=190, per_seconds=10)
    _send(limiter, ft, info=RateLimitInfo(limit=190, interval=10.0, remaining=9))
    assert limiter.default.available() == 9


def test_smaller_account_limit_is_adopted() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=190, per_seconds=10)
    _send(limiter, ft, info=RateLimitInfo(limit=100, interval=10.0))
    assert limiter.default.limit == 100
    for _ in range(300):
        _send(limiter, ft)
    assert _max_in_window([t for t, _ in ft.sent], 10.0) <= 100


def test_429_blocks_for_retry_after() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, requests=190, per_seconds=10)
    _send(limiter, ft, status=429, info=RateLimitInfo(retry_after=3.0))
    assert limiter.stats.rate_limited == 1
    limiter.before_request("default")
    assert ft.now == pytest.approx(3.0)


def test_daily_allowance_exhausted_stops_with_a_clear_error() -> None:
    ft = FakeTime()
    limiter = _limiter(ft)
    _send(limiter, ft, info=RateLimitInfo(daily_remaining=0))
    with pytest.raises(DailyLimitReached, match="daily API allowance"):
        limiter.before_request("default")


def test_configured_daily_cap() -> None:
    ft = FakeTime()
    limiter = _limiter(ft, daily=3)
    for _ in range(3):
        _send(limiter, ft)
    limiter_wait_before = ft.now
    limiter.before_request("default")  # the 4th waits a day for the first token to come back
    assert ft.now - limiter_wait_before == pytest.approx(86400.0)


def test_threads_settle_their_own_tokens_and_do_not_block_each_other() -> None:
    import threading
    import time

    limiter = RateLimiter(1000, 10, searches_per_second=1)
    limiter.before_request("search")  # the search budget (1/s) is now used up
    started = time.monotonic()
    done: list[float] = []

    def write() -> None:
        limiter.before_request("default")  # must not wait for the search budget
        limiter.after_response(200, RateLimitInfo())
        done.append(time.monotonic() - started)

    searcher = threading.Thread(target=lambda: limiter.before_request("search"))
    searcher.start()
    time.sleep(0.05)
    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=5)
    searcher.join(timeout=5)
    assert done and done[0] < 0.5
    # The main thread's search token is settled by its own answer, not by the writer's.
    limiter.after_response(200, RateLimitInfo())
    assert limiter.default.available() == 999


def test_a_salesforce_daily_allowance_stops_the_gate_at_the_allowance() -> None:
    """``Sforce-Limit-Info: api-usage=14990/15000`` as a Salesforce adapter reads it: 10 requests left today.

    The header comes with every answer (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm);
    the gate counts the allowance down with each request and stops before the 11th.
    """

    def sforce_limit_info(header: str) -> RateLimitInfo:
        used, allowed = (int(n) for n in header.split("=", 1)[1].split("/"))
        return RateLimitInfo(daily_limit=allowed, daily_remaining=allowed - used)

    ft = FakeTime()
    limiter = RateLimiter(100_000, 86_400.0, clock=ft.clock, sleep=ft.sleep)  # no per-window budget, no search kind
    _send(limiter, ft, info=sforce_limit_info("api-usage=14990/15000"))
    for used in range(14991, 15000):
        _send(limiter, ft, info=sforce_limit_info(f"api-usage={used}/15000"))
    _send(limiter, ft)  # an answer without the header: the count goes on from the last one announced
    with pytest.raises(DailyLimitReached, match="daily API allowance"):
        limiter.before_request("search")  # no search budget: searches spend from the one allowance
    assert len(ft.sent) == 11


def test_without_a_search_budget_searches_spend_the_general_one() -> None:
    ft = FakeTime()
    limiter = RateLimiter(5, 1.0, clock=ft.clock, sleep=ft.sleep)
    for _ in range(10):
        _send(limiter, ft, "search")
    assert limiter.search is None and ft.now == pytest.approx(1.0)


def test_until_the_account_announces_its_limit_the_smallest_plans_applies() -> None:
    """HubSpot declares 190/10 s but Starter portals allow 100: no burst past 100 before an answer says which."""
    from connector.adapters.hubspot import ADAPTER

    ft = FakeTime()
    limits = ADAPTER.rate_limits
    starter = RateLimiter.from_limits(limits, clock=ft.clock, sleep=ft.sleep)
    for _ in range(150):  # answers that announce nothing (a search, a legacy endpoint)
        _send(starter, ft)
    assert _max_in_window([t for t, _ in ft.sent], 10) == 100
    assert starter.default.limit == 100
    _send(starter, ft, info=RateLimitInfo(limit=100, interval=10, remaining=50))
    assert starter.default.limit == 100, "a Starter portal: stays at 100"
    _send(starter, ft, info=RateLimitInfo(limit=190, interval=10))
    assert (starter.default.limit, starter.default.interval) == (190, 10), "a Professional portal: grows to the configured 190"
    _send(starter, ft, info=RateLimitInfo(limit=250, interval=10))
    assert starter.default.limit == 190, "never above the configured limit"
