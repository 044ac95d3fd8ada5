"""The tests' own reading of HubSpot's v3 signature (written apart from the adapter's and the sandbox's).

https://developers.hubspot.com/docs/api/webhooks/validating-requests: base64(HMAC-SHA256(secret,
method + uri + body + timestamp)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import typing as t


def signed(secret: str, uri: str, events: t.Any, *, at_ms: int | None = None, method: str = "POST") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    stamp = str(int(time.time() * 1000) if at_ms is None else at_ms)
    mac = hmac.new(secret.encode(), method.encode() + uri.encode() + body + stamp.encode(), hashlib.sha256).digest()
    return body, {"X-HubSpot-Signature-v3": base64.b64encode(mac).decode(), "X-HubSpot-Request-Timestamp": stamp, "Content-Type": "application/json"}


def contact_event(event_id: int, object_id: int | str, kind: str = "contact.propertyChange", occurred_ms: int | None = None, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 1,
        "portalId": 1234567,
        "appId": 99,
        "occurredAt": occurred_ms or int(time.time() * 1000),
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM_UI",
        **extra,
    }
