"""The sandbox clock: advances, never goes back, and formats timestamps as HubSpot does."""

from __future__ import annotations

import pytest

from connector.sandbox.hubspot import SandboxClock, iso_ms, parse_time_ms


def test_real_time_clock_advances_by_offset() -> None:
    wall = [1000.0]
    clock = SandboxClock(wall=lambda: wall[0])
    assert clock.now_ms() == 1_000_000
    clock.advance(days=1)
    wall[0] += 1
    assert clock.now_ms() == 1_000_000 + 86_400_000 + 1000
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)


def test_frozen_clock_and_formats() -> None:
    clock = SandboxClock(frozen_ms=1_700_000_000_000)
    clock.advance(ms=7)
    assert clock.now_ms() == 1_700_000_000_007
    assert iso_ms(1_700_000_000_007) == "2023-11-14T22:13:20.007Z"
    assert parse_time_ms("2023-11-14T22:13:20.007Z") == parse_time_ms("1700000000007") == 1_700_000_000_007
    assert parse_time_ms("2023-11-14") == 1_699_920_000_000
    with pytest.raises(ValueError, match="tomorrow"):
        parse_time_ms("tomorrow")


def test_a_clock_started_at_an_instant_runs_from_it() -> None:
    wall = [1_000.0]
    clock = SandboxClock(start_ms=1_767_225_600_000, wall=lambda: wall[0])
    assert clock.now_ms() == 1_767_225_600_000
    wall[0] += 2.5
    assert clock.now_ms() == 1_767_225_602_500
    clock.advance(days=1)
    assert clock.now_ms() == 1_767_225_602_500 + 86_400_000
    with pytest.raises(ValueError, match="not both"):
        SandboxClock(frozen_ms=1, start_ms=1)
