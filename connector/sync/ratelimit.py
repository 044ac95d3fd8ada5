"""Client-side rate limiting per CRM, so a sync stays under the CRM's limits instead of hitting 429s.

HubSpot counts requests in *rolling* windows (190 per 10 s for a private app on a paid tier, 5 search
requests per second). A classic token bucket refilling continuously lets through ``capacity`` at
once plus a steady flow, which can put up to twice the limit into one rolling window. Here each
spent token comes back exactly one ``interval`` after the request it paid for was *answered* (the
server saw the request before we saw its answer, so its window is never fuller than ours): at most
``limit`` requests are ever in any window, and a long sync still runs at the full allowed rate.

The limiter learns from the CRM's answers (:meth:`RateLimiter.after_response`):
``X-HubSpot-RateLimit-Max`` / ``-Interval-Milliseconds`` lower the limit if the account has less than
configured; ``-Remaining`` lower the tokens left when other clients share the quota; a 429 empties
the bucket for ``Retry-After`` (or one interval); ``-Daily-Remaining: 0`` stops the run with a
clear error instead of burning retries. Retrying the failed call is the adapter's job (tenacity).

Time comes from an injected clock and sleep, so tests run on a fake clock without waiting.

Shared mode (:meth:`RateLimiter.shared`, ``from_config(config, shared=True)``): the sync may run its
push stage in a child process (``multiprocessing`` "spawn") while the parent pulls; the CRM counts
both against one quota, so both must draw from one budget. A shared limiter keeps its ``default``
and ``search`` buckets in shared memory (:class:`SharedTokenBucket`: a fixed array of ``limit``
slots, each the monotonic time its token returns, so no process ever allocates in shared memory),
guarded by one ``multiprocessing`` lock that every thread of every process takes. Pass it to the
child as a ``Process(args=...)`` argument; the child rebuilds a limiter on the same memory (pickling
works only while spawning, the usual ``multiprocessing`` rule). A 429 seen by one process blocks the
others, and a learnt lower limit or ``-Remaining`` applies to all. The clock must be
``time.monotonic`` (one system-wide clock on Linux, so slot times mean the same in every process);
a custom clock is refused. Per process: ``stats``, each thread's memory of its token, and the
``daily`` bucket -- each process counts only its own requests toward a configured daily
allowance (so together they may send up to N times ``daily``); the CRM's ``-Daily-Remaining: 0``
still stops the run, and in shared mode it stops every process at its next request.
"""

from __future__ import annotations

import dataclasses as dc
import multiprocessing
import threading
import time
import typing as t
from multiprocessing.context import assert_spawning

import numpy as np

from connector.adapters.base import CRMError, RequestKind

__all__ = ["DailyLimitReached", "LimiterStats", "RateLimiter", "SharedTokenBucket", "TokenBucket"]

Clock = t.Callable[[], float]
Sleep = t.Callable[[float], None]


class DailyLimitReached(CRMError):
    """The CRM's daily API allowance is used up; the next run continues where this one stopped."""


class TokenBucket:
    """``limit`` tokens; each one spent comes back ``interval`` seconds after its request is done.

    Args:
        limit: requests allowed in any window of ``interval`` seconds.
        interval: the window, in seconds.
        clock: monotonic seconds.
    """

    def __init__(self, limit: int, interval: float, clock: Clock) -> None:
        if limit <= 0 or interval <= 0:
            raise ValueError("a token bucket needs a positive limit and interval")
        self.limit = limit
        self.interval = interval
        self._clock = clock
        #: Spent tokens, each a one-element list holding the time it returns (mutable, so the
        #: request's answer can push it later).
        self._spent: list[list[float]] = []
        self._blocked_until = 0.0

    def _expire(self, now: float) -> None:
        self._spent = [tok for tok in self._spent if tok[0] > now]

    def available(self) -> int:
        """Tokens that may be spent right now."""
        now = self._clock()
        if now < self._blocked_until:
            return 0
        self._expire(now)
        return max(0, self.limit - len(self._spent))

    def wait_time(self) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        now = self._clock()
        self._expire(now)
        wait = max(0.0, self._blocked_until - now)
        over = len(self._spent) - self.limit + 1
        if over > 0:
            wait = max(wait, sorted(tok[0] for tok in self._spent)[over - 1] - now)
        return wait

    def spend(self) -> list[float]:
        """Spend one token (the caller waited :meth:`wait_time` first); returns it, for :meth:`settle`."""
        token = [self._clock() + self.interval]
        self._spent.append(token)
        return token

    def settle(self, token: list[float]) -> None:
        """The request paid by ``token`` got its answer now: the token returns one interval from now."""
        token[0] = max(token[0], self._clock() + self.interval)

    def hold(self, tokens: int) -> None:
        """Take ``tokens`` away for one interval (the CRM says others used them)."""
        back = self._clock() + self.interval
        self._spent += [[back] for _ in range(max(0, tokens))]

    def block(self, seconds: float) -> None:
        """Give out no token for ``seconds`` (after a 429)."""
        self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))

    def resize(self, limit: int, interval: float) -> None:
        """Adopt a (smaller) limit or a (longer) interval the CRM announced."""
        self.limit = max(1, limit)
        self.interval = interval


class SlotState(t.NamedTuple):
    """The memory of a :class:`SharedTokenBucket`: ``RawArray`` s in shared memory, or numpy arrays in tests.

    ``times[i]`` is when slot ``i``'s token returns; ``gens[i]`` counts its lives (odd: spent, even:
    free), so an answer arriving after its slot was freed and reused cannot push someone else's
    token; ``params`` is ``[limit, interval, blocked_until, used]`` (``used``: slots ever taken, the
    only ones scanned, so a generous limit costs nothing until that many tokens are out at once).
    """

    times: t.Any
    gens: t.Any
    params: t.Any

    @classmethod
    def create(cls, limit: int, interval: float, ctx: t.Any = None) -> SlotState:
        """Slots for ``limit`` tokens, in shared memory of ``ctx`` (or process memory when ``ctx`` is None)."""
        if limit <= 0 or interval <= 0:
            raise ValueError("a token bucket needs a positive limit and interval")
        if ctx is None:
            state = cls(np.zeros(limit, np.float64), np.zeros(limit, np.int64), np.zeros(4, np.float64))
        else:
            state = cls(ctx.RawArray("d", limit), ctx.RawArray("q", limit), ctx.RawArray("d", 4))
        _view(state.params, np.float64)[:] = [float(limit), float(interval), 0.0, 0.0]
        return state


def _view(buffer: t.Any, dtype: type) -> np.ndarray:
    """A numpy array on ``buffer``'s memory (no copy: writes go to the shared memory)."""
    return buffer if isinstance(buffer, np.ndarray) else np.frombuffer(buffer, dtype=dtype)


_LIMIT, _INTERVAL, _BLOCKED, _USED = 0, 1, 2, 3


class SharedTokenBucket:
    """:class:`TokenBucket` over a fixed array of ``capacity`` slots, so it can live in shared memory.

    Same answers as :class:`TokenBucket` for the same calls (a token spent is a slot taken; a token
    expired is a slot freed, at the same moments), except that it never holds more tokens than it
    has slots: :meth:`hold` beyond the free slots holds what is free (:class:`RateLimiter` never asks
    for more), and :meth:`spend` without a free slot raises (the caller waits :meth:`wait_time`
    first). It takes no lock: the owner (:class:`RateLimiter`) holds one around every call. Scans
    are numpy operations, so a few hundred slots cost microseconds.

    Args:
        state: its memory (:meth:`SlotState.create`).
        clock: monotonic seconds; must be the same clock in every process sharing ``state``.
    """

    def __init__(self, state: SlotState, clock: Clock = time.monotonic) -> None:
        self.state = state
        self._times = _view(state.times, np.float64)
        self._gens = _view(state.gens, np.int64)
        self._params = _view(state.params, np.float64)
        self.capacity = len(self._times)
        self._clock = clock

    @property
    def limit(self) -> int:
        """Requests allowed per :attr:`interval` (at most :attr:`capacity`)."""
        return int(self._params[_LIMIT])

    @limit.setter
    def limit(self, value: int) -> None:
        self._params[_LIMIT] = float(max(0, min(int(value), self.capacity)))

    @property
    def interval(self) -> float:
        """The window, in seconds."""
        return float(self._params[_INTERVAL])

    def _expire(self, now: float) -> np.ndarray:
        """Free the slots whose time has come; return the return times of those still spent."""
        used = int(self._params[_USED])
        times, gens = self._times[:used], self._gens[:used]
        live = (gens & 1).astype(bool)
        done = live & (times <= now)
        if done.any():
            gens[done] += 1
            live &= ~done
        return times[live]

    def available(self) -> int:
        """Tokens that may be spent right now."""
        now = self._clock()
        if now < self._params[_BLOCKED]:
            return 0
        return max(0, self.limit - len(self._expire(now)))

    def wait_time(self) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        now = self._clock()
        live = self._expire(now)
        wait = max(0.0, float(self._params[_BLOCKED]) - now)
        over = len(live) - self.limit + 1
        if over > 0:
            wait = max(wait, float(np.partition(live, over - 1)[over - 1]) - now)
        return wait

    def _free(self, tokens: int) -> list[int]:
        """Up to ``tokens`` free slots: freed ones first, then never used ones, then expired ones."""
        used = int(self._params[_USED])
        free = np.flatnonzero((self._gens[:used] & 1) == 0)[:tokens].tolist()
        if len(free) < tokens and used < self.capacity:
            more = min(tokens - len(free), self.capacity - used)
            free += range(used, used + more)
            self._params[_USED] = float(used + more)
        if len(free) < tokens:
            # Tokens past their time but not yet freed: TokenBucket frees them only when asked how
            # many are available, so this is reached only by a caller who did not ask first.
            self._expire(self._clock())
            taken = set(free)
            free += [i for i in np.flatnonzero((self._gens[:used] & 1) == 0).tolist() if i not in taken][: tokens - len(free)]
        return free

    def _take(self, index: int, back: float) -> tuple[int, int]:
        gen = int(self._gens[index]) + 1
        self._times[index] = back
        self._gens[index] = gen
        return index, gen

    def spend(self) -> tuple[int, int]:
        """Spend one token (the caller waited :meth:`wait_time` first); returns it, for :meth:`settle`."""
        free = self._free(1)
        if not free:
            raise RuntimeError("no free token slot: wait wait_time() before spend()")
        return self._take(free[0], self._clock() + self.interval)

    def settle(self, token: tuple[int, int]) -> None:
        """The request paid by ``token`` got its answer now: the token returns one interval from now.

        A token already expired (its slot freed, perhaps reused) is left alone, as :class:`TokenBucket` does.
        """
        index, gen = token
        if self._gens[index] == gen:
            self._times[index] = max(float(self._times[index]), self._clock() + self.interval)

    def hold(self, tokens: int) -> None:
        """Take ``tokens`` away for one interval (the CRM says others used them); at most the free slots."""
        if tokens <= 0:
            return
        back = self._clock() + self.interval
        for index in self._free(tokens):
            self._take(index, back)

    def block(self, seconds: float) -> None:
        """Give out no token for ``seconds`` (after a 429)."""
        self._params[_BLOCKED] = max(float(self._params[_BLOCKED]), self._clock() + max(0.0, seconds))

    def resize(self, limit: int, interval: float) -> None:
        """Adopt a (smaller) limit or a (longer) interval the CRM announced; never above :attr:`capacity`."""
        self._params[_LIMIT] = float(max(1, min(int(limit), self.capacity)))
        self._params[_INTERVAL] = float(interval)


Bucket = TokenBucket | SharedTokenBucket


@dc.dataclass
class LimiterStats:
    """What the limiter did: requests let through, time spent waiting, 429s seen."""

    requests: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0
    adapted: int = 0


@dc.dataclass
class _Shared:
    """What the processes of a shared limiter share (pickled only while spawning a child)."""

    default: SlotState
    search: SlotState
    #: ``[daily_used_up]``: set when the CRM answered Daily-Remaining: 0, seen by every process.
    flags: t.Any
    lock: t.Any


def _search_bucket_size(searches_per_second: float) -> tuple[int, float]:
    # 5 per second as "1 per 0.2 s" would serialise searches needlessly; keep the window at 1 s.
    if searches_per_second >= 1:
        return max(1, int(searches_per_second)), 1.0
    return 1, 1.0 / searches_per_second


class RateLimiter:
    """The :class:`~connector.adapters.base.RequestGate` the sync hands to an adapter.

    Args:
        requests: requests allowed per ``per_seconds`` (all kinds except search).
        per_seconds: that window.
        searches_per_second: search requests per second (HubSpot's separate search limit).
        daily: requests allowed per day, or ``None``.
        clock: monotonic seconds (default ``time.monotonic``).
        sleep: how to wait (default ``time.sleep``).

    :meth:`shared` builds one whose budget several processes share.
    """

    default: Bucket
    search: Bucket

    def __init__(
        self,
        requests: int = 190,
        per_seconds: float = 10.0,
        searches_per_second: float = 5.0,
        daily: int | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._configured = (requests, per_seconds)
        self._daily_configured = daily
        self._shared: _Shared | None = None
        self.default = TokenBucket(requests, per_seconds, clock)
        search_limit, search_interval = _search_bucket_size(searches_per_second)
        self.search = TokenBucket(search_limit, search_interval, clock)
        self._lock: t.Any = threading.Lock()
        self._per_process()

    def _per_process(self) -> None:
        """The state each process keeps for itself: daily count, stats, each thread's token."""
        daily = self._daily_configured
        self.daily = TokenBucket(daily, 86400.0, self._clock) if daily else None
        self.stats = LimiterStats()
        self._local = threading.local()

    @classmethod
    def shared(
        cls,
        requests: int = 190,
        per_seconds: float = 10.0,
        searches_per_second: float = 5.0,
        daily: int | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> RateLimiter:
        """A limiter whose budget this process and its spawned children share (see the module doc).

        Pass it to a child as ``ctx.Process(target=..., args=(limiter, ...))`` with
        ``ctx = multiprocessing.get_context("spawn")``.

        Raises:
            ValueError: ``clock`` is not ``time.monotonic`` (processes must read one clock).
        """
        if clock is not time.monotonic:
            raise ValueError("a shared RateLimiter needs clock=time.monotonic: its processes must read one system-wide clock")
        if requests <= 0 or per_seconds <= 0 or searches_per_second <= 0:
            raise ValueError("a token bucket needs a positive limit and interval")
        ctx = multiprocessing.get_context("spawn")
        search_limit, search_interval = _search_bucket_size(searches_per_second)
        shared = _Shared(
            default=SlotState.create(requests, per_seconds, ctx),
            search=SlotState.create(search_limit, search_interval, ctx),
            flags=ctx.RawArray("b", 1),
            lock=ctx.Lock(),
        )
        limiter = cls.__new__(cls)
        limiter._attach(shared, (requests, per_seconds), daily, sleep)
        return limiter

    def _attach(self, shared: _Shared, configured: tuple[int, float], daily: int | None, sleep: Sleep) -> None:
        """Become a limiter on ``shared`` memory (in the process that made it, or in a child)."""
        self._clock = time.monotonic
        self._sleep = sleep
        self._configured = configured
        self._daily_configured = daily
        self._shared = shared
        self.default = SharedTokenBucket(shared.default)
        self.search = SharedTokenBucket(shared.search)
        # One lock for every thread of every process: it replaces the threading lock.
        self._lock = shared.lock
        self._per_process()

    @property
    def is_shared(self) -> bool:
        """Whether other processes may share this limiter's budget."""
        return self._shared is not None

    def __getstate__(self) -> dict[str, t.Any]:
        """Only a shared limiter travels, and only to a child being spawned; its budget stays shared."""
        if self._shared is None:
            raise TypeError("a RateLimiter is per process and cannot be pickled; use RateLimiter.shared(...) to share one budget with a child process")
        assert_spawning(self)
        return {"shared": self._shared, "configured": self._configured, "daily": self._daily_configured, "sleep": self._sleep}

    def __setstate__(self, state: dict[str, t.Any]) -> None:
        self._attach(state["shared"], state["configured"], state["daily"], state["sleep"])

    @classmethod
    def from_config(
        cls, config: t.Any, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep, shared: bool = False
    ) -> RateLimiter:
        """Build from a :class:`connector.sync.config.RateLimitConfig` (``shared``: see :meth:`shared`)."""
        make = cls.shared if shared else cls
        return make(config.requests, config.per_seconds, config.searches_per_second, config.daily, clock=clock, sleep=sleep)

    def _buckets(self, kind: RequestKind) -> list[Bucket]:
        main = self.search if kind == "search" else self.default
        return [main, self.daily] if self.daily is not None else [main]

    def _daily_used_up(self) -> bool:
        if self._shared is not None and self._shared.flags[0]:
            return True
        return self.daily is not None and self.daily.limit <= 0

    def before_request(self, kind: RequestKind) -> None:
        """Block until a request of ``kind`` may go out, then spend its token(s)."""
        while True:
            with self._lock:
                if self._daily_used_up():
                    raise DailyLimitReached("the CRM's daily API allowance is used up; the next run continues", retryable=False)
                wait = max(b.wait_time() for b in self._buckets(kind))
                if wait <= 0:
                    # Remember, per thread, which token paid for this request: several threads (the
                    # puller and the writer) share the limiter, and each answer settles its own token.
                    self._local.last = [(bucket, bucket.spend()) for bucket in self._buckets(kind)]
                    self.stats.requests += 1
                    return
                self.stats.waited_seconds += wait
            # Sleep outside the lock: a search waiting for its budget must not hold up a write.
            self._sleep(wait)

    def after_response(self, status: int, headers: t.Mapping[str, str]) -> None:
        """Learn from an answer: settle the token, adapt to rate-limit headers, back off on 429."""
        with self._lock:
            spent = getattr(self._local, "last", None) or []
            self._local.last = None
            for b, token in spent:
                b.settle(token)
            bucket = spent[0][0] if spent else self.default
            h = {k.lower(): v for k, v in headers.items()}
            if status == 429:
                self.stats.rate_limited += 1
                retry_after = _number(h.get("retry-after"))
                bucket.block(retry_after if retry_after is not None else bucket.interval)
            self._adapt(h)

    def _adapt(self, h: t.Mapping[str, str]) -> None:
        limit = _number(h.get("x-hubspot-ratelimit-max"))
        interval_ms = _number(h.get("x-hubspot-ratelimit-interval-milliseconds"))
        remaining = _number(h.get("x-hubspot-ratelimit-remaining"))
        if limit is not None and interval_ms:
            interval = interval_ms / 1000.0
            # Adopt the account's limit when it is tighter than configured (same rate per second).
            if limit / interval < self.default.limit / self.default.interval or interval > self.default.interval:
                self.default.resize(min(int(limit), self.default.limit), max(interval, self.default.interval))
                self.stats.adapted += 1
        if remaining is not None:
            ours = self.default.available()
            if remaining < ours:
                self.default.hold(int(ours - remaining))
                self.stats.adapted += 1
        daily_left = _number(h.get("x-hubspot-ratelimit-daily-remaining"))
        if daily_left is not None and daily_left <= 0:
            if self.daily is None:
                self.daily = TokenBucket(1, 86400.0, self._clock)
            self.daily.limit = 0
            if self._shared is not None:
                self._shared.flags[0] = 1


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
