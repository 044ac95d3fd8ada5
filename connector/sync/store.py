"""Every read and write of the state database, for one CRM.

The pipeline reads top-down (pull -> store -> score -> diff -> outbox -> push); this module is
the only place that knows the tables. Writes are bulk (one statement per page or chunk) so a sync
of 100,000 contacts is bounded by the CRM's rate limit, not by the database. Methods that must
share a transaction with others (the scores, the outbox entries and the trigger firings of one
chunk) take the open connection ``conn``; the others open their own short transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses as dc
import datetime as dt
import itertools
import json
import typing as t

import sqlalchemy as sa

from connector.scoring.identity import email_id, email_of, normalize_anonymous_id
from connector.scoring.records import Activity, Contact, utc
from connector.scoring.result import ScoringState
from connector.sync.bulk import among, bulk_insert, bulk_upsert, upsert
from connector.sync.cursor import State
from connector.sync.db import bound_wal
from connector.sync.driverread import chunks
from connector.sync.statistics import Statistics
from connector.sync.tables import activities, contacts, cursors, identities, quarantine, runs, scores, stage_history

__all__ = ["SCORE_JSON", "Store", "ToScore", "dumps", "jsonable", "same_value", "stored_instant"]


def jsonable(value: t.Any) -> t.Any:
    """A JSON-ready copy of a CRM value (datetimes as ISO 8601, sets/tuples as lists).

    Exact types are tested first: this runs for every property of every contact pulled, and
    ``isinstance(value, typing.Mapping)`` (an ABC check) was most of its cost.
    """
    kind = type(value)
    if value is None or kind is str or kind is int or kind is float or kind is bool:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return utc(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, t.Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


#: Columns of a score row (:func:`connector.sync.scorers.score_row`) that hold JSON already encoded.
#: Encoding reasons and engine state is a large part of storing a score; done where the score is
#: computed (the scoring worker), it leaves the run's process. Plain ``str``, named here rather than
#: marked by a ``str`` subclass: pickling a subclass instance back from the worker (by ``__reduce__``)
#: cost seven times a plain string's.
SCORE_JSON = ("dimensions", "reasons", "state")


@dc.dataclass
class ToScore:
    """Everything the scorer needs for a chunk of contacts, read in a few queries."""

    contacts: list[Contact]
    #: contact id -> its activities, anonymous ones resolved to the contact
    activities: dict[str, list[Activity]]
    #: (contact id, model) -> previous state
    previous: dict[tuple[str, str], ScoringState]
    #: (contact id, model) -> previous stage
    previous_stage: dict[tuple[str, str], str | None]
    #: (contact id, model) -> the stored score's digest (``None``: written before schema 0011)
    digest: dict[tuple[str, str], str | None] = dc.field(default_factory=dict)
    #: (contact id, model) -> the stored score's fingerprint (``None``: none, see :mod:`connector.scoring.batch.fingerprint`)
    fingerprint: dict[tuple[str, str], str | None] = dc.field(default_factory=dict)


def stored_instant(value: str | dt.datetime) -> dt.datetime:
    """A stored timestamp as the driver returns it -- SQLite's naive UTC text, PostgreSQL's aware datetime -- as an aware UTC datetime.

    What :class:`~connector.sync.tables.UTCDateTime` gives for the same value (tested), without
    SQLAlchemy's processors: the text is parsed by ``datetime.fromisoformat`` in C.
    """
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return utc(value)


class Store:
    """The state of one CRM in the state database.

    Args:
        engine: the state database (schema already at head, see :func:`connector.sync.db.open_database`).
        crm: the CRM's name in ``connector.yaml``.
        lazy_commits: the sync run's store: its bulk transactions (pulled pages, scored chunks, pushed
            batches: :meth:`bulk_transaction`) commit on PostgreSQL without waiting for the disk.
    """

    def __init__(self, engine: sa.Engine, crm: str, *, lazy_commits: bool = False) -> None:
        self.engine = engine
        self.crm = crm
        self.lazy_commits = lazy_commits
        #: Refreshes the planner's statistics as the run stores rows in bulk (:mod:`connector.sync.statistics`).
        self.statistics = Statistics(engine)
        #: When the PostgreSQL server started, read at the first commit that did not wait for the disk.
        self._server_started: t.Any = None

    def transaction(self) -> t.ContextManager[sa.Connection]:
        """One transaction; everything written through the connection commits together or not at all."""
        return self.engine.begin()

    @contextlib.contextmanager
    def bulk_transaction(self, *, durable: bool = False) -> t.Iterator[sa.Connection]:
        """A transaction of the run's bulk writes; with ``lazy_commits``, on PostgreSQL its commit does not wait for the disk.

        Why: each commit waited for its WAL flush (an fsync: 5-8 ms on this project's busy machine),
        and a 100,000-contact sync commits some 2,500 times on the run's two writing threads.
        ``SET LOCAL synchronous_commit TO OFF`` is PostgreSQL's documented per-transaction choice
        (the setting in effect at commit decides, the server's own setting is untouched): the
        commit is visible at once, and the WAL writer flushes it within ``wal_writer_delay`` x 3.
        A server crash can lose only the last such commits -- never a process crash, and never
        anything a later ordinary commit followed, since that flush covers all WAL before it.

        What the sync commits this way is what a run killed at that point would not have committed
        either: pulled pages (their cursor is checked in by an ordinary commit, which first makes
        sure the server did not restart, see :meth:`check_in_cursor`), scored chunks (their
        contacts keep ``needs_score``), pushed batches marked done (their rows stay ``sending``
        and are sent again, setting values the CRM already holds). Rows are claimed for the push
        by an ordinary commit, so nothing reaches the CRM before it is on disk: ``durable`` makes this
        transaction's commit one (a scored chunk whose outbox rows are staged claimed). SQLite runs in WAL
        mode with ``synchronous=NORMAL`` already (the same trade: the last commits may be lost on
        a power cut, never on a crash of the process); there this is a plain transaction.
        """
        with self.engine.begin() as conn:
            if self.lazy_commits and not durable and conn.dialect.name == "postgresql":
                if self._server_started is None:
                    self._server_started = _server_started(conn)
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn
        bound_wal(self.engine)  # SQLite: the log of a long run's commits kept from growing without bound

    # -- cursors ---------------------------------------------------------------------------------

    def cursor_state(self) -> State:
        """The checked-in cursors of every stream of this CRM (see :mod:`connector.sync.cursor`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(cursors.c.stream, cursors.c.value).where(cursors.c.crm == self.crm)).all()
        return {stream: {"value": value.isoformat() if value else None, "progress": None} for stream, value in rows}

    def check_in_cursor(self, stream: str, value: dt.datetime | None, now: dt.datetime) -> None:
        """Store a stream's cursor (called only once everything pulled up to it is stored).

        Raises:
            RuntimeError: the PostgreSQL server restarted since this store's first lazy commit
                (:meth:`bulk_transaction`), so pages stored before the cursor may be lost: the
                cursor stays where it was and the next run pulls them again.
        """
        with self.engine.begin() as conn:
            if self._server_started is not None and _server_started(conn) != self._server_started:
                raise RuntimeError(
                    "the PostgreSQL server restarted during this run: pages it stored just before may not have reached its disk, "
                    f"so the {stream} cursor was not moved (the next run pulls them again)"
                )
            upsert(conn, cursors, [{"crm": self.crm, "stream": stream, "value": value, "updated_at": now}], ["crm", "stream"], ["value", "updated_at"])

    # -- pulled records --------------------------------------------------------------------------

    def save_contacts(self, records: t.Sequence[Contact], now: dt.datetime) -> list[str]:
        """Store a page of contacts; those that are new or changed are marked for scoring.

        A contact pulled again unchanged (the overlap window) is not rescored. Returns the ids of
        the new or changed ones.
        """
        if not records:
            return []
        latest: dict[str, Contact] = {}
        for c in records:
            latest[c.id] = c
        with self.bulk_transaction() as conn:
            existing: dict[str, tuple[t.Any, t.Any, t.Any, t.Any]] = {}
            for cid, email, props, owner, dates in conn.execute(
                sa.select(contacts.c.id, contacts.c.email, contacts.c.properties, contacts.c.owner_id, contacts.c.stage_dates).where(
                    contacts.c.crm == self.crm, among(conn, contacts.c.id, latest)
                )
            ):
                existing[cid] = (email, props, owner, dates or None)
            rows = []
            for c in latest.values():
                email = c.email.strip().lower() if c.email else None
                props = jsonable(dict(c.properties))
                dates = jsonable(dict(c.stage_dates)) if c.stage_dates else None
                if existing.get(c.id) == (email, props, c.owner_id, dates):
                    continue
                rows.append(
                    {"crm": self.crm, "id": c.id, "email": email, "properties": props, "updated_at": c.updated_at, "pulled_at": now, "needs_score": True, "owner_id": c.owner_id, "stage_dates": dates}
                )
            bulk_upsert(conn, contacts, rows, ["crm", "id"], ["email", "properties", "updated_at", "pulled_at", "needs_score", "owner_id", "stage_dates"])
        return [r["id"] for r in rows]

    def save_activities(self, records: t.Sequence[Activity], now: dt.datetime) -> int:
        """Store a page of activity; only activities never seen before count, and mark their contacts.

        Activities are unique per CRM and id, so a page pulled twice never counts twice. Returns
        how many were new.
        """
        if not records:
            return 0
        fresh: dict[str, Activity] = {a.id: a for a in records}
        with self.bulk_transaction() as conn:
            for (aid,) in conn.execute(sa.select(activities.c.id).where(activities.c.crm == self.crm, among(conn, activities.c.id, fresh))):
                fresh.pop(aid, None)
            rows = [
                {
                    "crm": self.crm,
                    "id": a.id,
                    "type": a.type,
                    "occurred_at": a.occurred_at,
                    "contact_id": a.contact_id,
                    "anonymous_id": normalize_anonymous_id(a.anonymous_id) if a.anonymous_id else None,
                    "attributes": jsonable(dict(a.attributes)),
                    "pulled_at": now,
                }
                for a in fresh.values()
            ]
            upsert(conn, activities, rows, ["crm", "id"], [])
            self._mark_for_activity(conn, rows)
        return len(rows)

    def _mark_for_activity(self, conn: sa.Connection, rows: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        """Mark the contacts new activity belongs to (directly, by e-mail id or by identity)."""
        direct = {r["contact_id"] for r in rows if r["contact_id"]}
        anon = {r["anonymous_id"] for r in rows if not r["contact_id"] and r["anonymous_id"]}
        emails = {address for a in anon if (address := email_of(a)) is not None}
        if anon:
            direct.update(
                cid for (cid,) in conn.execute(sa.select(identities.c.contact_id).where(identities.c.crm == self.crm, among(conn, identities.c.anonymous_id, anon)))
            )
        if direct:
            conn.execute(sa.update(contacts).where(contacts.c.crm == self.crm, among(conn, contacts.c.id, direct)).values(needs_score=True))
        if emails:
            conn.execute(sa.update(contacts).where(contacts.c.crm == self.crm, among(conn, contacts.c.email, emails)).values(needs_score=True))

    def add_quarantine(self, stream: str, record_id: str | None, reason: str, raw: t.Any, now: dt.datetime, run_id: int | None, conn: sa.Connection | None = None) -> None:
        """Keep a record that could not be used, with the reason, for ``connector quarantine``."""
        row = {"crm": self.crm, "stream": stream, "record_id": record_id, "reason": reason[:2000], "raw": jsonable(raw), "status": "open", "created_at": now, "run_id": run_id}
        if conn is not None:
            conn.execute(sa.insert(quarantine).values(row))
            return
        with self.engine.begin() as c:
            c.execute(sa.insert(quarantine).values(row))

    # -- scoring ---------------------------------------------------------------------------------

    def ids_to_score(self, now: dt.datetime, models: t.Sequence[str], *, full: bool = False) -> list[str]:
        """Contacts that need scoring: new data, a passed ``changes_at``, a model not yet scored; all on ``full``.

        Cheap on a large store: marked contacts and passed ``changes_at`` come from their indexes;
        "a model not yet scored" is looked for only when a model has fewer scores than there are
        contacts (two index counts per model, instead of grouping every score and joining every
        contact on each run). Scores are only written for stored contacts, which are never deleted,
        so equal counts mean every contact has its score.
        """
        with self.engine.connect() as conn:
            if full:
                return sorted(cid for (cid,) in conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == self.crm)))
            ids = {cid for (cid,) in conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == self.crm, contacts.c.needs_score.is_(True)))}
            ids.update(
                cid
                for (cid,) in conn.execute(
                    sa.select(scores.c.contact_id).where(scores.c.crm == self.crm, scores.c.changes_at.is_not(None), scores.c.changes_at <= now)
                )
            )
            stored = self._count_contacts(conn)
            for model in models:
                scored = conn.execute(sa.select(sa.func.count()).select_from(scores).where(scores.c.crm == self.crm, scores.c.model == model)).scalar_one()
                if scored < stored:
                    has = sa.select(scores.c.contact_id).where(scores.c.crm == self.crm, scores.c.model == model, scores.c.contact_id == contacts.c.id)
                    ids.update(cid for (cid,) in conn.execute(sa.select(contacts.c.id).where(contacts.c.crm == self.crm, ~has.exists())))
        return sorted(ids)

    def load_for_scoring(self, ids: t.Sequence[str]) -> ToScore:
        """Contacts, their activity (anonymous history resolved) and previous states, for one chunk."""
        out = ToScore([], {}, {}, {})
        with self.engine.connect() as conn:
            owner_of: dict[str, str] = {}
            wanted = list(ids)
            for cid, email, props, updated, owner, dates in conn.execute(
                sa.select(contacts.c.id, contacts.c.email, contacts.c.properties, contacts.c.updated_at, contacts.c.owner_id, contacts.c.stage_dates).where(
                    contacts.c.crm == self.crm, among(conn, contacts.c.id, wanted)
                )
            ):
                stage_dates = {k: dt.datetime.fromisoformat(v) for k, v in dates.items()} if dates else {}
                out.contacts.append(Contact(id=cid, email=email, properties=props or {}, updated_at=updated, owner_id=owner, stage_dates=stage_dates))
                out.activities[cid] = []
                if email:
                    owner_of[email_id(email)] = cid
            for anon, cid in conn.execute(sa.select(identities.c.anonymous_id, identities.c.contact_id).where(identities.c.crm == self.crm, among(conn, identities.c.contact_id, wanted))):
                owner_of[anon] = cid
            for cid, model, state, stage, digest, fingerprint in conn.execute(
                sa.select(scores.c.contact_id, scores.c.model, scores.c.state, scores.c.stage, scores.c.digest, scores.c.fingerprint).where(scores.c.crm == self.crm, among(conn, scores.c.contact_id, wanted))
            ):
                out.previous[(cid, model)] = ScoringState.from_dict(state)
                out.previous_stage[(cid, model)] = stage
                out.digest[(cid, model)] = digest
                out.fingerprint[(cid, model)] = fingerprint
            # Attributes as their JSON text, decoded once per distinct text: a portal's activities
            # repeat a few thousand attribute sets (URLs, form ids), and decoding each row's copy was
            # most of the cost of reading activity for a rescore.
            text = sa.cast(activities.c.attributes, sa.Text)
            cols = (activities.c.id, activities.c.type, activities.c.occurred_at, activities.c.contact_id, text, activities.c.anonymous_id)
            decoded: dict[str | None, dict[str, t.Any]] = {None: {}, "null": {}}
            seen: set[str] = set()
            batches = [among(conn, activities.c.contact_id, wanted)]
            if owner_of:
                batches.append(among(conn, activities.c.anonymous_id, sorted(owner_of)))
            for cond in batches:
                # The driver's own rows (no SQLAlchemy row or type processing per activity: a rescore
                # reads millions), instants made aware UTC by :func:`stored_instant`.
                for aid, typ, when, cid, attrs, anon in itertools.chain.from_iterable(chunks(conn, sa.select(*cols).where(activities.c.crm == self.crm, cond))):
                    if aid in seen:
                        continue
                    owner = cid or owner_of.get(anon or "")
                    if owner is None or owner not in out.activities:
                        continue
                    seen.add(aid)
                    attributes = decoded.get(attrs)
                    if attributes is None:
                        attributes = decoded[attrs] = json.loads(attrs) or {}
                    out.activities[owner].append(Activity(id=aid, type=typ, occurred_at=stored_instant(when), contact_id=owner, attributes=attributes, anonymous_id=anon))
        out.contacts.sort(key=lambda c: c.id)
        return out

    def save_scores(self, conn: sa.Connection, rows: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        """Store each contact's score per model (rows of :func:`connector.sync.scorers.score_row`; the changed ones only)."""
        cols = [c for c in rows[0] if c not in ("crm", "contact_id", "model")] if rows else []
        bulk_upsert(conn, scores, rows, ["crm", "contact_id", "model"], cols, encoded=SCORE_JSON, same={"crm": self.crm})

    def add_stage_changes(self, conn: sa.Connection, changes: t.Sequence[tuple[str, str, str | None, str | None, dt.datetime, str | None]]) -> None:
        """Append ``(contact, model, from, to, at, reason)`` rows to the stage history."""
        rows = [{"contact_id": c, "model": m, "from_stage": f, "to_stage": s, "at": at, "reason": why} for c, m, f, s, at, why in changes]
        bulk_insert(conn, stage_history, rows, same={"crm": self.crm})

    def count_contacts(self) -> int:
        """How many contacts of this CRM are stored."""
        with self.engine.connect() as conn:
            return self._count_contacts(conn)

    def _count_contacts(self, conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(contacts).where(contacts.c.crm == self.crm)).scalar_one())

    def clear_needs_score(self, conn: sa.Connection, ids: t.Sequence[str]) -> None:
        """The contacts were scored in this transaction (rows already clear are not touched: a full rescore writes none)."""
        if ids:
            conn.execute(sa.update(contacts).where(contacts.c.crm == self.crm, among(conn, contacts.c.id, ids), contacts.c.needs_score.is_(True)).values(needs_score=False))

    def retire_contacts(self, gone: t.Mapping[str, str | None]) -> int:
        """Contacts the CRM no longer holds as people (deleted, merged, a lead converted): stop scoring them.

        ``gone`` maps each id to the contact that continues it (or ``None``). The successor takes
        over the activity, the stage history, the trigger firings and -- where it has none of its
        own -- the scores and engine state (so stages do not move back and triggers do not fire
        again), and is marked for scoring; the retired contact's pending writes are dropped.
        Returns how many stored contacts were retired.
        """
        from connector.sync.tables import firings, outbox

        retired = 0
        with self.engine.begin() as conn:
            for old, new in gone.items():
                if new and new != old:
                    for table in (activities, stage_history, firings):
                        conn.execute(sa.update(table).where(table.c.crm == self.crm, table.c.contact_id == old).values(contact_id=new))
                    theirs = set(conn.execute(sa.select(scores.c.model).where(scores.c.crm == self.crm, scores.c.contact_id == new)).scalars())
                    moving = sa.update(scores).where(scores.c.crm == self.crm, scores.c.contact_id == old)
                    conn.execute(moving.where(scores.c.model.not_in(theirs)).values(contact_id=new) if theirs else moving.values(contact_id=new))
                    conn.execute(sa.update(contacts).where(contacts.c.crm == self.crm, contacts.c.id == new).values(needs_score=True))
            if gone:
                ids = list(gone)
                conn.execute(sa.delete(outbox).where(outbox.c.crm == self.crm, among(conn, outbox.c.contact_id, ids), outbox.c.status == "pending"))
                conn.execute(sa.delete(scores).where(scores.c.crm == self.crm, among(conn, scores.c.contact_id, ids)))
                retired += conn.execute(sa.delete(contacts).where(contacts.c.crm == self.crm, among(conn, contacts.c.id, ids))).rowcount or 0
        return retired

    # -- runs ------------------------------------------------------------------------------------

    def start_run(self, now: dt.datetime, *, full: bool, owner: str | None) -> int:
        """Record the start of a run; returns its id.

        Called under the CRM's lease: a run of this CRM still marked ``running`` was killed (its
        lease expired or its process died), so it is marked ``abandoned``, with the counters it
        last recorded.
        """
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(runs)
                .where(runs.c.crm == self.crm, runs.c.status == "running")
                .values(status="abandoned", error=sa.func.coalesce(runs.c.error, "its process ended without recording the end of the run"))
            )
            return int(conn.execute(sa.insert(runs).values(crm=self.crm, started_at=now, status="running", full=full, owner=owner).returning(runs.c.id)).scalar_one())

    def record_progress(self, run_id: int, counts: t.Mapping[str, t.Any]) -> None:
        """Store a running run's counters, so a run that is killed still shows what it had done."""
        values = {k: v for k, v in counts.items() if k in runs.c}
        with self.engine.begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id, runs.c.status == "running").values(**values))

    def finish_run(self, run_id: int, now: dt.datetime, status: str, counts: t.Mapping[str, t.Any], error: str | None = None) -> None:
        """Record the end of a run with its counts."""
        values = {k: v for k, v in counts.items() if k in runs.c}
        with self.engine.begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(ended_at=now, status=status, error=(error or None) and error[:2000], **values))


def _server_started(conn: sa.Connection) -> t.Any:
    """When the PostgreSQL server answering on ``conn`` started (another value: it restarted, or another server took over)."""
    return conn.exec_driver_sql("SELECT pg_postmaster_start_time()").scalar_one()


def dumps(value: t.Any) -> t.Hashable:
    """A comparable key of a value, for comparing what we would write with what was written.

    Numbers compare by value (``25`` and ``25.0`` are the same score), whatever type the engine
    or the database handed back; datetimes compare as their ISO text (how they are stored). Plain
    scalars (almost every output) skip JSON entirely: this runs for every field of every contact.
    """
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is float or kind is int:
        return float(value)
    if kind is bool:
        return ("bool", value)
    if isinstance(value, (dt.datetime, dt.date)):
        return jsonable(value)  # the ISO text it is stored as
    return json.dumps(_canon(jsonable(value)), sort_keys=True, separators=(",", ":"))


#: Types whose values, when both sides have the same one, compare by ``==`` exactly as :func:`dumps` keys do.
_PLAIN = frozenset({str, float})


def same_value(a: t.Any, b: t.Any) -> bool:
    """``dumps(a) == dumps(b)``, without making the keys when both are plain values of one type.

    Why: staging compares every output field of every contact scored with the value written
    before (16 fields a contact with the shipped models); almost all are two strings or two
    floats. ``bool`` is not plain here (``True == 1``, which :func:`dumps` tells apart), nor are
    containers (their items may be ``1`` beside ``True``), nor ``int`` (:func:`dumps` compares
    it as a float).
    """
    kind = type(a)
    if kind is type(b) and (kind in _PLAIN or a is None):
        return bool(a == b)
    return dumps(a) == dumps(b)


def _canon(value: t.Any) -> t.Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value
