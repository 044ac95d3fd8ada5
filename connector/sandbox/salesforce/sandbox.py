"""``SalesforceSandbox``: an org served over HTTPS on a free 127.0.0.1 port, for tests, benchmarks and the CLI.

with SalesforceSandbox(seed="empty") as sb:
    sb.instance_url, sb.ca_path, sb.env(), sb.new_session(), sb.org, sb.clock.advance(days=1), sb.requests

``pubsub_port`` (None: off) also serves the Pub/Sub API with the org's change events (:mod:`pubsub`).

TLS comes from a CA generated at start (:mod:`connector.sandbox.tls`); the CA file, and the private
key whose certificate the connected app trusts for the JWT bearer flow, live in a private temp
directory removed by :meth:`stop` (or in ``work_dir`` when given, which is kept).
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import ssl
import tempfile
import typing as t

from connector.sandbox.clock import SandboxClock
from connector.sandbox.http import HttpServer
from connector.sandbox.salesforce.app import SalesforceApp
from connector.sandbox.salesforce.auth import ConnectedApp, Login
from connector.sandbox.salesforce.faults import ALL_KINDS, SalesforceFaultPlan
from connector.sandbox.salesforce.org import Org
from connector.sandbox.salesforce.pubsub import PubSubServer
from connector.sandbox.salesforce.seed import INTEGRATION_USERNAME
from connector.sandbox.serving import Served
from connector.sandbox.tls import TestAuthority

__all__ = ["API_VERSION", "SalesforceSandbox"]

API_VERSION = "59.0"


def _rsa_key_pair() -> tuple[bytes, bytes]:
    """(private key PEM, public key PEM) of a new RSA-2048 key, the connected app's JWT certificate key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


class SalesforceSandbox(Served):
    """A running (after :meth:`start` or ``with``) Salesforce sandbox org (lifecycle from :class:`connector.sandbox.serving.Served`)."""

    app: SalesforceApp

    def __init__(
        self,
        *,
        seed: str = "empty",
        seed_leads: int = 5000,
        seed_contacts: int = 2000,
        random_seed: int = 42,
        port: int = 0,
        daily_limit: int = 100_000,
        session_ttl_s: float = 7200.0,
        faults: float = 0.0,
        fault_seed: int = 0,
        fault_kinds: t.Sequence[str] = ALL_KINDS,
        fault_writes: str = "skip",
        slow_seconds: float = 1.0,
        long_request_limit: int = 25,
        long_request_seconds: float = 20.0,
        bulk_delay_s: float = 0.2,
        clock: SandboxClock | None = None,
        work_dir: str | os.PathLike[str] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        password: str | None = None,
        security_token: str | None = None,
        pubsub_port: int | None = None,
        pubsub_keepalive_s: float = 270.0,
    ) -> None:
        self.clock = clock or SandboxClock()
        self._own_dir = work_dir is None
        self.work_dir = pathlib.Path(work_dir or tempfile.mkdtemp(prefix="sf-sandbox-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.tls = TestAuthority(self.work_dir / "ca.pem", organization="connector Salesforce sandbox CA")
        private_pem, public_pem = _rsa_key_pair()
        self.jwt_key_path = str(self.work_dir / "jwt-private-key.pem")
        pathlib.Path(self.jwt_key_path).write_bytes(private_pem)
        os.chmod(self.jwt_key_path, 0o600)
        self.connected_app = ConnectedApp(client_id or f"3MVG9sandbox{secrets.token_hex(20)}", client_secret or secrets.token_hex(32).upper(), public_pem,
                                          f"5Aep861sandbox{secrets.token_urlsafe(40)}")
        self.login = Login(INTEGRATION_USERNAME, password or f"Sandbox-{secrets.token_hex(8)}", security_token or secrets.token_hex(12))
        self.org = Org(self.clock)
        plan = SalesforceFaultPlan(rate=faults, seed=fault_seed, kinds=tuple(fault_kinds), writes=fault_writes, slow_seconds=slow_seconds)
        self.app = SalesforceApp(self.org, self.connected_app, {self.login.username.lower(): self.login}, daily_limit=daily_limit,
                                 session_ttl_s=session_ttl_s, faults=plan, long_request_limit=long_request_limit,
                                 long_request_seconds=long_request_seconds, bulk_delay_s=bulk_delay_s)
        self.app.reseed(seed, leads=seed_leads, contacts=seed_contacts, random_seed=random_seed)
        self.request_log = self.app.log
        self._port = port
        self._pubsub_port = pubsub_port
        self._pubsub_keepalive_s = pubsub_keepalive_s
        self.pubsub: PubSubServer | None = None

    # ---- lifecycle (start/stop/with from Served) ------------------------------------------------------
    def _tls(self) -> ssl.SSLContext:
        return self.tls.server_context()

    def _bound(self, server: HttpServer) -> None:
        self.app.base_url = server.base_url  # token answers and SOAP login name the instance URL
        if self._pubsub_port is not None and self.pubsub is None:  # the Pub/Sub API (gRPC, same CA), see pubsub.py
            self.pubsub = PubSubServer(self.app, self.tls, self._pubsub_port, self._pubsub_keepalive_s)
            self.pubsub.start()

    def _stopped(self) -> None:
        """End the Bulk worker and the Pub/Sub server, and remove the private temp directory (CA file, JWT key)."""
        self.app.bulk.stop()
        if self.pubsub is not None:
            self.pubsub.stop()
            self.pubsub = None
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def reset(self, seed: str = "empty", **counts: int) -> dict[str, int]:
        """Back to a fresh org: reseeded, no sessions, faults off, daily usage 0, no Bulk jobs, empty request log.

        Lets a test module share one started sandbox (TLS and key generation cost ~0.5 s) across tests.
        """
        self.app.sessions.expire()
        self.app.faults.configure(SalesforceFaultPlan())
        self.app.daily.set_usage(0)
        self.app.bulk.jobs.clear()
        self.app.log.clear()
        return self.app.reseed(seed, leads=counts.get("leads", 5000), contacts=counts.get("contacts", 2000), random_seed=counts.get("random_seed", 42))

    # ---- what tests use ----------------------------------------------------------------------------------
    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:<port>``, the value of ``SALESFORCE_INSTANCE_URL``."""
        return self.url

    @property
    def ca_path(self) -> str:
        """The CA certificate (PEM) a client must trust."""
        return self.tls.ca_path

    @property
    def domain(self) -> str:
        """simple-salesforce's ``domain`` for its own logins: ``127.0.0.1:<port>/login`` (it builds ``https://{domain}.salesforce.com``)."""
        return self.instance_url.removeprefix("https://") + "/login"

    @property
    def integration_user_id(self) -> str:
        """The integration user's id."""
        return self.org.integration_user_id

    def new_session(self, user_id: str | None = None) -> str:
        """A fresh access token (default: the integration user's), as a login would give."""
        return self.app.sessions.issue(user_id or self.org.integration_user_id)

    def expire_sessions(self, token: str | None = None) -> int:
        """End one session or all; the next API call with it gets 401 ``INVALID_SESSION_ID``."""
        return self.app.sessions.expire(token)

    def set_faults(self, rate: float, seed: int = 0, kinds: t.Sequence[str] = ALL_KINDS, writes: str = "skip", slow_seconds: float = 1.0) -> None:
        """Change fault injection while running."""
        self.app.faults.configure(SalesforceFaultPlan(rate=rate, seed=seed, kinds=tuple(kinds), writes=writes, slow_seconds=slow_seconds))

    def insert(self, sobject: str, rows: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
        """Insert records as the operator (read-only fields allowed); returns their ids. Raises ``ValueError`` on a refused row."""
        from connector.sandbox.salesforce.errors import ApiError, RecordError

        obj = self.org.obj(sobject)
        if obj is None:
            raise ValueError(f"no sObject type {sobject}")
        ids = []
        with self.org.lock:
            for i, row in enumerate(rows):
                try:
                    values, errors = self.app.writer.values_from_json(obj, dict(row), None, creating=True)
                    if errors:
                        raise errors[0]
                    ids.append(self.app.writer.create(obj, values, None)["Id"])
                except (RecordError, ApiError) as exc:
                    raise ValueError(f"{sobject} row {i}: {exc}") from exc
        return ids

    def update(self, sobject: str, record_id: str, fields: t.Mapping[str, t.Any]) -> None:
        """Change a record as a user in Salesforce would (stamps ``SystemModstamp`` from the clock)."""
        obj = self.org.obj(sobject)
        if obj is None:
            raise ValueError(f"no sObject type {sobject}")
        with self.org.lock:
            record = self.org.table(obj).get(record_id)
            if record is None:
                raise ValueError(f"no {sobject} {record_id}")
            values, errors = self.app.writer.values_from_json(obj, dict(fields), None, creating=False)
            if errors:
                raise ValueError(f"{sobject} {record_id}: {errors[0].message}")
            self.app.writer.update(obj, record, values, None)

    def get(self, sobject: str, record_id: str) -> dict[str, t.Any] | None:
        """A copy of the stored record (every field, FLS ignored), or None."""
        obj = self.org.obj(sobject)
        with self.org.lock:
            record = self.org.table(obj).get(record_id) if obj is not None else None
            return dict(record) if record is not None else None

    def env(self) -> dict[str, str]:
        """The settings a connector needs, as environment variables (see docs/sandbox.md)."""
        base = self.instance_url
        return {
            "SALESFORCE_INSTANCE_URL": base,
            "SALESFORCE_LOGIN_URL": base,
            "SALESFORCE_DOMAIN": self.domain,
            "SALESFORCE_API_VERSION": API_VERSION,
            "SALESFORCE_CLIENT_ID": self.connected_app.client_id,
            "SALESFORCE_CLIENT_SECRET": self.connected_app.client_secret,
            "SALESFORCE_USERNAME": self.login.username,
            "SALESFORCE_PASSWORD": self.login.password,
            "SALESFORCE_SECURITY_TOKEN": self.login.security_token,
            "SALESFORCE_JWT_KEY_FILE": self.jwt_key_path,
            "SALESFORCE_REFRESH_TOKEN": self.connected_app.refresh_token,
            "SALESFORCE_CA_BUNDLE": self.ca_path,
        } | ({"SALESFORCE_PUBSUB_URL": self.pubsub.target} if self.pubsub is not None else {})
