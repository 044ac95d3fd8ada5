"""The state store's tables (sqlmodel), identical on SQLite and PostgreSQL.

Every row carries its ``crm`` (the config entry's name), so several CRMs, even two portals of the
same vendor, share one database without mixing. Timestamps are stored as UTC and always read
back as aware UTC datetimes (:class:`UTCDateTime`), whatever the database does with zones.

The schema is created and upgraded only by the Alembic migrations in
``connector/sync/migrations``; a test checks that these classes and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from connector.scoring.records import utc

__all__ = [
    "ActivityRow",
    "ActivityScanRow",
    "AdjustmentRow",
    "ApiKeyRow",
    "ContactRow",
    "CursorRow",
    "FeedPositionRow",
    "IdentityRow",
    "LeaseRow",
    "ModelVersionRow",
    "OutboxRow",
    "OutcomeRow",
    "QuarantineRow",
    "RealtimeEventRow",
    "RunRow",
    "ScoreRow",
    "ScoreSnapshotRow",
    "StageHistoryRow",
    "TriggerActionRow",
    "TriggerFiringRow",
    "UTCDateTime",
    "WrittenRow",
    "actions",
    "activities",
    "adjustments",
    "api_keys",
    "contacts",
    "cursors",
    "feed_positions",
    "firings",
    "identities",
    "leases",
    "metadata",
    "model_versions",
    "outbox",
    "outcomes",
    "quarantine",
    "realtime_events",
    "runs",
    "score_snapshots",
    "scores",
    "stage_history",
    "written",
]


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and read back as an aware UTC datetime on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:  # noqa: D102
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:  # noqa: D102
        return None if value is None else utc(value)


def _ts(*, nullable: bool = True, index: bool = False) -> t.Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _json(*, nullable: bool = True) -> t.Any:
    return Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=nullable))


class ContactRow(SQLModel, table=True):
    """A contact as last pulled; ``needs_score`` is set by a pull and cleared by the scoring."""

    __tablename__ = "contacts"
    __table_args__ = (sa.Index("ix_contacts_crm_email", "crm", "email"), sa.Index("ix_contacts_crm_needs_score", "crm", "needs_score"))
    crm: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    properties: dict[str, t.Any] | None = _json()
    updated_at: dt.datetime | None = _ts()
    pulled_at: dt.datetime | None = _ts()
    needs_score: bool = Field(default=True)
    #: The CRM user owning the contact, as last pulled (tasks of triggers go to them).
    owner_id: str | None = Field(default=None, max_length=128)
    #: Model stage name -> ISO instant the CRM says the contact entered it (seeds the stage history).
    stage_dates: dict[str, str] | None = _json()


class ActivityRow(SQLModel, table=True):
    """One activity, unique per CRM and id: a page pulled twice never counts twice."""

    __tablename__ = "activities"
    __table_args__ = (sa.Index("ix_activities_crm_contact", "crm", "contact_id"), sa.Index("ix_activities_crm_anonymous", "crm", "anonymous_id"))
    crm: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=64)
    occurred_at: dt.datetime = _ts(nullable=False)
    contact_id: str | None = Field(default=None, max_length=128)
    anonymous_id: str | None = Field(default=None, max_length=400)
    attributes: dict[str, t.Any] | None = _json()
    pulled_at: dt.datetime | None = _ts()


class IdentityRow(SQLModel, table=True):
    """An anonymous visitor id known to be a contact."""

    __tablename__ = "identities"
    __table_args__ = (sa.Index("ix_identities_crm_contact", "crm", "contact_id"),)
    crm: str = Field(primary_key=True, max_length=64)
    anonymous_id: str = Field(primary_key=True, max_length=400)
    contact_id: str = Field(max_length=128)


class CursorRow(SQLModel, table=True):
    """How far a stream of a CRM has been pulled *and stored*."""

    __tablename__ = "cursors"
    crm: str = Field(primary_key=True, max_length=64)
    stream: str = Field(primary_key=True, max_length=64)
    value: dt.datetime | None = _ts()
    updated_at: dt.datetime | None = _ts()


class ScoreRow(SQLModel, table=True):
    """The latest score of a contact under a model, with its reasons and the state for next time."""

    __tablename__ = "scores"
    __table_args__ = (sa.Index("ix_scores_crm_changes_at", "crm", "changes_at"),)
    crm: str = Field(primary_key=True, max_length=64)
    contact_id: str = Field(primary_key=True, max_length=128)
    model: str = Field(primary_key=True, max_length=128)
    score: float
    dimensions: dict[str, float] | None = _json()
    grade: str | None = Field(default=None, max_length=64)
    matrix: str | None = Field(default=None, max_length=64)
    stage: str | None = Field(default=None, max_length=128)
    excluded: str | None = Field(default=None, max_length=500)
    reasons: list[dict[str, t.Any]] | None = _json()
    state: dict[str, t.Any] | None = _json()
    as_of: dt.datetime = _ts(nullable=False)
    changes_at: dt.datetime | None = _ts()
    #: A hash of every column above but ``as_of`` (:func:`connector.sync.scorers.score_row`): a
    #: rescoring that gives the same digest writes nothing (``as_of`` is then the last scoring that
    #: changed the row). NULL for rows written before schema 0011.
    digest: str | None = Field(default=None, max_length=32)
    #: The digest of the batch scorer's result columns for this row (schema 0014,
    #: :mod:`connector.scoring.batch.fingerprint`): while a full rescore computes the same one, the
    #: contact is left alone (:mod:`connector.sync.rescore`). NULL: scored contact by contact, or
    #: with manual adjustments -- always rescored in full.
    fingerprint: str | None = Field(default=None, max_length=32)


class WrittenRow(SQLModel, table=True):
    """What the CRM holds for one output field of one contact, as last written by us."""

    __tablename__ = "written_values"
    crm: str = Field(primary_key=True, max_length=64)
    contact_id: str = Field(primary_key=True, max_length=128)
    field: str = Field(primary_key=True, max_length=255)
    value: t.Any = _json()
    written_at: dt.datetime | None = _ts()


class OutboxRow(SQLModel, table=True):
    """A pending write of one contact's changed fields; at most one ``pending`` row per contact."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_crm_status", "crm", "status", "id"), sa.Index("ix_outbox_crm_contact", "crm", "contact_id", "status"))
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64)
    contact_id: str = Field(max_length=128)
    values: dict[str, t.Any] | None = _json()
    #: ``pending`` | ``sending`` (claimed by a pusher) | ``done`` | ``superseded`` | ``quarantined``
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: dt.datetime | None = _ts()
    done_at: dt.datetime | None = _ts()
    run_id: int | None = None


class QuarantineRow(SQLModel, table=True):
    """A record that could not be used or written, with the reason; kept until retried."""

    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64, index=True)
    #: ``contacts`` / ``activities`` (pull), ``outbox`` (push), ``actions`` (trigger actions)
    stream: str = Field(max_length=64)
    record_id: str | None = Field(default=None, max_length=255)
    reason: str = Field(max_length=2000)
    raw: t.Any = _json()
    #: ``open`` | ``retried``
    status: str = Field(default="open", max_length=16)
    created_at: dt.datetime | None = _ts()
    run_id: int | None = None


class TriggerFiringRow(SQLModel, table=True):
    """A trigger that fired for a contact; ``key`` makes recording it idempotent."""

    __tablename__ = "trigger_firings"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=600, unique=True)
    crm: str = Field(max_length=64)
    contact_id: str = Field(max_length=128, index=True)
    model: str = Field(max_length=128)
    trigger: str = Field(max_length=128)
    watched: str = Field(max_length=128)
    value: t.Any = _json()
    fired_at: dt.datetime = _ts(nullable=False)


class TriggerActionRow(SQLModel, table=True):
    """One action of a firing, executed once; ``key`` is the idempotency key handed to the CRM."""

    __tablename__ = "trigger_actions"
    __table_args__ = (sa.Index("ix_trigger_actions_crm_status", "crm", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=620, unique=True)
    firing_id: int = Field(index=True)
    crm: str = Field(max_length=64)
    contact_id: str = Field(max_length=128)
    type: str = Field(max_length=32)
    params: dict[str, t.Any] | None = _json()
    #: ``pending`` | ``done`` | ``quarantined``
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    result: str | None = Field(default=None, max_length=255)
    last_error: str | None = Field(default=None, max_length=2000)
    done_at: dt.datetime | None = _ts()


class StageHistoryRow(SQLModel, table=True):
    """A contact moving from one stage to another under a model."""

    __tablename__ = "stage_history"
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64)
    contact_id: str = Field(max_length=128, index=True)
    model: str = Field(max_length=128)
    from_stage: str | None = Field(default=None, max_length=128)
    to_stage: str | None = Field(default=None, max_length=128)
    at: dt.datetime = _ts(nullable=False)
    #: Why it moved: the stage's parts that held, or the CRM's own stage date it was seeded from.
    reason: str | None = Field(default=None, max_length=500)


class RunRow(SQLModel, table=True):
    """One sync run of one CRM, with what it did."""

    __tablename__ = "runs"
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64, index=True)
    started_at: dt.datetime = _ts(nullable=False)
    ended_at: dt.datetime | None = _ts()
    #: ``running`` | ``ok`` | ``partial`` (some writes wait for the next run) | ``stopped`` | ``failed``
    status: str = Field(default="running", max_length=16)
    full: bool = False
    pulled_contacts: int = 0
    pulled_activities: int = 0
    rejected: int = 0
    scored: int = 0
    changed: int = 0
    written: int = 0
    failed: int = 0
    quarantined: int = 0
    actions: int = 0
    api_calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    error: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=255)
    #: When the run's first write was sent and its last write answered (``None``: it wrote nothing).
    pushed_from: dt.datetime | None = _ts()
    pushed_until: dt.datetime | None = _ts()
    #: The instant the run scored as of (its ``scored_at`` outputs carry it).
    as_of: dt.datetime | None = _ts()
    #: The run whose echo this run's contact pull left out, and whose written contacts it read again.
    echo_run: int | None = None
    #: Contacts the CRM deleted, merged or converted; their history moved to the successor (0013).
    retired: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LeaseRow(SQLModel, table=True):
    """Who may sync a CRM right now, and until when (renewed while the run goes on)."""

    __tablename__ = "leases"
    crm: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=255)
    acquired_at: dt.datetime = _ts(nullable=False)
    expires_at: dt.datetime = _ts(nullable=False)


class AdjustmentRow(SQLModel, table=True):
    """Points a person gave or took by hand (``connector adjust``): who, when, why, until when.

    Kept apart from the pulled contact, so a re-pull never touches it; the next sync hands the
    active ones to the scoring as data.
    """

    __tablename__ = "adjustments"
    __table_args__ = (sa.Index("ix_adjustments_crm_contact", "crm", "contact_id"),)
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64)
    contact_id: str = Field(max_length=128)
    model: str = Field(max_length=128)
    dimension: str = Field(max_length=128)
    points: float
    reason: str = Field(max_length=2000)
    by: str = Field(max_length=255)
    #: When it was recorded; it counts from then on.
    at: dt.datetime = _ts(nullable=False)
    #: When it stops counting (``None``: never).
    expires_at: dt.datetime | None = _ts()
    #: ``cli`` | ``csv:<file>:<line>`` | ``segment``
    source: str = Field(max_length=500)


class OutcomeRow(SQLModel, table=True):
    """What became of a contact in the CRM (see :class:`connector.adapters.base.Outcome`), with its date."""

    __tablename__ = "outcomes"
    crm: str = Field(primary_key=True, max_length=64)
    contact_id: str = Field(primary_key=True, max_length=128)
    #: ``customer`` | ``closed_won`` | ``converted``
    kind: str = Field(primary_key=True, max_length=32)
    #: The CRM record that says so (a deal or opportunity id; the contact's id for a lifecycle stage).
    source_id: str = Field(primary_key=True, max_length=128)
    occurred_at: dt.datetime | None = _ts()
    amount: float | None = None
    pulled_at: dt.datetime | None = _ts()


class ScoreSnapshotRow(SQLModel, table=True):
    """A model's score distribution in one ISO week (``week`` = its Monday); the week's last sync wins."""

    __tablename__ = "score_snapshots"
    crm: str = Field(primary_key=True, max_length=64)
    model: str = Field(primary_key=True, max_length=128)
    week: str = Field(primary_key=True, max_length=10)
    count: int
    mean: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    #: ``{"edges": [...], "counts": [...]}``
    histogram: dict[str, t.Any] | None = _json()
    recorded_at: dt.datetime | None = _ts()


class ModelVersionRow(SQLModel, table=True):
    """A model learned from the state store: a ``draft`` until promoted ``live`` (then ``retired``)."""

    __tablename__ = "model_versions"
    __table_args__ = (sa.Index("ix_model_versions_crm_model", "crm", "model"),)
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64)
    model: str = Field(max_length=128)
    name: str = Field(max_length=160, unique=True)
    #: ``draft`` | ``live`` | ``retired``
    status: str = Field(max_length=16)
    path: str = Field(max_length=1000)
    metrics: dict[str, t.Any] | None = _json()
    created_at: dt.datetime | None = _ts()
    promoted_at: dt.datetime | None = _ts()


class RealtimeEventRow(SQLModel, table=True):
    """A change event accepted by ``connector serve`` (a CRM webhook, first-party activity), until processed.

    Stored before the request is answered, unique per CRM, source and the sender's event id (a
    webhook delivered twice is stored once); kept ``done`` for a few days so late redeliveries are
    still recognised.
    """

    __tablename__ = "realtime_events"
    __table_args__ = (
        sa.UniqueConstraint("crm", "source", "event_key", name="uq_realtime_events_key"),
        sa.Index("ix_realtime_events_crm_status", "crm", "status", "occurred_at"),
        sa.Index("ix_realtime_events_crm_contact", "crm", "contact_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=64)
    #: ``webhook`` (the CRM) | ``api`` (``POST /events``)
    source: str = Field(max_length=32)
    event_key: str = Field(max_length=255)
    #: ``created`` | ``changed`` | ``merged`` | ``deleted`` | ``privacy_deleted`` | ``activity`` | ``identify``
    kind: str = Field(max_length=32)
    contact_id: str | None = Field(default=None, max_length=128)
    detail: dict[str, t.Any] | None = _json()
    occurred_at: dt.datetime = _ts(nullable=False)
    received_at: dt.datetime = _ts(nullable=False)
    #: ``pending`` | ``done`` | ``failed``
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    done_at: dt.datetime | None = _ts()
    error: str | None = Field(default=None, max_length=2000)


class ApiKeyRow(SQLModel, table=True):
    """A key for ``POST /events``: only its SHA-256 is kept; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    id: str = Field(primary_key=True, max_length=32)
    crm: str = Field(max_length=64)
    name: str = Field(max_length=128)
    secret_hash: str = Field(max_length=128)
    #: Requests per minute this key may send.
    rate_per_minute: int = 600
    created_at: dt.datetime = _ts(nullable=False)
    revoked_at: dt.datetime | None = _ts()
    last_used_at: dt.datetime | None = _ts()


class FeedPositionRow(SQLModel, table=True):
    """Where a CRM's change feed was handled up to (Salesforce replay id), stored after the run that handled it committed."""

    __tablename__ = "feed_positions"
    crm: str = Field(primary_key=True, max_length=64)
    feed: str = Field(primary_key=True, max_length=255)
    #: the feed's opaque position, hex-encoded
    position: str = Field(max_length=400)
    updated_at: dt.datetime = _ts(nullable=False)


class ActivityScanRow(SQLModel, table=True):
    """A CRM's activity as the full rescore's scan columns, kept between runs (SQLite only: :mod:`connector.sync.scankeep`).

    ``epoch`` counts the updates and deletes of the CRM's activity: SQLite triggers (migration
    0015) raise it and drop the kept columns in the same statement, so columns kept under one
    epoch are never read under another. ``upto``: the highest rowid of the table when they were
    read, and ``upto_crm``/``upto_id`` the row that had it (any CRM's); ``types``: the activity
    types read (JSON list: the models' at the time; other models read the table whole). The columns are
    little-endian integer arrays (``contact``, ``type``, ``text``: int32 codes into the JSON lists
    ``contact_ids``, ``kinds``, ``texts``; ``occurred``: int64 microseconds).
    """

    __tablename__ = "activity_scans"
    crm: str = Field(primary_key=True, max_length=64)
    epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    upto: int | None = Field(default=None, sa_type=sa.BigInteger)
    upto_crm: str | None = Field(default=None, max_length=64)
    upto_id: str | None = Field(default=None, max_length=255)
    types: str | None = Field(default=None, sa_type=sa.Text)
    contact_ids: str | None = Field(default=None, sa_type=sa.Text)
    kinds: str | None = Field(default=None, sa_type=sa.Text)
    texts: str | None = Field(default=None, sa_type=sa.Text)
    contact: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    type: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    occurred: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    text: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    kept_at: dt.datetime | None = _ts()


metadata = SQLModel.metadata

#: The Core tables, for the statements of the store, the outbox, the pusher and the admin queries.
contacts = metadata.tables["contacts"]
activities = metadata.tables["activities"]
activity_scans = metadata.tables["activity_scans"]
identities = metadata.tables["identities"]
cursors = metadata.tables["cursors"]
scores = metadata.tables["scores"]
written = metadata.tables["written_values"]
outbox = metadata.tables["outbox"]
quarantine = metadata.tables["quarantine"]
firings = metadata.tables["trigger_firings"]
actions = metadata.tables["trigger_actions"]
stage_history = metadata.tables["stage_history"]
runs = metadata.tables["runs"]
leases = metadata.tables["leases"]
adjustments = metadata.tables["adjustments"]
outcomes = metadata.tables["outcomes"]
score_snapshots = metadata.tables["score_snapshots"]
model_versions = metadata.tables["model_versions"]
realtime_events = metadata.tables["realtime_events"]
api_keys = metadata.tables["api_keys"]


feed_positions = metadata.tables["feed_positions"]
