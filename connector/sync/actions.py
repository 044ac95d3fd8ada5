"""Trigger actions: recorded with the scores that fired them, executed once, remembered.

When scoring fires a trigger, :func:`record_firings` writes the firing and one row per action in
the scoring transaction, under idempotency keys (``crm:model:contact:trigger:<n>`` for the n-th
firing, ``...#<i>`` per action), so a scoring redone after a crash records nothing twice and the
keys are the same whichever run records them. Later in the run, :func:`execute_pending` carries the
pending actions out through the adapter, grouped into the largest calls the CRM takes (one
list-membership call per list and 100 contacts), and marks each done as it lands. A failed action
stays pending for the next run, or is quarantined with the CRM's reason when retrying cannot help.

List memberships and property writes are idempotent, so redoing one after a crash is harmless.
Creating a task is not: the action is marked ``running`` before the call, and a run that finds it
still ``running`` (the previous one died before recording the answer) asks the adapter's
``find_task`` (the task carries the action's key) before creating it again. An adapter without
``find_task`` gets the task created again in that one-answer-long window (logged as a warning).
Webhooks carry the key in an ``Idempotency-Key`` header for the receiver to deduplicate.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import logging
import threading
import typing as t
import urllib.request

import sqlalchemy as sa

from connector.adapters.base import CRMAdapter, CRMError, FieldUpdate, TaskRequest
from connector.scoring.result import ScoreResult
from connector.sync import tables as T
from connector.sync.store import Store, jsonable, upsert

__all__ = ["ActionCounts", "Webhook", "execute_pending", "firing_key", "post_webhook", "record_firings"]

log = logging.getLogger(__name__)

firings = T.TriggerFiringRow.__table__  # type: ignore[attr-defined]
actions = T.TriggerActionRow.__table__  # type: ignore[attr-defined]
written = T.WrittenRow.__table__  # type: ignore[attr-defined]

#: Sends a webhook: ``(url, json payload, idempotency key)``; raises on failure.
Webhook = t.Callable[[str, t.Mapping[str, t.Any], str], None]

_LIST_CHUNK = 100


def firing_key(crm: str, result: ScoreResult, trigger: str, seq: int) -> str:
    """The idempotency key of a contact's ``seq``-th firing of ``trigger`` (1, 2, ... as it re-arms).

    Counting firings instead of stamping the time makes the key the same whichever run records
    it, so the key handed to the CRM (e.g. with a task) survives a crash and a redo.
    """
    return f"{crm}:{result.model}:{result.contact_id}:{trigger}:{seq}"


def record_firings(conn: sa.Connection, crm: str, results: t.Sequence[ScoreResult]) -> int:
    """Record the triggers fired by ``results`` and their actions, in the scoring transaction."""
    count = 0
    for r in results:
        for event in r.triggers:
            earlier = conn.execute(
                sa.select(sa.func.count()).select_from(firings).where(
                    firings.c.crm == crm, firings.c.model == r.model, firings.c.contact_id == r.contact_id, firings.c.trigger == event.trigger
                )
            ).scalar_one()
            key = firing_key(crm, r, event.trigger, int(earlier) + 1)
            fid = conn.execute(
                sa.insert(firings)
                .values(key=key, crm=crm, contact_id=r.contact_id, model=r.model, trigger=event.trigger, watched=event.watched, value=jsonable(event.value), fired_at=r.as_of)
                .returning(firings.c.id)
            ).scalar_one()
            rows = []
            for i, action in enumerate(event.actions):
                params = {k: jsonable(v) for k, v in dict(action).items() if v is not None and k != "type"}
                rows.append({"key": f"{key}#{i}", "firing_id": fid, "crm": crm, "contact_id": r.contact_id, "type": str(action.get("type")), "params": params, "status": "pending", "attempts": 0})
            if rows:
                conn.execute(sa.insert(actions), rows)
            count += 1
    return count


@dc.dataclass
class ActionCounts:
    """What one action stage did."""

    done: int = 0
    failed: int = 0
    quarantined: int = 0


def post_webhook(url: str, payload: t.Mapping[str, t.Any], key: str, timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON with an ``Idempotency-Key`` header; raise on a non-2xx answer."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", "Idempotency-Key": key})  # noqa: S310 - admin-configured URL
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - admin-configured URL
        if not 200 <= answer.status < 300:
            raise CRMError(f"webhook {url} answered {answer.status}", status=answer.status, retryable=answer.status >= 500)


def execute_pending(
    store: Store,
    adapter: CRMAdapter,
    *,
    clock: t.Callable[[], dt.datetime],
    run_id: int | None,
    max_attempts: int = 5,
    webhook: Webhook = post_webhook,
    before_call: t.Callable[[], None] = lambda: None,
    stop: threading.Event | None = None,
) -> ActionCounts:
    """Carry out every pending trigger action once; see the module docstring."""
    counts = ActionCounts()
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(actions.c.id, actions.c.key, actions.c.contact_id, actions.c.type, actions.c.params, actions.c.attempts, actions.c.status, firings.c.fired_at, firings.c.trigger, firings.c.model)
            .join(firings, firings.c.id == actions.c.firing_id)
            .where(actions.c.crm == store.crm, actions.c.status.in_(("pending", "running")))
            .order_by(actions.c.id)
        ).all()
    groups: dict[tuple[str, str], list[t.Any]] = {}
    singles: list[t.Any] = []
    for row in rows:
        if row.type in ("add_to_list", "remove_from_list"):
            groups.setdefault((row.type, str(row.params.get("list"))), []).append(row)
        else:
            singles.append(row)

    def settle(done: t.Sequence[t.Any], failed: t.Sequence[t.Any], error: CRMError | Exception | None, result: str | None = None) -> None:
        now = clock()
        with store.transaction() as conn:
            if done:
                conn.execute(sa.update(actions).where(actions.c.id.in_([r.id for r in done])).values(status="done", done_at=now, result=result))
            for r in failed:
                retryable = getattr(error, "retryable", True)
                attempts = r.attempts + 1
                reason = str(error)[:2000]
                if retryable and attempts < max_attempts:
                    conn.execute(sa.update(actions).where(actions.c.id == r.id).values(status="pending", attempts=attempts, last_error=reason))
                    counts.failed += 1
                else:
                    conn.execute(sa.update(actions).where(actions.c.id == r.id).values(status="quarantined", attempts=attempts, last_error=reason, done_at=now))
                    store.add_quarantine("actions", r.contact_id, f"{r.type}: {reason}", {"action_key": r.key, "params": r.params}, now, run_id, conn=conn)
                    counts.quarantined += 1
        counts.done += len(done)

    for (kind, list_name), members in groups.items():
        for i in range(0, len(members), _LIST_CHUNK):
            if stop is not None and stop.is_set():
                return counts
            chunk = members[i : i + _LIST_CHUNK]
            ids = list(dict.fromkeys(r.contact_id for r in chunk))
            before_call()
            try:
                if kind == "add_to_list":
                    adapter.add_to_list(list_name, ids)
                else:
                    adapter.remove_from_list(list_name, ids)
            except CRMError as exc:
                settle([], chunk, exc)
                continue
            settle(chunk, [], None)

    for r in singles:
        if stop is not None and stop.is_set():
            return counts
        before_call()
        if r.type == "create_task":
            found = _already_created(adapter, r)
            if found is not None:
                settle([r], [], None, found)
                continue
            # Remember that the task is being created: if we die before recording the answer, the
            # next run asks the CRM (find_task) instead of creating a second task.
            with store.transaction() as conn:
                conn.execute(sa.update(actions).where(actions.c.id == r.id).values(status="running"))
        try:
            result = _run_single(adapter, r, webhook, store)
        except CRMError as exc:
            settle([], [r], exc)
            continue
        except (OSError, ValueError) as exc:  # webhook transport errors, bad URLs
            settle([], [r], CRMError(f"webhook failed: {exc}", retryable=True))
            continue
        settle([r], [], None, result)
        if r.type == "set_property":
            with store.transaction() as conn:
                upsert(conn, written, [{"crm": store.crm, "contact_id": r.contact_id, "field": r.params["property"], "value": r.params.get("value"), "written_at": clock()}], ["crm", "contact_id", "field"], ["value", "written_at"])
    return counts


def _task(r: t.Any) -> TaskRequest:
    params = r.params or {}
    due = r.fired_at + dt.timedelta(days=int(params.get("due_days", 1)))
    return TaskRequest(contact_id=r.contact_id, subject=str(params["subject"]), body=params.get("body"), due_at=due, key=r.key)


def _already_created(adapter: CRMAdapter, r: t.Any) -> str | None:
    """For a task whose creation was cut off (status ``running``): the CRM's id if it exists."""
    if r.status != "running":
        return None
    finder = getattr(adapter, "find_task", None)
    if finder is None:
        log.warning(
            "action %s: a crash cut off creating this task and the adapter cannot look tasks up; creating it again", r.key
        )
        return None
    found = finder(_task(r))
    return str(found) if found else None


def _run_single(adapter: CRMAdapter, r: t.Any, webhook: Webhook, store: Store) -> str | None:
    """Execute one non-list action; returns what the CRM handed back (e.g. the task id)."""
    params = r.params or {}
    if r.type == "set_property":
        result = adapter.push([FieldUpdate(contact_id=r.contact_id, values={params["property"]: params.get("value")})])
        if r.contact_id not in result.written:
            reason, retryable = result.failed.get(r.contact_id, ("the CRM did not confirm the write", True))
            raise CRMError(reason, retryable=retryable)
        return None
    if r.type == "create_task":
        return adapter.create_task(_task(r))
    if r.type == "webhook":
        payload = {"crm": store.crm, "contact_id": r.contact_id, "model": r.model, "trigger": r.trigger, "fired_at": r.fired_at.isoformat(), "key": r.key}
        webhook(str(params["url"]), payload, r.key)
        return None
    raise CRMError(f"unknown action type '{r.type}'", retryable=False)
