"""``webhook`` trigger actions: a JSON POST signed with HMAC-SHA256, retried with backoff.

What the receiver gets (also in docs/sync.md, "Webhooks", with code to verify it):

* the body: the firing as JSON, keys sorted, no spaces (the same bytes whenever this firing is
  sent): ``{"contact_id", "crm", "event": "trigger.fired", "fired_at", "key", "model", "trigger"}``;
* ``X-Connector-Timestamp``: the send time in Unix seconds;
* ``X-Connector-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the shared secret, of
  ``<timestamp>.<body>`` (the timestamp's digits, a dot, the body bytes) -- signing the time too
  lets the receiver refuse old requests replayed (5 minutes is the usual tolerance);
* ``Idempotency-Key``: the action's key, the same on every delivery of this firing.

Delivery is at least once, never twice knowingly: an action is marked ``running`` before its POST
and ``done`` after a 2xx, and a ``done`` action is never sent again. A run that dies between the
two sends it again on the next run with the same key and body, for the receiver to drop.

Within a run, a connection error, a timeout, 408, 429 or 5xx is retried with exponential backoff
(tenacity); after the last try the action stays pending for the next run, and is quarantined after
``batch.max_push_attempts`` runs. Other 4xx answers and a missing secret are not retried: the
action is quarantined with the reason. The secret comes from the environment (or ``.env``) under
the name ``webhooks.secret_env`` says; it is never logged, stored or put in an error.
"""

from __future__ import annotations

import dataclasses as dc
import hashlib
import hmac
import json
import os
import pathlib
import time
import typing as t
import urllib.error
import urllib.request

from dotenv import dotenv_values
from pydantic import SecretStr
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from connector.adapters.base import CRMError

if t.TYPE_CHECKING:
    from connector.sync.config import WebhookConfig

__all__ = ["KEY_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookSender", "encode_body", "sign", "verify", "webhook_sender"]

SIGNATURE_HEADER = "X-Connector-Signature"
TIMESTAMP_HEADER = "X-Connector-Timestamp"
KEY_HEADER = "Idempotency-Key"
_RETRY_STATUSES = frozenset({408, 429})


def encode_body(payload: t.Mapping[str, t.Any]) -> bytes:
    """The body bytes: JSON with sorted keys and no spaces, so every delivery of a firing is identical."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, timestamp: str, signature: str, body: bytes, *, now: float | None = None, tolerance_seconds: float = 300) -> bool:
    """What a receiver checks: the signature matches (constant-time) and the timestamp is recent."""
    try:
        when = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - when) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, when, body), signature)


class _Retryable(Exception):
    """A try that may succeed when repeated (connection error, timeout, 408/429/5xx)."""


@dc.dataclass
class WebhookSender:
    """Sends one webhook (implements :data:`connector.sync.actions.Webhook`); returns what was recorded."""

    secret: SecretStr | None
    secret_env: str
    timeout_seconds: float = 10.0
    attempts: int = 4
    backoff_seconds: float = 0.5
    clock: t.Callable[[], float] = time.time
    sleep: t.Callable[[float], None] = time.sleep

    def __call__(self, url: str, payload: t.Mapping[str, t.Any], key: str) -> str:
        """POST ``payload`` signed; ``"HTTP <status>"`` (and the tries it took) once a 2xx answers.

        Raises:
            CRMError: no secret, a refusal (4xx), or still failing after the tries (``retryable``).
        """
        if self.secret is None:
            raise CRMError(f"webhook not sent: no signing secret; set the environment variable {self.secret_env} (webhooks.secret_env)")
        body = encode_body(payload)
        tries = status = 0
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=30),
            retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    tries += 1
                    status = self._post(url, body, key)
        except _Retryable as exc:
            raise CRMError(f"webhook {url}: {exc} (after {tries} tries)", retryable=True) from None
        return f"HTTP {status}" + (f" after {tries} tries" if tries > 1 else "")

    def _post(self, url: str, body: bytes, key: str) -> int:
        assert self.secret is not None
        stamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "connector-webhook/1",
            KEY_HEADER: key,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(self.secret.get_secret_value(), stamp, body),
        }
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - an admin-configured URL
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:  # noqa: S310 - an admin-configured URL
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code in _RETRY_STATUSES:
                raise _Retryable(f"answered {exc.code}") from None
            raise CRMError(f"webhook {url} refused it: HTTP {exc.code}", status=exc.code, retryable=False) from None
        except (urllib.error.URLError, OSError) as exc:  # connection refused, DNS, timeout
            reason = getattr(exc, "reason", exc)
            raise _Retryable(f"not reachable: {reason}") from None


def webhook_sender(config: WebhookConfig, *, env_file: pathlib.Path | None = None, environ: t.Mapping[str, str] | None = None) -> WebhookSender:
    """A sender for a CRM's ``webhooks`` settings, its secret read from the environment or ``.env``."""
    env = os.environ if environ is None else environ
    value = env.get(config.secret_env)
    if not (value and value.strip()) and env_file is not None and env_file.is_file():
        value = dotenv_values(env_file).get(config.secret_env)
    secret = SecretStr(value.strip()) if value and value.strip() else None
    return WebhookSender(secret, config.secret_env, config.timeout_seconds, config.attempts, config.backoff_seconds)
