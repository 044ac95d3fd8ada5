"""Where the access token of every Salesforce request comes from, and how it is renewed.

simple-salesforce logs in only for the flows it knows, renews a session only when it opened it
itself, and never for its Bulk API 2.0 calls (its ``SFBulk2Handler`` keeps the token it was built
with). So the adapter logs in itself, through simple-salesforce's ``SalesforceLogin`` (JWT bearer,
client credentials, SOAP username/password/token) or one ``refresh_token`` grant, and
hands simple-salesforce a ``session_id``; the transport (:mod:`.transport`) sets the current token
on every request and renews it here after a 401 ``INVALID_SESSION_ID``, for REST and Bulk alike.

OAuth endpoints: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm
(token answers ``{access_token, instance_url, id, token_type, issued_at, signature}``).
The token lives only here, as ``SecretStr``, and in the ``Authorization`` header.
"""

from __future__ import annotations

import threading
import typing as t

import requests
from pydantic import SecretStr
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from connector.adapters.base import CRMError
from connector.adapters.salesforce.settings import SalesforceSettings, default_hint

__all__ = ["SessionSource"]


class SessionSource:
    """Logs in with the configured flow; hands out the current token; renews it on demand.

    Args:
        settings: the org and its credentials.
        session: the HTTP session the login calls go through (the transport, which sends them
            ungated and without a bearer token).
    """

    def __init__(self, settings: SalesforceSettings, session: requests.Session) -> None:
        self.settings = settings
        self._session = session
        self._token: SecretStr | None = None
        self.instance_url: str | None = settings.instance_url
        self._lock = threading.Lock()
        self.logins = 0

    def token(self) -> str:
        """The access token to send now (logs in the first time)."""
        with self._lock:
            if self._token is None:
                self._login()
            assert self._token is not None
            return self._token.get_secret_value()

    def renew(self, stale: str | None = None) -> None:
        """Log in again after a 401 ``INVALID_SESSION_ID`` (unless another thread already did)."""
        with self._lock:
            if self._token is None or stale is None or self._token.get_secret_value() == stale:
                self._login()

    def _login(self) -> None:
        s = self.settings
        try:
            if s.flow == "refresh_token":
                token, instance = self._refresh()
            else:
                token, instance = SalesforceLogin(**self._login_arguments())
        except SalesforceAuthenticationFailed as exc:
            # simple-salesforce's message is Salesforce's error code and description, never our secret.
            raise CRMError(f"Salesforce login ({s.flow}) refused: {exc.code}: {exc.message}. {self._hint()}", status=401) from None
        except requests.RequestException as exc:
            raise CRMError(f"Salesforce login ({s.flow}) failed: {type(exc).__name__} reaching https://{s.domain}.salesforce.com", retryable=True) from None
        except CRMError as exc:
            raise CRMError(f"Salesforce login ({s.flow}) failed: {exc}. {self._hint()}", status=exc.status, retryable=exc.retryable) from None
        self._token = SecretStr(token)
        if self.instance_url is None:
            self.instance_url = instance if instance.startswith("https://") else f"https://{instance}"
        self.logins += 1

    def _login_arguments(self) -> dict[str, t.Any]:
        s = self.settings
        common: dict[str, t.Any] = {"session": self._session, "domain": s.domain, "sf_version": s.api_version}
        if s.flow == "jwt":
            return {**common, "username": s.username, "consumer_key": s.client_id, "privatekey_file": str(s.jwt_key_file)}
        if s.flow == "client_credentials":
            return {**common, "consumer_key": s.client_id, "consumer_secret": _plain(s.client_secret)}
        return {**common, "username": s.username, "password": _plain(s.password), "security_token": _plain(s.security_token) or ""}

    def _refresh(self) -> tuple[str, str]:
        s = self.settings
        form = {"grant_type": "refresh_token", "client_id": s.client_id or "", "refresh_token": _plain(s.refresh_token) or ""}
        if s.client_secret is not None:
            form["client_secret"] = s.client_secret.get_secret_value()
        answer = self._session.post(f"https://{s.domain}.salesforce.com/services/oauth2/token", data=form)
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            code = body.get("error", answer.status_code) if isinstance(body, dict) else answer.status_code
            why = body.get("error_description", "") if isinstance(body, dict) else ""
            raise CRMError(f"{code}: {why}", status=answer.status_code)
        return str(body["access_token"]), str(body.get("instance_url") or "")

    def _hint(self) -> str:
        """The variables to check, as the configuration names them (``credentials_hint``); never a value."""
        s = self.settings
        if s.credentials_hint:
            return s.credentials_hint
        present = {role for role in ("client_secret", "security_token") if getattr(s, role) is not None}
        return default_hint(s.flow, present)

    def __repr__(self) -> str:
        return f"SessionSource(flow={self.settings.flow!r}, domain={self.settings.domain!r}, token=**********)"


def _plain(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
