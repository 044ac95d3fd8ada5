"""Client-side rate limiting per CRM, so a sync stays under the CRM's limits instead of hitting 429s.

CRMs count requests in *rolling* windows (HubSpot: 190 per 10 s for a private app, plus 5 search
requests per second). A classic token bucket refilling continuously lets through ``capacity`` at
once plus a steady flow, which can put up to twice the limit into one rolling window. Here each
spent token comes back exactly one ``interval`` after the request it paid for was *answered* (the
server saw the request before we saw its answer, so its window is never fuller than ours): at most
``limit`` requests are ever in any window, and a long sync still runs at the full allowed rate.

The limits come from the adapter's declaration, overridden by ``rate_limit`` in ``connector.yaml``
(:meth:`RateLimiter.from_limits`). The limiter also learns from each answer, through the neutral
:class:`~connector.adapters.base.RateLimitInfo` the adapter reads from its CRM's headers
(:meth:`RateLimiter.after_response`): a smaller announced limit or longer window is adopted (until
the first announcement, a CRM may ask for a smaller ``unannounced`` limit, HubSpot's smallest plan,
so a run's first burst never exceeds what the account may allow); fewer
requests ``remaining`` than we think (another app on the same account) holds tokens back; a 429
empties the bucket for ``retry_after`` (or one interval); a daily allowance announced with what is
left of it (``daily_remaining``; Salesforce's ``Sforce-Limit-Info: api-usage=N/M``) is counted down
with every request, and at zero the run stops with a clear error instead of burning retries.
Retrying the failed call is the adapter's job.

One limiter per run, shared by the run's threads (pull, push, actions), so together they stay under
the CRM's limits. Time comes from an injected clock and sleep, so tests run on a fake clock without
waiting.
"""

from __future__ import annotations

import dataclasses as dc
import logging
import threading
import time
import typing as t

from connector.adapters.base import CRMError, RateLimitInfo, RateLimits, RequestKind

__all__ = ["DailyLimitReached", "LimiterStats", "RateLimiter", "TokenBucket"]

log = logging.getLogger(__name__)

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


def _search_bucket_size(searches_per_second: float) -> tuple[int, float]:
    # 5 per second as "1 per 0.2 s" would serialise searches needlessly; keep the window at 1 s.
    if searches_per_second >= 1:
        return max(1, int(searches_per_second)), 1.0
    return 1, 1.0 / searches_per_second


class RateLimiter:
    """The :class:`~connector.adapters.base.RequestGate` the sync hands to the run's adapters.

    Args:
        requests: ``default`` requests allowed per ``per_seconds``.
        per_seconds: that window.
        searches_per_second: ``search`` requests per second, a budget of their own; ``None``:
            searches spend from ``requests`` like any other request.
        daily: requests allowed per day, or ``None``.
        clock: monotonic seconds (default ``time.monotonic``).
        sleep: how to wait (default ``time.sleep``).
    """

    def __init__(
        self,
        requests: int,
        per_seconds: float,
        searches_per_second: float | None = None,
        daily: int | None = None,
        *,
        unannounced: int | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        #: The configured ``default`` limit: what an announced limit may grow the bucket back to.
        self.configured = (requests, per_seconds)
        start = min(requests, unannounced) if unannounced is not None else requests
        self.default = TokenBucket(start, per_seconds, clock)
        self.search: TokenBucket | None = None
        if searches_per_second is not None:
            self.search = TokenBucket(*_search_bucket_size(searches_per_second), clock)
        self.daily = TokenBucket(daily, 86400.0, clock) if daily else None
        #: What the CRM last said is left of its daily allowance, counted down per request.
        self.daily_left: int | None = None
        self.stats = LimiterStats()
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def from_limits(cls, limits: RateLimits, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> RateLimiter:
        """A limiter for these limits (see :attr:`connector.sync.config.CRMConfig.limits`)."""
        return cls(limits.requests, limits.per_seconds, limits.searches_per_second, limits.daily, unannounced=limits.unannounced, clock=clock, sleep=sleep)

    def _buckets(self, kind: RequestKind) -> list[TokenBucket]:
        main = self.search if kind == "search" and self.search is not None else self.default
        return [main, self.daily] if self.daily is not None else [main]

    def before_request(self, kind: RequestKind) -> None:
        """Block until a request of ``kind`` may go out, then spend its token(s).

        Raises:
            DailyLimitReached: the daily allowance is used up (configured, or announced by the CRM).
        """
        while True:
            with self._lock:
                if (self.daily is not None and self.daily.limit <= 0) or (self.daily_left is not None and self.daily_left <= 0):
                    raise DailyLimitReached("the CRM's daily API allowance is used up; the next run continues", retryable=False)
                wait = max(b.wait_time() for b in self._buckets(kind))
                if wait <= 0:
                    # Remember, per thread, which token paid for this request: several threads (the
                    # puller and the writer) share the limiter, and each answer settles its own token.
                    self._local.last = [(bucket, bucket.spend()) for bucket in self._buckets(kind)]
                    if self.daily_left is not None:
                        self.daily_left -= 1
                    self.stats.requests += 1
                    return
                self.stats.waited_seconds += wait
            log.debug("rate limiter: a %s request waits %.2f s for its budget", kind, wait)
            # Sleep outside the lock: a search waiting for its budget must not hold up a write.
            self._sleep(wait)

    def after_response(self, status: int, info: RateLimitInfo) -> None:
        """Learn from an answer: settle the token, adapt to what the CRM announced, back off on 429."""
        with self._lock:
            spent = getattr(self._local, "last", None) or []
            self._local.last = None
            for bucket, token in spent:
                bucket.settle(token)
            main = spent[0][0] if spent else self.default
            if status == 429:
                self.stats.rate_limited += 1
                pause = info.retry_after if info.retry_after is not None else main.interval
                main.block(pause)
                log.info("rate limiter: 429 from the CRM; no request of this kind for %.2f s", pause)
            self._adapt(main, info)

    def _adapt(self, bucket: TokenBucket, info: RateLimitInfo) -> None:
        # Adopt the account's limit when it is tighter than configured (same rate per second); the
        # default bucket, started at the ``unannounced`` limit, grows back to the configured one
        # when the account allows more.
        limit, interval = self.configured if bucket is self.default else (bucket.limit, bucket.interval)
        if info.limit is not None and info.interval:
            tighter = info.limit / info.interval < limit / interval or info.interval > interval
            target = (min(info.limit, limit), max(info.interval, interval)) if tighter else (limit, interval)
            if target != (bucket.limit, bucket.interval):
                before = (bucket.limit, bucket.interval)
                bucket.resize(*target)
                self.stats.adapted += 1
                log.info("rate limiter: the CRM announces %d requests per %g s; now %d per %g s (was %d per %g s)",
                         info.limit, info.interval, bucket.limit, bucket.interval, *before)
        if info.remaining is not None:
            ours = bucket.available()
            if info.remaining < ours:
                bucket.hold(ours - info.remaining)
                self.stats.adapted += 1
                log.debug("rate limiter: the CRM says %d requests remain in its window, we had %d; holding %d back", info.remaining, ours, ours - info.remaining)
        if info.daily_remaining is not None:
            self.daily_left = max(0, info.daily_remaining)
