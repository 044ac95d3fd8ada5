"""The Salesforce sandbox application: route table plus what wraps every API call.

Order per request, as Salesforce behaves: a login-host prefix is stripped (simple-salesforce builds
``https://{domain}.salesforce.com/...``, so ``domain="127.0.0.1:PORT/login"`` reaches
``/login.salesforce.com/services/...`` here) -> route (404 ``NOT_FOUND``) -> API version (404 for
one the org does not serve) -> session (401 ``INVALID_SESSION_ID``; the OAuth token endpoint, SOAP
login and ``/_sandbox/`` need none) -> daily allowance (403 ``REQUEST_LIMIT_EXCEEDED``) -> long-request
concurrency (403) -> fault injection -> handler under the org lock (so a request is atomic) ->
``Sforce-Limit-Info`` on the answer -> request log. Admin routes skip auth, limits, faults and the log.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import traceback
import typing as t
import uuid

from connector.sandbox.faults import FaultInjector
from connector.sandbox.http import Request, Response, Router
from connector.sandbox.requestlog import RequestLog
from connector.sandbox.salesforce import routes_admin, routes_auth, routes_bulk, routes_composite, routes_data, routes_query, routes_tooling
from connector.sandbox.salesforce.auth import ConnectedApp, Login, Sessions, TokenEndpoint
from connector.sandbox.salesforce.bulk import BulkJobs
from connector.sandbox.salesforce.cdc_bus import ChangeBus
from connector.sandbox.salesforce.errors import ApiError, OAuthError, not_found
from connector.sandbox.salesforce.faults import SalesforceFaultPlan
from connector.sandbox.salesforce.limits import DailyAllowance, LongRequestGate
from connector.sandbox.salesforce.org import Org
from connector.sandbox.salesforce.query import Cursors
from connector.sandbox.salesforce.tooling import CustomFields
from connector.sandbox.salesforce.writes import Writer

__all__ = ["MAX_VERSION", "MIN_VERSION", "SalesforceApp"]

MIN_VERSION, MAX_VERSION = 31.0, 62.0
_LOGIN_HOST = re.compile(r"^/[^/]+\.salesforce\.com(?=/)")
_VERSION = re.compile(r"^/services/data/v(\d+\.\d)(?:/|$)")
_NO_SESSION = ("/services/oauth2/token", "/services/oauth2/revoke", "/services/Soap/u/")


class SalesforceApp:
    """Callable ``Request -> Response`` serving one org (see the module docstring for the order)."""

    def __init__(self, org: Org, connected_app: ConnectedApp, logins: dict[str, Login], *, daily_limit: int, session_ttl_s: float,
                 faults: SalesforceFaultPlan, long_request_limit: int, long_request_seconds: float, bulk_delay_s: float) -> None:
        self.org = org
        self.writer = Writer(org)
        self.connected_app = connected_app
        self.logins = logins
        self.sessions = Sessions(org.clock, org.org_id, session_ttl_s)
        self.base_url = "https://127.0.0.1"
        self.token_endpoint = TokenEndpoint(connected_app, self.sessions, self.user_by_username, lambda u: self.logins.get(u.lower()),
                                            lambda: self.org.integration_user_id, lambda: self.base_url)
        self.daily = DailyAllowance(org.clock, daily_limit)
        self.gate = LongRequestGate(long_request_limit, long_request_seconds)
        self.faults = FaultInjector(faults)
        self.log = RequestLog()
        self.cursors = Cursors()
        self.bulk = BulkJobs(self, bulk_delay_s)
        self.custom_fields = CustomFields(org)
        self.changes: ChangeBus | None = None  # Change Data Capture, when the Pub/Sub API is served (enable_change_events)
        self.router = Router()
        for module in (routes_auth, routes_data, routes_query, routes_composite, routes_bulk, routes_tooling, routes_admin):
            module.register(self.router, self)

    # ---- operator helpers (admin routes, Python API) -------------------------------------------------
    def enable_change_events(self) -> ChangeBus:
        """Publish a change event for every Lead and Contact saved from now on (the Pub/Sub API's event bus)."""
        if self.changes is None:
            self.changes = ChangeBus(self.org)
        return self.changes

    def transaction(self, origin: str = "") -> t.ContextManager[None]:
        """One request's changes share a CDC transaction key (a no-op without change events)."""
        return self.changes.transaction(origin) if self.changes is not None else contextlib.nullcontext()

    def reseed(self, seed: str, leads: int = 5000, contacts: int = 2000, random_seed: int = 42) -> dict[str, int]:
        """Empty the org and load the users (``empty``) or the demo data too (``demo``)."""
        from connector.sandbox.salesforce.seed import load_demo, load_users

        if seed not in ("empty", "demo"):
            raise ValueError(f"seed must be 'empty' or 'demo', got {seed!r}")
        if leads < 0 or contacts < 0:
            raise ValueError("lead and contact counts cannot be negative")
        with self.org.lock:
            self.org.reset()
            self.cursors.clear()
            self.custom_fields.definitions.clear()
            if self.changes is not None:  # a new org has none of the old events; seeding publishes none
                self.changes.clear()
                self.changes.paused = True
            try:
                load_users(self.org, self.writer)
                if seed == "demo":
                    load_demo(self.org, self.writer, leads=leads, contacts=contacts, seed=random_seed)
            finally:
                if self.changes is not None:
                    self.changes.paused = False
            return self.org.counts()

    def add_leads(self, count: int, seed: int = 7, modstamp_ms: int | None = None) -> list[str]:
        """Generate ``count`` leads (all stamped ``modstamp_ms`` when given, so thousands share one second)."""
        from connector.sandbox.salesforce.seed import person_rows

        lead = self.org.obj("Lead")
        assert lead is not None
        with self.org.lock:
            start = 20_000_000 + len(self.org.table(lead))
            owners = [u["Id"] for u in self.org.tables["user"].values()]
            ids = []
            for i, row in enumerate(person_rows(count, seed, start=start)):
                row.pop("_interest")
                row["OwnerId"] = owners[i % len(owners)]
                if modstamp_ms is not None:
                    row["CreatedDate"] = int(modstamp_ms)
                ids.append(self.writer.create(lead, row, None)["Id"])
            return ids

    def grant_field(self, full_name: str, edit: bool = True, user_id: str | None = None) -> None:
        """Grant read (and edit) on a custom field to a user's profile permission set (default: the integration user's)."""
        user = user_id or self.org.integration_user_id
        permission_sets = {a["PermissionSetId"] for a in self.org.tables["permissionsetassignment"].values() if a["AssigneeId"] == user}
        profile = next((p for p in self.org.tables["permissionset"].values() if p["Id"] in permission_sets and p.get("IsOwnedByProfile")), None)
        if profile is None:
            raise ValueError(f"user {user} has no profile permission set")
        table, _, name = full_name.partition(".")
        targets = ("Task", "Event") if table.lower() == "activity" else (table,)
        perms = self.org.obj("FieldPermissions")
        assert perms is not None
        for target in targets:
            self.writer.create(perms, {"ParentId": profile["Id"], "SobjectType": target, "Field": f"{target}.{name}", "PermissionsRead": True,
                                       "PermissionsEdit": edit}, None)

    # ---- identity ------------------------------------------------------------------------------------
    def user_by_username(self, username: str) -> str | None:
        """The id of the active user with that username (any case)."""
        wanted = username.strip().lower()
        with self.org.lock:
            for user in self.org.tables["user"].values():
                if str(user.get("Username") or "").lower() == wanted and user.get("IsActive"):
                    return str(user["Id"])
        return None

    def user_id(self, request: Request) -> str:
        """The user of an authenticated request (the app checked the session before the handler ran)."""
        return self.sessions.authenticate(request.header("authorization"))[1]

    # ---- dispatch ------------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        """Answer one HTTP request as Salesforce would."""
        started = time.time()
        t0 = time.perf_counter()
        request.path = _LOGIN_HOST.sub("", request.path) or "/"
        admin = request.path.startswith("/_sandbox/")
        fault: str | None = None
        try:
            response, fault = self._dispatch(request, admin)
        except ApiError as exc:
            response = Response.json(exc.body, exc.status, exc.headers)
        except OAuthError as exc:
            response = Response.json(exc.body, exc.status)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must still answer like a server, and say what broke
            traceback.print_exc()
            error_id = uuid.uuid4().hex[:8]
            response = Response.json([{"errorCode": "UNKNOWN_EXCEPTION",
                                       "message": f"An unexpected error occurred (sandbox bug {type(exc).__name__}: {exc}). ErrorId: {error_id}"}], 500)
        if not admin:
            self.log.record(request, response, started, t0, fault)
        return response

    def _dispatch(self, request: Request, admin: bool) -> tuple[Response, str | None]:
        match = self.router.match(request.method, request.path)
        if match is None:
            raise not_found()
        if match == "method":
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {self._allowed(request.path)}")
        assert not isinstance(match, str)
        request.path_params = match.params
        request.route = f"{request.method} {match.pattern}"
        if admin:
            with self.org.lock, self.transaction():
                return match.handler(request), None
        version = _VERSION.match(request.path)
        if version is not None and not MIN_VERSION <= float(version.group(1)) <= MAX_VERSION:
            raise not_found()
        counted = not request.path.startswith(_NO_SESSION) and request.path.rstrip("/") != "/services/data"  # the versions list is public
        if counted:
            self.sessions.authenticate(request.header("authorization"))
            self.daily.spend()
        ticket = self.gate.enter()
        try:
            kind = self.faults.draw()
            plan = self.faults.plan
            if kind == "slow":
                threading.Event().wait(plan.slow_seconds)
            writes = request.method != "GET"
            if kind in (None, "slow") or (writes and plan.writes == "apply"):
                response = self._run(match.handler, request)
                if kind in (None, "slow"):
                    return self._with_usage(response, counted), kind
            assert kind is not None
            return self._with_usage(self._fault(kind), counted), kind
        finally:
            self.gate.leave(ticket)

    def _run(self, handler: t.Callable[[Request], Response], request: Request) -> Response:
        """Call a handler atomically; its Salesforce errors become answers (so they get the usage header too)."""
        origin = f"com/salesforce/api/{'bulkapi' if '/jobs/ingest' in request.path else 'rest'}/{(_VERSION.match(request.path) or [None, ''])[1]}"
        try:
            with self.org.lock, self.transaction(origin):
                return handler(request)
        except ApiError as exc:
            return Response.json(exc.body, exc.status, exc.headers)
        except OAuthError as exc:
            return Response.json(exc.body, exc.status)

    def _with_usage(self, response: Response, counted: bool) -> Response:
        if counted and not response.drop:
            response.headers.setdefault("Sforce-Limit-Info", self.daily.header())
        return response

    def _allowed(self, path: str) -> str:
        methods = sorted({m for m in ("GET", "POST", "PATCH", "PUT", "DELETE") if not isinstance(self.router.match(m, path), (str, type(None)))})
        return ",".join(methods)

    @staticmethod
    def _fault(kind: str) -> Response:
        if kind == "drop":
            return Response(drop=True)
        if kind == "502":  # gateway errors come from the edge as HTML, not as Salesforce JSON
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            return Response(status=502, body=page, headers={"Content-Type": "text/html"})
        if kind == "503":
            return Response.json([{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable, please try again later."}], 503)
        return Response.json([{"errorCode": "UNKNOWN_EXCEPTION",
                               "message": f"An unexpected error occurred. Please include this ErrorId if you contact support: {uuid.uuid4().int % 10**9}-{uuid.uuid4().int % 10**5} (-1)"}], 500)

    @property
    def api_routes(self) -> list[str]:
        """``"METHOD pattern"`` of every Salesforce endpoint served (admin routes excluded)."""
        return [f"{m} {p}" for m, p in self.router.patterns if not p.startswith("/_sandbox/")]
