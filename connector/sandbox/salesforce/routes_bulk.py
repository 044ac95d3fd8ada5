"""Bulk API 2.0 ingest endpoints under ``/services/data/vXX.X/jobs/ingest`` (Bulk API 2.0 Developer Guide).

Create (``POST``, JSON ``{object, operation, externalIdFieldName, contentType: CSV, lineEnding,
columnDelimiter}``), upload (``PUT {id}/batches``, ``text/csv``, once per job, 201), close or abort
(``PATCH {id}`` ``{"state": "UploadComplete" | "Aborted"}``), info (``GET {id}``), list (``GET``),
delete (``DELETE {id}``, only once the job is closed), and the three result CSVs. Errors are
Salesforce's list bodies; a job in the wrong state answers 400 ``INVALIDJOBSTATE``; query jobs
(``jobs/query``) are not served.
"""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce.bulk import DELIMITERS, OPERATIONS, IngestJob
from connector.sandbox.salesforce.errors import ApiError
from connector.sandbox.salesforce.routes_data import json_object

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["MAX_UPLOAD_BYTES", "register"]

MAX_UPLOAD_BYTES = 150 * 1024 * 1024
_CSV = {"Content-Type": "text/csv"}


def register(router: Router, app: SalesforceApp) -> None:
    """Add the Bulk API 2.0 ingest routes."""
    org, jobs = app.org, app.bulk
    base = "/services/data/v{version}/jobs/ingest"

    def job_of(request: Request) -> IngestJob:
        job = jobs.jobs.get(request.path_params["jobId"])
        if job is None or job.user_id != app.user_id(request):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def wrong_state(job: IngestJob, action: str) -> ApiError:
        return ApiError(400, "INVALIDJOBSTATE", f"Job {job.id} is in state {job.state}: cannot {action}")

    @router.route("POST", base)
    def create(request: Request) -> Response:
        body = json_object(request)
        name = body.get("object")
        obj = org.obj(name) if isinstance(name, str) else None
        if obj is None:
            raise ApiError(400, "INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}; expected one of {', '.join(OPERATIONS)}")
        if body.get("contentType", "CSV") != "CSV":
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Unsupported content type: {body.get('contentType')}")
        line_ending, delimiter = body.get("lineEnding", "LF"), body.get("columnDelimiter", "COMMA")
        if line_ending not in ("LF", "CRLF") or delimiter not in DELIMITERS:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid lineEnding {line_ending!r} or columnDelimiter {delimiter!r}")
        external = body.get("externalIdFieldName")
        if operation == "upsert":
            field = obj.field(external) if isinstance(external, str) else None
            if field is None or not (field.external_id or field.name == "Id"):
                raise ApiError(400, "INVALIDJOB", f"InvalidJob : External ID was blank or is not an External ID field for upsert: {external}")
            external = field.name
        job = IngestJob(org.ids.allocate("750"), obj, str(operation), app.user_id(request), request.path_params["version"], org.clock.now_ms(),
                        line_ending, delimiter, external if operation == "upsert" else None)
        jobs.add(job)
        return Response.json(job.info(full=False))

    @router.route("GET", base)
    def list_jobs(request: Request) -> Response:
        user = app.user_id(request)
        return Response.json({"done": True, "records": [j.info(full=False) for j in jobs.jobs.values() if j.user_id == user], "nextRecordsUrl": None})

    @router.route("PUT", base + "/{jobId}/batches")
    def upload(request: Request) -> Response:
        job = job_of(request)
        if job.state != "Open":
            raise wrong_state(job, "upload data")
        if job.data is not None:
            raise ApiError(400, "INVALIDJOBSTATE", f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / 'Delete' the current Job then "
                           "create a new Job and make sure you only do 'PUT' once on a given Job.")
        if "text/csv" not in request.header("content-type"):
            raise ApiError(400, "INVALIDJOB", f"Unsupported content type {request.header('content-type')!r}: upload CSV as text/csv")
        if len(request.body) > MAX_UPLOAD_BYTES:
            raise ApiError(400, "EXCEEDED_MAX_SIZE_REQUEST", "The upload exceeds 150 MB")
        job.data = request.body
        return Response.empty(201)

    @router.route("PATCH", base + "/{jobId}")
    def change_state(request: Request) -> Response:
        job = job_of(request)
        state = json_object(request).get("state")
        if state == "UploadComplete":
            if job.state != "Open":
                raise wrong_state(job, "close it")
            if not job.data:
                job.state, job.error_message = "Failed", "InvalidBatch : No data was uploaded for this job"
            else:
                jobs.close(job)
        elif state == "Aborted":
            if job.state not in ("Open", "UploadComplete", "InProgress"):
                raise wrong_state(job, "abort it")
            jobs.abort(job)
        else:
            raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state {state!r}: use UploadComplete or Aborted")
        return Response.json(job.info(full=False))

    @router.route("GET", base + "/{jobId}")
    def info(request: Request) -> Response:
        return Response.json(job_of(request).info())

    @router.route("DELETE", base + "/{jobId}")
    def delete(request: Request) -> Response:
        job = job_of(request)
        if job.state not in ("UploadComplete", "JobComplete", "Aborted", "Failed"):
            raise wrong_state(job, "delete it")
        del jobs.jobs[job.id]
        return Response.empty(204)

    def results(kind: str) -> t.Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            job = job_of(request)
            if job.state not in ("JobComplete", "Failed", "Aborted"):
                raise wrong_state(job, "read its results before it is complete")
            return Response(200, job.results_csv(kind).encode(), dict(_CSV))

        return answer

    router.add("GET", base + "/{jobId}/successfulResults", results("successfulResults"))
    router.add("GET", base + "/{jobId}/failedResults", results("failedResults"))
    router.add("GET", base + "/{jobId}/unprocessedrecords", results("unprocessedrecords"))
    router.add("GET", base + "/{jobId}/unprocessedRecords", results("unprocessedrecords"))  # simple-salesforce's spelling
