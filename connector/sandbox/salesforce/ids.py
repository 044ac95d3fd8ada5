"""Salesforce record ids: a 3-character key prefix per object, 15 case-sensitive characters, 18 with a checksum.

The sandbox numbers ids with a counter written in base 62 whose alphabet is in ASCII order, so the
lexical order of ids is their creation order: ``ORDER BY Id`` and ``WHERE Id > '...'`` (the keyset walk
an adapter uses to break ``SystemModstamp`` ties) agree with each other as in Salesforce. The 18-character
form appends Salesforce's case checksum (one character per 5-character chunk, encoding which characters
are upper case), which is what the REST API returns.
"""

from __future__ import annotations

import re

__all__ = ["IdAllocator", "is_id", "make_id", "normalize_id", "to18"]

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")
POD = "5g0"  # the instance part of a real id (e.g. 00Q5g00000AbCdE); constant in one sandbox org


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, rem = divmod(n, 62)
        out.append(_DIGITS[rem])
    if n:
        raise ValueError("id counter overflow")
    return "".join(reversed(out))


def to18(id15: str) -> str:
    """The 18-character id for a 15-character one (Salesforce's case-insensitive form)."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def make_id(prefix: str, n: int) -> str:
    """The 18-character id number ``n`` of the object with key prefix ``prefix``."""
    return to18(prefix + POD + _base62(n, 9))


def is_id(value: object) -> bool:
    """Whether value is shaped like a 15- or 18-character Salesforce id."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id."""
    if not is_id(value):
        return None
    return to18(value[:15])


class IdAllocator:
    """Hands out increasing ids per key prefix (not thread-safe: the org lock guards it)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def allocate(self, prefix: str) -> str:
        """The next id for prefix."""
        n = self._next.get(prefix, 1)
        self._next[prefix] = n + 1
        return make_id(prefix, n)
