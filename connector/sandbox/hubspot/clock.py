"""HubSpot's timestamp formats on top of the shared :class:`connector.sandbox.clock.SandboxClock`.

HubSpot stamps every write with a millisecond ``lastmodifieddate`` and accepts epoch ms or ISO-8601
where it takes a time; ``SandboxClock`` is re-exported so existing imports keep one clock class.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing as t

from connector.sandbox.clock import SandboxClock

__all__ = ["SandboxClock", "iso_ms", "parse_time_ms"]


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
    if text.lstrip("-").isdecimal():
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
