"""A sandbox's notion of "now", in epoch milliseconds, which tests can move forward.

CRMs stamp every write with a modification time (HubSpot's ``lastmodifieddate``, Salesforce's
``SystemModstamp``); the sync engine's cursors and its "decay day" depend on it. A clock the test can
advance (``advance(days=1)``) replaces waiting. Rate limits are not on this clock: they protect the
real wall-clock throughput. Vendor-neutral: each sandbox formats the instants its own way.
"""

from __future__ import annotations

import threading
import time
import typing as t

__all__ = ["SandboxClock"]


class SandboxClock:
    """Real time plus an offset, or a frozen instant; both moved forward by :meth:`advance`.

    ``frozen_ms`` stands still (tests, and ``--frozen-at``); ``start_ms`` runs in real time from that
    instant (``--start-at``), so a seeded sandbox is the same on every start while later writes still
    get later timestamps.
    """

    def __init__(self, frozen_ms: int | None = None, wall: t.Callable[[], float] = time.time, start_ms: int | None = None) -> None:
        if frozen_ms is not None and start_ms is not None:
            raise ValueError("a sandbox clock is either frozen or started at an instant, not both")
        self._frozen_ms = frozen_ms
        self._wall = wall
        self._offset_ms = 0 if start_ms is None else int(start_ms) - int(wall() * 1000)
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Current sandbox time in epoch milliseconds."""
        with self._lock:
            if self._frozen_ms is not None:
                return self._frozen_ms
            return int(self._wall() * 1000) + self._offset_ms

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still between :meth:`advance` calls."""
        return self._frozen_ms is not None

    def advance(self, days: float = 0, hours: float = 0, seconds: float = 0, ms: int = 0) -> int:
        """Move time forward (never backward) and return the new now."""
        delta = round(((days * 24 + hours) * 3600 + seconds) * 1000) + int(ms)
        if delta < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            if self._frozen_ms is not None:
                self._frozen_ms += delta
            else:
                self._offset_ms += delta
        return self.now_ms()

    def set_ms(self, when_ms: int) -> None:
        """Freeze the clock at an instant (tests that need exact timestamps)."""
        with self._lock:
            self._frozen_ms = int(when_ms)
