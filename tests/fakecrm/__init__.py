"""An in-memory CRM and its adapter, as an adapter package of its own.

Two uses. The pipeline tests build :class:`FakeAdapter` over a :class:`FakeCRM` they hold and hand
it to ``run_sync`` as the adapter factory. And, through ``ADAPTER``, the package plugs into the
connector exactly as a CRM shipped outside this repository would: ``adapter: tests.fakecrm`` in
``connector.yaml`` and ``crm: tests.fakecrm`` in its mapping -- no line of the connector names it.
Built that way (:func:`from_config`), the CRM lives in a JSON file named by the base-URL variable
(``FAKECRM_STATE``), so separate CLI commands (check, setup, sync) see one CRM; it needs a token
(``FAKECRM_TOKEN``) and refuses fields that ``connector setup`` has not created.
"""

from __future__ import annotations

import contextlib
import dataclasses as dc
import datetime as dt
import fcntl
import json
import pathlib
import typing as t

from pydantic import BaseModel, ConfigDict

from connector.adapters.base import (
    AdapterSettings,
    AdapterSpec,
    ApiStats,
    CRMAdapter,
    CRMError,
    Echo,
    FieldUpdate,
    MappingProblem,
    Outcome,
    OutputSpec,
    Page,
    PushResult,
    RateLimitInfo,
    RateLimits,
    Reject,
    RequestGate,
    RequestKind,
    TaskRequest,
    TaskResult,
)
from connector.scoring.records import Activity, Contact
from connector.yamlfile import load_yaml_model

__all__ = ["ADAPTER", "T0", "FakeAdapter", "FakeCRM", "FakeMapping", "from_config"]

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dc.dataclass
class FakeCRM:
    """The CRM side: records, what was written, lists, tasks; shared by every adapter built on it."""

    contacts: dict[str, Contact] = dc.field(default_factory=dict)
    activities: list[Activity] = dc.field(default_factory=list)
    #: What became of contacts (customers, won deals); none: the pull makes no call.
    outcomes: list[Outcome] = dc.field(default_factory=list)
    rejects: list[Reject] = dc.field(default_factory=list)
    fields: dict[str, dict[str, t.Any]] = dc.field(default_factory=dict)
    pushes: list[list[FieldUpdate]] = dc.field(default_factory=list)
    lists: dict[str, set[str]] = dc.field(default_factory=dict)
    tasks: list[TaskRequest] = dc.field(default_factory=list)
    #: contact id -> (reason, retryable): push refuses these
    refuse: dict[str, tuple[str, bool]] = dc.field(default_factory=dict)
    #: raise this from the next push calls
    push_error: CRMError | None = None
    #: The fields that exist (``connector setup`` adds to it); ``None``: any field may be written.
    schema: set[str] | None = None

    def add_contact(
        self, cid: str, at: dt.datetime, email: str | None = None, owner_id: str | None = None, stage_dates: dict[str, dt.datetime] | None = None, **props: t.Any
    ) -> None:
        self.contacts[cid] = Contact(id=cid, email=email, properties=props, updated_at=at, owner_id=owner_id, stage_dates=stage_dates or {})

    def add_activity(self, aid: str, typ: str, at: dt.datetime, contact_id: str | None = None, anonymous_id: str | None = None) -> None:
        self.activities.append(Activity(id=aid, type=typ, occurred_at=at, contact_id=contact_id, anonymous_id=anonymous_id))

    def add_outcome(self, cid: str, kind: t.Any, at: dt.datetime, source_id: str | None = None, amount: float | None = None) -> None:
        self.outcomes.append(Outcome(contact_id=cid, kind=kind, source_id=source_id or cid, occurred_at=at, amount=amount))

    def written_contacts(self, since_push: int = 0) -> set[str]:
        return {u.contact_id for batch in self.pushes[since_push:] for u in batch}

    # -- kept in a JSON file, for the CLI -------------------------------------------------------

    def save(self, path: pathlib.Path) -> None:
        """Write the CRM to ``path`` (contacts, activities, fields, lists, tasks, schema)."""
        data = {
            "contacts": [
                {**dc.asdict(c), "updated_at": c.updated_at.isoformat() if c.updated_at else None, "stage_dates": {k: v.isoformat() for k, v in c.stage_dates.items()}}
                for c in self.contacts.values()
            ],
            "activities": [{**dc.asdict(a), "occurred_at": a.occurred_at.isoformat()} for a in self.activities],
            "outcomes": [{**dc.asdict(o), "occurred_at": o.occurred_at.isoformat() if o.occurred_at else None} for o in self.outcomes],
            "fields": self.fields,
            "lists": {name: sorted(ids) for name, ids in self.lists.items()},
            "tasks": [{**dc.asdict(task), "due_at": task.due_at.isoformat()} for task in self.tasks],
            "schema": sorted(self.schema) if self.schema is not None else None,
        }
        path.write_text(json.dumps(data, default=str, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: pathlib.Path) -> FakeCRM:
        """The CRM saved at ``path``."""
        data = json.loads(path.read_text(encoding="utf-8"))
        crm = cls(fields=data["fields"], lists={n: set(ids) for n, ids in data["lists"].items()}, schema=set(data["schema"]) if data["schema"] is not None else None)
        for c in data["contacts"]:
            dates = {k: dt.datetime.fromisoformat(v) for k, v in (c.get("stage_dates") or {}).items()}
            crm.contacts[c["id"]] = Contact(**{**c, "updated_at": dt.datetime.fromisoformat(c["updated_at"]) if c["updated_at"] else None, "stage_dates": dates})
        crm.activities = [Activity(**{**a, "occurred_at": dt.datetime.fromisoformat(a["occurred_at"])}) for a in data["activities"]]
        crm.outcomes = [Outcome(**{**o, "occurred_at": dt.datetime.fromisoformat(o["occurred_at"]) if o["occurred_at"] else None}) for o in data.get("outcomes", [])]
        crm.tasks = [TaskRequest(**{**task, "due_at": dt.datetime.fromisoformat(task["due_at"])}) for task in data["tasks"]]
        return crm


class FakeAdapter:
    """Implements :class:`connector.adapters.base.CRMAdapter` over a :class:`FakeCRM`, or over one kept in a file.

    A file is read and written under an exclusive lock around each call, so the run's adapters (one
    per thread) and separate commands all see one CRM.
    """

    def __init__(self, crm: FakeCRM | pathlib.Path, gate: RequestGate, *, page_size: int = 3, max_batch_size: int = 2) -> None:
        self._crm = crm
        self.gate = gate
        self.page_size = page_size
        self.max_batch_size = max_batch_size
        self.max_push_size = max_batch_size
        self.stats = ApiStats()

    @contextlib.contextmanager
    def _open(self) -> t.Iterator[FakeCRM]:
        if isinstance(self._crm, FakeCRM):
            yield self._crm
            return
        with open(f"{self._crm}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            crm = FakeCRM.load(self._crm)
            yield crm
            crm.save(self._crm)

    def _call(self, endpoint: str, kind: RequestKind = "default") -> None:
        self.gate.before_request(kind)
        self.stats.count(endpoint)
        self.gate.after_response(200, RateLimitInfo())

    def _pages(self, items: list[t.Any], key: t.Callable[[t.Any], dt.datetime], since: dt.datetime | None, until: dt.datetime, stream: str, rejects: list[Reject]) -> t.Iterator[Page[t.Any]]:
        chosen = sorted((i for i in items if (since is None or key(i) > since) and key(i) <= until), key=key)
        rejects = [r for r in rejects if r.stream == stream]
        if not chosen:
            self._call(f"{stream}.search", "search")
            yield Page(records=[], rejects=rejects, cursor=None)
            return
        for n in range(0, len(chosen), self.page_size):
            part = chosen[n : n + self.page_size]
            self._call(f"{stream}.search", "search")
            yield Page(records=part, rejects=rejects if n == 0 else [], cursor=key(part[-1]))

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime, echo: Echo | None = None) -> t.Iterator[Page[Contact]]:
        with self._open() as crm:
            contacts, rejects = list(crm.contacts.values()), list(crm.rejects)
            if echo is not None:  # the Echo contract: inside the window, contacts carrying the marker value are left out
                start, end = echo.window
                mark = echo.marker_value.isoformat()
                contacts = [c for c in contacts if not (c.updated_at is not None and start <= c.updated_at <= end and crm.fields.get(c.id, {}).get(echo.marker) == mark)]
        return self._pages(contacts, lambda c: c.updated_at, since, until, "contacts", rejects)

    def read_contacts(self, ids: t.Sequence[str]) -> t.Iterator[Page[Contact]]:
        for n in range(0, len(ids), self.page_size):
            self._call("contacts.batch_read")
            with self._open() as crm:
                found = [crm.contacts[cid] for cid in ids[n : n + self.page_size] if cid in crm.contacts]
            yield Page(records=found, rejects=[], cursor=None)

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        with self._open() as crm:
            activities, rejects = list(crm.activities), list(crm.rejects)
        return self._pages(activities, lambda a: a.occurred_at, since, until, "activities", rejects)

    def pull_outcomes(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
        with self._open() as crm:
            outcomes = list(crm.outcomes)
        if not outcomes:
            return iter([])
        return self._pages(outcomes, lambda o: o.occurred_at, since, until, "outcomes", [])

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        assert len(updates) <= self.max_push_size
        if not updates:
            return PushResult(written=[])
        self._call("contacts.batch_update")
        with self._open() as crm:
            if crm.push_error is not None:
                raise crm.push_error
            crm.pushes.append(list(updates))
            written, failed = [], {}
            for u in updates:
                missing = sorted(set(u.values) - crm.schema) if crm.schema is not None else []
                if missing:
                    failed[u.contact_id] = (f"PROPERTY_DOESNT_EXIST: {', '.join(missing)}", False)
                elif u.contact_id in crm.refuse:
                    failed[u.contact_id] = crm.refuse[u.contact_id]
                else:
                    crm.fields.setdefault(u.contact_id, {}).update(u.values)
                    written.append(u.contact_id)
        return PushResult(written=written, failed=failed)

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        self._call("lists.add")
        with self._open() as crm:
            crm.lists.setdefault(list_name, set()).update(contact_ids)

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        self._call("lists.remove")
        with self._open() as crm:
            crm.lists.setdefault(list_name, set()).difference_update(contact_ids)

    def create_tasks(self, tasks: t.Sequence[TaskRequest]) -> TaskResult:
        """One look-up for the tasks sent before (by key), one create for the rest."""
        assert len(tasks) <= self.max_batch_size
        created: dict[str, str] = {}
        with self._open() as crm:
            if any(task.attempted for task in tasks):
                self._call("tasks.search", "search")
                known = {task.key: f"task-{i}" for i, task in enumerate(crm.tasks, 1)}
                created.update({task.key: known[task.key] for task in tasks if task.attempted and task.key in known})
            todo = [task for task in tasks if task.key not in created]
            if todo:
                self._call("tasks.batch_create")
                for task in todo:
                    crm.tasks.append(task)
                    created[task.key] = f"task-{len(crm.tasks)}"
        return TaskResult(created=created)

    def setup(self, specs: t.Sequence[OutputSpec]) -> list[str]:
        self._call("fields.create")
        with self._open() as crm:
            if crm.schema is None:
                return []
            new = [spec.name for spec in specs if spec.name not in crm.schema]
            crm.schema.update(new)
        return [f"field {name}" for name in new]

    def check(self, outputs: t.Sequence[str]) -> list[MappingProblem]:
        self._call("fields.read")
        with self._open() as crm:
            schema = crm.schema
        if schema is None:
            return []
        return [MappingProblem("<fake CRM>", 1, "outputs", f"output '{name}' has no field in the CRM (run `connector setup`)") for name in outputs if name not in schema]

    def close(self) -> None:
        return None


class FakeMapping(BaseModel):
    """The fake CRM's mapping file: just its ``crm:`` key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: str


def load_mapping(path: pathlib.Path) -> FakeMapping:
    """Load the fake CRM's mapping (errors name file:line:key, as for every mapping)."""
    return load_yaml_model(path, FakeMapping, what="fake CRM mapping")


def from_config(settings: AdapterSettings, gate: RequestGate) -> CRMAdapter:
    """The adapter of the CRM saved in the file the base-URL variable names; it needs a token.

    Raises:
        CRMError: no token, or no state file (naming the variables).
    """
    load_mapping(settings.mapping)
    if "token" not in settings.secrets:
        raise CRMError(f"No fake CRM credentials: set {settings.variables['token']}")
    if settings.base_url is None or not pathlib.Path(settings.base_url).is_file():
        raise CRMError(f"No fake CRM: set {settings.base_url_variable} to the file holding its state")
    return FakeAdapter(pathlib.Path(settings.base_url), gate)


#: The fake CRM's declaration: what a CRM package outside the connector exposes.
ADAPTER = AdapterSpec(
    name="tests.fakecrm",
    label="Fake CRM",
    credential_roles={"token": "FAKECRM_TOKEN"},
    base_url_env="FAKECRM_STATE",
    rate_limits=RateLimits(requests=1000, per_seconds=1.0, searches_per_second=1000.0),
    max_batch_size=2,
    max_text_length=300,
    load_mapping=load_mapping,
    from_config=from_config,
)
