"""The sandbox's notion of "now", in epoch milliseconds, which tests can move forward.

HubSpot stamps every write with a millisecond ``lastmodifieddate``; the sync engine's cursors and
its "decay day" depend on it. A clock the test can advance (``advance(days=1)``) replaces waiting.
Rate limits are not on this clock: they protect the real wall-clock throughput.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
import typing as t

__all__ = ["SandboxClock", "iso_ms", "parse_time_ms"]


class SandboxClock:
    """Real time plus an offset, or a frozen instant; both moved forward by :meth:`advance`.

    ``frozen_ms`` stands still (tests, and ``connector sandbox hubspot --frozen-at``);
    ``start_ms`` runs in real time from that instant (``--start-at``), so a seeded portal is the
    same on every start while later writes still get later timestamps.
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


@functools.lru_cache(maxsize=65_536)
def iso_ms(epoch_ms: int) -> str:
    """HubSpot's timestamp format: ISO-8601 UTC with milliseconds and ``Z``."""
    stamp = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_time_ms(value: t.Any) -> int:
    """Epoch ms from an int, a digit string, an ISO-8601 date-time or a date, as HubSpot accepts.

    Raises ``ValueError`` naming the value when it is none of these.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a timestamp (epoch ms or ISO-8601 expected): {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return round(parsed.timestamp() * 1000)
