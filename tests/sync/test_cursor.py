"""Bookmarks: pure functions over dicts, no database."""

from __future__ import annotations

import datetime as dt

from connector.sync import cursor

T = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def test_never_pulled_stream_starts_from_the_beginning() -> None:
    assert cursor.since({}, "contacts", dt.timedelta(minutes=10)) is None


def test_since_subtracts_the_overlap() -> None:
    state = {"contacts": {"value": T.isoformat()}}
    assert cursor.since(state, "contacts", dt.timedelta(minutes=10)) == T - dt.timedelta(minutes=10)
    assert cursor.since(state, "contacts", dt.timedelta(minutes=10), full=True) is None


def test_progress_moves_forward_only_and_is_not_checked_in() -> None:
    state = cursor.advance_progress({}, "contacts", T)
    state = cursor.advance_progress(state, "contacts", T - dt.timedelta(hours=1))
    assert state["contacts"]["progress"] == T.isoformat()
    assert cursor.checked_in(state, "contacts") is None


def test_finalize_checks_in_up_to_the_run_start() -> None:
    until = T + dt.timedelta(hours=1)
    state = cursor.finalize(cursor.advance_progress({}, "contacts", T), "contacts", until)
    assert cursor.checked_in(state, "contacts") == until
    assert state["contacts"]["progress"] is None


def test_finalize_never_moves_backwards_or_past_until() -> None:
    state = {"contacts": {"value": T.isoformat()}}
    back = cursor.finalize(state, "contacts", T - dt.timedelta(days=1))
    assert cursor.checked_in(back, "contacts") == T
    ahead = cursor.finalize(cursor.advance_progress({}, "x", T + dt.timedelta(days=1)), "x", T)
    assert cursor.checked_in(ahead, "x") == T


def test_functions_do_not_mutate_their_input() -> None:
    state: dict = {"contacts": {"value": T.isoformat(), "progress": None}}
    cursor.finalize(cursor.advance_progress(state, "contacts", T + dt.timedelta(seconds=1)), "contacts", T + dt.timedelta(hours=1))
    assert state == {"contacts": {"value": T.isoformat(), "progress": None}}
