"""Every HTTP request simple-salesforce sends passes through here: gate, count, authenticate, retry.

The hook is the ``requests.Session`` simple-salesforce accepts (``Salesforce(session=...)``, also
used by its Bulk API 2.0 client and by ``SalesforceLogin``). :class:`GatedSession` is that session:

* ``trust_env = False`` and ``verify`` = the configured CA bundle: with ``REQUESTS_CA_BUNDLE`` set,
  requests would otherwise verify against that bundle and ignore ``verify``.
* Each attempt goes through ``gate.before_request`` / ``gate.after_response`` (login calls excepted:
  Salesforce does not count them against the daily allowance) and is counted in ``ApiStats``.
* The current access token is set on every request (simple-salesforce's copy may be stale); a 401
  ``INVALID_SESSION_ID`` renews the session once and sends the request again.
* ``Sforce-Limit-Info: api-usage=N/M`` (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm)
  becomes the neutral ``RateLimitInfo(daily_limit=M, daily_remaining=M - N - reserve)``: the run's
  gate stops before the org's allowance is spent, keeping ``reserve`` requests for the team's
  other integrations, with a message saying so.
* Retries: 500/502/503 answers and dropped connections or read timeouts, for requests Salesforce
  can safely receive twice (GET, PATCH, PUT, DELETE; a POST, or a Bulk job's upload or close, only
  when it certainly never arrived: connection refused or connect timeout). Creating records twice is what task keys prevent, not
  blind re-sends. Exponential backoff with jitter. 403 ``REQUEST_LIMIT_EXCEEDED`` for concurrent
  long requests is retried after a pause; for the daily allowance it is final.
"""

from __future__ import annotations

import dataclasses as dc
import math
import random
import re
import time
import typing as t
from urllib.parse import urlsplit

import requests
import urllib3

from connector.adapters.base import ApiStats, CRMError, NoGate, RateLimitInfo, RequestGate

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.auth import SessionSource

__all__ = ["GatedSession", "RetryPolicy", "endpoint_name", "limit_info"]

RETRY_STATUSES = frozenset({500, 502, 503})
_LOGIN = re.compile(r"/services/(oauth2/token|Soap/u/)")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
_LOCATOR = re.compile(r"^01g[\w-]+$")


@dc.dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests pass a ``sleep`` that records instead of sleeping."""

    attempts: int = 6
    initial: float = 0.5
    maximum: float = 30.0
    #: (connect, read) seconds per attempt.
    timeout: tuple[float, float] = (10.0, 120.0)
    sleep: t.Callable[[float], None] = time.sleep


def endpoint_name(method: str, path: str) -> str:
    """A short, id-free name for ApiStats: ``GET query``, ``PATCH composite/sobjects``, ``PUT jobs/ingest/{id}/batches``."""
    parts = [p for p in path.strip("/").split("/") if p]
    if parts[:2] == ["services", "data"] and len(parts) > 2:
        parts = parts[3:]  # drop services/data/vXX.X
    elif parts[:1] == ["services"]:
        parts = parts[1:]
    parts = ["{id}" if _ID.match(p) or _LOCATOR.match(p) else p for p in parts]
    if len(parts) > 2 and parts[0] in ("jobs",) and parts[2] not in ("{id}",):
        parts[2] = "{id}"  # Bulk job ids look like 750...
    return f"{method.upper()} {'/'.join(parts)}"


def limit_info(headers: t.Mapping[str, str], reserve_fraction: float = 0.0) -> RateLimitInfo:
    """``Sforce-Limit-Info: api-usage=N/M`` as the neutral value, keeping ``reserve_fraction`` of M in reserve."""
    found = _USAGE.search(headers.get("Sforce-Limit-Info", "") or "")
    if not found:
        return RateLimitInfo()
    used, limit = int(found.group(1)), int(found.group(2))
    reserve = math.ceil(limit * reserve_fraction)
    return RateLimitInfo(daily_limit=limit, daily_remaining=max(0, limit - used - reserve))


def _error_code(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        return str(first.get("errorCode") or first.get("error") or ""), str(first.get("message") or first.get("error_description") or "")
    return "", str(body)[:200]


def _never_arrived(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))


class GatedSession(requests.Session):
    """The ``requests.Session`` handed to simple-salesforce (see the module docstring).

    Args:
        ca_bundle: PEM file to verify TLS with (a sandbox's CA); ``None``: the system's store.
        gate: the run's rate limiter.
        stats: counters to fill.
        policy: retry policy.
        reserve: fraction of the daily allowance never spent (default 10%).
    """

    def __init__(
        self,
        *,
        ca_bundle: str | None = None,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
        reserve: float = 0.10,
    ) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = ca_bundle if ca_bundle else True
        self.gate = gate or NoGate()
        self.stats = stats if stats is not None else ApiStats()
        self.policy = policy or RetryPolicy()
        self.reserve = reserve
        self.auth_source: SessionSource | None = None
        #: The last ``api-usage=N/M`` read (for messages and ``connector status``).
        self.usage: tuple[int, int] | None = None
        #: The logged-in user's id, read from the login answer (the token answer's identity URL
        #: ``id``, or the SOAP ``<userId>``): ``connector setup`` assigns it its permission set.
        self.user_id: str | None = None

    def _remember_user(self, answer: requests.Response) -> None:
        if answer.status_code != 200:
            return
        found = re.search(r"<userId>([A-Za-z0-9]{15,18})</userId>", answer.text) if "xml" in answer.headers.get("Content-Type", "") else None
        if found:
            self.user_id = found.group(1)
            return
        try:
            body = answer.json()
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            self.user_id = body["id"].rstrip("/").rsplit("/", 1)[-1]

    def request(self, method: str | bytes, url: str | bytes, *args: t.Any, **kwargs: t.Any) -> requests.Response:
        """Send one request as the module docstring says; return the last answer (simple-salesforce raises on errors)."""
        method = method.decode() if isinstance(method, bytes) else str(method)
        url = url.decode() if isinstance(url, bytes) else str(url)
        path = urlsplit(url).path
        if _LOGIN.search(path):
            return self._login(method, url, path, *args, **kwargs)
        endpoint = endpoint_name(method, path)
        # Not safe to send twice: creates, and the steps of a Bulk job (a second upload is refused,
        # a second close finds the job in another state).
        once = method.upper() == "POST" or (method.upper() in ("PUT", "PATCH") and "/jobs/ingest/" in path)
        kwargs.setdefault("timeout", self.policy.timeout)
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            headers = dict(kwargs.pop("headers", None) or {})
            token = None
            if self.auth_source is not None:
                token = self.auth_source.token()
                headers["Authorization"] = f"Bearer {token}"
            kwargs["headers"] = headers
            self._before()
            self.stats.count(endpoint)
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.RequestException as exc:
                self.gate.after_response(0, RateLimitInfo())
                if attempt < self.policy.attempts and (not once or _never_arrived(exc)) and isinstance(exc, (requests.ConnectionError, requests.Timeout)):
                    self._pause(attempt)
                    continue
                self.stats.errors += 1
                raise CRMError(f"Salesforce unreachable on {method.upper()} {path}: {type(exc).__name__}; retried and gave up", retryable=True) from None
            info = limit_info(response.headers, self.reserve)
            if info.daily_limit is not None and info.daily_remaining is not None:
                self.usage = (info.daily_limit - info.daily_remaining - math.ceil(info.daily_limit * self.reserve), info.daily_limit)
            status = response.status_code
            if status == 403:
                code, message = _error_code(response)
                if code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in message:
                    info = dc.replace(info, daily_remaining=0)
            self.gate.after_response(status, info)
            if status == 401 and self.auth_source is not None and not renewed and _error_code(response)[0] == "INVALID_SESSION_ID":
                renewed = True
                self.stats.retries += 1
                self.auth_source.renew(token)
                continue
            if attempt < self.policy.attempts and self._retryable(status, response, once):
                self._pause(attempt)
                continue
            if status >= 400 and status != 404:
                self.stats.errors += 1
            return response

    def _login(self, method: str, url: str, path: str, *args: t.Any, **kwargs: t.Any) -> requests.Response:
        """A login call: not gated (Salesforce does not count logins), retried on 5xx and lost connections (a second token is harmless)."""
        kwargs.setdefault("timeout", self.policy.timeout)
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(endpoint_name(method, path))
            try:
                answer = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                if attempt >= self.policy.attempts:
                    raise
                self._pause(attempt)
                continue
            if answer.status_code in RETRY_STATUSES and attempt < self.policy.attempts and "<faultcode>" not in answer.text:
                self._pause(attempt)
                continue
            self._remember_user(answer)
            return answer

    def _before(self) -> None:
        try:
            self.gate.before_request("default")
        except CRMError as exc:
            # The gate refuses only when the daily allowance (less the reserve) is spent. Retryable:
            # the next run continues, so nothing waiting for it is quarantined.
            used = f"{self.usage[0]:,} of {self.usage[1]:,} requests of the org's daily API allowance used; " if self.usage else ""
            raise type(exc)(
                f"Salesforce: {used}the connector stops {self.reserve:.0%} short of the allowance, which it keeps for the org's other "
                f"integrations (limits.daily_reserve in the Salesforce mapping). The run pauses here; the next run continues where it stopped.",
                retryable=True,
            ) from None

    def _retryable(self, status: int, response: requests.Response, once: bool) -> bool:
        if status in RETRY_STATUSES:
            return not once
        if status == 403:
            code, message = _error_code(response)
            return code == "REQUEST_LIMIT_EXCEEDED" and "ConcurrentPerOrgLongTxn" in message
        return False

    def _pause(self, attempt: int) -> None:
        self.stats.retries += 1
        base = min(self.policy.initial * (2 ** (attempt - 1)), self.policy.maximum)
        self.policy.sleep(base + random.uniform(0, base / 2))  # jitter, not cryptography

    def __repr__(self) -> str:
        return f"GatedSession(verify={self.verify!r})"
