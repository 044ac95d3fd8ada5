"""Bookmarks as pure functions over plain dicts: how far each stream has been pulled and stored.

The state of one CRM is a dict ``{stream: {"value": ISO8601 | None, "progress": ISO8601 | None}}``.
``value`` is the checked-in cursor (everything up to it is stored); ``progress`` is the high-water
mark of the pull under way, moved page by page and checked in by :func:`finalize` only when the
whole stream has been stored. A crash before that leaves ``value`` where it was, so the next run
pulls the same window again, and the store's unique keys make that harmless.

No database and no clock here (like singer_sdk's ``helpers/_state.py``): the store reads and
writes these dicts, the pipeline calls these functions, the tests need neither.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.scoring.records import utc

__all__ = ["State", "advance_progress", "checked_in", "finalize", "since", "stream_state"]

#: ``{stream: {"value": iso | None, "progress": iso | None}}``
State = dict[str, dict[str, t.Any]]


def _parse(value: t.Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return utc(value)
    return utc(dt.datetime.fromisoformat(str(value)))


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else utc(value).isoformat()


def stream_state(state: t.Mapping[str, t.Any], stream: str) -> dict[str, t.Any]:
    """The bookmark of ``stream`` (a fresh empty one when the stream was never pulled)."""
    found = state.get(stream) or {}
    return {"value": found.get("value"), "progress": found.get("progress")}


def checked_in(state: t.Mapping[str, t.Any], stream: str) -> dt.datetime | None:
    """The checked-in cursor of ``stream``: everything up to it has been stored."""
    return _parse(stream_state(state, stream)["value"])


def since(state: t.Mapping[str, t.Any], stream: str, overlap: dt.timedelta, *, full: bool = False) -> dt.datetime | None:
    """Where the next pull starts: the checked-in cursor minus ``overlap``; ``None`` means everything.

    The overlap re-reads records the CRM indexed late (a record modified at 10:00:00 may become
    searchable at 10:00:05, after a pull that ran at 10:00:02 moved the cursor past it).
    """
    if full:
        return None
    value = checked_in(state, stream)
    return None if value is None else value - overlap


def advance_progress(state: t.Mapping[str, t.Any], stream: str, page_cursor: dt.datetime | None) -> State:
    """A new state with the pull's progress moved to ``page_cursor`` (never backwards)."""
    out: State = {k: dict(v) for k, v in state.items()}
    current = stream_state(state, stream)
    if page_cursor is not None:
        old = _parse(current["progress"])
        new = utc(page_cursor)
        current["progress"] = _iso(new if old is None or new > old else old)
    out[stream] = current
    return out


def finalize(state: t.Mapping[str, t.Any], stream: str, until: dt.datetime | None = None) -> State:
    """Check the stream's progress in as its cursor, once every pulled page is stored.

    ``until`` (the run's start, which the pull was bounded by) is the cursor when a pull that
    covered the whole window found nothing newer: the window ``(since, until]`` is done. The cursor
    never moves backwards and never passes ``until``.
    """
    out: State = {k: dict(v) for k, v in state.items()}
    current = stream_state(state, stream)
    candidates = [d for d in (_parse(current["value"]), _parse(current["progress"]), until) if d is not None]
    new = max(candidates) if candidates else None
    if until is not None and new is not None and new > utc(until):
        new = utc(until)
    old = _parse(current["value"])
    if old is not None and (new is None or new < old):
        new = old
    out[stream] = {"value": _iso(new), "progress": None}
    return out
