"""The contract between the sync engine and a CRM adapter.

The sync engine (``connector.sync``) drives any adapter through :class:`CRMAdapter`; an adapter
never imports ``connector.sync``. Rate limiting is owned by the sync engine and handed *in* as a
:class:`RequestGate`, so the adapter calls ``gate.before_request(kind)`` before every HTTP call and
``gate.after_response(status, headers)`` after it. Adapters count what they did in
:class:`ApiStats`, which the sync engine records per run.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

from connector.scoring.records import Activity, Contact
from connector.yamlfile import FileProblem

__all__ = [
    "ApiStats",
    "CRMAdapter",
    "CRMError",
    "FieldUpdate",
    "MappingProblem",
    "NoGate",
    "Page",
    "PushResult",
    "Reject",
    "RequestGate",
    "TaskRequest",
]

RequestKind = t.Literal["default", "search"]


class CRMError(Exception):
    """A CRM call failed for good (after retries), with a message an admin can act on.

    Never carries a token or secret in its message.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class RequestGate(t.Protocol):
    """Client-side rate limiting, owned by the sync engine."""

    def before_request(self, kind: RequestKind) -> None:
        """Block until a request of this kind may be sent."""

    def after_response(self, status: int, headers: t.Mapping[str, str]) -> None:
        """Learn from the CRM's answer (rate-limit headers, 429s)."""


class NoGate:
    """A gate that never waits: for one-off CLI commands and tests of the adapter alone."""

    def before_request(self, kind: RequestKind) -> None:  # noqa: D102
        return None

    def after_response(self, status: int, headers: t.Mapping[str, str]) -> None:  # noqa: D102
        return None


@dc.dataclass
class ApiStats:
    """What an adapter did over the wire; mutable counters, read by the sync engine per run."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    errors: int = 0
    by_endpoint: dict[str, int] = dc.field(default_factory=dict)

    def count(self, endpoint: str) -> None:
        """Count one request sent to ``endpoint`` (a short name such as ``contacts.search``)."""
        self.calls += 1
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1


@dc.dataclass(frozen=True, slots=True)
class Reject:
    """A record the adapter could not translate: quarantined by the sync, never silently dropped."""

    stream: str
    record_id: str | None
    reason: str
    raw: t.Mapping[str, t.Any]


R = t.TypeVar("R", Contact, Activity)


@dc.dataclass(frozen=True, slots=True)
class Page(t.Generic[R]):
    """One page of a stream: translated records, rejects, and the cursor safe to check in after it.

    ``cursor`` is the high-water mark of what this page and all earlier pages of the same pull
    covered; it never passes the ``until`` the pull was asked for.
    """

    records: list[R]
    rejects: list[Reject]
    cursor: dt.datetime | None


@dc.dataclass(frozen=True, slots=True)
class FieldUpdate:
    """New values for one contact, keyed by canonical output name (see ``ScoringModel.output_names``)."""

    contact_id: str
    values: t.Mapping[str, t.Any]


@dc.dataclass(frozen=True, slots=True)
class PushResult:
    """Outcome of one batch write: which contacts landed, which failed and why."""

    written: list[str]
    #: contact id -> (reason from the CRM, whether retrying may help)
    failed: dict[str, tuple[str, bool]] = dc.field(default_factory=dict)


@dc.dataclass(frozen=True, slots=True)
class TaskRequest:
    """A task for the contact's owner, created by a ``create_task`` trigger action."""

    contact_id: str
    subject: str
    body: str | None
    due_at: dt.datetime
    #: Idempotency key of the trigger action (stable across runs). An adapter that can store it
    #: with the task may also offer ``find_task(task) -> str | None``: the sync engine then asks it
    #: before re-creating a task whose creation was cut off by a crash, so no task is created twice.
    key: str | None = None


#: Something in a mapping file that does not fit the CRM, with where it is written: the same
#: file/line/key problem every admin-written YAML file reports.
MappingProblem = FileProblem


class CRMAdapter(t.Protocol):
    """What every CRM adapter offers the sync engine. One instance per configured CRM."""

    #: ``hubspot`` or ``salesforce``.
    kind: str
    #: Largest number of contacts one :meth:`push` call may carry.
    max_batch_size: int
    stats: ApiStats

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Contact]]:
        """Contacts modified in ``(since, until]`` (``since=None``: everything), oldest first."""

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        """Activity that occurred in ``(since, until]``, with ids stable across pulls."""

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        """Write one batch (at most ``max_batch_size``) of output values to the CRM."""

    def setup(self, output_names: t.Sequence[str], enumerations: t.Mapping[str, t.Sequence[str]]) -> list[str]:
        """Create missing output properties/fields idempotently; return what was created."""

    def check(self) -> list[MappingProblem]:
        """Compare the mapping file with the CRM's real fields."""

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Add contacts to a static list, creating it if needed (idempotent)."""

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Remove contacts from a static list (idempotent)."""

    def create_task(self, task: TaskRequest) -> str:
        """Create a task for the contact's owner; return the task id."""
