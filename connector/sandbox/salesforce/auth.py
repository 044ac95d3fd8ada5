"""Sessions and logins: the OAuth 2.0 token endpoint, the SOAP ``login()`` call and ``INVALID_SESSION_ID``.

Flows served on ``POST /services/oauth2/token`` (form-encoded; "OAuth Authorization Flows" in the
Salesforce Help, https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm):

- ``client_credentials``: the connected app's key and secret (form fields or HTTP Basic, as
  simple-salesforce sends them); runs as the app's "run as" user (the integration user).
- ``urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 JWT signed with the private key of the
  certificate uploaded to the connected app (RFC 7523): ``iss`` = consumer key, ``sub`` = username,
  ``aud`` = the login host, ``exp`` in the future (simple-salesforce sends it as a string; accepted).
- ``refresh_token``: a refresh token issued to the app earlier (as the web-server flow would).
- ``password``: username + password + security token, for developer orgs.

Answers: ``{"access_token", "instance_url", "id", "token_type": "Bearer", "issued_at", "signature"}``
(``signature`` = base64 HMAC-SHA256 of ``id + issued_at`` keyed with the client secret); errors
``{"error", "error_description"}`` with 400. The SOAP partner ``login()`` (what simple-salesforce uses
for username/password/security token) answers a ``loginResponse`` with ``sessionId`` and ``serverUrl``,
or a ``LoginFault`` with ``INVALID_LOGIN``. A session dies after ``ttl_s`` of inactivity on the org
clock (Salesforce's session timeout, 2 hours by default) or when expired through the admin API; the
REST API then answers 401 ``[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import html
import secrets
import threading
import time
import typing as t
import xml.etree.ElementTree as ET

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce.errors import ApiError, OAuthError

__all__ = ["ConnectedApp", "Login", "Sessions", "soap_fault", "soap_login_response"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


@dataclasses.dataclass(frozen=True)
class ConnectedApp:
    """The connected app the sandbox trusts: key, secret, JWT certificate (public key PEM), a refresh token."""

    client_id: str
    client_secret: str
    jwt_public_key_pem: bytes
    refresh_token: str


@dataclasses.dataclass(frozen=True)
class Login:
    """A user's password login: username, password and security token."""

    username: str
    password: str
    security_token: str


@dataclasses.dataclass
class _Session:
    user_id: str
    last_used_ms: int


class Sessions:
    """Access tokens of one org, each bound to a user, expiring after inactivity on the org clock."""

    def __init__(self, clock: SandboxClock, org_id: str, ttl_s: float = 7200.0) -> None:
        self.clock = clock
        self.org_id = org_id
        self.ttl_ms = int(ttl_s * 1000)
        self._lock = threading.Lock()
        self._live: dict[str, _Session] = {}

    def issue(self, user_id: str) -> str:
        """A new access token for user_id (shaped like Salesforce's: ``00D...!AQ...``)."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(60)}"
        with self._lock:
            self._live[token] = _Session(user_id, self.clock.now_ms())
        return token

    def authenticate(self, header: str) -> tuple[str, str]:
        """(token, user id) of a live ``Authorization: Bearer`` (or ``OAuth``) header; 401 otherwise."""
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "oauth") or not token:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid", headers={"WWW-Authenticate": "Token"})
        now = self.clock.now_ms()
        with self._lock:
            session = self._live.get(token)
            if session is None or now - session.last_used_ms > self.ttl_ms:
                self._live.pop(token, None)
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid", headers={"WWW-Authenticate": "Token"})
            session.last_used_ms = max(session.last_used_ms, now)
            return token, session.user_id

    def expire(self, token: str | None = None) -> int:
        """End one session (or all of them); returns how many ended."""
        with self._lock:
            if token is None:
                count = len(self._live)
                self._live.clear()
                return count
            return 1 if self._live.pop(token, None) is not None else 0

    def revoke(self, token: str) -> bool:
        """``/services/oauth2/revoke``: end a session; whether it existed."""
        return self.expire(token) == 1

    @property
    def live_count(self) -> int:
        """Sessions not yet expired or revoked (expiry by inactivity is noticed on use)."""
        with self._lock:
            return len(self._live)


def _client_from_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return key, secret


class TokenEndpoint:
    """The grants of ``/services/oauth2/token`` for one connected app and one org's users."""

    def __init__(self, app: ConnectedApp, sessions: Sessions, users: t.Callable[[str], str | None], logins: t.Callable[[str], Login | None],
                 run_as: t.Callable[[], str], base_url: t.Callable[[], str]) -> None:
        self.app = app
        self.sessions = sessions
        self.user_by_username = users
        self.login_of = logins
        self.run_as = run_as
        self.base_url = base_url

    def grant(self, form: dict[str, str], authorization: str) -> dict[str, str]:
        """The token answer for a form-encoded request; raises ``OAuthError``."""
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            user_id = self._client_credentials(form, authorization)
        elif grant_type == JWT_GRANT:
            user_id = self._jwt(form.get("assertion", ""))
        elif grant_type == "refresh_token":
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=False)
            if not hmac.compare_digest(form.get("refresh_token", ""), self.app.refresh_token):
                raise OAuthError("invalid_grant", "expired access/refresh token")
            user_id = self.run_as()
        elif grant_type == "password":
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=True)
            user_id = self._password(form.get("username", ""), form.get("password", ""))
        elif not grant_type:
            raise OAuthError("invalid_request", "grant type not supported" if form else "must use HTTP POST with a form-encoded body")
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self.answer(user_id)

    def answer(self, user_id: str) -> dict[str, str]:
        """``{access_token, instance_url, id, token_type, issued_at, signature}`` for a new session."""
        base = self.base_url()
        identity = f"{base}/id/{self.sessions.org_id}/{user_id}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(self.app.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        return {"access_token": self.sessions.issue(user_id), "instance_url": base, "id": identity, "token_type": "Bearer",
                "issued_at": issued_at, "signature": base64.b64encode(digest).decode(), "scope": "api"}

    def _check_client(self, client_id: str | None, secret: str | None, secret_required: bool) -> None:
        if not client_id or not hmac.compare_digest(client_id, self.app.client_id):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (secret_required or secret) and not hmac.compare_digest(secret or "", self.app.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _client_credentials(self, form: dict[str, str], authorization: str) -> str:
        basic = _client_from_basic(authorization)
        client_id, secret = basic if basic is not None else (form.get("client_id"), form.get("client_secret"))
        self._check_client(client_id, secret, secret_required=True)
        return self.run_as()

    def _password(self, username: str, password: str) -> str:
        login = self.login_of(username)
        if login is None or not hmac.compare_digest(password, login.password + login.security_token):
            raise OAuthError("invalid_grant", "authentication failure")
        user_id = self.user_by_username(username)
        if user_id is None:
            raise OAuthError("invalid_grant", "authentication failure")
        return user_id

    def _jwt(self, assertion: str) -> str:
        import jwt  # PyJWT, with cryptography for RS256

        try:
            claims = jwt.decode(assertion, self.app.jwt_public_key_pem, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if not hmac.compare_digest(str(claims.get("iss", "")), self.app.client_id):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        audience = str(claims.get("aud", ""))
        if audience not in LOGIN_AUDIENCES and not audience.startswith(self.base_url()):
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            expires = float(claims.get("exp", ""))
        except (TypeError, ValueError) as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if expires < time.time() - 5:  # JWT expiry is wall-clock time, like the client that signed it
            raise OAuthError("invalid_grant", "expired authorization code")
        user_id = self.user_by_username(str(claims.get("sub", "")))
        if user_id is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return user_id


# ---- SOAP login ---------------------------------------------------------------------------------------
def parse_soap_login(body: bytes) -> tuple[str, str]:
    """(username, password+token) from a partner API ``login`` envelope; ``ValueError`` when absent."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - local test traffic; expat bounds entity expansion and fetches no external entity
    except ET.ParseError as exc:
        raise ValueError(f"the login request is not well-formed XML: {exc}") from exc
    found: dict[str, str] = {}
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        if local in ("username", "password"):
            found[local] = element.text or ""
    if "username" not in found:
        raise ValueError("the login request has no username")
    return found["username"], found.get("password", "")


def soap_login_response(base_url: str, version: str, org_id: str, user_id: str, session_id: str, username: str) -> bytes:
    """A partner API ``loginResponse`` envelope (what simple-salesforce reads ``sessionId``/``serverUrl`` from)."""
    server = f"{base_url}/services/Soap/u/{version}/{org_id[:15]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{base_url}/services/Soap/m/{version}/{org_id[:15]}</metadataServerUrl><passwordExpired>false</passwordExpired>"
        f"<sandbox>false</sandbox><serverUrl>{server}</serverUrl><sessionId>{html.escape(session_id)}</sessionId><userId>{user_id}</userId>"
        f"<userInfo><organizationId>{org_id}</organizationId><userEmail>{html.escape(username)}</userEmail><userId>{user_id}</userId>"
        f"<userName>{html.escape(username)}</userName></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def soap_fault(code: str, message: str) -> bytes:
    """A partner API ``LoginFault`` envelope (answered with HTTP 500, as SOAP faults are)."""
    text = html.escape(message)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {text}</faultstring><detail><sf:LoginFault xsi:type=\"sf:LoginFault\">"
        f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{text}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()
