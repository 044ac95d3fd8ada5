"""What-if: the stored contacts rescored with a draft model next to the current one, nothing written.

``connector whatif --model DRAFT.yaml`` answers "what would the next sync do if this draft went
live now?". Both models score every stored contact of the CRM as of the same instant, from the same
inputs the sync would hand them: the pulled properties, the activity (anonymous history
resolved as the sync resolves it), the active manual adjustments of that model, and as previous
state each model's stored state (the stage a contact holds, when it was entered, which triggers
are disarmed) -- or, for a contact that model never scored, the state the CRM's stage dates seed
(:mod:`connector.sync.stagedates`). So differences come from the model change alone, and they are
the differences going live would make: without ``allow_regression`` a stricter draft keeps
existing MQLs at MQL, as the sync would.

It reads the whole portal once (:func:`load_portal`: one query per table, only activity types the
models read) and scores it with the batch scorer's columnar entry point, so 100,000 contacts take
seconds (``bench/bench_whatif.py``). Writes nothing.

What it reports (:class:`WhatIf`): contacts per stage under each model; who changes stage (current
stage -> draft stage); who fires each trigger under one model and not the other; the biggest
movers with the rules that moved them (per-rule points, adjustments and clamping, draft minus
current); and, where outcomes are known, conversion by score band (quintiles of contacts by score)
under each model. Outcomes: the ``outcomes`` table when the state store has one (pulled from the
CRM), or a property condition (``converted``, in the models' condition syntax).
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import pathlib
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.batch import BatchScorer, round2_array
from connector.scoring.columns import EPOCH, ActivityColumns, AdjustmentColumns, ContactColumns, PreviousColumns, ResultColumns, from_micros, to_micros
from connector.scoring.conditions import matches
from connector.scoring.engine import contact_values
from connector.scoring.identity import email_id
from connector.scoring.model import ScoringModel, When
from connector.scoring.records import Activity, Contact, utc
from connector.scoring.result import ScoringState
from connector.sync import adjustments as adjustments_mod
from connector.sync.activityscan import activity_types
from connector.sync.columnar import model_fields
from connector.sync.driverread import fetch_all
from connector.sync.stagedates import seed
from connector.sync.tables import activities, contacts, identities, outcomes, scores

__all__ = ["Activities", "Band", "Mover", "Portal", "StageRow", "TriggerDiff", "WhatIf", "compare_files", "load_portal", "what_if"]

#: Score bands for conversion: contacts split into this many equal groups by score.
BANDS = 5
NONE_STAGE = "(none)"


@dc.dataclass
class Activities:
    """The portal's activities as plain per-activity values (an :class:`Activity` each only when asked)."""

    owners: list[str] = dc.field(default_factory=list)
    ids: list[str] = dc.field(default_factory=list)
    types: list[str] = dc.field(default_factory=list)
    #: microseconds since the epoch (UTC)
    occurred: list[int] = dc.field(default_factory=list)
    attributes: list[dict[str, t.Any]] = dc.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def records(self) -> list[Activity]:
        """Canonical records (predictive dimensions read whole activities)."""
        return [
            Activity(id=i, type=k, occurred_at=from_micros(us), contact_id=o, attributes=a)
            for o, i, k, us, a in zip(self.owners, self.ids, self.types, self.occurred, self.attributes, strict=True)
        ]


@dc.dataclass
class Portal:
    """Everything stored about a CRM's contacts that scoring reads, loaded once."""

    contacts: list[Contact]
    activities: Activities
    #: contact id -> its recorded adjustments (all models, expired ones too)
    adjustments: dict[str, list[adjustments_mod.Stored]]
    #: model name -> contact id -> stored state
    states: dict[str, dict[str, ScoringState]]
    #: contacts known to have converted (``None``: no outcome source)
    converted: set[str] | None = None
    outcome_source: str | None = None


def load_portal(engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel]) -> Portal:
    """Read the CRM's contacts, the activity the models can use, adjustments and stored states."""
    types = activity_types(models)
    with engine.connect() as conn:
        people: list[Contact] = []
        by_email: dict[str, str] = {}
        for cid, email, props, dates in conn.execute(
            sa.select(contacts.c.id, contacts.c.email, contacts.c.properties, contacts.c.stage_dates).where(contacts.c.crm == crm).order_by(contacts.c.id)
        ):
            stage_dates = {k: dt.datetime.fromisoformat(v) for k, v in dates.items()} if dates else {}
            people.append(Contact(id=cid, email=email, properties=props or {}, stage_dates=stage_dates))
            if email:
                by_email.setdefault(email_id(email), cid)
        owner_of = dict(by_email)
        owner_of.update({anon: cid for anon, cid in conn.execute(sa.select(identities.c.anonymous_id, identities.c.contact_id).where(identities.c.crm == crm))})
        acts = _activities(conn, crm, types, owner_of, {c.id for c in people})
        states: dict[str, dict[str, ScoringState]] = {m.model: {} for m in models}
        for cid, model, state in conn.execute(
            sa.select(scores.c.contact_id, scores.c.model, scores.c.state).where(scores.c.crm == crm, scores.c.model.in_(list(states)))
        ):
            states[model][cid] = ScoringState.from_dict(state)
    adjusted = adjustments_mod.for_scoring(engine, crm, [c.id for c in people])
    return Portal(people, acts, adjusted, states)


def _activities(conn: sa.Connection, crm: str, types: set[str] | None, owner_of: t.Mapping[str, str], known: set[str]) -> Activities:
    """The CRM's activities of ``types``, each given to the contact it belongs to (as the sync resolves it).

    Why raw values: reading a million activities, decoding each ``attributes`` JSON and each
    timestamp through the column types, and making an :class:`Activity` of each took most of a
    what-if's time. Attributes repeat (the same URLs and forms), so each distinct text is decoded
    once; SQLite's timestamp text (UTC, as :class:`~connector.sync.tables.UTCDateTime` stores it)
    is parsed by ``datetime.fromisoformat``; the values go straight into columns.
    """
    sqlite = conn.dialect.name == "sqlite"
    occurred_col: t.Any = activities.c.occurred_at
    if sqlite:
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds from SQLite's strftime,
        # microseconds from the text, exactly; any other text is parsed in Python below.
        text = sa.type_coerce(activities.c.occurred_at, sa.String)
        # (strftime of the whole text would round .999999 up to the next second: the seconds part only)
        exact = sa.cast(sa.func.strftime("%s", sa.func.substr(text, 1, 19)), sa.Integer) * 1_000_000 + sa.cast(sa.func.substr(text, 21, 6), sa.Integer)
        occurred_col = sa.case((sa.func.length(text) == 26, exact), else_=text)
    elif conn.dialect.name == "postgresql" and (conn.dialect.server_version_info or (0,)) >= (14,):
        # EXTRACT(EPOCH ...) is an exact numeric from PostgreSQL 14 on: microseconds without a datetime per row.
        occurred_col = sa.cast(sa.extract("epoch", activities.c.occurred_at) * 1_000_000, sa.BigInteger)
    q = sa.select(activities.c.id, activities.c.type, occurred_col, activities.c.contact_id, activities.c.anonymous_id, sa.cast(activities.c.attributes, sa.Text)).where(
        activities.c.crm == crm
    )
    if types is not None:
        q = q.where(activities.c.type.in_(sorted(types)))
    rows = fetch_all(conn, q.order_by(activities.c.id))  # by id (the primary key's order): ranking ids is then one linear pass
    if not rows:
        return Activities()
    ids, kinds, occurred, cids, anons, texts = ([row[k] for row in rows] for k in range(6))
    owners = [cid or owner_of.get(anon or "") for cid, anon in zip(cids, anons, strict=True)]
    keep = [i for i, owner in enumerate(owners) if owner is None or owner not in known]
    if keep:  # activity of nobody we know (anonymous, or a contact not stored): dropped, as the sync does
        gone = set(keep)
        ids, kinds, occurred, owners, texts = ([v for i, v in enumerate(col) if i not in gone] for col in (ids, kinds, occurred, owners, texts))
    decoded: dict[str | None, dict[str, t.Any]] = {None: {}, "null": {}}
    for text in set(texts) - decoded.keys():
        decoded[text] = json.loads(text) or {}
    parse, naive_epoch, micro = dt.datetime.fromisoformat, EPOCH.replace(tzinfo=None), dt.timedelta(microseconds=1)
    micros = [v if type(v) is int else (parse(v) - naive_epoch) // micro if type(v) is str else to_micros(v) for v in occurred]
    return Activities(t.cast(list[str], owners), ids, kinds, micros, [decoded[x] for x in texts])


def stored_outcomes(engine: sa.Engine, crm: str) -> set[str] | None:
    """Contacts with an outcome pulled from the CRM (customer, won deal, converted lead); ``None``: none pulled yet."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outcomes.c.contact_id).where(outcomes.c.crm == crm).distinct()).all()
    return {cid for (cid,) in rows} or None


def converted_by(portal: Portal, when: When, placeholders: t.Iterable[str]) -> set[str]:
    """Contacts whose stored properties match ``when`` (an outcome written as a property condition)."""
    marks = frozenset(placeholders)
    return {c.id for c in portal.contacts if matches(when, contact_values(c), marks)}


@dc.dataclass(frozen=True, slots=True)
class StageRow:
    """Contacts in one stage under each model."""

    stage: str
    current: int
    draft: int


@dc.dataclass(frozen=True, slots=True)
class Crossing:
    """Contacts whose stage differs: current stage -> draft stage."""

    current: str
    draft: str
    count: int
    examples: tuple[str, ...]


@dc.dataclass(frozen=True, slots=True)
class TriggerDiff:
    """A trigger's firings under each model at this scoring."""

    trigger: str
    current: int
    draft: int
    only_draft: tuple[str, ...]
    only_current: tuple[str, ...]


@dc.dataclass(frozen=True, slots=True)
class Mover:
    """A contact whose total moves most, with what moved it (draft minus current, per rule)."""

    contact_id: str
    email: str | None
    current: float
    draft: float
    #: ``(what, dimension, points)``, biggest first: rule labels, ``adjustments``, ``clamp``, ``excluded: ...``
    because: tuple[tuple[str, str, float], ...]

    @property
    def delta(self) -> float:
        """Draft total minus current total."""
        return round(self.draft - self.current, 2)


@dc.dataclass(frozen=True, slots=True)
class Band:
    """One score band (the n-th fifth of contacts by score, best first) under one model."""

    band: int
    contacts: int
    converted: int
    min_score: float
    max_score: float

    @property
    def rate(self) -> float:
        """Share of the band that converted."""
        return self.converted / self.contacts if self.contacts else 0.0


@dc.dataclass
class WhatIf:
    """The comparison, as plain data (the CLI formats it; ``to_dict`` is its JSON)."""

    as_of: dt.datetime
    contacts: int
    current_model: str
    draft_model: str
    stages: list[StageRow]
    crossings: list[Crossing]
    triggers: list[TriggerDiff]
    movers: list[Mover]
    bands_current: list[Band] | None
    bands_draft: list[Band] | None
    outcome_source: str | None
    #: Contacts whose grade differs (current grade -> draft grade; ``(none)``: no grade)
    grades: list[Crossing] = dc.field(default_factory=list)
    seconds: dict[str, float] = dc.field(default_factory=dict)

    def to_dict(self) -> dict[str, t.Any]:
        """JSON-ready form."""
        out = dc.asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["movers"] = [{**dc.asdict(m), "delta": m.delta} for m in self.movers]
        for key in ("bands_current", "bands_draft"):
            bands = getattr(self, key)
            out[key] = None if bands is None else [{**dc.asdict(b), "rate": b.rate} for b in bands]
        return out


@dc.dataclass(frozen=True, slots=True)
class Scored:
    """One model's results for every stored contact, and the adjustment points each contact counted."""

    cols: ResultColumns
    adjusted: np.ndarray


def score_portal(batch: BatchScorer, portal: Portal, cols: tuple[ContactColumns, ActivityColumns], as_of: dt.datetime) -> Scored:
    """One model's scores of every stored contact, as the next sync would compute them (nothing written)."""
    model = batch.model
    ids = [c.id for c in portal.contacts]
    rows = {cid: i for i, cid in enumerate(ids)}
    stored = portal.states.get(model.model, {})
    states: dict[str, ScoringState] = {}
    for c in portal.contacts:
        state = stored.get(c.id)
        if state is None and c.stage_dates:
            seeded = seed(model, c.stage_dates, as_of)
            state = seeded.state if seeded is not None else None
        if state is not None:
            states[c.id] = state
    adjs = [a for cid in ids for a in adjustments_mod.active(portal.adjustments.get(cid, ()), model.model, as_of)]
    previous = PreviousColumns.from_states(ids, states, [trig.id for trig in model.triggers])
    adj = AdjustmentColumns.from_records(adjs, rows)
    result = batch.score_columns(cols[0], cols[1], as_of, adj, previous)
    counted = np.flatnonzero(result.adjustment_counted)
    adjusted = np.bincount(adj.contact[counted], weights=round2_array(adj.points[counted]), minlength=len(ids)) if len(counted) else np.zeros(len(ids))
    return Scored(result, adjusted)


def columns(portal: Portal, models: t.Sequence[ScoringModel]) -> tuple[ContactColumns, ActivityColumns]:
    """Contact and activity columns once for both models (the union of the properties and attributes they read)."""
    props, attrs = model_fields(models)
    rows = {c.id: i for i, c in enumerate(portal.contacts)}
    acts = portal.activities
    if any(d.predictive is not None for m in models for d in m.dimensions.values()):
        return ContactColumns.from_records(portal.contacts, props), ActivityColumns.from_records(acts.records(), rows, attrs)
    owners = np.fromiter((rows[o] for o in acts.owners), dtype=np.int32, count=len(acts))
    occurred = np.array(acts.occurred, dtype=np.int64)
    return ContactColumns.from_records(portal.contacts, props), ActivityColumns.from_values(owners, acts.types, occurred, acts.ids, acts.attributes, attrs)


def what_if(
    portal: Portal,
    current: BatchScorer,
    draft: BatchScorer,
    *,
    as_of: dt.datetime,
    top: int = 10,
    examples: int = 5,
) -> WhatIf:
    """Score ``portal`` with both models as of ``as_of`` and compare (see the module docstring)."""
    import time

    as_of = utc(as_of)
    started = time.perf_counter()
    cols = columns(portal, [current.model, draft.model])
    built = time.perf_counter()
    cur_scored = score_portal(current, portal, cols, as_of)
    new_scored = score_portal(draft, portal, cols, as_of)
    cur, new = cur_scored.cols, new_scored.cols
    scored = time.perf_counter()
    ids = [c.id for c in portal.contacts]
    cur_stage, new_stage = _stage_names(cur), _stage_names(new)
    result = WhatIf(
        as_of=as_of,
        contacts=len(ids),
        current_model=current.model.model,
        draft_model=draft.model.model,
        stages=_stages(current.model, draft.model, cur_stage, new_stage),
        crossings=_crossings(ids, cur_stage, new_stage, examples),
        triggers=_triggers(ids, cur, new, current.model, draft.model, examples),
        movers=_movers(portal, cur_scored, new_scored, current.model, draft.model, top),
        bands_current=_bands(ids, cur.score, portal.converted),
        bands_draft=_bands(ids, new.score, portal.converted),
        outcome_source=portal.outcome_source if portal.converted is not None else None,
        grades=_crossings(ids, _labels(cur.grade, cur.grade_labels), _labels(new.grade, new.grade_labels), examples),
    )
    result.seconds = {"columns": round(built - started, 3), "scoring": round(scored - built, 3), "compare": round(time.perf_counter() - scored, 3)}
    return result


def _stage_names(cols: ResultColumns) -> np.ndarray:
    """Each contact's stage name (excluded contacts and contacts without a stage: ``(none)``)."""
    return _labels(cols.stage, cols.stage_names)


def _labels(codes: np.ndarray, labels: t.Sequence[str]) -> np.ndarray:
    """Each contact's label (grade) by code; ``(none)`` for code -1."""
    names = np.array([*labels, NONE_STAGE], dtype=object)
    return names[np.where(codes >= 0, codes, len(labels))]


def _stages(current: ScoringModel, draft: ScoringModel, cur: np.ndarray, new: np.ndarray) -> list[StageRow]:
    order = [s.name for s in (current.stages.order if current.stages else [])]
    order += [s.name for s in (draft.stages.order if draft.stages else []) if s.name not in order]
    order.append(NONE_STAGE)
    cur_counts = dict(zip(*np.unique(cur, return_counts=True), strict=True)) if len(cur) else {}
    new_counts = dict(zip(*np.unique(new, return_counts=True), strict=True)) if len(new) else {}
    return [StageRow(s, int(cur_counts.get(s, 0)), int(new_counts.get(s, 0))) for s in order if cur_counts.get(s) or new_counts.get(s) or s != NONE_STAGE]


def _crossings(ids: t.Sequence[str], cur: np.ndarray, new: np.ndarray, examples: int) -> list[Crossing]:
    moved = np.flatnonzero(cur != new)
    groups: dict[tuple[str, str], list[str]] = {}
    for i in moved.tolist():
        groups.setdefault((str(cur[i]), str(new[i])), []).append(ids[i])
    out = [Crossing(a, b, len(who), tuple(who[:examples])) for (a, b), who in groups.items()]
    return sorted(out, key=lambda c: (-c.count, c.current, c.draft))


def _triggers(ids: t.Sequence[str], cur: ResultColumns, new: ResultColumns, current: ScoringModel, draft: ScoringModel, examples: int) -> list[TriggerDiff]:
    names = [trig.id for trig in current.triggers] + [trig.id for trig in draft.triggers if trig.id not in {x.id for x in current.triggers}]
    none = np.zeros(len(ids), dtype=bool)
    out = []
    for name in names:
        a, b = cur.fired.get(name, none), new.fired.get(name, none)
        only_new = [ids[i] for i in np.flatnonzero(b & ~a).tolist()]
        only_cur = [ids[i] for i in np.flatnonzero(a & ~b).tolist()]
        out.append(TriggerDiff(name, int(a.sum()), int(b.sum()), tuple(only_new[:examples]), tuple(only_cur[:examples])))
    return out


def _movers(portal: Portal, cur_scored: Scored, new_scored: Scored, current: ScoringModel, draft: ScoringModel, top: int) -> list[Mover]:
    cur, new = cur_scored.cols, new_scored.cols
    delta = np.round(new.score - cur.score, 2)
    moved = np.flatnonzero(delta != 0)
    if not len(moved):
        return []
    ids = [c.id for c in portal.contacts]
    ranked = sorted(moved.tolist(), key=lambda i: (-abs(float(delta[i])), ids[i]))[:top]
    out = []
    for i in ranked:
        why: dict[tuple[str, str], float] = {}
        for sign, scored, model in ((-1.0, cur_scored, current), (1.0, new_scored, draft)):
            cols = scored.cols
            for j, rule in enumerate(model.rules):
                if cols.rule_points[i, j]:
                    key = (rule.display, rule.dimension)
                    why[key] = why.get(key, 0.0) + sign * float(cols.rule_points[i, j])
            for k, dim in enumerate(model.dimensions):
                if cols.clamp[i, k]:
                    why[("clamp", dim)] = why.get(("clamp", dim), 0.0) + sign * float(cols.clamp[i, k])
            if scored.adjusted[i]:
                why[("adjustments", "")] = why.get(("adjustments", ""), 0.0) + sign * float(scored.adjusted[i])
        excluded = [(f"excluded by {m.model}: {m.exclusions[int(c.excluded[i])].id}", "total", 0.0) for c, m in ((cur, current), (new, draft)) if c.excluded[i] >= 0]
        because = tuple(excluded) + tuple(sorted(((k[0], k[1], round(v, 2)) for k, v in why.items() if round(v, 2) != 0), key=lambda x: (-abs(x[2]), x[0])))
        contact = portal.contacts[i]
        out.append(Mover(contact.id, contact.email, float(cur.score[i]), float(new.score[i]), because))
    return out


def _bands(ids: t.Sequence[str], score: np.ndarray, converted: set[str] | None) -> list[Band] | None:
    """Conversion per fifth of contacts by score (best first; ties by contact id)."""
    if converted is None or not len(ids):
        return None
    order = sorted(range(len(ids)), key=lambda i: (-float(score[i]), ids[i]))
    n = len(order)
    out = []
    for b in range(BANDS):
        part = order[b * n // BANDS : (b + 1) * n // BANDS]
        if not part:
            continue
        values = [float(score[i]) for i in part]
        out.append(Band(b + 1, len(part), sum(1 for i in part if ids[i] in converted), min(values), max(values)))
    return out


def compare_files(
    engine: sa.Engine,
    crm: str,
    current: str | pathlib.Path,
    draft: str | pathlib.Path,
    *,
    as_of: dt.datetime,
    converted: When | None = None,
    top: int = 10,
) -> WhatIf:
    """The whole what-if from two model files (what ``connector whatif`` and a learned draft's review run).

    Outcomes: ``converted`` (a property condition) when given, else the outcomes pulled from the
    CRM when the state store has them, else none (no bands).

    Raises:
        YamlFileError: a model file (or a predictor it names) is invalid.
    """
    from connector.scoring.loader import load_model, load_predictors

    models = [load_model(current), load_model(draft)]
    scorers = [BatchScorer(m, load_predictors(m, path)) for m, path in zip(models, (current, draft), strict=True)]
    portal = load_portal(engine, crm, models)
    if converted is not None:
        portal.converted = converted_by(portal, converted, models[1].placeholders)
        portal.outcome_source = "property condition"
    else:
        portal.converted = stored_outcomes(engine, crm)
        portal.outcome_source = "outcomes pulled from the CRM"
    return what_if(portal, scorers[0], scorers[1], as_of=as_of, top=top)
