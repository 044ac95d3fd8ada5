"""Property-based tests of the parsers facing the outside: HubSpot webhook bodies and signatures, ``POST /events`` bodies.

Any input gets an answer of the parser's own kind (events and rejects, or a WebhookError / a
refusal with a fixed reason) -- never another exception; a signature made without the secret never
passes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import typing as t

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector.adapters.base import ChangeEvent, Reject, WebhookError
from connector.adapters.hubspot.webhooks import HubSpotWebhooks
from connector.server.body import Refused
from connector.server.events import EventIn, _parse

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)

odd = st.sampled_from(["", " ", "\u202e", "\U0001f600", "\x00", "١٢٣", "1e3", "-1", "NaN", "contact.creation", "contact.merge", "contact.propertyChange", "x" * 300])
text = odd | st.text(max_size=20)
scalar = st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats(allow_nan=False) | text
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=20)
field_value = scalar | st.lists(scalar, max_size=3) | st.integers(min_value=0, max_value=10**14)
hubspot_event = st.fixed_dictionaries(
    {},
    optional={
        "eventId": field_value,
        "subscriptionType": st.sampled_from(["contact.creation", "contact.propertyChange", "contact.merge", "contact.deletion", "contact.privacyDeletion", "deal.creation"]) | text,
        "objectId": field_value,
        "occurredAt": field_value,
        "propertyName": field_value,
        "mergedObjectIds": st.lists(field_value, max_size=4) | field_value,
        "primaryObjectId": field_value,
        "newObjectId": field_value,
    },
)


@FAST
@given(st.one_of(json_value, st.lists(hubspot_event, max_size=8)))
def test_webhook_parse_answers_events_rejects_or_a_webhook_error(body: t.Any) -> None:
    try:
        events, rejects = HubSpotWebhooks().parse(json.dumps(body).encode())
    except WebhookError as exc:
        assert exc.reason in ("malformed_json", "wrong_shape", "too_many_events")
        return
    assert all(isinstance(e, ChangeEvent) and e.contact_id.isdigit() and e.event_id.isdigit() for e in events)
    assert all(isinstance(r, Reject) and r.reason for r in rejects)
    assert len(events) + len(rejects) <= len(body)


@FAST
@given(st.binary(max_size=200))
def test_webhook_parse_of_any_bytes(raw: bytes) -> None:
    try:
        HubSpotWebhooks().parse(raw)
    except WebhookError:
        pass


@FAST
@given(
    body=st.binary(max_size=100),
    signature=st.none() | st.text(max_size=60),
    stamp=st.none() | st.text(max_size=20) | st.integers(min_value=NOW_MS - 10**7, max_value=NOW_MS + 10**7).map(str),
    uri=st.text(max_size=40),
)
@example(body=b"", signature="0", stamp="\u00b2", uri="")  # a Unicode digit that int() refuses (str.isdigit accepted it)
def test_a_signature_made_without_the_secret_never_passes(body: bytes, signature: str | None, stamp: str | None, uri: str) -> None:
    headers = {k: v for k, v in (("X-HubSpot-Signature-v3", signature), ("X-HubSpot-Request-Timestamp", stamp)) if v is not None}
    try:
        HubSpotWebhooks().verify("the-secret", "POST", uri, body, headers, NOW)
    except WebhookError as exc:
        assert exc.reason in ("unsigned", "bad_timestamp", "stale", "bad_signature")
    else:
        raise AssertionError("an unsigned or guessed signature passed")


@FAST
@given(body=st.binary(max_size=100), uri=st.text(max_size=40), skew=st.integers(min_value=-299_000, max_value=299_000))
def test_a_signature_made_with_the_secret_passes_within_five_minutes(body: bytes, uri: str, skew: int) -> None:
    stamp = str(NOW_MS + skew)
    message = b"POST" + uri.encode() + body + stamp.encode()
    signature = base64.b64encode(hmac.new(b"the-secret", message, hashlib.sha256).digest()).decode()
    if any(code in uri.upper() for code in ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")):
        return  # HubSpot decodes these before signing; a plain HMAC of the raw URI is not its signature
    HubSpotWebhooks().verify("the-secret", "POST", uri, body, {"x-hubspot-signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp}, NOW)


event_dict = st.fixed_dictionaries(
    {},
    optional={
        "id": text | scalar,
        "type": st.sampled_from(["page_view", "identify", "download", "Page View", ""]) | text,
        "occurred_at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "now"]) | scalar,
        "contact_id": text | scalar,
        "anonymous_id": text | scalar,
        "email": st.sampled_from(["a@example.com", "a@", "@", "a" * 400 + "@x.io"]) | scalar,
        "attributes": st.dictionaries(text, field_value, max_size=3) | scalar,
        "extra": scalar,
    },
)


@FAST
@given(st.one_of(json_value, event_dict, st.fixed_dictionaries({"events": st.lists(event_dict, max_size=5) | json_value})))
def test_events_parse_answers_events_or_a_refusal(body: t.Any) -> None:
    try:
        events = _parse(json.dumps(body).encode(), max_events=100)
    except Refused as exc:
        assert 400 <= exc.status < 500 and exc.reason and exc.message
        return
    assert events and all(isinstance(e, EventIn) for e in events)
    for e in events:
        assert e.occurred_at.tzinfo is not None and (e.contact_id or e.anonymous_id or e.email)
