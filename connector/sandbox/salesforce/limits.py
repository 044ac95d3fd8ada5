"""The org's API allowances: the rolling 24-hour request allowance and the concurrent long-request limit.

Salesforce counts every REST, Bulk and Tooling call against ``DailyApiRequests`` over a rolling 24
hours, reports it on every answer as ``Sforce-Limit-Info: api-usage=N/M`` and, once it is spent,
answers 403 ``[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]``
("API Request Limits and Allocations",
https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm).
The window runs on the org clock, so a test can spend the allowance and ``advance(days=1)``. Login
calls do not count. Requests that run longer than ``long_seconds`` count against a limit of
concurrent long-running requests (25 in production orgs, counted from 20 s); past it new requests get
403 ``REQUEST_LIMIT_EXCEEDED`` "ConcurrentPerOrgLongTxn Limit exceeded.".
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import typing as t

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce.errors import ApiError

__all__ = ["DailyAllowance", "LongRequestGate", "limits_body"]

DAY_MS = 86_400_000


class DailyAllowance:
    """Requests counted over a rolling 24 hours of org time, against a maximum."""

    def __init__(self, clock: SandboxClock, maximum: int = 100_000) -> None:
        if maximum < 1:
            raise ValueError(f"the daily API allowance must be at least 1, got {maximum}")
        self.clock = clock
        self.maximum = maximum
        self._lock = threading.Lock()
        self._hits: collections.deque[list[int]] = collections.deque()  # [epoch ms, count], oldest first
        self._used = 0

    def _prune(self, now: int) -> None:
        while self._hits and self._hits[0][0] <= now - DAY_MS:
            self._used -= self._hits.popleft()[1]

    @property
    def used(self) -> int:
        """Requests counted in the last 24 hours."""
        with self._lock:
            self._prune(self.clock.now_ms())
            return self._used

    def spend(self) -> int:
        """Count one request and return the usage after it; 403 ``REQUEST_LIMIT_EXCEEDED`` when none is left."""
        now = self.clock.now_ms()
        with self._lock:
            self._prune(now)
            if self._used >= self.maximum:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers={"Sforce-Limit-Info": f"api-usage={self._used}/{self.maximum}"})
            if self._hits and self._hits[-1][0] == now:
                self._hits[-1][1] += 1
            else:
                self._hits.append([now, 1])
            self._used += 1
            return self._used

    def set_usage(self, used: int, maximum: int | None = None) -> None:
        """Pretend ``used`` requests were made just now (admin: a test starts near the limit)."""
        if used < 0:
            raise ValueError("usage cannot be negative")
        with self._lock:
            if maximum is not None:
                if maximum < 1:
                    raise ValueError("the daily API allowance must be at least 1")
                self.maximum = maximum
            self._hits.clear()
            self._hits.append([self.clock.now_ms(), used])
            self._used = used

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value."""
        return f"api-usage={self.used}/{self.maximum}"


class LongRequestGate:
    """Tracks requests in flight; refuses new ones while too many have run longer than ``long_seconds``."""

    def __init__(self, limit: int = 25, long_seconds: float = 20.0, now: t.Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.long_seconds = long_seconds
        self._now = now
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._started: dict[int, float] = {}

    def enter(self) -> int:
        """Admit a request (403 past the limit); returns a ticket for :meth:`leave`."""
        now = self._now()
        with self._lock:
            long_running = sum(1 for started in self._started.values() if now - started >= self.long_seconds)
            if self.limit > 0 and long_running >= self.limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
            ticket = next(self._ids)
            self._started[ticket] = now
            return ticket

    def leave(self, ticket: int) -> None:
        """The request finished."""
        with self._lock:
            self._started.pop(ticket, None)


def limits_body(daily: DailyAllowance, bulk_batches_used: int, storage_mb_used: int) -> dict[str, dict[str, int]]:
    """The ``limits`` resource: ``{name: {"Max", "Remaining"}}`` for the org's allocations."""
    used = daily.used

    def entry(maximum: int, spent: int = 0) -> dict[str, int]:
        return {"Max": maximum, "Remaining": max(0, maximum - spent)}

    return {
        "ConcurrentAsyncGetReportInstances": entry(200), "ConcurrentSyncReportRuns": entry(20),
        "DailyApiRequests": entry(daily.maximum, used), "DailyAsyncApexExecutions": entry(250000),
        "DailyBulkApiBatches": entry(15000, bulk_batches_used), "DailyBulkV2QueryFileStorageMB": entry(976562),
        "DailyBulkV2QueryJobs": entry(10000), "DailyStreamingApiEvents": entry(1000000),
        "DataStorageMB": entry(1024, storage_mb_used), "FileStorageMB": entry(20480),
        "HourlyODataCallout": entry(20000), "HourlyTimeBasedWorkflow": entry(1000),
        "MassEmail": entry(5000), "SingleEmail": entry(5000),
    }
