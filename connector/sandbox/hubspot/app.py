"""The HubSpot sandbox application: route table plus what wraps every API call.

Order per request, as HubSpot behaves: route (404) -> bearer auth (401) -> rate limit (429; the
search endpoints have their own per-second limit and no ``X-HubSpot-RateLimit-*`` headers) ->
fault injection -> handler -> record in the request log. ``/_sandbox/*`` admin routes skip auth,
limits, faults and the log. Handlers run under the store lock, so a request is atomic: a fault can
never leave half a batch written.
"""

from __future__ import annotations

import time
import traceback
import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.hubspot import routes_activity, routes_admin, routes_forms, routes_lists, routes_objects, routes_properties
from connector.sandbox.hubspot.errors import ApiError, error_body
from connector.sandbox.hubspot.faults import FaultInjector, FaultPlan
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.ratelimit import RateLimit, RateLimiter
from connector.sandbox.requestlog import RequestLog

__all__ = ["HubSpotApp"]

_READ_POSTS = ("/search", "/batch/read")


def is_search(path: str) -> bool:
    """CRM object search (the endpoint family with its own rate limit)."""
    return path.startswith("/crm/v3/objects/") and path.rstrip("/").endswith("/search")


def is_write(method: str, path: str) -> bool:
    """Whether a request changes state (for the fault ``writes`` mode)."""
    return method != "GET" and not path.rstrip("/").endswith(_READ_POSTS) and path != "/oauth/v1/token"


class HubSpotApp:
    """Callable ``Request -> Response`` serving one portal."""

    def __init__(self, portal: Portal, rate_limit: RateLimit | None, search_rate: RateLimit | None, faults: FaultPlan | None = None) -> None:
        self.portal = portal
        self.limiter = RateLimiter(rate_limit)
        self.search_limiter = RateLimiter(search_rate)
        self.faults = FaultInjector(faults)
        self.log = RequestLog()
        self._served = 0
        self.router = Router()
        for module in (routes_objects, routes_properties, routes_lists, routes_activity, routes_forms):
            module.register(self.router, portal)
        routes_admin.register(self.router, self)

    def __call__(self, request: Request) -> Response:
        """Answer one HTTP request as HubSpot would (see the module docstring for the order)."""
        started = time.time()
        t0 = time.perf_counter()
        admin = request.path.startswith("/_sandbox/")
        fault: str | None = None
        try:
            response, fault = self._dispatch(request, admin)
        except ApiError as exc:
            response = Response.json(exc.body, exc.status)
        except ValueError as exc:  # unreadable JSON bodies and similar client mistakes
            response = Response.json(error_body(str(exc), "VALIDATION_ERROR"), 400)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must still answer like a server, and say what broke
            traceback.print_exc()
            response = Response.json(error_body(f"internal sandbox error: {type(exc).__name__}: {exc}", "INTERNAL_ERROR"), 500)
        if not admin:
            self.log.record(request, response, started, t0, fault)
        return response

    def _dispatch(self, request: Request, admin: bool) -> tuple[Response, str | None]:
        match = self.router.match(request.method, request.path)
        if match is None or match == "method":
            status = 405 if match == "method" else 404
            message = f"{request.method} {request.path} is not served by the HubSpot sandbox"
            return Response.json(error_body(message, "OBJECT_NOT_FOUND" if status == 404 else "VALIDATION_ERROR"), status), None
        assert not isinstance(match, str)
        request.path_params = match.params
        request.route = f"{request.method} {match.pattern}"
        if admin:
            with self.portal.store.lock:
                return match.handler(request), None
        if request.path.rstrip("/") != "/oauth/v1/token":
            self.portal.authenticate(request.header("authorization"))
        search = is_search(request.path)
        verdict = (self.search_limiter if search else self.limiter).admit()
        if not verdict.allowed:
            return self._rate_limited(verdict.retry_after_s, search), None
        headers = {} if search else self._limit_headers(verdict.remaining)
        kind = self.faults.draw()
        apply_first = kind in ("429", "500", "502", "503", "drop") and is_write(request.method, request.path) and self.faults.plan.writes == "apply"
        if kind is None or kind == "slow" or apply_first:
            response = self._run(match.handler, request)
            response.headers.update(headers)
            if kind == "slow":
                response.delay_seconds = self.faults.plan.slow_seconds
                return response, kind
            if kind is None:
                return response, None
        return self._fault(kind, search), kind

    def _run(self, handler: t.Callable[[Request], Response], request: Request) -> Response:
        """Call a handler atomically; its HubSpot errors become answers (so they get limit headers too)."""
        try:
            with self.portal.store.lock:
                self._served += 1
                return handler(request)
        except ApiError as exc:
            return Response.json(exc.body, exc.status)
        except ValueError as exc:  # unreadable JSON bodies and similar client mistakes
            return Response.json(error_body(str(exc), "VALIDATION_ERROR"), 400)

    def _limit_headers(self, remaining: int) -> dict[str, str]:
        limit = self.limiter.limit
        if limit is None:
            return {}
        daily = self.portal.tier.daily_limit
        return {
            "X-HubSpot-RateLimit-Max": str(limit.max_requests),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(limit.interval_s * 1000)),
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self._served - 1)),
        }

    @staticmethod
    def _rate_limited(retry_after: int, search: bool) -> Response:
        body = error_body("You have reached your secondly limit.", "RATE_LIMITS", errorType="RATE_LIMIT",
                          policyName="SECONDLY" if search else "TEN_SECONDLY_ROLLING")
        return Response.json(body, 429, {"Retry-After": str(retry_after)})

    @staticmethod
    def _fault(kind: str, search: bool) -> Response:
        if kind == "drop":
            return Response(drop=True)
        if kind == "429":
            return HubSpotApp._rate_limited(1, search)
        status = int(kind)
        if status == 502:  # gateway errors come from the edge proxy as HTML, not as HubSpot JSON
            page = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
            return Response(status=502, body=page, headers={"Content-Type": "text/html"})
        messages = {500: "internal error", 503: "Service Unavailable"}
        return Response.json(error_body(messages[status], "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE"), status)

    @property
    def api_routes(self) -> list[str]:
        """``"METHOD pattern"`` of every HubSpot endpoint served (admin routes excluded)."""
        return [f"{m} {p}" for m, p in self.router.patterns if not p.startswith("/_sandbox/")]

    def configure_faults(self, plan: FaultPlan) -> None:
        """Change the fault plan at run time (admin endpoint, tests)."""
        self.faults.configure(plan)
