"""Leases: one instance per CRM, expiry and takeover, and two real processes on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from connector.sync.db import open_database
from connector.sync.lease import Lease, LeaseBusy, LeaseLost
from tests.sync.conftest import MovableClock

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_second_owner_is_refused_with_a_clear_message(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    first = Lease(engine, "hs", "host-a:1:x", ttl_seconds=60, clock=clock)
    second = Lease(engine, "hs", "host-b:2:y", ttl_seconds=60, clock=clock)
    first.acquire()
    with pytest.raises(LeaseBusy, match=r"CRM 'hs' is being synced by host-a:1:x \(lease valid until 2026-01-01T00:01:00"):
        second.acquire()
    first.release()
    second.acquire()
    assert second.holder()[0] == "host-b:2:y"
    engine.dispose()


def test_expired_lease_is_taken_over_and_the_old_owner_stops(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    dead = Lease(engine, "hs", "host-a:1:x", ttl_seconds=60, clock=clock)
    dead.acquire()
    clock.advance(seconds=61)
    taker = Lease(engine, "hs", "host-b:2:y", ttl_seconds=60, clock=clock)
    taker.acquire()
    with pytest.raises(LeaseLost):
        dead.renew()
    dead.release()  # releasing a lost lease must not remove the new owner's
    assert taker.holder()[0] == "host-b:2:y"
    engine.dispose()


def test_renewal_keeps_the_lease(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    lease = Lease(engine, "hs", "host-a:1:x", ttl_seconds=60, clock=clock)
    lease.acquire()
    for _ in range(5):
        clock.advance(seconds=40)
        lease.renew()
    with pytest.raises(LeaseBusy):
        Lease(engine, "hs", "host-b:2:y", ttl_seconds=60, clock=clock).acquire()
    engine.dispose()


def test_other_crms_are_independent(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    Lease(engine, "a", "o1", clock=clock).acquire()
    Lease(engine, "b", "o2", clock=clock).acquire()
    engine.dispose()


def test_dead_process_on_this_host_is_taken_over_at_once(database_url: str) -> None:
    import socket

    engine = open_database(database_url)
    clock = MovableClock(T)
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(proc.stdout)
    Lease(engine, "hs", f"{socket.gethostname()}:{dead_pid}:zz", ttl_seconds=600, clock=clock).acquire()
    Lease(engine, "hs", "me", ttl_seconds=600, clock=clock).acquire()
    engine.dispose()


def test_waiting_instance_gets_the_lease_when_released(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    first = Lease(engine, "hs", "o1", clock=clock)
    first.acquire()
    second = Lease(engine, "hs", "o2", clock=clock, sleep=lambda s: first.release())
    second.acquire(wait_seconds=5, poll_seconds=0.01)
    assert second.holder()[0] == "o2"
    engine.dispose()


_WORKER = textwrap.dedent(
    """
    import datetime as dt, sys, time
    import sqlalchemy as sa
    from connector.sync.db import make_engine
    from connector.sync.lease import Lease, LeaseBusy
    url, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = make_engine(url)
    now = lambda: dt.datetime.now(dt.timezone.utc)
    done = 0
    while done < rounds:
        lease = Lease(engine, "shared", name, ttl_seconds=30, clock=now)
        try:
            lease.acquire(wait_seconds=20, poll_seconds=0.01)
        except LeaseBusy:
            continue
        start = time.time()
        for _ in range(3):          # "push" three batches, renewing like the pipeline does
            lease.renew()
            time.sleep(0.01)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO lease_log (owner, t0, t1) VALUES (:o, :a, :b)"), {"o": name, "a": start, "b": time.time()})
        lease.release()
        done += 1
    """
)


@pytest.mark.postgres
def test_two_processes_never_hold_a_crm_at_once_on_postgresql(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the two-process lease test runs on PostgreSQL (TEST_DATABASE_URL)")
    engine = open_database(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE lease_log (owner TEXT, t0 DOUBLE PRECISION, t1 DOUBLE PRECISION)"))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, database_url, f"proc-{i}", "15"], env=env) for i in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    with engine.connect() as conn:
        rows = sorted(conn.execute(sa.text("SELECT t0, t1, owner FROM lease_log")).all())
    assert len(rows) == 30
    assert {r[2] for r in rows} == {"proc-0", "proc-1"}
    for (_a0, a1, _), (b0, _b1, _) in itertools.pairwise(rows):
        assert a1 <= b0, "two instances held the same CRM's lease at the same time"
    engine.dispose()


def test_renewal_asks_the_database_only_every_renew_every_seconds(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    lease = Lease(engine, "hs", "host-a:1:x", ttl_seconds=60, clock=clock, renew_every=10)
    lease.acquire()
    first_expiry = lease.holder()[1]
    clock.advance(seconds=5)
    lease.renew()  # 5 s after the claim: the lease cannot have expired, nothing is written
    assert lease.holder()[1] == first_expiry
    clock.advance(seconds=6)
    lease.renew()  # 11 s: renewed in the database
    second_expiry = lease.holder()[1]
    assert second_expiry > first_expiry
    clock.advance(seconds=9)
    lease.renew()  # 9 s after that renewal (20 s after the claim): counted from the renewal, nothing is written
    assert lease.holder()[1] == second_expiry
    clock.advance(seconds=2)
    lease.renew()  # 11 s after the renewal: renewed again
    assert lease.holder()[1] > second_expiry
    with pytest.raises(ValueError, match="renew_every"):
        Lease(engine, "hs", "o", ttl_seconds=60, clock=clock, renew_every=60)
    engine.dispose()


def test_a_lost_lease_is_still_seen_before_the_next_write_with_sparse_renewal(database_url: str) -> None:
    engine = open_database(database_url)
    clock = MovableClock(T)
    old = Lease(engine, "hs", "host-a:1:x", ttl_seconds=60, clock=clock, renew_every=10)
    old.acquire()
    clock.advance(seconds=9)
    old.renew()  # not asked yet: 9 s < renew_every
    clock.advance(seconds=61)  # stalled past the TTL (e.g. a long GC pause or a suspended VM)
    Lease(engine, "hs", "host-b:2:y", ttl_seconds=60, clock=clock).acquire()
    with pytest.raises(LeaseLost):
        old.renew()
    engine.dispose()
