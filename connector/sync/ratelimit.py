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
"""

from __future__ import annotations

import dataclasses as dc
import threading
import time
import typing as t

from connector.adapters.base import CRMError, RequestKind

__all__ = ["DailyLimitReached", "LimiterStats", "RateLimiter", "TokenBucket"]

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


@dc.dataclass
class LimiterStats:
    """What the limiter did: requests let through, time spent waiting, 429s seen."""

    requests: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0
    adapted: int = 0


class RateLimiter:
    """The :class:`~connector.adapters.base.RequestGate` the sync hands to an adapter.

    Args:
        requests: requests allowed per ``per_seconds`` (all kinds except search).
        per_seconds: that window.
        searches_per_second: search requests per second (HubSpot's separate search limit).
        daily: requests allowed per day, or ``None``.
        clock: monotonic seconds (default ``time.monotonic``).
        sleep: how to wait (default ``time.sleep``).
    """

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
        self.default = TokenBucket(requests, per_seconds, clock)
        # 5 per second as "1 per 0.2 s" would serialise searches needlessly; keep the window at 1 s.
        search_limit = max(1, int(searches_per_second)) if searches_per_second >= 1 else 1
        search_interval = 1.0 if searches_per_second >= 1 else 1.0 / searches_per_second
        self.search = TokenBucket(search_limit, search_interval, clock)
        self.daily = TokenBucket(daily, 86400.0, clock) if daily else None
        self.stats = LimiterStats()
        self._local = threading.local()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: t.Any, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> RateLimiter:
        """Build from a :class:`connector.sync.config.RateLimitConfig`."""
        return cls(config.requests, config.per_seconds, config.searches_per_second, config.daily, clock=clock, sleep=sleep)

    def _buckets(self, kind: RequestKind) -> list[TokenBucket]:
        main = self.search if kind == "search" else self.default
        return [main, self.daily] if self.daily is not None else [main]

    def before_request(self, kind: RequestKind) -> None:
        """Block until a request of ``kind`` may go out, then spend its token(s)."""
        while True:
            with self._lock:
                if self.daily is not None and self.daily.limit <= 0:
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


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
