"""The contract between the rest of the connector and a CRM adapter.

Two halves, both CRM-neutral:

* :class:`CRMAdapter` -- what an adapter instance does for a run: pull contacts and activity in
  pages, write output values in batches, carry out trigger actions in batches, set up and check its
  CRM, report what it did over the wire (:class:`ApiStats`) and close. The sync engine
  (``connector.sync``) calls these methods and nothing else; an adapter never imports
  ``connector.sync``.
* :class:`AdapterSpec` -- what an adapter package declares about its CRM, so that nothing outside
  the package hard-codes it: credential roles and their default variables, default rate limits per
  request kind, the largest write batch, the longest text value, the mapping loader and the one
  constructor, :attr:`AdapterSpec.from_config`. Each package exposes its spec as ``ADAPTER``; the
  registry in :mod:`connector.adapters` finds it by name.

Rate limiting is owned by the sync engine and handed *in* as a :class:`RequestGate`: the adapter
calls ``gate.before_request(kind)`` before every HTTP request and ``gate.after_response(status,
info)`` after it, where ``info`` is the CRM's own rate-limit headers read into a neutral
:class:`RateLimitInfo` (HubSpot's ``X-HubSpot-RateLimit-*``, Salesforce's ``Sforce-Limit-Info``...).

Who isolates a bad record: the adapter. :meth:`CRMAdapter.push` and
:meth:`CRMAdapter.create_tasks` answer per record; when the CRM refuses a whole batch over its
content, the adapter splits it until the culprits are found, so its answer names them. An exception
means the batch as a whole could not be written (CRM down, credentials refused): the sync keeps
every row of it for a later attempt and never retries record by record itself.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import pathlib
import typing as t

from pydantic import SecretStr

from connector.adapters.changes import OpenChangeFeed
from connector.adapters.specs import OutputSpec
from connector.scoring.records import Activity, Contact
from connector.yamlfile import FileProblem

__all__ = [
    "AdapterSettings",
    "AdapterSpec",
    "ApiStats",
    "CRMAdapter",
    "CRMError",
    "ChangeEvent",
    "ChangeKind",
    "Echo",
    "FieldUpdate",
    "MappingProblem",
    "NoGate",
    "Outcome",
    "OutcomeKind",
    "OutputSpec",
    "Page",
    "PushResult",
    "RateLimitInfo",
    "RateLimits",
    "Reject",
    "RequestGate",
    "RequestKind",
    "TaskRequest",
    "TaskResult",
    "WebhookError",
    "WebhookReceiver",
]

#: ``search``: requests the CRM counts against a separate, smaller budget (HubSpot's CRM search);
#: ``default``: everything else.
RequestKind = t.Literal["default", "search"]


class CRMError(Exception):
    """A CRM call failed for good (after retries), with a message an admin can act on.

    Never carries a token or secret in its message.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dc.dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What one answer of the CRM says about its rate limits, in CRM-neutral terms.

    Each field is ``None`` when the answer does not say. The adapter reads its CRM's headers into
    it; the gate never sees a header.
    """

    #: Requests the account may send per :attr:`interval` for this kind of request.
    limit: int | None = None
    #: That window, in seconds.
    interval: float | None = None
    #: Requests left in the current window (other apps of the account spend from it too).
    remaining: int | None = None
    #: Requests the account may send per day (Salesforce's daily allowance).
    daily_limit: int | None = None
    #: Requests left today; 0 means stop until tomorrow.
    daily_remaining: int | None = None
    #: Seconds the CRM asks us to wait before the next request (a 429's ``Retry-After``).
    retry_after: float | None = None


class RequestGate(t.Protocol):
    """Client-side rate limiting, owned by the sync engine."""

    def before_request(self, kind: RequestKind) -> None:
        """Block until a request of this kind may be sent."""

    def after_response(self, status: int, info: RateLimitInfo) -> None:
        """Learn from the CRM's answer (its rate-limit figures, 429s)."""


class NoGate:
    """A gate that never waits: for one-off CLI commands and tests of the adapter alone."""

    def before_request(self, kind: RequestKind) -> None:  # noqa: D102
        return None

    def after_response(self, status: int, info: RateLimitInfo) -> None:  # noqa: D102
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


#: ``customer``: the contact became a customer (HubSpot lifecycle stage); ``closed_won``: a deal or
#: opportunity the contact is associated with was won; ``converted``: a lead was converted
#: (Salesforce lead conversion).
OutcomeKind = t.Literal["customer", "closed_won", "converted"]


@dc.dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a contact in the CRM, with its date: the label learning and the KPI report use.

    One per contact, kind and CRM record saying so; pulled again, the same outcome replaces itself.
    """

    contact_id: str
    kind: OutcomeKind
    #: The CRM record that says so: a deal or opportunity id; the contact's (lead's) own id for a
    #: lifecycle stage or a lead conversion.
    source_id: str
    #: When it happened (the stage-entry date, the close date, the conversion date); ``None``: unknown.
    occurred_at: dt.datetime | None
    #: The deal's or opportunity's amount, where there is one.
    amount: float | None = None


R = t.TypeVar("R", Contact, Activity, Outcome)


@dc.dataclass(frozen=True, slots=True)
class Page(t.Generic[R]):
    """One page of a stream: translated records, rejects, and the cursor safe to check in after it.

    ``cursor`` is the high-water mark of what this page and all earlier pages of the same pull
    covered; it never passes the ``until`` the pull was asked for.
    """

    records: list[R]
    rejects: list[Reject]
    cursor: dt.datetime | None
    #: Contacts the CRM no longer holds as people to score (deleted, merged into another, a lead
    #: converted into a contact): id -> the id that continues it, or ``None``. The sync moves their
    #: activity and history to the successor, drops their pending writes and stops scoring them.
    #: Contact pulls only.
    gone: t.Mapping[str, str | None] = dc.field(default_factory=dict)
    #: Records left out on purpose, by reason (``"call without contact": 3``): not errors, so counted
    #: in the run's summary and never quarantined.
    skipped: t.Mapping[str, int] = dc.field(default_factory=dict)
    #: Something the CRM does not offer this account, and what it means for scores (a stream the
    #: plan lacks). The sync reports each text once per run; the rest of the pull goes on.
    notices: tuple[str, ...] = ()


@dc.dataclass(frozen=True, slots=True)
class Echo:
    """The connector's own writes, to leave out of a contact pull (the CRM stamped them as modifications).

    A CRM that moves a contact's modification time when the connector writes it (HubSpot's
    ``lastmodifieddate``) would hand every written contact back to the next pull. The pull skips a
    contact modified inside ``window`` only if it carries ``marker_value`` in the output
    ``marker`` (a ``scored_at`` output: only the writes of the run that ``window`` belongs to set
    it to that value); everything else -- every contact modified outside the window, and inside it
    every contact without that marker -- is pulled as before. The sync reads the contacts that run
    wrote again with :meth:`CRMAdapter.read_contacts`, so an edit hidden under a write is not lost.
    """

    #: ``(start, end)``: when that run's writes were sent and answered (the sync's clock, with a margin).
    window: tuple[dt.datetime, dt.datetime]
    #: Canonical output name (mapped like :meth:`CRMAdapter.push` maps it).
    marker: str
    #: The value that run wrote to ``marker`` (its ``as_of``).
    marker_value: dt.datetime


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

    #: Idempotency key of the trigger action (stable across runs): at most one task per key.
    key: str
    contact_id: str
    subject: str
    body: str | None
    due_at: dt.datetime
    #: The contact's owner as last pulled (:attr:`Contact.owner_id`); ``None``: the mapping's default.
    owner_id: str | None = None
    #: An earlier attempt may have created it (a crash cut it off, or its answer was lost): the
    #: adapter looks the key up before creating. ``False``: never sent, no look-up needed.
    attempted: bool = False


@dc.dataclass(frozen=True, slots=True)
class TaskResult:
    """Outcome of :meth:`CRMAdapter.create_tasks`, by task key."""

    #: key -> the CRM's task id (created now, or found from an earlier attempt)
    created: dict[str, str] = dc.field(default_factory=dict)
    #: key -> (reason, whether retrying may help)
    failed: dict[str, tuple[str, bool]] = dc.field(default_factory=dict)


#: What happened to a contact, in CRM-neutral terms (what a webhook or change event reports).
ChangeKind = t.Literal["created", "changed", "merged", "deleted", "privacy_deleted"]


@dc.dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change notification from the CRM, read by the adapter from its webhook payload.

    ``merged_ids``: for ``merged``, the contacts that no longer exist on their own (their history
    now belongs to ``contact_id``).
    """

    #: The CRM's id of the notification (dedupe key: the CRM delivers at least once).
    event_id: str
    kind: ChangeKind
    contact_id: str
    occurred_at: dt.datetime
    merged_ids: tuple[str, ...] = ()
    #: The CRM field that changed (``changed``), for logs and metrics only.
    field: str | None = None
    #: The change is the trace of new activity (a page visited, an e-mail opened, a meeting
    #: logged): the activity itself is pulled too, not only the contact.
    activity: bool = False


class WebhookError(ValueError):
    """A webhook request that cannot be accepted; ``reason`` is a short label for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class WebhookReceiver(t.Protocol):
    """How an adapter authenticates and reads its CRM's webhook requests (no network, no state)."""

    #: The credential role (of :attr:`AdapterSpec.credential_roles`) holding the signing secret.
    secret_role: str

    def verify(self, secret: str, method: str, uri: str, body: bytes, headers: t.Mapping[str, str], now: dt.datetime) -> None:
        """Check the request's signature and age; raise :class:`WebhookError` when it is not the CRM's.

        ``uri`` is the full URI the CRM called (scheme, host, path, query); ``headers`` are
        case-insensitive.
        """

    def parse(self, body: bytes) -> tuple[list[ChangeEvent], list[Reject]]:
        """The contact events of a verified body; events of other objects are left out, bad ones rejected.

        Raises :class:`WebhookError` when the body as a whole cannot be read.
        """


#: Something in a mapping file that does not fit the CRM, with where it is written: the same
#: file/line/key problem every admin-written YAML file reports.
MappingProblem = FileProblem


class CRMAdapter(t.Protocol):
    """What every CRM adapter offers the sync engine. One instance per run and thread."""

    #: Largest number of tasks one :meth:`create_tasks` call (and of contacts one list action) may carry.
    max_batch_size: int
    #: Largest number of contacts one :meth:`push` call may carry. Usually ``max_batch_size``; an
    #: adapter that writes large pushes another way takes more (Salesforce: a Bulk API 2.0 job).
    max_push_size: int
    #: What this instance did over the wire so far.
    stats: ApiStats

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime, echo: Echo | None = None) -> t.Iterator[Page[Contact]]:
        """Contacts modified in ``(since, until]`` (``since=None``: everything), oldest first; ``echo`` left out (see :class:`Echo`)."""

    def read_contacts(self, ids: t.Sequence[str]) -> t.Iterator[Page[Contact]]:
        """These contacts as they are now, in pages; ids the CRM no longer has are skipped.

        For re-reading the contacts a run wrote (see :class:`Echo`) and for real-time updates. The
        cursor of each page is ``None``: a read by id says nothing about how far the incremental
        pull has come.
        """

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        """Activity the CRM recorded or changed in ``(since, until]``, with ids stable across pulls.

        That is more than what *occurred* in the window: activity logged late (a meeting entered a
        week after it was held) and earlier activity that became a contact's in the window (a
        visitor's page views, claimed when it converted) come with the pull that sees them arrive,
        with their own ``occurred_at``. A page may therefore repeat an activity pulled before: ids
        are stable and the store keeps the first copy.
        """

    def pull_outcomes(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
        """Outcomes that happened or changed in ``(since, until]``, as the mapping asks for them.

        A mapping that asks for none yields nothing (and costs no request).
        """

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        """Write one batch (at most :attr:`max_push_size` contacts) of values; per-record outcomes.

        Values are keyed by canonical output name, or by a CRM field name for ``set_property``
        actions (mapped the same way). Raises :class:`CRMError` only when the batch as a whole
        could not be written.
        """

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Add contacts to a static list, creating it if needed (idempotent)."""

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Remove contacts from a static list (idempotent)."""

    def create_tasks(self, tasks: t.Sequence[TaskRequest]) -> TaskResult:
        """Create a task per request (at most :attr:`max_batch_size`), never two for one key.

        Requests marked ``attempted`` are looked up first; a task found is reported as created.
        Raises :class:`CRMError` only when no task could be handled at all (credentials refused).
        """

    def setup(self, specs: t.Sequence[OutputSpec]) -> list[str]:
        """Create missing output fields (and whatever the mapping asks for) idempotently; say what changed."""

    def check(self, outputs: t.Sequence[str]) -> list[MappingProblem]:
        """Compare the mapping file, and the output fields named, with the CRM's real fields."""

    def close(self) -> None:
        """Release connections."""


@dc.dataclass(frozen=True, slots=True)
class RateLimits:
    """A CRM's default client-side limits; ``connector.yaml``'s ``rate_limit`` overrides each."""

    #: ``default`` requests allowed in any window of ``per_seconds``.
    requests: int
    per_seconds: float
    #: ``search`` requests per second (a separate budget); ``None``: searches share ``requests``.
    searches_per_second: float | None = None
    #: Requests allowed per day; ``None``: no daily allowance.
    daily: int | None = None
    #: ``default`` requests per window allowed until the CRM's answers announce the account's own
    #: limit (the smallest plan's, so the first burst never meets a 429); then the announced limit,
    #: up to ``requests``. ``None``: ``requests`` from the start.
    unannounced: int | None = None


@dc.dataclass(frozen=True)
class AdapterSettings:
    """What an adapter is built from: one ``crms[]`` entry with its variables read.

    The values come from the environment (or ``.env``), read by the connector from the variables
    the entry names, or else from the declaration's defaults. Secrets stay ``SecretStr``.
    """

    #: The entry's name in ``connector.yaml`` (for messages).
    crm: str
    #: The mapping file.
    mapping: pathlib.Path
    #: credential role -> value, for the roles that are set.
    secrets: t.Mapping[str, SecretStr]
    #: credential role -> NAME of the variable it is read from (for messages naming what to set).
    variables: t.Mapping[str, str]
    #: API base URL (HubSpot), instance or login URL (Salesforce); ``None``: the vendor's default.
    base_url: str | None = None
    #: CA bundle to trust for HTTPS (a sandbox with its own certificate); ``None``: the system's.
    ca_bundle: pathlib.Path | None = None
    #: NAME of the variable the base URL is read from (for messages).
    base_url_variable: str | None = None
    #: The output fields the entry's models write (what ``setup`` creates, with their kinds): an
    #: adapter may format values by them instead of asking the CRM for field types on every run.
    outputs: tuple[OutputSpec, ...] = ()


@dc.dataclass(frozen=True)
class AdapterSpec:
    """What an adapter package declares about its CRM (exposed as its ``ADAPTER``)."""

    #: Registered name (``adapter:`` in ``connector.yaml``, ``crm:`` in a mapping file).
    name: str
    #: Human name, for messages (``HubSpot``).
    label: str
    #: credential role -> default NAME of the variable holding it (``crms[].credentials`` overrides).
    credential_roles: t.Mapping[str, str]
    #: Default NAME of the variable with the API base URL (``crms[].base_url_env`` overrides).
    base_url_env: str
    #: Default limits per request kind and per day.
    rate_limits: RateLimits
    #: Largest write batch (contacts per update call, tasks per create call).
    max_batch_size: int
    #: Longest text value a field takes (the reasons summary is cut to it).
    max_text_length: int
    #: Reads and validates a mapping file of this CRM; raises ``YamlFileError`` naming file:line:key.
    load_mapping: t.Callable[[pathlib.Path], object]
    #: The one constructor: an adapter for these settings, gated by ``gate``.
    from_config: t.Callable[[AdapterSettings, RequestGate], CRMAdapter]
    #: Default NAME of the variable with a CA bundle path (HTTPS sandboxes); ``None``: not used.
    ca_bundle_env: str | None = None
    #: How the CRM's webhooks are authenticated and read; ``None``: the CRM sends none.
    webhooks: WebhookReceiver | None = None
    #: Opens the CRM's pulled change feed (``connector listen``; see :mod:`connector.adapters.changes`);
    #: ``None``: the CRM has none.
    change_feed: OpenChangeFeed | None = None
