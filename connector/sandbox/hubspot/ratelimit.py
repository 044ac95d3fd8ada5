"""Rolling-window rate limits like HubSpot's: N requests per interval, 429 with Retry-After past it.

https://developers.hubspot.com/docs/api/usage-details -- private apps get 190 requests per 10 s
(``TEN_SECONDLY_ROLLING``), and the CRM search endpoints 5 requests per second per account.
Measured on real (monotonic) time, because they limit the connector's real throughput.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
import threading
import time
import typing as t

__all__ = ["RateLimit", "RateLimiter", "Verdict", "parse_rate"]


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """``max_requests`` per ``interval_s`` seconds."""

    max_requests: int
    interval_s: float

    def __str__(self) -> str:
        return f"{self.max_requests}/{self.interval_s:g}s"


def parse_rate(text: str | None) -> RateLimit | None:
    """``"190/10s"``, ``"5/s"``, ``"100/1.5s"`` -> RateLimit; ``None``/``"none"``/``"off"`` -> None."""
    if text is None or str(text).strip().lower() in ("", "none", "off", "0"):
        return None
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*s?\s*", str(text))
    if not found or int(found.group(1)) < 1:
        raise ValueError(f"rate limit {text!r} is not like '190/10s' or '5/s'")
    interval = float(found.group(2)) if found.group(2) else 1.0
    if interval <= 0:
        raise ValueError(f"rate limit {text!r} needs a positive interval")
    return RateLimit(int(found.group(1)), interval)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one admission: allowed or not, what is left, when to retry."""

    allowed: bool
    remaining: int
    retry_after_s: int


class RateLimiter:
    """A thread-safe rolling window; ``None`` limit admits everything."""

    def __init__(self, limit: RateLimit | None, now: t.Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._now = now
        self._hits: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def admit(self) -> Verdict:
        """Count one request if the window has room."""
        if self.limit is None:
            return Verdict(True, 0, 0)
        with self._lock:
            now = self._now()
            horizon = now - self.limit.interval_s
            while self._hits and self._hits[0] <= horizon:
                self._hits.popleft()
            if len(self._hits) >= self.limit.max_requests:
                wait = self._hits[0] + self.limit.interval_s - now
                return Verdict(False, 0, max(1, math.ceil(wait)))
            self._hits.append(now)
            return Verdict(True, self.limit.max_requests - len(self._hits), 0)
