"""Writing output values back: sObject Collections for small pushes, Bulk API 2.0 for large ones.

A push call carries the contacts of one outbox batch (Leads ``00Q...`` and Contacts ``003...``
mixed); they are grouped by object and written

* through ``PATCH /composite/sobjects`` (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm),
  200 records per call with ``allOrNone: false``: results come back in request order, each
  ``{"id", "success": true}`` or ``{"success": false, "errors": [{"statusCode", "message", "fields"}]}``;
* or, from ``push.bulk_threshold`` records of one object (default 2,000), through one Bulk API 2.0
  update job (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_0.htm):
  create, upload the CSV, close, poll until ``JobComplete``, then read ``successfulResults`` and
  ``failedResults`` (``sf__Id``, ``sf__Error`` = ``CODE:message:fields``). About 8 calls for up to
  ``push.max_push`` records instead of one call per 200. In the CSV an empty cell leaves a field
  unchanged and ``#N/A`` clears it.

Per-record refusals keep Salesforce's ``errorCode`` and message; codes that mean "busy" are
retryable, the rest final (the sync quarantines them). A call refused whole because a field does
not exist or is hidden by field-level security (400 ``INVALID_FIELD``, a Bulk job ``Failed`` with
"Field name not found") fails every record with that reason: the sync keeps them pending and says
to run ``connector setup``. A Collections call refused whole for another reason is halved until the
culprits are found.

Values are formatted per the field's type: numbers as JSON numbers, date-times as
``2025-01-15T12:00:00.000Z``, dates as ``YYYY-MM-DD``, booleans as JSON booleans, text as is. The
type of a model output comes from the model (:attr:`AdapterSettings.outputs`: the kind ``setup``
created the field with, and refuses to go on when the org's field is of another type), so a push of
outputs asks nothing; only a value for another field (a ``set_property`` action on a field of the
org's own) costs one ``describe`` of its object per adapter. That describe was 1 of the 18 calls of
a 20,000-lead Bulk push (floor 17: 5.9% over the 5% target; see ``bench/bench_salesforce_calls.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import typing as t

from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from connector.adapters.base import CRMError, FieldUpdate, OutputSpec, PushResult
from connector.adapters.salesforce.client import RETRYABLE_CODES, SalesforceApiError, sf_error
from connector.adapters.salesforce.mapping import SalesforceMapping
from connector.scoring.records import utc

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["COLLECTION_SIZE", "KIND_TYPES", "object_of", "output_types", "push_updates", "sf_value"]

#: Records per sObject Collections call (Salesforce's maximum).
COLLECTION_SIZE = 200
#: Key prefix -> object: the people the connector writes.
PREFIXES = {"00Q": "Lead", "003": "Contact"}
_NUMERIC = {"double", "int", "currency", "percent", "long"}

Failed = dict[str, tuple[str, bool]]


def object_of(record_id: str) -> str | None:
    """``Lead`` or ``Contact`` by the id's key prefix (``None`` for anything else)."""
    return PREFIXES.get(record_id[:3])


def sf_value(value: t.Any, kind: str | None) -> t.Any:
    """One value as JSON for a field of describe type ``kind`` (``None`` when unknown: by its own type).

    Raises:
        ValueError: a value that cannot be a number, date or date-time.
    """
    if value is None:
        return None
    if kind in _NUMERIC or (kind is None and isinstance(value, (int, float)) and not isinstance(value, bool)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "datetime" or (kind is None and isinstance(value, dt.datetime)):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc(moment).microsecond // 1000:03d}Z"
    if kind == "date" or (kind is None and isinstance(value, dt.date)):
        return value.isoformat()[:10] if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]).isoformat()
    if kind == "boolean" or isinstance(value, bool):
        return value in (True, "true", "True", 1)
    if isinstance(value, (list, tuple, set)):
        return ";".join(str(v) for v in value)
    return str(value)


def _csv_cell(value: t.Any) -> str:
    if value is None:
        return "#N/A"  # Bulk API: clears the field (an empty cell leaves it unchanged)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: Output kind -> the describe type its values are formatted as.
KIND_TYPES = {"number": "double", "datetime": "datetime", "enumeration": "string", "text": "string"}


def output_types(outputs: t.Iterable[OutputSpec]) -> dict[str, str]:
    """Output name -> describe type, for the outputs setup creates (not fields a trigger sets: those may be the org's own)."""
    return {spec.name: KIND_TYPES[spec.kind] for spec in outputs if spec.role != "action"}


def push_updates(client: SalesforceClient, mapping: SalesforceMapping, updates: t.Sequence[FieldUpdate], types: t.Mapping[str, str] | None = None) -> PushResult:
    """Write ``updates``; never raises for per-record problems (see :class:`PushResult`).

    ``types``: output name -> describe type known without asking (:func:`output_types`); other
    names are looked up in the object's ``describe``.

    Raises:
        CRMError: nothing can be written at all (credentials refused, the org unreachable after retries,
            the daily allowance reserve reached).
    """
    written: list[str] = []
    failed: Failed = {}
    merged: dict[str, dict[str, t.Any]] = {}
    for update in updates:
        merged.setdefault(update.contact_id, {}).update(update.values)
    by_object: dict[str, list[tuple[str, dict[str, t.Any]]]] = {}
    for cid, wanted in merged.items():
        sobject = object_of(cid)
        if sobject is None:
            failed[cid] = (f"'{cid}' is not a Lead or Contact id; the connector writes only those", False)
            continue
        if not wanted:
            written.append(cid)
            continue
        by_object.setdefault(sobject, []).append((cid, wanted))
    known = types or {}
    for sobject, rows in by_object.items():
        ready: list[tuple[str, dict[str, t.Any]]] = []
        for cid, wanted in rows:
            try:
                values = {}
                for output, value in wanted.items():
                    kind: str | None = known.get(output)
                    if kind is not None:
                        name = mapping.outputs.field_for(output)
                    else:
                        fields = client.fields(sobject)  # described once per adapter
                        name = mapping.outputs.field_for(output) if output not in fields else output
                        kind = fields[name]["type"] if name in fields else None
                    values[name] = sf_value(value, kind)
            except (TypeError, ValueError) as exc:
                failed[cid] = (f"value cannot be written: {exc}", False)
                continue
            ready.append((cid, values))
        if len(ready) >= mapping.push.bulk_threshold:
            _bulk(client, mapping, sobject, ready, written, failed)
        else:
            for start in range(0, len(ready), COLLECTION_SIZE):
                _collection(client, sobject, ready[start : start + COLLECTION_SIZE], written, failed)
    return PushResult(written=written, failed=failed)


def _field_refusal(exc: SalesforceApiError) -> bool:
    return exc.code in ("INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "JSON_PARSER_ERROR") or "No such column" in str(exc)


def _collection(client: SalesforceClient, sobject: str, batch: list[tuple[str, dict[str, t.Any]]], written: list[str], failed: Failed) -> None:
    body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, "id": cid, **values} for cid, values in batch]}
    try:
        results = client.rest("PATCH", "composite/sobjects", json=body)
    except SalesforceApiError as exc:
        if exc.status in (401, 403) or exc.status is None or exc.status >= 500:
            raise
        if _field_refusal(exc) or len(batch) == 1:
            for cid, _ in batch:
                failed[cid] = (str(exc), exc.retryable)
            return
        middle = len(batch) // 2
        _collection(client, sobject, batch[:middle], written, failed)
        _collection(client, sobject, batch[middle:], written, failed)
        return
    if not isinstance(results, list) or len(results) != len(batch):
        raise CRMError(f"Salesforce answered PATCH composite/sobjects with {len(results) if isinstance(results, list) else 'no'} results for {len(batch)} records", retryable=True)
    for (cid, _), result in zip(batch, results, strict=True):
        if isinstance(result, dict) and result.get("success"):
            written.append(cid)
            continue
        errors = (result.get("errors") if isinstance(result, dict) else None) or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {}
        code = str(first.get("statusCode") or "UNKNOWN")
        fields = ", ".join(first.get("fields") or [])
        failed[cid] = (f"{code}: {first.get('message') or 'no message'}" + (f" (fields: {fields})" if fields else ""), code in RETRYABLE_CODES)


def _bulk(client: SalesforceClient, mapping: SalesforceMapping, sobject: str, rows: list[tuple[str, dict[str, t.Any]]], written: list[str], failed: Failed) -> None:
    columns = sorted({name for _, values in rows for name in values})
    # Every row names every column: an empty cell leaves a field unchanged, ``#N/A`` clears it.
    records = [{"Id": cid, **{name: (_csv_cell(value) if name in values else "") for name, value in ((n, values.get(n)) for n in columns)}} for cid, values in rows]
    job = getattr(client.sf.bulk2, sobject)
    try:
        # One job (simple-salesforce splits only beyond Bulk's 150M records / 100 MB): create,
        # upload, close, poll every ``bulk_poll_seconds``, then read both result sets.
        jobs = job.update(records=records, wait=mapping.push.bulk_poll_seconds)
        results = [(job.get_successful_records(j["job_id"]), job.get_failed_records(j["job_id"])) for j in jobs]
    except SalesforceOperationError as exc:
        # The job ended ``Failed`` (an unknown or hidden column, a malformed file): nothing was written.
        for cid, _ in rows:
            failed[cid] = (f"Bulk API job for {sobject} failed: {exc}", False)
        return
    except SalesforceError as exc:
        # A step of the job failed (not a record: those come back in failedResults). The values may
        # or may not have landed; the batch stays pending and is sent again, harmlessly.
        error = sf_error(exc, f"Bulk API 2.0 update of {len(rows)} {sobject} records")
        raise CRMError(str(error), status=error.status, retryable=True) from None
    ids = {cid for cid, _ in rows}
    for ok_csv, failed_csv in results:
        for row in csv.DictReader(io.StringIO(ok_csv)):
            if row.get("sf__Id") in ids:
                written.append(row["sf__Id"])
        for row in csv.DictReader(io.StringIO(failed_csv)):
            rid = row.get("sf__Id") or row.get("Id") or ""
            if rid in ids:
                code, _, rest = (row.get("sf__Error") or "UNKNOWN:no message").partition(":")
                failed[rid] = (f"{code}: {rest.rstrip(' -').rstrip(':')}", code in RETRYABLE_CODES)
    done = set(written) | set(failed)
    for cid in ids - done:
        failed[cid] = ("the Bulk API job did not report this record", True)
