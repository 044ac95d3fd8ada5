"""Trigger actions: recorded with the scores that fired them, carried out once, in batches, remembered.

When scoring fires a trigger, :func:`record_firings` writes the firing and one row per action in
the scoring transaction, under idempotency keys (``crm:model:contact:trigger:<n>`` for the n-th
firing, ``...#<i>`` per action), so a scoring redone after a crash records nothing twice and the
keys are the same whichever run records them.

Later in the run, :func:`execute_pending` carries the pending actions out through the adapter's
batch calls, each batch at most the adapter's ``max_batch_size``: list memberships grouped per list,
property writes as one write per batch of contacts, tasks as one :meth:`create_tasks` call per
batch (the owner comes from the stored contact). Each action is marked done as its batch lands. A
failed action stays pending for the next run, or is quarantined with the CRM's reason when
retrying cannot help (or after ``max_attempts`` runs).

List memberships and property writes are idempotent, so redoing one after a crash is harmless.
Creating a task is not: a batch of tasks is marked ``running`` before the call, and every task that
was sent before -- left ``running`` by a run that died before recording the answer, or pending after
a failed attempt -- goes to the adapter as ``attempted``, so it looks the key up before creating
(the adapter's contract: at most one task per key). Tasks never sent need no look-up. Webhooks
(:mod:`connector.sync.webhook`: signed, retried with backoff) are marked ``running`` before their
POST too, and carry the key in an ``Idempotency-Key`` header for the receiver to drop a delivery
repeated after a crash.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import threading
import typing as t

import sqlalchemy as sa

from connector.adapters.base import CRMAdapter, CRMError, FieldUpdate, TaskRequest
from connector.sync.bulk import upsert
from connector.sync.scorers import Firing
from connector.sync.store import Store, jsonable
from connector.sync.tables import actions, contacts, firings, written

__all__ = ["ActionCounts", "Webhook", "execute_pending", "firing_key", "record_firings"]

#: Sends a webhook: ``(url, json payload, idempotency key)`` -> what to record (e.g. ``HTTP 200``);
#: raises :class:`CRMError` on failure (``retryable`` or not).
Webhook = t.Callable[[str, t.Mapping[str, t.Any], str], str]


def firing_key(crm: str, firing: Firing, seq: int) -> str:
    """The idempotency key of a contact's ``seq``-th firing of a trigger (1, 2, ... as it re-arms).

    Counting firings instead of stamping the time makes the key the same whichever run records
    it, so the key handed to the CRM (e.g. with a task) survives a crash and a redo.
    """
    return f"{crm}:{firing.model}:{firing.contact_id}:{firing.trigger}:{seq}"


def record_firings(conn: sa.Connection, crm: str, fired: t.Sequence[Firing]) -> int:
    """Record the triggers a scoring fired and their actions, in the scoring transaction."""
    for f in fired:
        earlier = conn.execute(
            sa.select(sa.func.count()).select_from(firings).where(
                firings.c.crm == crm, firings.c.model == f.model, firings.c.contact_id == f.contact_id, firings.c.trigger == f.trigger
            )
        ).scalar_one()
        key = firing_key(crm, f, int(earlier) + 1)
        fid = conn.execute(
            sa.insert(firings)
            .values(key=key, crm=crm, contact_id=f.contact_id, model=f.model, trigger=f.trigger, watched=f.watched, value=jsonable(f.value), fired_at=f.fired_at)
            .returning(firings.c.id)
        ).scalar_one()
        rows = []
        for i, action in enumerate(f.actions):
            params = {k: jsonable(v) for k, v in action.items() if v is not None and k != "type"}
            rows.append({"key": f"{key}#{i}", "firing_id": fid, "crm": crm, "contact_id": f.contact_id, "type": str(action.get("type")), "params": params, "status": "pending", "attempts": 0})
        if rows:
            conn.execute(sa.insert(actions), rows)
    return len(fired)


@dc.dataclass
class ActionCounts:
    """What one action stage did."""

    done: int = 0
    failed: int = 0
    quarantined: int = 0


class _Action(t.NamedTuple):
    """A pending action, with what its batch needs (its firing, its contact's owner)."""

    id: int
    key: str
    contact_id: str
    type: str
    params: dict[str, t.Any]
    attempts: int
    status: str
    fired_at: dt.datetime
    trigger: str
    model: str
    owner_id: str | None


class _Executor:
    """Settles actions as their batches land (one transaction per batch), counting what happened."""

    def __init__(self, store: Store, clock: t.Callable[[], dt.datetime], run_id: int | None, max_attempts: int) -> None:
        self.store = store
        self.clock = clock
        self.run_id = run_id
        self.max_attempts = max_attempts
        self.counts = ActionCounts()

    def done(self, rows: t.Sequence[_Action], results: t.Mapping[int, str | None] | None = None) -> None:
        """Mark ``rows`` done, with what the CRM handed back (e.g. a task id) per action id."""
        if not rows:
            return
        now = self.clock()
        with self.store.transaction() as conn:
            for result, ids in _group_by_result(rows, results or {}).items():
                conn.execute(sa.update(actions).where(actions.c.id.in_(ids)).values(status="done", done_at=now, result=result))
        self.counts.done += len(rows)

    def failed(self, rows: t.Sequence[_Action], reason: str, retryable: bool) -> None:
        """Keep ``rows`` pending for the next run, or quarantine them when retrying cannot help."""
        now = self.clock()
        with self.store.transaction() as conn:
            for r in rows:
                attempts = r.attempts + 1
                if retryable and attempts < self.max_attempts:
                    conn.execute(sa.update(actions).where(actions.c.id == r.id).values(status="pending", attempts=attempts, last_error=reason[:2000]))
                    self.counts.failed += 1
                else:
                    conn.execute(sa.update(actions).where(actions.c.id == r.id).values(status="quarantined", attempts=attempts, last_error=reason[:2000], done_at=now))
                    self.store.add_quarantine("actions", r.contact_id, f"{r.type}: {reason}", {"action_key": r.key, "params": r.params}, now, self.run_id, conn=conn)
                    self.counts.quarantined += 1

    def running(self, rows: t.Sequence[_Action]) -> None:
        """Remember that these tasks are being created: a run that dies now leaves them ``running``."""
        with self.store.transaction() as conn:
            conn.execute(sa.update(actions).where(actions.c.id.in_([r.id for r in rows])).values(status="running"))


def _group_by_result(rows: t.Sequence[_Action], results: t.Mapping[int, str | None]) -> dict[str | None, list[int]]:
    out: dict[str | None, list[int]] = {}
    for r in rows:
        out.setdefault(results.get(r.id), []).append(r.id)
    return out


def _pending(store: Store) -> list[_Action]:
    with store.engine.connect() as conn:
        return [
            _Action(*row)
            for row in conn.execute(
                sa.select(
                    actions.c.id, actions.c.key, actions.c.contact_id, actions.c.type, actions.c.params, actions.c.attempts, actions.c.status,
                    firings.c.fired_at, firings.c.trigger, firings.c.model, contacts.c.owner_id,
                )
                .join(firings, firings.c.id == actions.c.firing_id)
                .outerjoin(contacts, sa.and_(contacts.c.crm == actions.c.crm, contacts.c.id == actions.c.contact_id))
                .where(actions.c.crm == store.crm, actions.c.status.in_(("pending", "running")))
                .order_by(actions.c.id)
            )
        ]


def execute_pending(
    store: Store,
    adapter: CRMAdapter,
    *,
    clock: t.Callable[[], dt.datetime],
    run_id: int | None,
    max_attempts: int = 5,
    webhook: Webhook | None = None,
    before_call: t.Callable[[], None] = lambda: None,
    stop: threading.Event | None = None,
) -> ActionCounts:
    """Carry out every pending trigger action once, in batches; see the module docstring.

    ``webhook``: the sender of ``webhook`` actions (default: signed with the secret in
    ``CONNECTOR_WEBHOOK_SECRET``; the pipeline hands in the CRM's ``webhooks`` settings).
    """
    if webhook is None:
        from connector.sync.config import WebhookConfig
        from connector.sync.webhook import webhook_sender

        webhook = webhook_sender(WebhookConfig())
    run = _Executor(store, clock, run_id, max_attempts)
    rows = _pending(store)
    size = max(1, adapter.max_batch_size)
    lists: dict[tuple[str, str], list[_Action]] = {}
    by_type: dict[str, list[_Action]] = {}
    for row in rows:
        if row.type in ("add_to_list", "remove_from_list"):
            lists.setdefault((row.type, str(row.params.get("list"))), []).append(row)
        else:
            by_type.setdefault(row.type, []).append(row)
    batches: list[tuple[str, str | None, list[_Action]]] = []
    for (change, list_name), members in lists.items():
        batches += [(change, list_name, members[i : i + size]) for i in range(0, len(members), size)]
    for kind, members in by_type.items():
        step = size if kind in ("set_property", "create_task") else 1
        batches += [(kind, None, members[i : i + step]) for i in range(0, len(members), step)]
    for action, target, chunk in batches:
        if stop is not None and stop.is_set():
            break
        before_call()
        if target is not None:
            _change_list(adapter, run, action, target, chunk)
        elif action == "set_property":
            _set_properties(adapter, run, chunk)
        elif action == "create_task":
            _create_tasks(adapter, run, chunk)
        elif action == "webhook":
            _webhook(webhook, store.crm, run, chunk)
        else:
            run.failed(chunk, f"unknown action type '{action}'", False)
    return run.counts


def _change_list(adapter: CRMAdapter, run: _Executor, kind: str, list_name: str, chunk: list[_Action]) -> None:
    """One list's membership changes (add or remove) for a batch of contacts, one call."""
    ids = list(dict.fromkeys(r.contact_id for r in chunk))
    try:
        if kind == "add_to_list":
            adapter.add_to_list(list_name, ids)
        else:
            adapter.remove_from_list(list_name, ids)
    except CRMError as exc:
        run.failed(chunk, str(exc), exc.retryable)
        return
    run.done(chunk)


def _set_properties(adapter: CRMAdapter, run: _Executor, chunk: list[_Action]) -> None:
    """``set_property`` actions of many contacts as one write; the values are recorded as written."""
    values: dict[str, dict[str, t.Any]] = {}
    for r in chunk:
        values.setdefault(r.contact_id, {})[str(r.params["property"])] = r.params.get("value")
    try:
        result = adapter.push([FieldUpdate(contact_id=cid, values=v) for cid, v in values.items()])
    except CRMError as exc:
        run.failed(chunk, str(exc), exc.retryable)
        return
    landed = [r for r in chunk if r.contact_id in result.written]
    run.done(landed)
    if landed:
        now = run.clock()
        with run.store.transaction() as conn:
            rows = [{"crm": run.store.crm, "contact_id": r.contact_id, "field": str(r.params["property"]), "value": r.params.get("value"), "written_at": now} for r in landed]
            upsert(conn, written, rows, ["crm", "contact_id", "field"], ["value", "written_at"])
    for r in chunk:
        if r.contact_id not in result.written:
            reason, retryable = result.failed.get(r.contact_id, ("the CRM did not confirm the write", True))
            run.failed([r], reason, retryable)


def _create_tasks(adapter: CRMAdapter, run: _Executor, chunk: list[_Action]) -> None:
    """``create_task`` actions as one batch call; tasks sent before are looked up by the adapter first."""
    requests = {}
    for r in chunk:
        params = r.params or {}
        requests[r.key] = TaskRequest(
            key=r.key,
            contact_id=r.contact_id,
            subject=str(params["subject"]),
            body=params.get("body"),
            due_at=r.fired_at + dt.timedelta(days=int(params.get("due_days", 1))),
            owner_id=r.owner_id,
            attempted=r.status == "running" or r.attempts > 0,
        )
    run.running(chunk)
    try:
        result = adapter.create_tasks(list(requests.values()))
    except CRMError as exc:
        run.failed(chunk, str(exc), exc.retryable)
        return
    created = [r for r in chunk if r.key in result.created]
    run.done(created, {r.id: result.created[r.key] for r in created})
    for r in chunk:
        if r.key not in result.created:
            reason, retryable = result.failed.get(r.key, ("the CRM did not confirm this task", True))
            run.failed([r], reason, retryable)


def _webhook(webhook: Webhook, crm: str, run: _Executor, chunk: list[_Action]) -> None:
    """One POST per action, marked ``running`` first (a crash mid-send is resent with the same key)."""
    for r in chunk:
        payload = {"event": "trigger.fired", "crm": crm, "contact_id": r.contact_id, "model": r.model, "trigger": r.trigger, "fired_at": r.fired_at.isoformat(), "key": r.key}
        run.running([r])
        try:
            result = webhook(str(r.params["url"]), payload, r.key)
        except CRMError as exc:
            run.failed([r], str(exc), exc.retryable)
            continue
        except (OSError, ValueError) as exc:  # a URL the sender cannot even try
            run.failed([r], f"webhook failed: {exc}", False)
            continue
        run.done([r], {r.id: result[:255]})
