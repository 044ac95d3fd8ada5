"""Bulk API 2.0 ingest jobs: the job state machine and the processing of uploaded CSV.

States (Bulk API 2.0 Developer Guide, "Job States"): ``Open`` after create -> data uploaded with one
``PUT .../batches`` -> ``UploadComplete`` when the client closes the job -> ``InProgress`` once the
org picks it up -> ``JobComplete`` (even when some rows failed) or ``Failed`` (the whole upload was
refused, e.g. an unknown column: "InvalidBatch : Field name not found : Foo"; or a line ending that
does not match the job's) or ``Aborted``. Processing runs in a background thread after
``delay_s`` per step, in internal batches of 10,000 rows with the org lock taken per batch, so the
states are observable by polling. Results are CSV: ``successfulResults`` (``sf__Id``, ``sf__Created``
and the uploaded columns), ``failedResults`` (``sf__Id``, ``sf__Error`` as ``CODE:message:fields --``)
and ``unprocessedrecords``. In the data file an empty cell leaves a field unchanged and ``#N/A``
clears it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import queue
import threading
import typing as t

from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.errors import RecordError
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.schema import FieldDef, ObjectDef

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["DELIMITERS", "OPERATIONS", "BulkJobs", "IngestJob"]

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
INTERNAL_BATCH = 10_000


@dataclasses.dataclass
class IngestJob:
    """One ingest job and, once processed, its result rows."""

    id: str
    sobject: ObjectDef
    operation: str
    user_id: str
    version: str
    created_ms: int
    line_ending: str = "LF"
    delimiter: str = "COMMA"
    external_id: str | None = None
    state: str = "Open"
    modstamp_ms: int = 0
    data: bytes | None = None
    error_message: str | None = None
    header: list[str] = dataclasses.field(default_factory=list)
    successes: list[tuple[str, bool, list[str]]] = dataclasses.field(default_factory=list)
    failures: list[tuple[str, str, list[str]]] = dataclasses.field(default_factory=list)
    unprocessed: list[list[str]] = dataclasses.field(default_factory=list)
    processing_ms: int = 0

    def info(self, full: bool = True) -> dict[str, t.Any]:
        """The job's JSON (``full``: as ``GET jobs/ingest/id`` answers, with counts)."""
        body: dict[str, t.Any] = {
            "id": self.id, "operation": self.operation, "object": self.sobject.name, "createdById": self.user_id,
            "createdDate": timefmt.format_datetime(self.created_ms), "systemModstamp": timefmt.format_datetime(self.modstamp_ms or self.created_ms),
            "state": self.state, "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.version),
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{self.id}/batches", "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
        }
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        if full:
            body.update({"jobType": "V2Ingest", "numberRecordsProcessed": len(self.successes) + len(self.failures),
                         "numberRecordsFailed": len(self.failures), "retries": 0, "totalProcessingTime": self.processing_ms,
                         "apiActiveProcessingTime": self.processing_ms, "apexProcessingTime": 0})
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body

    def results_csv(self, kind: str) -> str:
        """``successfulResults``, ``failedResults`` or ``unprocessedrecords`` as CSV text."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *self.header])
            for record_id, created, row in self.successes:
                writer.writerow([record_id, "true" if created else "false", *row])
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *self.header])
            for record_id, error, row in self.failures:
                writer.writerow([record_id, error, *row])
        else:
            writer.writerow(self.header)
            writer.writerows(self.unprocessed)
        return out.getvalue()


class BulkJobs:
    """The ingest jobs of an org and the worker thread that processes closed ones."""

    def __init__(self, app: SalesforceApp, delay_s: float = 0.5) -> None:
        self.app = app
        self.delay_s = delay_s
        self.jobs: dict[str, IngestJob] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._batches: list[tuple[int, int]] = []

    def add(self, job: IngestJob) -> None:
        """Register a new (Open) job."""
        self.jobs[job.id] = job

    def close(self, job: IngestJob) -> None:
        """``UploadComplete``: queue the job for processing."""
        job.state = "UploadComplete"
        job.modstamp_ms = self.app.org.clock.now_ms()
        if self._worker is None or not self._worker.is_alive():
            self._stop.clear()
            self._worker = threading.Thread(target=self._run, name="sandbox-bulk", daemon=True)
            self._worker.start()
        self._queue.put(job.id)

    def abort(self, job: IngestJob) -> None:
        """``Aborted``: nothing more is processed; rows not yet run become ``unprocessedrecords``."""
        if job.state in ("Open", "UploadComplete") and job.data:
            rows = [r for r in csv.reader(io.StringIO(job.data.decode("utf-8", "replace").removeprefix("\ufeff"), newline=""), delimiter=DELIMITERS[job.delimiter]) if r]
            job.header, job.unprocessed = (rows[0], rows[1:]) if rows else ([], [])
            job.data = None
        job.state = "Aborted"
        job.modstamp_ms = self.app.org.clock.now_ms()

    def stop(self) -> None:
        """End the worker thread (sandbox shutdown)."""
        self._stop.set()
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=5)
            self._worker = None

    def batches_today(self) -> int:
        """Internal batches processed in the last 24 hours of org time (``DailyBulkApiBatches``)."""
        horizon = self.app.org.clock.now_ms() - timefmt.DAY_MS
        return sum(n for when, n in self._batches if when > horizon)

    def _run(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            job = self.jobs.get(job_id)
            if job is None or self._stop.wait(self.delay_s) or job.state != "UploadComplete":
                continue
            with self.app.org.lock:
                job.state = "InProgress"
                job.modstamp_ms = self.app.org.clock.now_ms()
            if self._stop.wait(self.delay_s):
                return
            self.process(job)

    # ---- processing --------------------------------------------------------------------------------
    def process(self, job: IngestJob) -> None:
        """Run a job's rows against the org (normally called by the worker)."""
        org = self.app.org
        started = org.clock.now_ms()
        text = (job.data or b"").decode("utf-8", "replace").removeprefix("\ufeff")
        problem = self._line_ending_problem(job, text)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.delimiter])
        rows = [row for row in reader if row]
        job.header = rows[0] if rows else []
        data_rows = rows[1:]
        fields: list[FieldDef] = []
        with org.lock:
            if problem is None:
                problem, fields = self._resolve_header(job)
            if problem is not None:
                self._finish(job, "Failed", problem, data_rows)
                return
        for start in range(0, len(data_rows), INTERNAL_BATCH):
            with org.lock:
                if job.state != "InProgress":  # aborted meanwhile
                    job.unprocessed = data_rows[start:]
                    return
                for row in data_rows[start:start + INTERNAL_BATCH]:
                    self._process_row(job, fields, row + [""] * (len(fields) - len(row)))
        with org.lock:
            self._batches.append((org.clock.now_ms(), max(1, math.ceil(len(data_rows) / INTERNAL_BATCH))))
            job.processing_ms = max(1, org.clock.now_ms() - started)
            self._finish(job, "JobComplete", None, [])

    def _finish(self, job: IngestJob, state: str, message: str | None, unprocessed: list[list[str]]) -> None:
        job.state = state
        job.error_message = message
        job.unprocessed = unprocessed
        job.modstamp_ms = self.app.org.clock.now_ms()
        job.data = None

    @staticmethod
    def _line_ending_problem(job: IngestJob, text: str) -> str | None:
        has_crlf = "\r\n" in text
        bare_lf = "\n" in text.replace("\r\n", "")
        if (job.line_ending == "LF" and has_crlf) or (job.line_ending == "CRLF" and bare_lf):
            return f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {job.line_ending}"
        return None

    def _resolve_header(self, job: IngestJob) -> tuple[str | None, list[FieldDef]]:
        if not job.header:
            return "InvalidBatch : Failed to parse CSV header: the upload is empty", []
        fields: list[FieldDef] = []
        for name in job.header:
            field = self.app.org.field_for(job.sobject, name.strip(), job.user_id)
            if field is None:
                return f"InvalidBatch : Field name not found : {name}", []
            fields.append(field)
        names = {f.name for f in fields}
        if job.operation in ("update", "delete", "hardDelete") and "Id" not in names:
            return f"InvalidBatch : Field name not found : Id (required for {job.operation})", []
        if job.operation in ("delete", "hardDelete") and names != {"Id"}:
            return "InvalidBatch : The 'delete' batch must contain only 'Id'", []
        if job.operation == "upsert" and job.external_id and job.external_id.lower() not in {n.lower() for n in names}:
            return f"InvalidBatch : Field name not found : {job.external_id}", []
        return None, fields

    def _process_row(self, job: IngestJob, fields: list[FieldDef], row: list[str]) -> None:
        writer, obj = self.app.writer, job.sobject
        cells = dict(zip([f.name for f in fields], row, strict=False))
        row_id = cells.get("Id", "").strip() if job.operation != "insert" else ""  # failedResults name the record the row was for
        try:
            target = self._target(job, cells)
            row_id = target["Id"] if target is not None else ""
            if job.operation in ("delete", "hardDelete"):
                if target is None:
                    raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())
                writer.delete(obj, target, job.user_id)
                if job.operation == "hardDelete":
                    self.app.org.table(obj).pop(target["Id"], None)
                job.successes.append((target["Id"], False, row))
                return
            creating = target is None
            values, errors = writer.values_from_csv(obj, fields, row, job.user_id, creating)
            if errors:
                raise errors[0]
            if target is None:
                record = writer.create(obj, values, job.user_id)
            else:
                record = writer.update(obj, target, values, job.user_id)
            job.successes.append((record["Id"], creating, row))
        except RecordError as exc:
            job.failures.append((row_id, exc.to_bulk(), row))

    def _target(self, job: IngestJob, cells: dict[str, str]) -> dict[str, t.Any] | None:
        """The record a row updates (None: the row inserts); raises ``RecordError`` for a bad key."""
        table = self.app.org.table(job.sobject)
        if job.operation == "insert":
            return None
        key = "Id" if job.operation != "upsert" else (job.external_id or "Id")
        field = job.sobject.field(key)
        raw = next((v for k, v in cells.items() if k.lower() == key.lower()), "").strip()
        if field is None or field.name == "Id":
            if not raw:
                if job.operation == "upsert":
                    return None
                raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))
            record_id = normalize_id(raw)
            if record_id is None or not record_id.startswith(job.sobject.key_prefix):
                raise RecordError("MALFORMED_ID", f"{job.sobject.name} ID: id value of incorrect type: {raw}", ("Id",))
            record = table.get(record_id)
            if record is None:
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())
            if record.get("IsDeleted"):
                raise RecordError("ENTITY_IS_DELETED", "entity is deleted", ())
            return record
        matches = [r for r in table.values() if not r.get("IsDeleted") and raw and str(r.get(field.name) or "").lower() == raw.lower()]
        if len(matches) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", f"{field.label}: more than one record found for external id field: {[r['Id'] for r in matches]}", (field.name,))
        return matches[0] if matches else None
