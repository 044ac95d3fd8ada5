"""What one run did: counts for the CLI's table, the ``runs`` table and ``connector status``."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

from connector.adapters.base import ApiStats

__all__ = ["RunSummary", "status_label"]


@dc.dataclass
class RunSummary:
    """What one run did; also stored in the ``runs`` table."""

    crm: str
    run_id: int | None = None
    #: ``running``, then ``ok``, ``partial`` (something waits for the next run), ``stopped`` or ``failed``;
    #: ``connector status`` shows a ``running`` run whose process is gone as ``abandoned``.
    status: str = "running"
    full: bool = False
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    pulled_contacts: int = 0
    pulled_activities: int = 0
    rejected: int = 0
    #: Contacts the CRM deleted, merged or converted (their history moved to the successor).
    retired: int = 0
    #: Records the adapter left out on purpose (not errors: a call without a contact).
    skipped: int = 0
    scored: int = 0
    changed: int = 0
    written: int = 0
    failed: int = 0
    quarantined: int = 0
    actions: int = 0
    api_calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    error: str | None = None
    #: What the CRM does not offer this account and what it means for scores (each once).
    notices: list[str] = dc.field(default_factory=list)

    def counts(self) -> dict[str, t.Any]:
        """The counters, as stored in the run's row."""
        skip = {"crm", "run_id", "status", "full", "started_at", "ended_at", "error", "notices"}
        return {k: v for k, v in dc.asdict(self).items() if k not in skip}

    def add_api(self, stats: ApiStats, since: ApiStats | None = None) -> None:
        """Count what an adapter did over the wire (since a snapshot of its counters, if given)."""
        base = since or ApiStats()
        self.api_calls += stats.calls - base.calls
        self.retries += stats.retries - base.retries
        self.rate_limited += stats.rate_limited - base.rate_limited

    @property
    def label(self) -> str:
        """The status as shown to people: ``ok, 3 quarantined`` when records were set aside."""
        return status_label(self.status, self.quarantined + self.rejected)

    @property
    def ok(self) -> bool:
        """True when the run finished everything it set out to do."""
        return self.status == "ok"


def status_label(status: str, quarantined: int) -> str:
    """``status``, with ``, N quarantined`` when a run set records aside (a run may be ``ok`` and still have)."""
    return f"{status}, {quarantined:,} quarantined" if quarantined else status
