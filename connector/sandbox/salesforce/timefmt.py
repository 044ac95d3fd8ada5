"""Salesforce's date and time formats.

REST answers carry date-times as ``2024-01-15T10:30:00.000+0000`` and dates as ``2024-01-15``. Writes
(JSON and Bulk CSV) accept ISO-8601 with ``Z``, ``+hh:mm`` or ``+hhmm`` and optional fractions. Audit
stamps (``CreatedDate``, ``LastModifiedDate``, ``SystemModstamp``) are stored to the whole second, as
Salesforce stores them, so many records share one ``SystemModstamp`` and a cursor must break ties by Id.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

__all__ = ["DAY_MS", "date_to_ms", "format_date", "format_datetime", "ms_to_date", "parse_date", "parse_datetime", "truncate_to_second"]

DAY_MS = 86_400_000
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@functools.lru_cache(maxsize=65_536)
def format_datetime(epoch_ms: int) -> str:
    """``2024-01-15T10:30:00.000+0000``."""
    stamp = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}+0000"


def format_date(day: str) -> str:
    """Dates are stored as ``YYYY-MM-DD`` strings already (they compare correctly as text)."""
    return day


def ms_to_date(epoch_ms: int) -> str:
    """The UTC calendar day of an instant."""
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


def date_to_ms(day: str) -> int:
    """Midnight UTC of a ``YYYY-MM-DD`` day."""
    parsed = dt.date.fromisoformat(day)
    return int(dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.UTC).timestamp() * 1000)


def truncate_to_second(epoch_ms: int) -> int:
    """Drop the milliseconds, as Salesforce's audit stamps do."""
    return epoch_ms - epoch_ms % 1000


def parse_datetime(text: str) -> int:
    """Epoch ms of a date-time (or a bare date, read as midnight UTC); ``ValueError`` otherwise."""
    text = text.strip()
    found = _DATETIME.fullmatch(text)
    if found is None:
        if _DATE.fullmatch(text):
            return date_to_ms(text)
        raise ValueError(f"'{text}' is not a valid value for the type xsd:dateTime")
    year, month, day, hour, minute = (int(found.group(i)) for i in range(1, 6))
    second = int(found.group(6) or 0)
    fraction = (found.group(7) or "0")[:3].ljust(3, "0")
    try:
        stamp = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid value for the type xsd:dateTime") from exc
    offset_ms = 0
    zone = found.group(8)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset_ms = sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60_000
    return int(stamp.timestamp()) * 1000 + int(fraction) - offset_ms


def parse_date(text: str) -> str:
    """A ``YYYY-MM-DD`` day (a date-time is cut to its UTC day); ``ValueError`` otherwise."""
    text = text.strip()
    if _DATE.fullmatch(text):
        try:
            dt.date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"'{text}' is not a valid value for the type xsd:date") from exc
        return text
    try:
        return ms_to_date(parse_datetime(text))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid value for the type xsd:date") from exc
