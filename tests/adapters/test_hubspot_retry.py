"""The transport under the SDK: every attempt gated and counted, 429/5xx retried, Retry-After honoured."""

from __future__ import annotations

import typing as t

import pytest
from pydantic import SecretStr
from urllib3.exceptions import NewConnectionError, ProtocolError

from connector.adapters.base import ApiStats, RateLimitInfo
from connector.adapters.hubspot.auth import StaticToken
from connector.adapters.hubspot.retry import RetryingPool, RetryPolicy, crm_error, endpoint_name, request_kind


class FakeResponse:
    def __init__(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"{}") -> None:
        self.status = status
        self.headers = headers or {}
        self.data = body


class FakePool:
    """Answers from a script; records the headers of each attempt."""

    def __init__(self, script: list[t.Any]) -> None:
        self.script = list(script)
        self.seen: list[dict[str, str]] = []

    def request(self, method: str, url: str, **kwargs: t.Any) -> FakeResponse:
        self.seen.append(dict(kwargs.get("headers") or {}))
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    def clear(self) -> None:
        pass


class Gate:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.statuses: list[int] = []

    def before_request(self, kind: str) -> None:
        self.kinds.append(kind)

    def after_response(self, status: int, info: RateLimitInfo) -> None:
        self.statuses.append(status)


def _pool(script: list[t.Any], sleeps: list[float]) -> tuple[RetryingPool, FakePool, Gate]:
    fake = FakePool(script)
    gate = Gate()
    pool = RetryingPool(
        fake,  # type: ignore[arg-type]
        auth=StaticToken(SecretStr("pat-secret-123")),
        gate=gate,
        stats=ApiStats(),
        policy=RetryPolicy(attempts=4, initial=0.01, maximum=0.05, jitter=0.0, sleep=sleeps.append),
    )
    return pool, fake, gate


def test_429_is_retried_after_the_retry_after_seconds_and_every_attempt_is_gated() -> None:
    sleeps: list[float] = []
    pool, fake, gate = _pool([FakeResponse(429, {"Retry-After": "2"}), FakeResponse(200)], sleeps)
    answer = pool.request("POST", "http://h/crm/v3/objects/contacts/search", headers={})
    assert answer.status == 200
    assert sleeps == [2.0]
    assert gate.kinds == ["search", "search"] and gate.statuses == [429, 200]
    assert pool.stats.calls == 2 and pool.stats.retries == 1 and pool.stats.rate_limited == 1
    assert pool.stats.by_endpoint == {"POST crm/objects/contacts/search": 2}
    assert all(h["Authorization"] == "Bearer pat-secret-123" for h in fake.seen)


def test_5xx_and_dropped_connections_back_off_exponentially_then_succeed() -> None:
    sleeps: list[float] = []
    pool, _, _ = _pool([FakeResponse(502), ProtocolError("Connection aborted"), FakeResponse(503), FakeResponse(200)], sleeps)
    assert pool.request("GET", "http://h/crm/v3/properties/contacts").status == 200
    assert sleeps == [0.01, 0.02, 0.04]
    assert pool.stats.retries == 3 and pool.stats.errors == 0


def test_gives_up_after_the_last_attempt_and_hands_back_the_last_answer() -> None:
    sleeps: list[float] = []
    pool, _, _ = _pool([FakeResponse(500)] * 4, sleeps)
    assert pool.request("GET", "http://h/crm/v3/owners").status == 500
    assert len(sleeps) == 3 and pool.stats.calls == 4 and pool.stats.errors == 1


def test_validation_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    pool, _, _ = _pool([FakeResponse(400)], sleeps)
    assert pool.request("POST", "http://h/crm/v3/objects/contacts/batch/update").status == 400
    assert sleeps == [] and pool.stats.calls == 1


def test_task_creation_is_not_retried_when_it_may_have_landed() -> None:
    sleeps: list[float] = []
    pool, _, _ = _pool([FakeResponse(500)], sleeps)
    assert pool.request("POST", "http://h/crm/v3/objects/tasks").status == 500
    pool2, _, _ = _pool([ProtocolError("reset")], sleeps)
    with pytest.raises(ProtocolError):
        pool2.request("POST", "http://h/crm/v3/objects/tasks")
    # ... but is retried when it certainly never reached HubSpot
    pool3, _, _ = _pool([NewConnectionError(None, "refused"), FakeResponse(429), FakeResponse(201)], sleeps)  # type: ignore[arg-type]
    assert pool3.request("POST", "http://h/crm/v3/objects/tasks").status == 201
    assert sleeps == [0.01, 0.02]


def test_endpoint_names_carry_no_ids_or_list_names() -> None:
    assert endpoint_name("PUT", "/crm/v3/lists/123/memberships/add") == "PUT crm/lists/{id}/memberships/add"
    assert endpoint_name("GET", "/crm/v3/lists/object-type-id/0-1/name/VIP%20leads") == "GET crm/lists/object-type-id/0-1/name/{name}"
    assert request_kind("POST", "/crm/v3/objects/meetings/search") == "search"
    assert request_kind("POST", "/crm/v3/lists/search") == "default"


class FakeApiException(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"({status})")
        self.status = status
        self.body = body
        self.reason = "x"


def test_401_names_the_scope_and_never_the_token() -> None:
    body = b'{"status":"error","message":"Authentication credentials not found.","correlationId":"c-1","category":"INVALID_AUTHENTICATION"}'
    err = crm_error(FakeApiException(401, body), method="POST", path="/crm/v3/objects/contacts/batch/update")
    assert err.status == 401 and not err.retryable
    assert "token invalid or missing scope crm.objects.contacts.write" in str(err)
    assert "INVALID_AUTHENTICATION" in str(err) and "pat-secret" not in str(err)


def test_403_lists_the_scopes_hubspot_asks_for() -> None:
    body = b'{"status":"error","message":"missing scopes","category":"MISSING_SCOPES","errors":[{"message":"x","context":{"requiredGranularScopes":["crm.lists.write"]}}]}'
    err = crm_error(FakeApiException(403, body), method="POST", path="/crm/v3/lists")
    assert "missing scope crm.lists.write" in str(err)


def test_5xx_after_retries_is_a_retryable_error() -> None:
    err = crm_error(FakeApiException(503, b"not json"), method="GET", path="/crm/v3/owners")
    assert err.retryable and err.status == 503 and "503" in str(err)
