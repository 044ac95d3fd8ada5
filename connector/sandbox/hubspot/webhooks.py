"""The sandbox portal's webhooks: contact changes sent to a target URL as HubSpot sends them.

Read from HubSpot's documentation, independently of the connector's adapter:

* Payload (https://developers.hubspot.com/docs/api/webhooks, "Webhook payloads"): a JSON array of
  up to 100 events; each has ``eventId``, ``subscriptionId``, ``portalId``, ``appId``,
  ``occurredAt`` (epoch ms), ``subscriptionType``, ``attemptNumber`` (0 on the first try),
  ``objectId``, ``changeSource``, and for ``contact.propertyChange`` ``propertyName`` and
  ``propertyValue``.
* Signature ("Validating requests", v3): header ``X-HubSpot-Signature-v3`` = base64 of
  HMAC-SHA256 with the app's client secret over ``POST`` + the target URI + the body + the
  ``X-HubSpot-Request-Timestamp`` header (epoch ms of sending); ``X-HubSpot-Signature-Version: v3``.
* Delivery ("Retries"): a request answered with anything but 2xx, not answered within the timeout
  (HubSpot: 5 s), or refused at connection is retried -- HubSpot up to 10 times spread over 24
  hours; here on a compressed schedule (:data:`RETRY_DELAYS`, seconds) so tests and benchmarks see
  it happen. Each retry is signed anew and carries ``attemptNumber`` + 1. Several requests are in
  flight at once (HubSpot's ``maxConcurrentRequests``, default 10).

Which changes are sent: contact creation, deletion, property changes (only the properties listed
in ``properties`` when given, like a subscription per property), and the activity that stamps a
contact property (a page view ``hs_analytics_last_timestamp``, an e-mail open
``hs_email_last_open_date``, a logged engagement ``hs_last_sales_activity_timestamp``).
"""

from __future__ import annotations

import base64
import collections
import dataclasses as dc
import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
import typing as t

import requests

if t.TYPE_CHECKING:
    from connector.sandbox.hubspot.store import Store

__all__ = ["RETRY_DELAYS", "Delivery", "WebhookSender"]

#: Seconds before each retry (HubSpot spreads 10 retries over a day; compressed here).
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
MAX_EVENTS = 100


@dc.dataclass(frozen=True, slots=True)
class Delivery:
    """One request sent: when, how many events, which attempt, what came back (``None``: no answer)."""

    at: float
    events: int
    attempt: int
    status: int | None


@dc.dataclass(order=True)
class _Due:
    due: float
    seq: int
    attempt: int = dc.field(compare=False)
    events: list[dict[str, t.Any]] = dc.field(compare=False)


class WebhookSender:
    """Sends the store's contact changes to ``target_url``, signed, batched and retried.

    Args:
        store: the portal's store (the sender registers itself as a listener).
        target_url: where to POST (the exact URI that is signed).
        client_secret: the app's client secret.
        app_id: the app's id in the payload.
        properties: property changes to send (``None``: all).
        concurrency: requests in flight at once.
        timeout: seconds to wait for an answer.
        retry_delays: seconds before each retry; after the last one a batch is dropped (counted).
        linger: seconds a new batch waits for more events before it is sent.
        ca_bundle: CA certificate(s) to trust for an HTTPS target.
    """

    def __init__(
        self,
        store: Store,
        target_url: str,
        client_secret: str,
        *,
        app_id: int = 4242,
        properties: t.Collection[str] | None = None,
        concurrency: int = 4,
        timeout: float = 5.0,
        retry_delays: t.Sequence[float] = RETRY_DELAYS,
        linger: float = 0.02,
        ca_bundle: str | None = None,
    ) -> None:
        self.store = store
        self.target_url = target_url
        self._secret = client_secret.encode()
        self.app_id = app_id
        self.properties = set(properties) if properties is not None else None
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.linger = linger
        self.deliveries: list[Delivery] = []
        #: Events given up on after the last retry.
        self.dropped = 0
        self._fresh: collections.deque[dict[str, t.Any]] = collections.deque()
        self._retries: list[_Due] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._stopped = False
        self._inflight = 0
        self._session = requests.Session()
        self._session.trust_env = False  # REQUESTS_CA_BUNDLE would override ``verify``
        if ca_bundle is not None:
            self._session.verify = ca_bundle
        self._threads = [threading.Thread(target=self._loop, name=f"hubspot-webhooks-{i}", daemon=True) for i in range(concurrency)]

    # -- the store's side ----------------------------------------------------------------------

    def note(self, subscription: str, contact_id: str, prop: str | None) -> None:
        """Queue one event for a contact change (a store listener)."""
        if subscription == "contact.propertyChange" and self.properties is not None and prop not in self.properties:
            return
        event: dict[str, t.Any] = {
            "eventId": next(self._ids),
            "subscriptionId": 1 if subscription == "contact.creation" else 2 if subscription == "contact.deletion" else 3,
            "portalId": self.store.portal_id,
            "appId": self.app_id,
            "occurredAt": self.store.clock.now_ms(),
            "subscriptionType": subscription,
            "attemptNumber": 0,
            "objectId": int(contact_id),
            "changeSource": "CRM",
        }
        if prop is not None:
            record = self.store.get("contacts", contact_id)
            event["propertyName"] = prop
            event["propertyValue"] = str((record.properties.get(prop) if record else None) or "")
        with self._cond:
            self._fresh.append(event)
            self._cond.notify()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> WebhookSender:
        """Listen to the store and start sending."""
        self.store.listeners.append(self.note)
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and sending (what is queued is dropped)."""
        if self.note in self.store.listeners:
            self.store.listeners.remove(self.note)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(self.timeout + 1)
        self._session.close()

    def pending(self) -> int:
        """Events queued, waiting for a retry, or in flight."""
        with self._cond:
            return len(self._fresh) + sum(len(d.events) for d in self._retries) + self._inflight

    # -- sending -------------------------------------------------------------------------------

    def _next(self) -> tuple[int, list[dict[str, t.Any]]] | None:
        """The next batch to send (a due retry first, else up to 100 fresh events); ``None`` when stopped."""
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                if self._retries and self._retries[0].due <= now:
                    due = heapq.heappop(self._retries)
                    self._inflight += len(due.events)
                    return due.attempt, due.events
                if self._fresh:
                    if len(self._fresh) < MAX_EVENTS and self.linger > 0:
                        self._cond.wait(self.linger)
                    batch = [self._fresh.popleft() for _ in range(min(MAX_EVENTS, len(self._fresh)))]
                    if batch:
                        self._inflight += len(batch)
                        return 0, batch
                    continue
                wait = self._retries[0].due - now if self._retries else None
                self._cond.wait(wait)
            return None

    def _loop(self) -> None:
        while (item := self._next()) is not None:
            attempt, events = item
            status = self._send(attempt, events)
            with self._cond:
                self._inflight -= len(events)
                self.deliveries.append(Delivery(time.time(), len(events), attempt, status))
                if status is None or not 200 <= status < 300:
                    if attempt < len(self.retry_delays):
                        heapq.heappush(self._retries, _Due(time.monotonic() + self.retry_delays[attempt], next(self._seq), attempt + 1, events))
                        self._cond.notify()
                    else:
                        self.dropped += len(events)

    def _send(self, attempt: int, events: list[dict[str, t.Any]]) -> int | None:
        body = json.dumps([{**e, "attemptNumber": attempt} for e in events], separators=(",", ":")).encode()
        stamp = str(int(time.time() * 1000))
        digest = hmac.new(self._secret, b"POST" + self.target_url.encode() + body + stamp.encode(), hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
            "X-HubSpot-Signature-Version": "v3",
            "X-HubSpot-Request-Timestamp": stamp,
        }
        try:
            answer = self._session.post(self.target_url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException:
            return None
        return answer.status_code
