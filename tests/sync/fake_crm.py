"""An in-memory CRMAdapter for pipeline tests: pages, cursors, partial failures, call counts."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

from connector.adapters.base import ApiStats, CRMError, FieldUpdate, MappingProblem, Page, PushResult, Reject, RequestGate, TaskRequest
from connector.scoring.records import Activity, Contact

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dc.dataclass
class FakeCRM:
    """The CRM side: records, what was written, lists, tasks; shared by every adapter built on it."""

    contacts: dict[str, Contact] = dc.field(default_factory=dict)
    activities: list[Activity] = dc.field(default_factory=list)
    rejects: list[Reject] = dc.field(default_factory=list)
    fields: dict[str, dict[str, t.Any]] = dc.field(default_factory=dict)
    pushes: list[list[FieldUpdate]] = dc.field(default_factory=list)
    lists: dict[str, set[str]] = dc.field(default_factory=dict)
    tasks: list[TaskRequest] = dc.field(default_factory=list)
    #: contact id -> (reason, retryable): push refuses these
    refuse: dict[str, tuple[str, bool]] = dc.field(default_factory=dict)
    #: raise this from the next push calls
    push_error: CRMError | None = None

    def add_contact(self, cid: str, at: dt.datetime, email: str | None = None, **props: t.Any) -> None:
        self.contacts[cid] = Contact(id=cid, email=email, properties=props, updated_at=at)

    def add_activity(self, aid: str, typ: str, at: dt.datetime, contact_id: str | None = None, anonymous_id: str | None = None) -> None:
        self.activities.append(Activity(id=aid, type=typ, occurred_at=at, contact_id=contact_id, anonymous_id=anonymous_id))

    def written_contacts(self, since_push: int = 0) -> set[str]:
        return {u.contact_id for batch in self.pushes[since_push:] for u in batch}


class FakeAdapter:
    """Implements connector.adapters.base.CRMAdapter over a FakeCRM."""

    kind = "fake"

    def __init__(self, crm: FakeCRM, gate: RequestGate, *, page_size: int = 3, max_batch_size: int = 2) -> None:
        self.crm = crm
        self.gate = gate
        self.page_size = page_size
        self.max_batch_size = max_batch_size
        self.stats = ApiStats()

    def _call(self, endpoint: str, kind: t.Literal["default", "search"] = "default") -> None:
        self.gate.before_request(kind)
        self.stats.count(endpoint)
        self.gate.after_response(200, {})

    def _pages(self, items: list[t.Any], key: t.Callable[[t.Any], dt.datetime], since: dt.datetime | None, until: dt.datetime, stream: str) -> t.Iterator[Page[t.Any]]:
        chosen = sorted((i for i in items if (since is None or key(i) > since) and key(i) <= until), key=key)
        rejects = [r for r in self.crm.rejects if r.stream == stream]
        if not chosen:
            self._call(f"{stream}.search", "search")
            yield Page(records=[], rejects=rejects, cursor=None)
            return
        for n in range(0, len(chosen), self.page_size):
            part = chosen[n : n + self.page_size]
            self._call(f"{stream}.search", "search")
            yield Page(records=part, rejects=rejects if n == 0 else [], cursor=key(part[-1]))

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Contact]]:
        return self._pages(list(self.crm.contacts.values()), lambda c: c.updated_at, since, until, "contacts")

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        return self._pages(self.crm.activities, lambda a: a.occurred_at, since, until, "activities")

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        assert len(updates) <= self.max_batch_size
        if not updates:
            return PushResult(written=[])
        self._call("contacts.batch_update")
        if self.crm.push_error is not None:
            raise self.crm.push_error
        self.crm.pushes.append(list(updates))
        written, failed = [], {}
        for u in updates:
            if u.contact_id in self.crm.refuse:
                failed[u.contact_id] = self.crm.refuse[u.contact_id]
                continue
            self.crm.fields.setdefault(u.contact_id, {}).update(u.values)
            written.append(u.contact_id)
        return PushResult(written=written, failed=failed)

    def setup(self, output_names: t.Sequence[str], enumerations: t.Mapping[str, t.Sequence[str]]) -> list[str]:
        return []

    def check(self) -> list[MappingProblem]:
        return []

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        self._call("lists.add")
        self.crm.lists.setdefault(list_name, set()).update(contact_ids)

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        self._call("lists.remove")
        self.crm.lists.setdefault(list_name, set()).difference_update(contact_ids)

    def create_task(self, task: TaskRequest) -> str:
        self._call("tasks.create")
        self.crm.tasks.append(task)
        return f"task-{len(self.crm.tasks)}"

    def find_task(self, task: TaskRequest) -> str | None:
        """The optional lookup the sync uses after a crash cut a task creation off."""
        self._call("tasks.search", "search")
        for i, known in enumerate(self.crm.tasks, 1):
            if known.key == task.key:
                return f"task-{i}"
        return None
