"""The rate limiter shared by processes: same answers as the in-process one, one budget across processes.

The slot bucket is checked against :class:`TokenBucket` on a fake clock (random calls, same answers);
the shared limiter then runs on the real monotonic clock with tiny windows, in one process and in
spawned children hammering it with the parent. The only time checks are "never more than ``limit``
requests started in any window" and "nothing started before a 429's Retry-After ran out": both are
lower bounds the limiter guarantees, however slow the machine.
"""

from __future__ import annotations

import multiprocessing
import pickle
import random
import threading
import time
import typing as t

import pytest

from connector.sync.config import RateLimitConfig
from connector.sync.ratelimit import DailyLimitReached, RateLimiter, SharedTokenBucket, SlotState, TokenBucket

SPAWN = multiprocessing.get_context("spawn")
JOIN_TIMEOUT = 60.0


def _max_in_window(times: list[float], window: float) -> int:
    """Most request starts in any half-open window ``[t, t + window)``."""
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def _send(limiter: RateLimiter, kind: str = "default", status: int = 200, headers: dict[str, str] | None = None) -> float:
    """One request through the limiter; returns when it started (after the gate let it through)."""
    limiter.before_request(kind)  # type: ignore[arg-type]
    started = time.monotonic()
    limiter.after_response(status, headers or {})
    return started


# --- the slot bucket gives TokenBucket's answers ------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seed", range(20))
def test_slot_bucket_answers_like_the_token_bucket(seed: int) -> None:
    """Random calls as the limiter makes them (spend when free, settle, hold, block, resize): same answers."""
    rng = random.Random(seed)
    clock = FakeClock()
    limit, interval = rng.randint(1, 8), rng.choice([0.5, 1.0, 3.0])
    plain = TokenBucket(limit, interval, clock)
    slots = SharedTokenBucket(SlotState.create(limit, interval), clock)
    outstanding: list[tuple[list[float], tuple[int, int]]] = []
    for _ in range(400):
        op = rng.random()
        if op < 0.35:
            if plain.wait_time() <= 0:
                assert slots.wait_time() <= 0
                outstanding.append((plain.spend(), slots.spend()))
        elif op < 0.55 and outstanding:
            a, b = outstanding.pop(rng.randrange(len(outstanding)))
            plain.settle(a)
            slots.settle(b)
        elif op < 0.6:
            ours = plain.available()
            assert slots.available() == ours
            take = rng.randint(0, ours)
            plain.hold(take)
            slots.hold(take)
        elif op < 0.63:
            seconds = rng.choice([0.0, 0.3, 2.0])
            plain.block(seconds)
            slots.block(seconds)
        elif op < 0.65:
            new_limit, new_interval = rng.randint(1, plain.limit), plain.interval * rng.choice([1.0, 1.5])
            plain.resize(new_limit, new_interval)
            slots.resize(new_limit, new_interval)
        else:
            clock.now += rng.choice([0.0, 0.05, 0.2, 0.7, 1.5])
        assert slots.limit == plain.limit and slots.interval == plain.interval
        assert slots.wait_time() == pytest.approx(plain.wait_time())
        assert slots.available() == plain.available()


def test_a_late_answer_does_not_push_a_reused_slot() -> None:
    clock = FakeClock()
    bucket = SharedTokenBucket(SlotState.create(1, 1.0), clock)
    first = bucket.spend()
    clock.now += 1.0
    assert bucket.wait_time() == 0  # the first token came back (its answer is late); the slot is free
    second = bucket.spend()
    assert second[0] == first[0]
    clock.now += 0.5
    bucket.settle(first)  # the first request's answer: its slot is someone else's now
    assert bucket.wait_time() == pytest.approx(0.5)
    bucket.settle(second)
    assert bucket.wait_time() == pytest.approx(1.0)


def test_spend_without_a_free_slot_raises() -> None:
    bucket = SharedTokenBucket(SlotState.create(1, 1.0), FakeClock())
    bucket.spend()
    with pytest.raises(RuntimeError, match="no free token slot"):
        bucket.spend()


def test_resize_never_goes_above_the_slots() -> None:
    bucket = SharedTokenBucket(SlotState.create(3, 1.0), FakeClock())
    bucket.resize(10, 2.0)
    assert (bucket.limit, bucket.interval) == (3, 2.0)


# --- the shared limiter in one process ----------------------------------------------------------


def test_shared_limiter_refuses_a_custom_clock() -> None:
    with pytest.raises(ValueError, match="time.monotonic"):
        RateLimiter.shared(4, 0.4, 5, clock=lambda: 0.0)
    with pytest.raises(ValueError, match="time.monotonic"):
        RateLimiter.from_config(RateLimitConfig(), clock=lambda: 0.0, shared=True)


def test_from_config_shared() -> None:
    limiter = RateLimiter.from_config(RateLimitConfig(requests=7, per_seconds=2, searches_per_second=3, daily=50), shared=True)
    assert limiter.is_shared
    assert isinstance(limiter.default, SharedTokenBucket) and isinstance(limiter.search, SharedTokenBucket)
    assert (limiter.default.limit, limiter.default.interval) == (7, 2.0)
    assert (limiter.search.limit, limiter.search.interval) == (3, 1.0)
    assert limiter.daily is not None and limiter.daily.limit == 50
    assert not RateLimiter.from_config(RateLimitConfig()).is_shared


def test_pickled_only_while_spawning() -> None:
    with pytest.raises(RuntimeError, match="inheritance"):
        pickle.dumps(RateLimiter.shared(4, 0.4, 5))
    with pytest.raises(TypeError, match="RateLimiter.shared"):
        pickle.dumps(RateLimiter(4, 0.4, 5))


def test_shared_never_more_than_the_limit_in_any_rolling_window() -> None:
    limiter = RateLimiter.shared(4, 0.4, 100)
    starts = [_send(limiter) for _ in range(14)]
    assert _max_in_window(starts, 0.4) <= 4
    assert limiter.stats.requests == 14
    assert limiter.stats.waited_seconds > 0  # the limiter had to hold requests back


def test_shared_first_burst_goes_without_waiting() -> None:
    limiter = RateLimiter.shared(20, 60, 5)
    for _ in range(20):
        _send(limiter)
    assert limiter.stats.waited_seconds == 0.0
    assert limiter.default.available() == 0


def test_shared_searches_have_their_own_limit() -> None:
    limiter = RateLimiter.shared(50, 10, searches_per_second=2)
    starts = [_send(limiter, "search") for _ in range(3)]  # the third waits for the first's token
    assert _max_in_window(starts, 1.0) <= 2
    assert limiter.default.available() == 50  # searches did not spend the general budget


def test_shared_remaining_header_and_smaller_account_limit() -> None:
    limiter = RateLimiter.shared(190, 10, 5)
    _send(limiter, headers={"X-HubSpot-RateLimit-Remaining": "9", "X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert limiter.default.available() == 9
    _send(limiter, headers={"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert limiter.default.limit == 100


def test_shared_429_blocks_for_retry_after() -> None:
    limiter = RateLimiter.shared(190, 10, 5)
    limiter.before_request("default")
    answered = time.monotonic()
    limiter.after_response(429, {"Retry-After": "0.3"})
    assert limiter.stats.rate_limited == 1
    assert _send(limiter) >= answered + 0.3


def test_shared_daily_allowance_exhausted_stops_with_a_clear_error() -> None:
    limiter = RateLimiter.shared(190, 10, 5)
    _send(limiter, headers={"X-HubSpot-RateLimit-Daily-Remaining": "0"})
    with pytest.raises(DailyLimitReached, match="daily API allowance"):
        limiter.before_request("default")


def test_shared_threads_settle_their_own_tokens() -> None:
    limiter = RateLimiter.shared(1000, 10, searches_per_second=1)
    limiter.before_request("search")  # the search budget (1/s) is now used up
    wrote = threading.Event()

    def write() -> None:
        limiter.before_request("default")  # must not wait for the search budget (nor hold it up)
        limiter.after_response(200, {})
        wrote.set()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=JOIN_TIMEOUT)
    assert wrote.is_set()
    limiter.after_response(200, {})  # the main thread's search token, settled by its own answer
    assert limiter.default.available() == 999
    assert limiter.search.available() == 0


# --- processes sharing one limiter --------------------------------------------------------------


def _hammer(limiter: RateLimiter, requests: int, seed: int) -> list[float]:
    """``requests`` through the limiter from two threads, answers taking a few milliseconds."""
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, 0.01) for _ in range(requests)]
    starts: list[float] = []

    def run(part: list[float]) -> None:
        for delay in part:
            limiter.before_request("default")
            starts.append(time.monotonic())
            time.sleep(delay)
            limiter.after_response(200, {})

    threads = [threading.Thread(target=run, args=(delays[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return starts


def child_hammer(limiter: RateLimiter, barrier: t.Any, results: t.Any, requests: int, seed: int) -> None:
    """In a spawned child: wait for everyone, then send ``requests``; report starts and own stats."""
    barrier.wait(timeout=JOIN_TIMEOUT)
    starts = _hammer(limiter, requests, seed)
    results.put((starts, limiter.stats.requests))


def test_processes_share_one_budget() -> None:
    limit, interval, per_process, children = 5, 0.3, 20, 2
    limiter = RateLimiter.shared(limit, interval, 100)
    barrier = SPAWN.Barrier(children + 1)
    results = SPAWN.Queue()
    procs = [SPAWN.Process(target=child_hammer, args=(limiter, barrier, results, per_process, seed)) for seed in range(children)]
    for proc in procs:
        proc.start()
    try:
        barrier.wait(timeout=JOIN_TIMEOUT)
        starts = _hammer(limiter, per_process, seed=99)
        reported = [results.get(timeout=JOIN_TIMEOUT) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=JOIN_TIMEOUT)
    assert [proc.exitcode for proc in procs] == [0] * children
    assert [n for _, n in reported] == [per_process] * children  # stats are per process
    assert limiter.stats.requests == per_process
    everyone = starts + [s for child_starts, _ in reported for s in child_starts]
    assert len(everyone) == per_process * (children + 1)
    assert _max_in_window(everyone, interval) <= limit
    assert _max_in_window(starts, interval) < limit * (children + 1)  # sanity: each process alone was not the bound


def child_rate_limited(limiter: RateLimiter, results: t.Any, retry_after: float) -> None:
    """In a spawned child: one request answered 429; report when the answer came."""
    limiter.before_request("default")
    answered = time.monotonic()
    limiter.after_response(429, {"Retry-After": str(retry_after)})
    results.put(answered)


def test_429_in_one_process_blocks_the_other() -> None:
    limiter = RateLimiter.shared(50, 10, 5)
    results = SPAWN.Queue()
    proc = SPAWN.Process(target=child_rate_limited, args=(limiter, results, 0.5))
    proc.start()
    try:
        answered = results.get(timeout=JOIN_TIMEOUT)
    finally:
        proc.join(timeout=JOIN_TIMEOUT)
    assert proc.exitcode == 0
    assert _send(limiter) >= answered + 0.5
    assert limiter.stats.rate_limited == 0  # the child's 429 is counted in the child's stats


def child_learns_from_headers(limiter: RateLimiter, results: t.Any) -> None:
    """In a spawned child: answers announce a smaller limit, few tokens left, then the daily allowance gone."""
    _send(limiter, headers={"X-HubSpot-RateLimit-Max": "40", "X-HubSpot-RateLimit-Interval-Milliseconds": "60000", "X-HubSpot-RateLimit-Remaining": "7"})
    results.put(limiter.default.available())
    _send(limiter, headers={"X-HubSpot-RateLimit-Daily-Remaining": "0"})
    results.put("done")


def test_headers_seen_in_one_process_apply_to_the_other() -> None:
    limiter = RateLimiter.shared(100, 60, 5, daily=1000)
    results = SPAWN.Queue()
    proc = SPAWN.Process(target=child_learns_from_headers, args=(limiter, results))
    proc.start()
    try:
        left_in_child = results.get(timeout=JOIN_TIMEOUT)
        assert results.get(timeout=JOIN_TIMEOUT) == "done"
    finally:
        proc.join(timeout=JOIN_TIMEOUT)
    assert proc.exitcode == 0
    assert (limiter.default.limit, limiter.default.interval) == (40, 60.0)
    assert left_in_child == 7
    assert limiter.default.available() == 6  # the child's second request took one more
    assert limiter.daily is not None and limiter.daily.limit == 1000  # the daily count is per process ...
    with pytest.raises(DailyLimitReached):  # ... but the CRM's "none left today" stops every process
        limiter.before_request("default")
