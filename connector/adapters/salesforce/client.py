"""simple-salesforce on our transport: one ``Salesforce`` object per adapter, failures as :class:`CRMError`.

The ``Salesforce`` object is built on first use with the session the adapter logged in itself
(:mod:`.auth`) and :class:`~.transport.GatedSession` as its ``requests.Session``, so every call --
REST, Tooling, Bulk API 2.0 -- is gated, counted, authenticated and retried in one place.
simple-salesforce raises ``SalesforceError`` subclasses carrying Salesforce's error body
(``[{"message", "errorCode", "fields"}]``, https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm);
:meth:`SalesforceClient.call` turns them into :class:`SalesforceApiError` (a ``CRMError`` with the code).
"""

from __future__ import annotations

import typing as t

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connector.adapters.base import ApiStats, CRMError, RequestGate
from connector.adapters.salesforce.auth import SessionSource
from connector.adapters.salesforce.settings import SalesforceSettings
from connector.adapters.salesforce.transport import GatedSession, RetryPolicy

__all__ = ["SalesforceApiError", "SalesforceClient", "sf_error"]

R = t.TypeVar("R")

#: Error codes worth trying again later (the record or the org is busy, not wrong).
RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG", "ALL_OR_NONE_OPERATION_ROLLED_BACK"})


class SalesforceApiError(CRMError):
    """A :class:`CRMError` with Salesforce's first error code (``INVALID_FIELD``, ``MALFORMED_QUERY``...)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False, code: str = "") -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.code = code


def sf_error(exc: SalesforceError, what: str) -> SalesforceApiError:
    """simple-salesforce's exception as a message an admin can act on (Salesforce's code and message; no token)."""
    content = exc.content
    first = content[0] if isinstance(content, list) and content else content
    code, message = "", str(content)[:300]
    if isinstance(first, dict):
        code = str(first.get("errorCode") or first.get("error") or "")
        message = str(first.get("message") or first.get("error_description") or "")
    status = int(exc.status) if isinstance(exc.status, int) else None
    retryable = code in RETRYABLE_CODES or (status is not None and status >= 500)
    hint = ""
    if code == "INVALID_SESSION_ID":
        hint = " (the session was refused after a fresh login: check the connected app and the integration user)"
    elif code == "INVALID_FIELD":
        hint = " (a field the mapping names does not exist or the integration user has no field-level security on it: run `connector check` and `connector setup`)"
    elif code == "REQUEST_LIMIT_EXCEEDED":
        hint = " (the org's API allowance is spent; the next run continues)"
    if len(message) > 600:  # a query error echoes the whole SOQL: keep its head and the caret's explanation
        message = message[:300] + " ... " + message[-300:]
    return SalesforceApiError(f"Salesforce answered {status} {code} on {what}: {message}{hint}", status=status, retryable=retryable, code=code)


class SalesforceClient:
    """The org, as the adapter's modules call it.

    Args:
        settings: the org and its credentials.
        gate: the run's rate limiter.
        stats: counters to fill (a fresh ``ApiStats`` by default).
        policy: retry policy.
        reserve: fraction of the daily allowance kept for other integrations.
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
        reserve: float = 0.10,
    ) -> None:
        self.settings = settings
        self.session = GatedSession(ca_bundle=str(settings.ca_bundle) if settings.ca_bundle else None, gate=gate, stats=stats, policy=policy, reserve=reserve)
        self.stats = self.session.stats
        self.auth = SessionSource(settings, self.session)
        self.session.auth_source = self.auth
        self._sf: Salesforce | None = None
        self._describe: dict[str, dict[str, t.Any]] = {}

    @property
    def sf(self) -> Salesforce:
        """simple-salesforce, built (and logged in) on first use."""
        if self._sf is None:
            token = self.auth.token()
            assert self.auth.instance_url is not None
            self._sf = Salesforce(instance_url=self.auth.instance_url, session_id=token, session=self.session, version=self.settings.api_version)
        return self._sf

    def call(self, what: str, fn: t.Callable[..., R], *args: t.Any, **kwargs: t.Any) -> R:
        """Run one simple-salesforce call; its failures become :class:`SalesforceApiError`."""
        try:
            return fn(*args, **kwargs)
        except SalesforceError as exc:
            raise sf_error(exc, what) from None

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> t.Iterator[list[dict[str, t.Any]]]:
        """The records of ``soql`` page by page (2,000 per page), following ``nextRecordsUrl``."""
        endpoint = "queryAll" if include_deleted else "query"
        answer = self.call(f"GET {endpoint}", self.sf.query, soql, include_deleted=include_deleted)
        while True:
            yield list(answer.get("records") or [])
            if answer.get("done", True) or not answer.get("nextRecordsUrl"):
                return
            answer = self.call(f"GET {endpoint} (next page)", self.sf.query_more, answer["nextRecordsUrl"], identifier_is_url=True)

    def query(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, t.Any]]:
        """All records of ``soql`` (for small results: look-ups of at most a few pages)."""
        return [record for page in self.query_pages(soql, include_deleted=include_deleted) for record in page]

    def query_count(self, soql: str) -> int:
        """The ``totalSize`` of a ``SELECT COUNT() ...`` query (one call)."""
        return int(self.call("GET query", self.sf.query, soql).get("totalSize") or 0)

    def rest(self, method: str, path: str, **kwargs: t.Any) -> t.Any:
        """A REST call relative to ``/services/data/vXX.X/`` (JSON answer, ``None`` for 204)."""
        return self.call(f"{method} {path.split('?')[0]}", self.sf.restful, path, method=method, **kwargs)

    def describe(self, sobject: str, *, refresh: bool = False) -> dict[str, t.Any]:
        """``sobjects/X/describe``, once per adapter (fields the integration user can see, with FLS applied)."""
        if refresh or sobject not in self._describe:
            self._describe[sobject] = self.rest("GET", f"sobjects/{sobject}/describe")
        return self._describe[sobject]

    def fields(self, sobject: str, *, refresh: bool = False) -> dict[str, dict[str, t.Any]]:
        """Field name -> its describe entry."""
        return {f["name"]: f for f in self.describe(sobject, refresh=refresh).get("fields", [])}

    def user_id(self) -> str:
        """The integration user's id, as the login answered it.

        Raises:
            CRMError: the login answer named no user.
        """
        self.auth.token()
        if self.session.user_id is None:
            raise CRMError("Salesforce login answered without the user's identity; cannot tell which user to grant field access")
        return self.session.user_id

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"SalesforceClient(flow={self.settings.flow!r}, instance_url={self.auth.instance_url!r})"
