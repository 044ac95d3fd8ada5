"""Writing output values back: batch update, 100 contacts per call, partial failures kept apart.

``POST /crm/v3/objects/contacts/batch/update`` (https://developers.hubspot.com/docs/api/crm/contacts)
answers 200 ``{status: COMPLETE, results}`` or 207 ``{results, errors: [{status, category, message,
context: {ids: [...]}}]}``: the records in ``results`` landed, those named in ``errors`` did not.
A 400/404 for the whole batch usually means one bad record (an invalid option, a deleted contact);
the batch is then halved until the bad records are isolated, so the good ones still land.

Values are formatted per the target property's type: numbers as plain decimals, datetimes as
epoch milliseconds, dates as ``YYYY-MM-DD``, enumerations as the option value, booleans as
``true``/``false``, ``None`` as an empty string (clears the value).

The answer is read as plain JSON (``_preload_content=False``): the SDK would build a model per
written record and parse its ``createdAt``/``updatedAt`` with dateutil, CPU we do not need for the
ids and errors we read. :func:`read_batch_answer` checks that shape instead.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import functools
import json
import math
import typing as t

from connector.adapters.base import CRMError, FieldUpdate, PushResult
from connector.adapters.hubspot.client import PlainJSON
from connector.adapters.hubspot.mapping import HubSpotMapping
from connector.adapters.hubspot.properties import PortalProperty
from connector.scoring.records import utc

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["BATCH_SIZE", "BatchAnswer", "BatchError", "format_value", "push_updates", "read_batch_answer"]

BATCH_SIZE = 100
PATH = "/crm/v3/objects/contacts/batch/update"
#: 207 error categories worth another try later.
_RETRYABLE_CATEGORIES = {"RATE_LIMITS", "RATE_LIMIT", "INTERNAL_ERROR", "TIMEOUT", "SERVICE_UNAVAILABLE"}


@dc.dataclass(frozen=True, slots=True)
class BatchError:
    """One entry of a 207 answer's ``errors``."""

    status: str | None
    category: str | None
    message: str | None
    context: dict[str, t.Any]


@dc.dataclass(frozen=True, slots=True)
class BatchAnswer:
    """A batch update's answer: the ids that landed and the errors (207)."""

    landed: set[str]
    errors: list[BatchError]


def read_batch_answer(data: bytes | str) -> BatchAnswer:
    """Read ``{"status", "results": [{"id", ...}], "errors": [{"status", "category", "message", "context"}]}``.

    Raises:
        CRMError: not that shape (retryable: the writes may or may not have landed; writing the same
            values again is harmless).
    """

    def bad(why: str) -> CRMError:
        return CRMError(f"HubSpot answered POST {PATH} with something unreadable: {why}", retryable=True)

    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"not JSON ({exc}): {str(data[:200])!r}") from None
    results, errors = (body.get("results"), body.get("errors") or []) if isinstance(body, dict) else (None, None)
    if not isinstance(results, list) or not isinstance(errors, list):
        raise bad(f"no 'results' list: {str(body)[:200]}")
    landed = {str(r["id"]) for r in results if isinstance(r, dict) and r.get("id") is not None}
    out = []
    for e in errors:
        if not isinstance(e, dict):
            raise bad(f"an error entry is not an object: {str(e)[:200]}")
        raw_context = e.get("context")
        context: dict[str, t.Any] = raw_context if isinstance(raw_context, dict) else {}
        out.append(BatchError(_opt_str(e.get("status")), _opt_str(e.get("category")), _opt_str(e.get("message")), context))
    return BatchAnswer(landed, out)


def _opt_str(value: t.Any) -> str | None:
    return None if value is None else str(value)


def _number(value: t.Any) -> str:
    if type(value) is bool:
        return "1" if value else "0"
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def format_value(value: t.Any, prop: PortalProperty | None) -> str:
    """One value as HubSpot expects it for ``prop`` (or by the value's own type if unknown)."""
    if value is None:
        return ""
    kind = prop.type if prop is not None else None
    if kind == "number" or (kind is None and isinstance(value, (int, float)) and not isinstance(value, bool)):
        return _number(value)
    if kind == "datetime" or (kind is None and isinstance(value, dt.datetime)):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, dt.datetime):
            return str(int(utc(value).timestamp() * 1000))
        if isinstance(value, dt.date):
            return str(int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp() * 1000))
        return _number(value)
    if kind == "date" or (kind is None and isinstance(value, dt.date)):
        if isinstance(value, dt.datetime):
            return utc(value).date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)[:10]
    if kind == "bool" or isinstance(value, bool):
        return "true" if value in (True, "true", "True", 1) else "false"
    if isinstance(value, (list, tuple, set)):
        return ";".join(str(v) for v in value)
    return str(value)


@functools.lru_cache(maxsize=1024)
def _epoch_ms(text: str) -> str:
    """An ISO timestamp as epoch milliseconds (a run writes the same ``scored_at`` to every contact)."""
    return str(int(utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00"))).timestamp() * 1000))


def _formatter(prop: PortalProperty | None) -> t.Callable[[t.Any], str]:
    """:func:`format_value` for one property, with shortcuts for the common values of its type."""
    kind = prop.type if prop is not None else None
    if kind == "number":
        return lambda value: _number(value) if type(value) is float else format_value(value, prop)
    if kind in ("string", "enumeration"):
        return lambda value: value if type(value) is str else format_value(value, prop)
    if kind == "datetime":
        return lambda value: _epoch_ms(value) if type(value) is str else format_value(value, prop)
    return lambda value: format_value(value, prop)


def push_updates(
    client: HubSpotClient,
    mapping: HubSpotMapping,
    updates: t.Sequence[FieldUpdate],
    catalog: t.Callable[[], dict[str, PortalProperty]],
) -> PushResult:
    """Write ``updates`` in batches of 100; never raises for per-record problems (see PushResult).

    ``catalog`` gives the portal's properties (read lazily, once per adapter) for formatting.

    Raises:
        CRMError: the credentials are refused (401/403): nothing can be written at all.
    """
    written: list[str] = []
    failed: dict[str, tuple[str, bool]] = {}
    inputs: list[tuple[str, dict[str, str]]] = []
    props: dict[str, PortalProperty] | None = None
    merged: dict[str, dict[str, t.Any]] = {}
    for update in updates:
        # HubSpot refuses a batch naming one id twice; later values win, as they would in sequence.
        merged.setdefault(update.contact_id, {}).update(update.values)
    # Each output's property and formatter, looked up once per call (it runs for 16 values a contact).
    targets: dict[str, tuple[str, t.Callable[[t.Any], str]]] = {}
    for cid, wanted in merged.items():
        if not wanted:
            written.append(cid)
            continue
        if props is None:
            props = catalog()
        try:
            values = {}
            for output, value in wanted.items():
                target = targets.get(output)
                if target is None:
                    name = mapping.outputs.property_for(output)
                    target = targets[output] = (name, _formatter(props.get(name)))
                name, fmt = target
                values[name] = fmt(value)
        except (TypeError, ValueError) as exc:
            failed[cid] = (f"value cannot be written: {exc}", False)
            continue
        inputs.append((cid, values))
    for start in range(0, len(inputs), BATCH_SIZE):
        _send(client, inputs[start : start + BATCH_SIZE], written, failed)
    return PushResult(written=written, failed=failed)


#: Errors about a property itself (not one record's value): every record writing it fails.
_PROPERTY_LEVEL = {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE", "READ_ONLY_PROPERTY"}


def _property_problems(exc: CRMError) -> dict[str, str]:
    """Property name -> reason, from HubSpot's 400 ``Property values were not valid: [...]`` answer."""
    body = getattr(exc, "body", None) or {}
    message = str(body.get("message") or "")
    out: dict[str, str] = {}
    start = message.find("[")
    if start >= 0:
        try:
            items = json.loads(message[start:])
        except ValueError:
            items = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("error") in _PROPERTY_LEVEL and item.get("name"):
                out[str(item["name"])] = f"{item['error']}: {item.get('message') or item['name']}"
    return out


def _send(client: HubSpotClient, batch: list[tuple[str, dict[str, str]]], written: list[str], failed: dict[str, tuple[str, bool]]) -> None:
    # Plain JSON of HubSpot's ``BatchInputSimplePublicObjectBatchInput`` shape
    # (``{"inputs": [{"id", "properties": {name: string}}]}``, see the module docstring's URL):
    # building the SDK's models cost ~1 s of CPU per 20,000 contacts on the push thread, and even a
    # dict is walked by its serializer unless marked PlainJSON. The values are already strings
    # (``format_value``).
    request = PlainJSON(inputs=[{"id": cid, "properties": values} for cid, values in batch])
    try:
        raw = client.call("POST", PATH, client.contacts_batch.update, batch_input_simple_public_object_batch_input=request, _preload_content=False)
        try:
            data = raw.data
        finally:
            raw.release_conn()
        answer = read_batch_answer(data)
    except CRMError as exc:
        if exc.status in (401, 403):
            raise
        bad_props = _property_problems(exc)
        if exc.status == 400 and bad_props:
            # Unknown or read-only properties fail every record that carries them; send the rest again.
            rest = []
            for cid, values in batch:
                hit = [bad_props[name] for name in values if name in bad_props]
                if hit:
                    failed[cid] = ("; ".join(hit), False)
                else:
                    rest.append((cid, values))
            if rest and len(rest) < len(batch):
                _send(client, rest, written, failed)
                return
            if not rest:
                return
        if exc.status in (400, 404, 409, 422) and len(batch) > 1:
            middle = len(batch) // 2
            _send(client, batch[:middle], written, failed)
            _send(client, batch[middle:], written, failed)
            return
        for cid, _ in batch:
            failed[cid] = (str(exc), exc.retryable)
        return
    ids = {cid for cid, _ in batch}
    landed = answer.landed & ids
    for error in answer.errors:
        context = error.context or {}
        named = [str(i) for i in context.get("ids", []) if str(i) in ids] or [i for i in ids if i not in landed]
        reason = f"{error.category or 'error'}: {error.message or 'no message'}"
        retry = (error.category or "").upper() in _RETRYABLE_CATEGORIES or str(error.status or "").startswith("5")
        for cid in named:
            if cid not in landed:
                failed[cid] = (reason, retry)
    for cid, _ in batch:
        if cid in landed:
            written.append(cid)
        elif cid not in failed:
            failed[cid] = ("HubSpot did not confirm this record in its answer", True)
