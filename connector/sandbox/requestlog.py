"""A record of every request a sandbox served, for tests and benchmarks to count calls (any vendor)."""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from connector.sandbox.http import Request, Response

__all__ = ["RequestLog", "RequestRecord"]


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One served request."""

    method: str
    path: str
    query: str
    status: int
    started_at: float
    duration_ms: float
    request_bytes: int
    response_bytes: int
    fault: str | None = None
    route: str = ""

    def to_json(self) -> dict[str, t.Any]:
        """JSON for the admin endpoint."""
        return {"method": self.method, "path": self.path, "query": self.query, "status": self.status,
                "startedAt": self.started_at, "durationMs": round(self.duration_ms, 3),
                "requestBytes": self.request_bytes, "responseBytes": self.response_bytes, "fault": self.fault, "route": self.route}


class RequestLog:
    """Thread-safe append-only log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        """Append one record."""
        with self._lock:
            self._items.append(record)

    def record(self, request: Request, response: Response, started: float, t0: float, fault: str | None) -> None:
        """Append the record of a served exchange (``started``: wall time; ``t0``: ``perf_counter`` at arrival)."""
        query = "&".join(f"{k}={v}" for k, vs in request.query.items() for v in vs)
        self.add(RequestRecord(request.method, request.path, query, 0 if response.drop else response.status, started,
                               (time.perf_counter() - t0) * 1000 + response.delay_seconds * 1000,
                               len(request.body), len(response.body), fault, request.route))

    def snapshot(self) -> list[RequestRecord]:
        """A copy of every record so far."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget everything (between phases of a benchmark)."""
        with self._lock:
            self._items.clear()

    def count(self, method: str | None = None, path_contains: str | None = None, status: int | None = None) -> int:
        """How many requests match."""
        return sum(
            1 for r in self.snapshot()
            if (method is None or r.method == method) and (path_contains is None or path_contains in r.path) and (status is None or r.status == status)
        )
