"""A CRM's stored contacts, activity and score states read straight into scoring columns.

Why: the full rescore of a million contacts cannot afford a :class:`~connector.scoring.records.Contact`,
an :class:`~connector.scoring.records.Activity` and a decoded JSON document per row. Here the
database does what it does fast, and Python touches each row once:

- activity is read by one sequential scan (``NOT INDEXED`` on SQLite: following the contact index
  costs a random table read per row, three times the scan), in driver-sized chunks, each chunk
  turned into integer columns at once: contact row by dictionary, type and attribute text by
  their distinct values (a portal repeats a few thousand attribute sets), instants parsed by
  numpy in C (SQLite) or computed by the server (PostgreSQL 14+);
- contact properties are extracted by the database (``properties -> key``), one JSON text per
  property the models read, decoded once per distinct text;
- score states are decoded once per distinct JSON text.

Activity ids are kept only as compact strings per chunk: they decide the order of activities of
one contact at the same instant (``ActivityColumns.order``), so only such ties need them.

Contacts whose activity cannot be read this way -- history resolved from an anonymous visitor --
are reported in :attr:`StoredPortal.not_columnar`; the caller scores them the exact way.
"""

from __future__ import annotations

import contextlib
import dataclasses as dc
import gc
import itertools
import json
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.batch.memo import fields
from connector.scoring.columns import NO_TIME, ActivityColumns, Categorical, CategoricalBuilder, ContactColumns, PreviousColumns, to_micros
from connector.scoring.identity import EMAIL_ID_PREFIX
from connector.scoring.model import ScoringModel
from connector.scoring.result import ScoringState

__all__ = [
    "ActivityScan",
    "ScanBuilder",
    "StoredPortal",
    "activity_sql",
    "activity_types",
    "chunks",
    "fetch_all",
    "model_fields",
    "read_portal",
    "read_types",
    "scan_activities",
    "scores_scan",
]

#: Rows fetched from the driver at a time (each chunk becomes columns before the next is read).
FETCH = 50_000
#: Stored fingerprints and digests (32 hex digits) as fixed-width bytes: 32 bytes a contact and model
#: instead of an 81-byte string object each (a million contacts, two models, both: 320 MB less).
HASH = np.dtype("S32")
_CURSORS = itertools.count()


@dc.dataclass
class ModelStates:
    """One model's stored scores, aligned with the portal's contact rows."""

    previous: PreviousColumns
    #: per contact row: the stored fingerprint, ASCII in :data:`HASH` (``b""``: no score row, or none stored)
    fingerprint: np.ndarray
    #: per contact row: the stored state (``None``: no score row) and stage column
    records: list[ScoringState | None]
    stage: list[str | None]
    #: per contact row: the stored digest, as :attr:`fingerprint`
    digest: np.ndarray


@dc.dataclass
class StoredPortal:
    """Every stored contact of a CRM as scoring columns, with its activity sorted by contact row."""

    contacts: ContactColumns
    activities: ActivityColumns
    #: model name -> stored states and fingerprints
    states: dict[str, ModelStates]
    #: contact rows flagged for scoring by a pull (new data)
    needs_score: np.ndarray
    #: contact ids whose history includes anonymous activity (resolved by identity or e-mail)
    not_columnar: set[str]

    def activity_slice(self, start: int, stop: int) -> slice:
        """The activity rows of contact rows ``start`` to ``stop`` (activity is sorted by contact row)."""
        lo, hi = np.searchsorted(self.activities.contact, [start, stop])
        return slice(int(lo), int(hi))


@dc.dataclass
class ActivityScan:
    """The activity table's scan as integer codes, before any contact row is known (plain arrays: cheap to send to another process).

    Why apart from the rest of the read: it is two thirds of it (ten million rows through Python at
    a million contacts), and it needs nothing the rest reads. The run's process, idle while the
    scoring worker reads a portal, scans the activity meanwhile and hands the worker this
    (:meth:`connector.sync.score_worker.ScoringWorker.start_rescore`).
    """

    #: per activity row: code into :attr:`contact_ids`, code into :attr:`kinds`, microseconds, code into :attr:`texts`
    contact: np.ndarray
    type: np.ndarray
    occurred: np.ndarray
    text: np.ndarray
    #: distinct owner ids, activity types and attribute JSON texts, by code
    contact_ids: list[str]
    kinds: list[str]
    texts: list[str | None]


def scan_activities(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel]) -> ActivityScan:
    """The contact-owned activity of the types ``models`` read, as codes (one table scan).

    Raises:
        ValueError: a model has a predictive dimension (predictors read whole records).
    """
    with _collector_paused(), engine.connect() as conn:
        return _scan_activities(conn, crm, read_types(models))


def read_types(models: t.Sequence[ScoringModel]) -> list[str]:
    """:func:`activity_types`, sorted; a predictive dimension (which may read any) cannot be read column-wise."""
    types = activity_types(models)
    if types is None:
        raise ValueError("a model has a predictive dimension: its predictor reads whole contacts")
    return sorted(types)


def read_portal(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel], scan: t.Callable[[], ActivityScan] | None = None) -> StoredPortal:
    """Read every stored contact of ``crm`` with what ``models`` score (see the module docstring).

    ``scan``: where the activity comes from, called once the contacts and states are read (by
    default :func:`scan_activities` here, after them).

    Raises:
        ValueError: a model reads a property whose name the database's JSON path cannot express,
            or a model has a predictive dimension (predictors read whole records).
    """
    props, attrs = model_fields(models)
    types = read_types(models)
    with _collector_paused(), engine.connect() as conn:
        contacts, needs, emails = _contacts(conn, crm, sorted(props))
        row_of = {cid: i for i, cid in enumerate(contacts.ids)}
        states = _states(conn, crm, models, row_of)
        odd = _anonymous_owners(conn, crm, contacts.ids, emails)
        scanned = scan() if scan is not None else _scan_activities(conn, crm, types)
        acts = _activities(conn, crm, types, sorted(attrs), row_of, contacts.ids, scanned)
    return StoredPortal(contacts, acts, states, needs, odd)


@contextlib.contextmanager
def _collector_paused() -> t.Iterator[None]:
    """Python's cycle collector off while the portal is read (as it was before, after).

    Why: reading a portal allocates tuples by the million (each fetched row), and every few
    hundred allocations the collector runs, now and then over everything alive -- the columns
    and states read so far. At a million contacts and ten million activities that was 39 of the
    read's 96 s of CPU (measured with the collector off: 57 s). What the read builds holds no
    reference cycles, so nothing waits for the collector meanwhile; reference counting still
    frees each chunk as the next one is read.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def model_fields(models: t.Sequence[ScoringModel]) -> tuple[set[str], set[str]]:
    """The property and attribute names any of ``models`` reads (the columns worth building)."""
    props: set[str] = set()
    attrs: set[str] = set()
    for model in models:
        p, a = fields(model)
        props |= p
        attrs |= a
    return props, attrs


def activity_types(models: t.Sequence[ScoringModel]) -> set[str] | None:
    """The activity types any model reads (``None``: all, when a predictive dimension may read any)."""
    out: set[str] = set()
    for m in models:
        if any(d.predictive is not None for d in m.dimensions.values()):
            return None
        out.update(k for r in m.rules if r.activity is not None for k in r.activity.types)
        out.update(k for s in (m.stages.order if m.stages else []) for k in s.activities)
    return out


def fetch_all(conn: sa.Connection, query: sa.Select[t.Any]) -> list[tuple[t.Any, ...]]:
    """Every row of ``query`` as the driver's plain tuples (no result processing: the caller converts).

    One ``fetchall`` on the driver's own cursor: building a SQLAlchemy row per activity cost
    more than the query itself at a million rows.
    """
    return [row for chunk in chunks(conn, query) for row in chunk]


def chunks(conn: sa.Connection, query: sa.Select[t.Any] | str, params: t.Sequence[t.Any] = ()) -> t.Iterator[list[tuple[t.Any, ...]]]:
    """The rows of ``query`` (a statement, or SQL text in the driver's parameter style) in chunks of :data:`FETCH`."""
    if isinstance(query, str):
        sql, args = query, list(params)
    else:
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        bound = compiled.construct_params()
        sql, args = compiled.string, ([bound[k] for k in (compiled.positiontup or [])] if compiled.positional else bound)  # type: ignore[assignment]
    driver = conn.connection.driver_connection
    # PostgreSQL: a server-side cursor, so ten million rows arrive chunk by chunk instead of all at
    # once into the client's memory (psycopg's default cursor holds the whole result).
    cursor = driver.cursor(name=f"columnar_{next(_CURSORS)}") if conn.dialect.name == "postgresql" else driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        while rows := cursor.fetchmany(FETCH):
            yield list(rows)
    finally:
        cursor.close()


def _param(conn: sa.Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _contacts(conn: sa.Connection, crm: str, props: list[str]) -> tuple[ContactColumns, np.ndarray, list[str | None]]:
    """Contact ids, the JSON text of each property the models read, ``needs_score`` and e-mail."""
    p = _param(conn)
    if conn.dialect.name == "sqlite":
        bad = [name for name in props if '"' in name or "\\" in name]
        if bad:
            raise ValueError(f"property name(s) {bad} cannot be read by an SQLite JSON path")
        extract = [f"properties -> {p}" for _ in props]
        args: list[t.Any] = [f'$."{name}"' for name in props]
    else:
        extract = [f"(properties -> {p})::text" for _ in props]
        args = list(props)
    sql = f"SELECT id, email, needs_score{''.join(', ' + e for e in extract)} FROM contacts WHERE crm = {p}"  # noqa: S608 - placeholders and fixed expressions only
    ids: list[str] = []
    emails: list[str | None] = []
    needs: list[bool] = []
    # Each chunk's texts become codes at once: a million contacts' JSON texts, one string object per
    # property and contact, were the largest part of the read's memory when kept to the end.
    coders = [_Coder() for _ in props]
    codes: list[list[np.ndarray]] = [[] for _ in props]
    for chunk in chunks(conn, sql, [*args, crm]):
        columns = list(zip(*chunk, strict=True))
        ids += columns[0]
        emails += columns[1]
        needs += [bool(x) for x in columns[2]]
        for k, coder in enumerate(coders):
            codes[k].append(coder.codes(columns[3 + k]))
    properties: dict[str, Categorical] = {}
    for name, coder, parts in zip(props, coders, codes, strict=True):
        column = Categorical(_concat(parts, np.int32), coder.builder.values)
        properties[name] = _with_email(column, emails) if name == "email" else column
    return ContactColumns(ids=ids, properties=properties), np.array(needs, dtype=bool), emails


class _Coder:
    """Codes of a property's JSON texts (``None``: no such key), each distinct text decoded once."""

    def __init__(self) -> None:
        self.builder = CategoricalBuilder()
        self._by_text: dict[str | None, int] = {None: -1}

    def codes(self, texts: t.Sequence[str | None]) -> np.ndarray:
        return np.fromiter(map(self._code, texts), dtype=np.int32, count=len(texts))

    def _code(self, text: str | None) -> int:
        found = self._by_text.get(text)
        if found is None:
            found = self._by_text[text] = self.builder.code(_loads(t.cast(str, text)))
        return found


def _with_email(column: Categorical, emails: t.Sequence[str | None]) -> Categorical:
    """The ``email`` property as conditions see it: blank or absent, the contact's own e-mail stands in."""
    blank = [i for i, v in enumerate(column.values) if v is None or v == ""]
    rows = np.flatnonzero(np.isin(column.codes, [-1, *blank]))
    if not len(rows):
        return column
    builder = CategoricalBuilder()
    for value in column.values:
        builder.code(value)
    codes = column.codes.copy()
    for i in rows.tolist():
        if emails[i]:
            codes[i] = builder.code(emails[i])
    return Categorical(codes, builder.values)


def _loads(text: str) -> t.Any:
    """``json.loads``, with a shortcut for a string without escapes (e-mail addresses: one per contact)."""
    if text[:1] == '"' and "\\" not in text:
        return text[1:-1]
    return json.loads(text)


def _scan_activities(conn: sa.Connection, crm: str, types: list[str]) -> ActivityScan:
    """See :func:`scan_activities`: each driver chunk turned into integer columns at once."""
    builder = ScanBuilder()
    if types:
        builder.add(conn, activity_sql(conn, len(types)), [crm, *types])
    return builder.done()


class ScanBuilder:
    """An :class:`ActivityScan` built chunk by chunk, possibly on top of an earlier one (codes go on from its lists)."""

    def __init__(self, base: ActivityScan | None = None) -> None:
        self._owners: dict[str, int] = {k: i for i, k in enumerate(base.contact_ids)} if base is not None else {}
        self._kinds: dict[str, int] = {k: i for i, k in enumerate(base.kinds)} if base is not None else {}
        self._texts: dict[str | None, int] = {k: i for i, k in enumerate(base.texts)} if base is not None else {}
        self._parts: dict[str, list[np.ndarray]] = {"contact": [], "type": [], "occurred": [], "text": []}
        if base is not None:
            for name in self._parts:
                self._parts[name].append(getattr(base, name))

    def add(self, conn: sa.Connection, sql: str, params: t.Sequence[t.Any]) -> int:
        """Append the rows of ``sql`` (``contact_id, type, instant, attributes``); returns how many."""
        owners, kinds, texts, parts = self._owners, self._kinds, self._texts, self._parts
        added = 0
        for chunk in chunks(conn, sql, params):
            cids, kind, when, attribute_texts = zip(*chunk, strict=True)
            parts["contact"].append(np.fromiter((owners.setdefault(x, len(owners)) for x in cids), dtype=np.int32, count=len(chunk)))
            parts["type"].append(np.fromiter((kinds.setdefault(x, len(kinds)) for x in kind), dtype=np.int32, count=len(chunk)))
            parts["occurred"].append(_micros(when))
            setdefault = texts.setdefault
            parts["text"].append(np.fromiter((setdefault(x, len(texts)) for x in attribute_texts), dtype=np.int32, count=len(chunk)))
            added += len(chunk)
        return added

    def done(self) -> ActivityScan:
        """The scan so far (the builder's parts are concatenated: call once)."""
        parts = self._parts
        return ActivityScan(
            contact=_concat(parts["contact"], np.int32), type=_concat(parts["type"], np.int32), occurred=_concat(parts["occurred"], np.int64),
            text=_concat(parts["text"], np.int32), contact_ids=list(self._owners), kinds=list(self._kinds), texts=list(self._texts),
        )  # fmt: skip


def _activities(
    conn: sa.Connection, crm: str, types: list[str], attrs: list[str], row_of: t.Mapping[str, int], ids: t.Sequence[str], scan: ActivityScan
) -> ActivityColumns:
    """The scanned activity as columns sorted by contact row; ``ids``: the contact ids by row (the inverse of ``row_of``)."""
    # Activity of a contact not stored gets row -1 (and is dropped, as the exact scoring does).
    rows = np.fromiter((row_of.get(cid, -1) for cid in scan.contact_ids), dtype=np.int32, count=len(scan.contact_ids))
    contact = rows[scan.contact] if len(rows) else np.zeros(0, dtype=np.int32)
    if (contact >= 0).all():
        by_contact = np.argsort(contact, kind="stable")
    else:  # activity of a contact not stored: dropped, as the exact scoring does
        keep = np.flatnonzero(contact >= 0)
        by_contact = keep[np.argsort(contact[keep], kind="stable")]
        del keep
    occurred = scan.occurred[by_contact]
    text_codes = scan.text[by_contact]
    type_codes = scan.type[by_contact]
    contact = contact[by_contact]
    del by_contact
    kinds = {k: i for i, k in enumerate(scan.kinds)}
    texts = {x: i for i, x in enumerate(scan.texts)}
    order = _tie_order(conn, crm, contact, occurred, type_codes, text_codes, contact_ids=ids, types=types, kinds=kinds, texts=texts)
    decoded = [json.loads(x) or {} if x is not None else {} for x in scan.texts]
    attributes: dict[str, Categorical] = {}
    for name in attrs:
        builder = CategoricalBuilder()
        table = np.array([builder.code(d[name]) if name in d else -1 for d in decoded] or [-1], dtype=np.int32)
        if builder.values:
            attributes[name] = Categorical(table[text_codes], builder.values)
    return ActivityColumns(contact=contact, type=Categorical(type_codes, scan.kinds), occurred=occurred, order=order, attributes=attributes)


def activity_sql(conn: sa.Connection, types: int | None, owners: int = 0, rowids: bool = False) -> str:
    """Contact-owned activity of ``types`` types (``None``: of any type): ``contact_id, type, instant, attributes`` (a table scan).

    With ``owners``: also ``id`` (second), for that many contact ids, by the contact index.
    With ``rowids`` (SQLite): only rows whose rowid is in ``(after, upto]``, by the table's own key.
    Instants: SQLite's UTC text; PostgreSQL's integer microseconds, exact from PostgreSQL 14 on
    (no datetime per row). Parameters: the CRM, the rowid bounds, the owners, the types.
    """
    p = _param(conn)
    sqlite = conn.dialect.name == "sqlite"
    exact = (conn.dialect.server_version_info or (0,)) >= (14,)
    instant = "occurred_at" if sqlite or not exact else "(extract(epoch from occurred_at) * 1000000)::bigint"
    columns = f"contact_id,{' id,' if owners else ''} type, {instant}, attributes{'' if sqlite else '::text'}"
    scan = " NOT INDEXED" if sqlite and not owners else ""
    among = f" AND contact_id IN ({', '.join([p] * owners)})" if owners else ""
    bounds = f" AND rowid > {p} AND rowid <= {p}" if rowids else ""
    kinds = f" AND type IN ({', '.join([p] * types)})" if types is not None else ""
    return f"SELECT {columns} FROM activities{scan} WHERE crm = {p}{bounds}{among} AND contact_id IS NOT NULL{kinds}"  # noqa: S608 - placeholders and fixed expressions only


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _micros(values: t.Sequence[t.Any]) -> np.ndarray:
    """Instants as microseconds: integers from the server, or SQLite's UTC text parsed by numpy in C."""
    if values and type(values[0]) is int:
        return np.array(values, dtype=np.int64)
    try:
        return np.array(values, dtype="datetime64[us]").astype(np.int64)
    except ValueError:  # not ISO text numpy reads: parse each (aware datetimes from an old PostgreSQL, odd text)
        import datetime as dt

        return np.fromiter((to_micros(v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v)) for v in values), dtype=np.int64, count=len(values))


def _tie_order(
    conn: sa.Connection,
    crm: str,
    contact: np.ndarray,
    occurred: np.ndarray,
    type_codes: np.ndarray,
    text_codes: np.ndarray,
    *,
    contact_ids: t.Sequence[str],
    types: list[str],
    kinds: dict[str, int],
    texts: dict[str | None, int],
) -> np.ndarray:
    """``ActivityColumns.order`` for activity sorted by contact: ranks that follow the ids where it matters.

    The scorer compares orders only between activities of one contact at one instant (newest
    first, then the lowest id), so any distinct ranks do, except inside such ties: there the
    ranks are handed out again in id order. Ties are rare, so the scan reads no ids (ten million
    id strings were 170 MB and seconds of the read); the tied contacts' activity is read again
    with ids, and each id finds its row by type and attributes (``kinds``, ``texts``: the codes
    the scan gave them) -- rows alike in both are alike to the scorer, so which of them gets which
    rank changes nothing. A row no fetched id matches (the activity changed between the two
    reads) keeps its place after the matched ones. ``contact_ids``: the contact ids by row.
    """
    n = len(contact)
    order = np.arange(n, dtype=np.int64)
    if n < 2:
        return order
    by_instant = np.lexsort((occurred, contact))
    same = (contact[by_instant][1:] == contact[by_instant][:-1]) & (occurred[by_instant][1:] == occurred[by_instant][:-1])
    if not same.any():
        return order
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    stops = np.concatenate([starts[1:], [n]])
    big = (stops - starts) >= 2
    # (contact row, instant) -> the tied rows, and the (activity id, type code, text code) read for them
    groups = {(int(contact[by_instant[lo]]), int(occurred[by_instant[lo]])): by_instant[lo:hi].tolist() for lo, hi in zip(starts[big].tolist(), stops[big].tolist(), strict=True)}
    found: dict[tuple[int, int], list[tuple[str, int, int]]] = {key: [] for key in groups}
    row_of = {contact_ids[r]: r for r, _ in groups}
    wanted = sorted(row_of)
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        for chunk in chunks(conn, activity_sql(conn, len(types), len(part)), [crm, *part, *types]):
            at = _micros([r[3] for r in chunk]).tolist()
            for (cid, aid, kind, _, text), when in zip(chunk, at, strict=True):
                read = found.get((row_of[cid], when))
                if read is not None:
                    read.append((aid, kinds.get(kind, -1), texts.get(text, -1)))
    for key, rows in groups.items():  # the rows' ranks are the rows themselves (order is still the identity there)
        left, placed = list(rows), []
        for _, kind, text in sorted(found[key]):
            match = next((r for r in left if type_codes[r] == kind and text_codes[r] == text), None)
            if match is not None:
                left.remove(match)
                placed.append(match)
        order[placed + left] = sorted(rows)
    return order


def scores_scan(conn: sa.Connection, columns: str, where: str = "") -> str:
    """SQL reading ``columns`` of every score row of a CRM (its one parameter) in one sequential scan; ``where``: more conditions (``AND ...``).

    ``NOT INDEXED`` on SQLite: its planner otherwise walks an index whose first column is ``crm``
    (the primary key, or ``(crm, changes_at)``) and reads each wide score row at random -- several
    times slower than the scan (see :func:`_states`).
    """
    hint = " NOT INDEXED" if conn.dialect.name == "sqlite" else ""
    return f"SELECT {columns} FROM scores{hint} WHERE crm = {_param(conn)} {where}"  # noqa: S608 - fixed column lists and a placeholder only


def _states(conn: sa.Connection, crm: str, models: t.Sequence[ScoringModel], row_of: t.Mapping[str, int]) -> dict[str, ModelStates]:
    """Each model's stored state and fingerprint per contact row (no row: the first scoring's state, no fingerprint).

    One scan of the scores table for every model: its rows are wide (reasons and state text),
    and a scan per model read the table once per model. On SQLite ``NOT INDEXED``: the planner
    otherwise walks the ``(crm, changes_at)`` index and reads each row at random (two models of
    a million contacts: 11.2 s, against 2.6 s for the sequential scan).
    """
    state_text = "state" if conn.dialect.name == "sqlite" else "state::text"
    sql = scores_scan(conn, f"model, contact_id, {state_text}, fingerprint, stage, digest")
    builders = {m.model: _StatesBuilder(m, len(row_of)) for m in models}
    for chunk in chunks(conn, sql, [crm]):
        per_model: dict[str, list[tuple[t.Any, ...]]] = {}
        for row in chunk:
            per_model.setdefault(row[0], []).append(row)
        for name, rows in per_model.items():
            if name in builders:  # a model no longer configured: its rows are not read
                builders[name].add(rows, row_of)
    return {name: builder.done() for name, builder in builders.items()}


class _StatesBuilder:
    """One model's :class:`ModelStates`, filled from its score rows chunk by chunk (each distinct state text decoded once)."""

    def __init__(self, model: ScoringModel, n: int) -> None:
        self.triggers = [trig.id for trig in model.triggers]
        self.stage: list[str | None] = [None] * n
        self.entered = np.full(n, NO_TIME, dtype=np.int64)
        self.armed = {k: np.ones(n, dtype=bool) for k in self.triggers}
        self.prints = np.zeros(n, dtype=HASH)
        self.records: list[ScoringState | None] = [None] * n
        self.stage_column: list[str | None] = [None] * n
        self.digests = np.zeros(n, dtype=HASH)
        self.decoded: dict[str, tuple[ScoringState, int, tuple[bool, ...]]] = {}

    def add(self, chunk: list[tuple[t.Any, ...]], row_of: t.Mapping[str, int]) -> None:
        """Score rows ``(model, contact id, state, fingerprint, stage, digest)`` of this model."""
        triggers, decoded = self.triggers, self.decoded
        rows: list[int] = []
        for _, cid, text, _, stored_stage, _ in chunk:
            row = row_of.get(cid, -1)
            rows.append(row)
            if row < 0:  # not a stored contact (or only met as the owner of activity)
                continue
            got = decoded.get(text)
            if got is None:
                state = ScoringState.from_dict(json.loads(text) if isinstance(text, str) else text)
                at = NO_TIME if state.stage_entered_at is None else to_micros(state.stage_entered_at)
                got = decoded[text] = (state, at, tuple(bool(state.armed.get(k, True)) for k in triggers))
            self.records[row], self.stage[row], self.entered[row] = got[0], got[0].stage, got[1]
            for k, flag in zip(triggers, got[2], strict=True):
                if not flag:
                    self.armed[k][row] = False
            self.stage_column[row] = stored_stage
        where = np.array(rows, dtype=np.int64)
        keep = where >= 0
        for column, target in ((3, self.prints), (5, self.digests)):
            target[where[keep]] = _hashes([r[column] for r in chunk])[keep]

    def done(self) -> ModelStates:
        return ModelStates(PreviousColumns(self.stage, self.entered, self.armed), self.prints, self.records, self.stage_column, self.digests)


def _hashes(values: list[str | None]) -> np.ndarray:
    """Stored digests as :data:`HASH` bytes; absent or not 32 ASCII characters: ``b""`` (never equal to a new one)."""
    return np.array([v if v is not None and len(v) == 32 and v.isascii() else "" for v in values], dtype=HASH)


def _anonymous_owners(conn: sa.Connection, crm: str, ids: t.Sequence[str], emails: t.Sequence[str | None]) -> set[str]:
    """Contacts with anonymous history: an identity, or activity known by their e-mail address only."""
    p = _param(conn)
    out = {cid for chunk in chunks(conn, f"SELECT DISTINCT contact_id FROM identities WHERE crm = {p}", [crm]) for (cid,) in chunk}  # noqa: S608 - placeholders and fixed expressions only
    sql = f"SELECT DISTINCT anonymous_id FROM activities WHERE crm = {p} AND contact_id IS NULL AND anonymous_id LIKE {p}"  # noqa: S608 - placeholders and fixed expressions only
    addresses = {a[len(EMAIL_ID_PREFIX) :] for chunk in chunks(conn, sql, [crm, EMAIL_ID_PREFIX + "%"]) for (a,) in chunk}
    if addresses:
        out.update(cid for cid, email in zip(ids, emails, strict=True) if email in addresses)
    return out
