"""A CRM's stored contacts, activity and score states read straight into scoring columns.

Why: the full rescore of a million contacts cannot afford a :class:`~connector.scoring.records.Contact`,
an :class:`~connector.scoring.records.Activity` and a decoded JSON document per row. Here the
database does what it does fast, and Python touches each row once:

- activity arrives as the integer columns of one sequential scan
  (:mod:`connector.sync.activityscan`; on SQLite kept between runs, :mod:`connector.sync.scankeep`)
  and is put in contact-row order here, attribute texts decoded once per distinct text (a portal
  repeats a few thousand attribute sets);
- contact properties are extracted by the database (``properties -> key``), one JSON text per
  property the models read, decoded once per distinct text;
- score states come from one scan of the scores table (:mod:`connector.sync.scoresscan`), each
  distinct state text decoded once.

Activity ids are kept only as compact strings per chunk: they decide the order of activities of
one contact at the same instant (``ActivityColumns.order``), so only such ties need them.

Contacts whose activity cannot be read this way -- history resolved from an anonymous visitor --
are reported in :attr:`StoredPortal.not_columnar`; the caller scores them the exact way.
"""

from __future__ import annotations

import dataclasses as dc
import json
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.batch.memo import fields
from connector.scoring.columns import ActivityColumns, Categorical, CategoricalBuilder, ContactColumns
from connector.scoring.identity import EMAIL_ID_PREFIX
from connector.scoring.model import ScoringModel
from connector.sync.activityscan import ActivityScan, activity_sql, read_activity, read_types
from connector.sync.driverread import chunks, collector_paused, concat, micros, placeholder
from connector.sync.scoresscan import ModelScores, ModelStates, align_scores, scores_on

__all__ = ["StoredPortal", "model_fields", "read_portal"]

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


def read_portal(
    engine: sa.Engine,
    crm: str,
    models: t.Sequence[ScoringModel],
    scan: t.Callable[[], ActivityScan] | None = None,
    scores: t.Callable[[], t.Mapping[str, ModelScores]] | None = None,
) -> StoredPortal:
    """Read every stored contact of ``crm`` with what ``models`` score (see the module docstring).

    ``scores``: where the stored scores come from, called once the contacts are read (by default
    :func:`~connector.sync.scoresscan.scores_on` here, then); ``scan``: where the activity
    comes from, called after that (by default
    :func:`~connector.sync.activityscan.scan_activities` here, then). The scoring worker is
    handed both by the run's process, which reads them meanwhile.

    Raises:
        ValueError: a model reads a property whose name the database's JSON path cannot express,
            or a model has a predictive dimension (predictors read whole records).
    """
    props, attrs = model_fields(models)
    types = read_types(models)
    with collector_paused(), engine.connect() as conn:
        contacts, needs, emails = _contacts(conn, crm, sorted(props))
        row_of = {cid: i for i, cid in enumerate(contacts.ids)}
        states = align_scores(scores() if scores is not None else scores_on(conn, crm, models), models, row_of)
        odd = _anonymous_owners(conn, crm, contacts.ids, emails)
        scanned = scan() if scan is not None else read_activity(conn, crm, types)
        acts = _activities(conn, crm, types, sorted(attrs), row_of, contacts.ids, scanned)
    return StoredPortal(contacts, acts, states, needs, odd)


def model_fields(models: t.Sequence[ScoringModel]) -> tuple[set[str], set[str]]:
    """The property and attribute names any of ``models`` reads (the columns worth building)."""
    props: set[str] = set()
    attrs: set[str] = set()
    for model in models:
        p, a = fields(model)
        props |= p
        attrs |= a
    return props, attrs


def _contacts(conn: sa.Connection, crm: str, props: list[str]) -> tuple[ContactColumns, np.ndarray, list[str | None]]:
    """Contact ids, the JSON text of each property the models read, ``needs_score`` and e-mail."""
    p = placeholder(conn)
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
        column = Categorical(concat(parts, np.int32), coder.builder.values)
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
    # Activity is stored as it happens, so each contact's rows mostly come oldest first already:
    # then the order by (contact, instant) is the one they are in, and the sort of ten million
    # rows (2.4 s, before the first chunk can be scored) is not needed.
    if ((contact[1:] == contact[:-1]) & (occurred[1:] < occurred[:-1])).any():
        by_instant = np.lexsort((occurred, contact))
        at_contact, at_instant = contact[by_instant], occurred[by_instant]
    else:
        by_instant, at_contact, at_instant = np.arange(n, dtype=np.int64), contact, occurred
    same = (at_contact[1:] == at_contact[:-1]) & (at_instant[1:] == at_instant[:-1])
    del at_contact, at_instant
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
            at = micros([r[3] for r in chunk]).tolist()
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


def _anonymous_owners(conn: sa.Connection, crm: str, ids: t.Sequence[str], emails: t.Sequence[str | None]) -> set[str]:
    """Contacts with anonymous history: an identity, or activity known by their e-mail address only."""
    p = placeholder(conn)
    out = {cid for chunk in chunks(conn, f"SELECT DISTINCT contact_id FROM identities WHERE crm = {p}", [crm]) for (cid,) in chunk}  # noqa: S608 - placeholders and fixed expressions only
    sql = f"SELECT DISTINCT anonymous_id FROM activities WHERE crm = {p} AND contact_id IS NULL AND anonymous_id LIKE {p}"  # noqa: S608 - placeholders and fixed expressions only
    addresses = {a[len(EMAIL_ID_PREFIX) :] for chunk in chunks(conn, sql, [crm, EMAIL_ID_PREFIX + "%"]) for (a,) in chunk}
    if addresses:
        out.update(cid for cid, email in zip(ids, emails, strict=True) if email in addresses)
    return out
