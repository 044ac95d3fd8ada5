"""HubSpot webhooks: the v3 request signature and the contact events of a batch.

Signature (https://developers.hubspot.com/docs/api/webhooks/validating-requests, "Validate the v3
request signature", and the v3 changelog entry): ``X-HubSpot-Signature-v3`` is the base64 of an
HMAC SHA-256, keyed with the app's client secret, over the UTF-8 string ``method + URI + body +
timestamp``, where the timestamp is the ``X-HubSpot-Request-Timestamp`` header (epoch
milliseconds). A request whose timestamp is more than five minutes old is rejected; the comparison
is constant-time. The URI is the one HubSpot called (behind a proxy: the configured public URL),
with the URL-encoded characters HubSpot lists decoded (``%3A`` ``:``, ``%2F`` ``/``, ``%3F`` ``?``,
``%40`` ``@``, ``%21`` ``!``, ``%24`` ``$``, ``%27`` ``'``, ``%28`` ``(``, ``%29`` ``)``, ``%2A``
``*``, ``%2C`` ``,``, ``%3B`` ``;``).

Payload (https://developers.hubspot.com/docs/api/webhooks, "Webhook payloads"): a JSON array of up
to 100 events, each with ``eventId``, ``subscriptionId``, ``portalId``, ``occurredAt`` (epoch ms),
``subscriptionType``, ``attemptNumber``, ``objectId``, and per type ``propertyName`` /
``propertyValue`` (``contact.propertyChange``), ``mergedObjectIds`` / ``primaryObjectId`` /
``newObjectId`` (``contact.merge``). Only ``contact.*`` subscriptions are read; others are left
out (the connector scores contacts only).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import typing as t

from connector.adapters.base import ChangeEvent, ChangeKind, Reject, WebhookError

__all__ = ["ACTIVITY_PROPERTIES", "MAX_AGE", "MAX_EVENTS", "HubSpotWebhooks", "sign_v3"]

#: Oldest request accepted (HubSpot: "reject the request if the timestamp is older than 5 minutes").
MAX_AGE = dt.timedelta(minutes=5)
#: HubSpot sends at most 100 events per request; a larger array is not HubSpot's.
MAX_EVENTS = 100
#: Longest id or property name read from a payload (HubSpot's ids are 64-bit integers).
_MAX_TEXT = 256

_KINDS: dict[str, ChangeKind] = {
    "contact.creation": "created",
    "contact.propertyChange": "changed",
    "contact.restore": "created",
    "contact.associationChange": "changed",
    "contact.merge": "merged",
    "contact.deletion": "deleted",
    "contact.privacyDeletion": "privacy_deleted",
}

#: Contact properties HubSpot stamps when activity arrives: a change of one of them means new
#: activity to pull (web analytics, marketing e-mail, sales engagements, form conversions).
ACTIVITY_PROPERTIES = frozenset(
    {
        "hs_analytics_last_timestamp",
        "hs_analytics_last_visit_timestamp",
        "hs_analytics_num_page_views",
        "hs_email_last_open_date",
        "hs_email_last_click_date",
        "hs_email_last_engagement",
        "hs_last_sales_activity_timestamp",
        "hs_latest_meeting_activity",
        "notes_last_updated",
        "num_conversion_events",
        "recent_conversion_date",
    }
)

_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


def _decoded_uri(uri: str) -> str:
    for encoded, char in _DECODE.items():
        uri = uri.replace(encoded, char).replace(encoded.lower(), char)
    return uri


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot sends for this request."""
    message = method.upper().encode() + _decoded_uri(uri).encode("utf-8") + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()).decode()


def _header(headers: t.Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


class HubSpotWebhooks:
    """HubSpot's :class:`~connector.adapters.base.WebhookReceiver`: v3 signatures, contact events."""

    #: The app's client secret signs the requests (private apps have one too).
    secret_role = "client_secret"  # noqa: S105 - the name of a credential role, not a secret

    def verify(self, secret: str, method: str, uri: str, body: bytes, headers: t.Mapping[str, str], now: dt.datetime) -> None:
        """Raise :class:`WebhookError` unless the request carries a fresh, valid v3 signature."""
        signature = _header(headers, "X-HubSpot-Signature-v3")
        stamp = _header(headers, "X-HubSpot-Request-Timestamp")
        if not signature or not stamp:
            raise WebhookError("unsigned", "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header")
        if not stamp.isdecimal() or len(stamp) > 15:
            raise WebhookError("bad_timestamp", "X-HubSpot-Request-Timestamp is not epoch milliseconds")
        sent = dt.datetime.fromtimestamp(int(stamp) / 1000, tz=dt.UTC)
        if now - sent > MAX_AGE:
            raise WebhookError("stale", "the request is older than 5 minutes (replayed, or the clocks differ)")
        if sent - now > MAX_AGE:
            raise WebhookError("stale", "the request's timestamp is more than 5 minutes ahead")
        expected = sign_v3(secret, method, uri, body, stamp)
        if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
            raise WebhookError("bad_signature", "the signature does not match (wrong client secret, or the URI differs from the one HubSpot called)")

    def parse(self, body: bytes) -> tuple[list[ChangeEvent], list[Reject]]:
        """The contact events of a batch; an event that is not readable becomes a ``Reject``."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise WebhookError("malformed_json", f"the body is not JSON: {exc}") from None
        if not isinstance(data, list):
            raise WebhookError("wrong_shape", "a HubSpot webhook body is a JSON array of events")
        if len(data) > MAX_EVENTS:
            raise WebhookError("too_many_events", f"{len(data)} events in one request; HubSpot sends at most {MAX_EVENTS}")
        events: list[ChangeEvent] = []
        rejects: list[Reject] = []
        for i, raw in enumerate(data):
            try:
                event = _event(raw)
            except ValueError as exc:
                ident = raw.get("eventId") if isinstance(raw, dict) else None
                rejects.append(Reject("webhooks", str(ident)[:_MAX_TEXT] if ident is not None else None, f"event {i}: {exc}", raw if isinstance(raw, dict) else {"value": raw}))
                continue
            if event is not None:
                events.append(event)
        return events, rejects


def _id(raw: t.Mapping[str, t.Any], key: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"'{key}' must be an integer id, got {type(value).__name__}")
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 20:
        raise ValueError(f"'{key}' must be an integer id, got {text[:40]!r}")
    return text


def _event(raw: t.Any) -> ChangeEvent | None:
    """One event of the array; ``None`` for subscriptions of other objects."""
    if not isinstance(raw, dict):
        raise ValueError(f"an event is a JSON object, got {type(raw).__name__}")
    kind_name = raw.get("subscriptionType")
    if not isinstance(kind_name, str):
        raise ValueError("'subscriptionType' is missing or not text")
    if not kind_name.startswith("contact."):
        return None
    kind = _KINDS.get(kind_name)
    if kind is None:
        raise ValueError(f"unknown subscriptionType {kind_name[:60]!r}")
    event_id = _id(raw, "eventId")
    occurred = raw.get("occurredAt")
    if isinstance(occurred, bool) or not isinstance(occurred, int) or not 0 < occurred < 10**14:
        raise ValueError("'occurredAt' must be epoch milliseconds")
    contact = _id(raw, "objectId")
    merged: tuple[str, ...] = ()
    if kind == "merged":
        ids = raw.get("mergedObjectIds")
        if not isinstance(ids, list) or len(ids) > MAX_EVENTS:
            raise ValueError("'mergedObjectIds' must be a list of ids")
        winner = _id(raw, "newObjectId", required=False) or _id(raw, "primaryObjectId", required=False) or contact
        losers = {_id({"id": i}, "id") for i in ids} | {_id(raw, "primaryObjectId", required=False), contact}
        merged = tuple(sorted(i for i in losers if i is not None and i != winner))
        contact = winner
    prop = raw.get("propertyName")
    field = prop[:_MAX_TEXT] if isinstance(prop, str) else None
    assert event_id is not None and contact is not None
    occurred_at = dt.datetime.fromtimestamp(occurred / 1000, tz=dt.UTC)
    return ChangeEvent(event_id, kind, contact, occurred_at, merged_ids=merged, field=field, activity=field in ACTIVITY_PROPERTIES)
