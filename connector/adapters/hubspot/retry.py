"""Every HTTP request the SDK sends passes through here: gate, count, authenticate, retry.

The hook is the SDK's urllib3 pool: each generated ``ApiClient`` owns
``rest_client.pool_manager`` and calls ``pool_manager.request(...)`` once per API call.
:class:`RetryingPool` stands in for that pool manager, so that *each attempt* (retries included)
goes through ``gate.before_request`` / ``gate.after_response``, is counted in ``ApiStats`` and
carries the bearer token, while the SDK keeps building requests and parsing answers as usual.

After every answer the gate is told the status and HubSpot's rate-limit headers
(``X-HubSpot-RateLimit-Max``, ``-Interval-Milliseconds``, ``-Remaining``, ``-Daily``,
``-Daily-Remaining``, ``Retry-After``; https://developers.hubspot.com/docs/api/usage-details), read
into the connector's neutral :class:`~connector.adapters.base.RateLimitInfo` by
:func:`rate_limit_info`: the gate knows no HubSpot header.

Retries (tenacity): 429 and 5xx answers, read timeouts and dropped connections, with
exponential backoff plus jitter; a ``Retry-After`` header is honoured. A request that creates
something HubSpot cannot de-duplicate (a task) is retried only when it certainly never reached
HubSpot (connection refused/connect timeout, or 429, which HubSpot answers before doing
anything). 4xx validation errors are never retried; a 401 is retried once after an OAuth
refresh. HubSpot's error shape: https://developers.hubspot.com/docs/api/error-handling
"""

from __future__ import annotations

import dataclasses as dc
import email.utils
import json
import logging
import random
import re
import time
import typing as t
from urllib.parse import urlsplit

import tenacity
import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError

from connector.adapters.base import ApiStats, CRMError, NoGate, RateLimitInfo, RequestGate, RequestKind

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.auth import TokenProvider

__all__ = ["HubSpotApiError", "RetryPolicy", "RetryingPool", "crm_error", "endpoint_name", "rate_limit_info", "request_kind"]

log = logging.getLogger(__name__)

#: Statuses worth another attempt.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: POST paths whose effect HubSpot cannot de-duplicate on a blind retry.
_NOT_IDEMPOTENT = re.compile(r"^/crm/v3/objects/tasks(/batch/create)?/?$")
_SEARCH = re.compile(r"^/crm/v3/objects/[^/]+/search/?$")
_ID = re.compile(r"^\d+$")


@dc.dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests pass a ``sleep`` that records instead of sleeping."""

    attempts: int = 6
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5
    #: Retry-After values above this are capped (a misbehaving proxy must not park a sync for hours).
    max_retry_after: float = 120.0
    #: (connect, read) seconds per attempt.
    timeout: tuple[float, float] = (10.0, 60.0)
    sleep: t.Callable[[float], None] = time.sleep


def endpoint_name(method: str, path: str) -> str:
    """A short, id-free name for ApiStats: ``POST crm/objects/contacts/search``."""
    parts = [p for p in path.strip("/").split("/") if p and not re.fullmatch(r"v\d+", p)]
    parts = ["{id}" if _ID.match(p) else p for p in parts]
    # list names are user data, not endpoint names
    if len(parts) >= 5 and parts[:2] == ["crm", "lists"] and parts[2] == "object-type-id" and parts[4] == "name":
        parts = [*parts[:5], "{name}"]
    return f"{method.upper()} {'/'.join(parts)}"


def request_kind(method: str, path: str) -> RequestKind:
    """CRM search calls have their own, lower limit (5 per second per account)."""
    return "search" if method.upper() == "POST" and _SEARCH.match(path) else "default"


def _seconds_from(value: str | None) -> float | None:
    """A ``Retry-After`` value (seconds, or an HTTP date) as seconds from now; None if unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(parsed.timestamp() - time.time(), 0.0)


def _retry_after(response: t.Any, cap: float) -> float | None:
    seconds = _seconds_from(response.headers.get("Retry-After") if response is not None else None)
    return None if seconds is None else min(seconds, cap)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def rate_limit_info(headers: t.Mapping[str, str]) -> RateLimitInfo:
    """HubSpot's rate-limit headers as the connector's neutral value (fields absent: None).

    Search answers carry none of the ``X-HubSpot-RateLimit-*`` headers (their limit is a separate
    5 per second), so what an answer says applies to the kind of request it answers.
    """
    h = {k.lower(): v for k, v in headers.items()}
    interval_ms = _int(h.get("x-hubspot-ratelimit-interval-milliseconds"))
    return RateLimitInfo(
        limit=_int(h.get("x-hubspot-ratelimit-max")),
        interval=interval_ms / 1000.0 if interval_ms else None,
        remaining=_int(h.get("x-hubspot-ratelimit-remaining")),
        daily_limit=_int(h.get("x-hubspot-ratelimit-daily")),
        daily_remaining=_int(h.get("x-hubspot-ratelimit-daily-remaining")),
        retry_after=_seconds_from(h.get("retry-after")),
    )


class _Wait(tenacity.wait.wait_base):
    """Retry-After when the answer gives one, else exponential backoff with full jitter on top."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            after = _retry_after(outcome.result(), self.policy.max_retry_after)
            if after is not None:
                return after
        p = self.policy
        base = min(p.initial * (2 ** (retry_state.attempt_number - 1)), p.maximum)
        return base + random.uniform(0, p.jitter * base)


class RetryingPool:
    """Drop-in for the SDK's ``urllib3.PoolManager``: gated, counted, authenticated, retried."""

    def __init__(
        self,
        pool: urllib3.PoolManager,
        *,
        auth: TokenProvider | None,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._pool = pool
        self._auth = auth
        self.gate = gate or NoGate()
        self.stats = stats if stats is not None else ApiStats()
        self.policy = policy or RetryPolicy()

    def request(self, method: str, url: str, **kwargs: t.Any) -> t.Any:
        """Send one SDK request, retrying as the module docstring says; return the last answer."""
        path = urlsplit(url).path
        endpoint = endpoint_name(method, path)
        kind = request_kind(method, path)
        idempotent = not (method.upper() == "POST" and _NOT_IDEMPOTENT.match(path))
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = urllib3.Timeout(connect=self.policy.timeout[0], read=self.policy.timeout[1])
        kwargs["retries"] = False

        def attempt() -> t.Any:
            headers = dict(kwargs.get("headers") or {})
            if self._auth is not None:
                headers["Authorization"] = f"Bearer {self._auth.token()}"
            self.gate.before_request(kind)
            self.stats.count(endpoint)
            response = self._pool.request(method, url, **{**kwargs, "headers": headers})
            if response.status >= 400 and not kwargs.get("preload_content", True):
                # A raw (not preloaded) error answer: read and cache its body, give the connection back.
                _ = response.data
                response.release_conn()
            self.gate.after_response(response.status, rate_limit_info(response.headers))
            if response.status == 429:
                self.stats.rate_limited += 1
            return response

        def should_retry_result(response: t.Any) -> bool:
            return response.status in RETRY_STATUSES and (idempotent or response.status == 429)

        def should_retry_exception(exc: BaseException) -> bool:
            if isinstance(exc, (NewConnectionError, ConnectTimeoutError)):
                return True
            return idempotent and isinstance(exc, (ProtocolError, ReadTimeoutError))

        def count_retry(state: tenacity.RetryCallState) -> None:
            self.stats.retries += 1
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            outcome = state.outcome
            if outcome is None:
                why = "no answer"
            elif outcome.failed:
                exc = outcome.exception()
                why = f"{type(exc).__name__}"
            else:
                answer = outcome.result()
                after = answer.headers.get("Retry-After") if answer.headers is not None else None
                why = f"answered {answer.status}" + (f" (Retry-After {after})" if after else "")
            log.info("HubSpot %s %s; retry %d of %d in %.2f s", endpoint, why, state.attempt_number, self.policy.attempts - 1, wait)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.policy.attempts),
            wait=_Wait(self.policy),
            retry=tenacity.retry_if_result(should_retry_result) | tenacity.retry_if_exception(should_retry_exception),
            sleep=self.policy.sleep,
            before_sleep=count_retry,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            reraise=True,
        )
        try:
            response = retrying(attempt)
            if response.status == 401 and self._auth is not None and self._auth.invalidate():
                self.stats.retries += 1
                log.info("HubSpot %s answered 401; retrying once with a renewed token", endpoint)
                response = retrying(attempt)
        except Exception:
            self.stats.errors += 1
            raise
        if response.status >= 400 and response.status not in (404, 409):
            # 404/409 answer our own look-ups (does this list/group exist?) and are expected.
            self.stats.errors += 1
        return response

    def clear(self) -> None:
        """Close pooled connections (the SDK never calls this; ``HubSpotClient.close`` does)."""
        self._pool.clear()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._pool, name)


class HubSpotApiError(CRMError):
    """A :class:`CRMError` that keeps HubSpot's parsed error body (``category``, ``errors``, ...).

    The body is HubSpot's answer, which never contains our token.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False, body: t.Mapping[str, t.Any] | None = None) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.body: t.Mapping[str, t.Any] = body or {}


#: The scope HubSpot most likely wants for a call, by path prefix and write-ness (for 401/403 messages).
_SCOPES: tuple[tuple[str, str, str], ...] = (
    ("/crm/v3/objects/contacts", "crm.objects.contacts.read", "crm.objects.contacts.write"),
    ("/crm/v3/properties", "crm.schemas.contacts.read", "crm.schemas.contacts.write"),
    ("/crm/v3/lists", "crm.lists.read", "crm.lists.write"),
    ("/crm/v3/owners", "crm.objects.owners.read", "crm.objects.owners.read"),
    ("/crm/v3/objects/", "crm.objects.contacts.read (engagements)", "crm.objects.contacts.write (tasks)"),
    ("/crm/v4/associations", "crm.objects.contacts.read", "crm.objects.contacts.write"),
    ("/events/v3", "analytics.behavioral_events.read", "analytics.behavioral_events.read"),
    ("/email/public/v1", "content", "content"),
    # https://developers.hubspot.com/docs/api-reference/2026-09-beta/marketing/forms/guide: "forms"
    ("/marketing/v3/forms", "forms", "forms"),
    ("/oauth/v1", "oauth", "oauth"),
)


def _scope_for(method: str, path: str) -> str:
    write = method.upper() in ("POST", "PUT", "PATCH", "DELETE") and request_kind(method, path) != "search"
    write = write and not path.rstrip("/").endswith(("/batch/read",))
    for prefix, read_scope, write_scope in _SCOPES:
        if path.startswith(prefix):
            return write_scope if write else read_scope
    return "the scope this endpoint needs"


def _body(exc: t.Any) -> dict[str, t.Any]:
    raw = getattr(exc, "body", None)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {"message": str(raw)[:300]}
    return data if isinstance(data, dict) else {"message": str(data)[:300]}


def crm_error(exc: BaseException, *, method: str, path: str, hint: str = "Check HUBSPOT_ACCESS_TOKEN (private app) or the OAuth client id/secret/refresh token") -> CRMError:
    """Turn an SDK/urllib3 failure into a :class:`CRMError` an admin can act on (no secrets).

    ``hint`` ends a 401's message: the variables the configuration names for the credentials sent
    (:func:`connector.adapters.settings.credentials_hint`).
    """
    what = f"{method.upper()} {path}"
    status = getattr(exc, "status", None)
    if isinstance(exc, urllib3.exceptions.HTTPError) or (status == 0):
        return CRMError(f"HubSpot unreachable on {what}: {type(exc).__name__} ({exc}); retried and gave up", retryable=True)
    if not isinstance(status, int):
        return CRMError(f"HubSpot call {what} failed: {type(exc).__name__}: {exc}")
    body = _body(exc)
    message = str(body.get("message") or getattr(exc, "reason", "") or "no message")
    category = body.get("category") or body.get("errorType") or ""
    correlation = body.get("correlationId")
    tail = f" [{category}{', correlationId ' + str(correlation) if correlation else ''}]" if category or correlation else ""
    if status == 401:
        return CRMError(
            f"HubSpot token invalid or missing scope {_scope_for(method, path)} (401 on {what}: {message}){tail}. {hint}.",
            status=401,
        )
    if status == 403:
        scopes = _required_scopes(body) or _scope_for(method, path)
        return CRMError(f"HubSpot token is missing scope {scopes} (403 on {what}: {message}){tail}. {hint}: its app needs that scope.", status=403)
    retryable = status in RETRY_STATUSES
    return HubSpotApiError(f"HubSpot answered {status} on {what}: {message}{tail}", status=status, retryable=retryable, body=body)


def _required_scopes(body: t.Mapping[str, t.Any]) -> str | None:
    found: list[str] = []
    for err in body.get("errors") or []:
        context = err.get("context") if isinstance(err, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes"):
                found += [str(s) for s in context.get(key) or []]
    return ", ".join(dict.fromkeys(found)) or None
