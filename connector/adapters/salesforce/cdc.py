"""Salesforce Change Data Capture through the Pub/Sub API: a resumable feed of Lead and Contact changes.

How (Pub/Sub API guide; the interface is Salesforce's ``pubsub_api.proto``, vendored in
:mod:`connector.vendor.salesforce_pubsub`):

- A TLS gRPC channel to ``api.pubsub.salesforce.com:7443`` (or the sandbox's
  ``SALESFORCE_PUBSUB_URL``); every call carries the metadata ``accesstoken``, ``instanceurl`` and
  ``tenantid`` (the org id) -- "Supported Authentication". ``UNAUTHENTICATED`` gets fresh
  credentials from the provider once, then retries with backoff.
- ``Subscribe`` is pull-based: the client asks for ``batch`` events and asks again for what it
  consumed when half the credit is used up. Credit is granted only as the caller consumes this
  generator, so a slow caller slows the server instead of filling memory ("Flow Control").
- Start: after a stored replay id (``CUSTOM``), or ``LATEST``. ``INVALID_ARGUMENT`` with trailer
  ``error-code: sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted`` ("Retry
  Long-Lived RPC Calls": an invalid replay id, e.g. older than the 72-hour retention) yields a
  :class:`ChangeGap` and resubscribes from ``LATEST``. Any other error (a dropped stream,
  ``UNAVAILABLE``) resubscribes after the last replay id delivered, with exponential backoff
  (1 s .. 60 s, reset after a successful response), so nothing is lost or repeated by a reconnect.
- Payloads are Avro, decoded with the schema fetched by id (:mod:`cdc_decode`); an event that does
  not decode yields a :class:`ChangeGap` (the incremental pull covers it) instead of stopping.
- Empty ``FetchResponse`` keepalives (within 270 s) carry ``latest_replay_id``: yielded as
  :class:`FeedPosition` so an idle feed still moves its checkpoint forward.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import queue
import threading
import typing as t

import grpc

from connector.adapters.changes import ChangeGap, ChangeItem, ChangeNotice, FeedPosition
from connector.adapters.salesforce.cdc_decode import SchemaCache, field_names
from connector.vendor.salesforce_pubsub import pb2, pb2_grpc

__all__ = ["DEFAULT_PUBSUB_TARGET", "PubSubAuth", "PubSubFeed", "own_writes", "pubsub_target"]

log = logging.getLogger(__name__)

DEFAULT_PUBSUB_TARGET = "api.pubsub.salesforce.com:7443"
REPLAY_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"


@dataclasses.dataclass(frozen=True)
class PubSubAuth:
    """The three values every Pub/Sub API call carries as metadata (``repr`` hides the token)."""

    access_token: str = dataclasses.field(repr=False)
    instance_url: str
    tenant_id: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The gRPC metadata, as the Pub/Sub API expects it."""
        return (("accesstoken", self.access_token), ("instanceurl", self.instance_url.rstrip("/")), ("tenantid", self.tenant_id))


def pubsub_target(url: str | None) -> str:
    """``host:port`` of a Pub/Sub endpoint given as ``host:port`` or ``https://host:port`` (default: Salesforce's)."""
    if not url:
        return DEFAULT_PUBSUB_TARGET
    target = url.strip().removeprefix("https://").removeprefix("grpcs://").rstrip("/")
    return target if ":" in target else f"{target}:443"


#: Fields every save moves, whoever made it.
_AUDIT_FIELDS = frozenset({"LastModifiedDate", "LastModifiedById", "SystemModstamp"})


def own_writes(written_fields: t.Collection[str]) -> t.Callable[[ChangeNotice], bool]:
    """A predicate telling an update that changed only fields the connector writes (its own write-back's echo).

    The Change Data Capture guide suggests ``changeOrigin`` for this, but it names the client only
    when the writer sets ``Sforce-Call-Options: client=...``; the changed fields need no such header.
    """
    ours = frozenset(written_fields)

    def is_echo(notice: ChangeNotice) -> bool:
        changed = set(notice.changed_fields) - _AUDIT_FIELDS
        return notice.change_type == "UPDATE" and bool(changed) and changed <= ours

    return is_echo


def _error_code(error: grpc.RpcError) -> str:
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    return next((str(value) for key, value in trailers or () if key == "error-code"), "")


class PubSubFeed:
    """A :class:`connector.adapters.changes.ChangeSource` over one Pub/Sub topic.

    Args:
        target: the gRPC endpoint ``host:port``.
        credentials: returns fresh :class:`PubSubAuth` (called at start and after ``UNAUTHENTICATED``).
        topic: ``/data/ChangeEvents`` (every selected entity), or ``/data/LeadChangeEvent``...
        ca_path: PEM file of the CAs to trust (default: the system's).
        batch: events requested at a time (flow control).
        max_backoff_s: the longest wait between reconnects.
    """

    def __init__(self, target: str, credentials: t.Callable[[], PubSubAuth], *, topic: str = "/data/ChangeEvents", ca_path: str | None = None,
                 batch: int = 100, max_backoff_s: float = 60.0) -> None:
        self.target = target
        self.topic = topic
        self.batch = max(2, batch)
        self.max_backoff_s = max_backoff_s
        self._credentials = credentials
        self._auth: PubSubAuth | None = None
        root = pathlib.Path(ca_path).read_bytes() if ca_path else None
        self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root))
        self._stub = pb2_grpc.PubSubStub(self._channel)
        self.schemas = SchemaCache(self._fetch_schema)
        self.reconnects = 0

    def close(self) -> None:
        """Close the channel (ends any subscription)."""
        self._channel.close()

    def _metadata(self, fresh: bool = False) -> tuple[tuple[str, str], ...]:
        if self._auth is None or fresh:
            self._auth = self._credentials()
        return self._auth.metadata()

    def _fetch_schema(self, schema_id: str) -> str:
        info = self._stub.GetSchema(pb2.SchemaRequest(schema_id=schema_id), metadata=self._metadata(), timeout=30)
        return str(info.schema_json)

    def topic_info(self) -> t.Any:
        """``GetTopic`` of the feed's topic (a cheap check of credentials and CDC selection)."""
        return self._stub.GetTopic(pb2.TopicRequest(topic_name=self.topic), metadata=self._metadata(), timeout=30)

    def changes(self, start: bytes | None, stop: threading.Event) -> t.Iterator[ChangeItem]:
        """Change items after ``start`` (``None``: from now on) until ``stop`` is set, reconnecting as the module docstring says."""
        position = start
        backoff = 1.0
        fresh_auth = False
        while not stop.is_set():
            try:
                for item in self._subscribe(position, stop, fresh_auth):
                    backoff = 1.0
                    fresh_auth = False
                    if item.position is not None:
                        position = item.position
                    yield item
                if stop.is_set():
                    return
                log.info("Pub/Sub stream of %s ended; resubscribing", self.topic)
            except grpc.RpcError as error:
                if stop.is_set():
                    return
                code = error.code() if isinstance(error, grpc.Call) else None
                if code == grpc.StatusCode.INVALID_ARGUMENT and _error_code(error) == REPLAY_CORRUPTED:
                    log.warning("stored replay id refused (%s); changes may have been missed: resubscribing from LATEST", _error_code(error))
                    position = None
                    yield ChangeGap("the stored replay id was refused (older than the 72-hour retention, or from another org)")
                    continue
                fresh_auth = code == grpc.StatusCode.UNAUTHENTICATED
                log.warning("Pub/Sub subscription of %s failed (%s: %s); resubscribing in %.0f s", self.topic, code, _error_code(error) or "-", backoff)
            self.reconnects += 1
            if stop.wait(backoff):
                return
            backoff = min(self.max_backoff_s, backoff * 2)

    def _subscribe(self, position: bytes | None, stop: threading.Event, fresh_auth: bool) -> t.Iterator[ChangeItem]:
        """One Subscribe call: yields its items; returns when the stream ends or ``stop`` is set."""
        requests: queue.Queue[t.Any] = queue.Queue()
        if position:
            requests.put(pb2.FetchRequest(topic_name=self.topic, replay_preset=pb2.CUSTOM, replay_id=position, num_requested=self.batch))
        else:
            requests.put(pb2.FetchRequest(topic_name=self.topic, replay_preset=pb2.LATEST, num_requested=self.batch))

        def feed() -> t.Iterator[t.Any]:
            while (request := requests.get()) is not None:
                yield request

        call = self._stub.Subscribe(feed(), metadata=self._metadata(fresh_auth))
        done = threading.Event()

        def cancel_on_stop() -> None:
            while not done.wait(0.2):
                if stop.is_set():
                    call.cancel()
                    return

        threading.Thread(target=cancel_on_stop, name="pubsub-stop-watch", daemon=True).start()
        outstanding = self.batch
        try:
            for response in call:
                for event in response.events:
                    outstanding -= 1
                    yield self._notice(event)
                if outstanding <= self.batch // 2:  # ask for what was consumed, keeping the stream busy
                    requests.put(pb2.FetchRequest(topic_name=self.topic, num_requested=self.batch - outstanding))
                    outstanding = self.batch
                if response.latest_replay_id and (not response.events or response.events[-1].replay_id != response.latest_replay_id):
                    yield FeedPosition(bytes(response.latest_replay_id))
        except grpc.RpcError as error:
            if not (stop.is_set() and isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.CANCELLED):
                raise
        finally:
            done.set()
            requests.put(None)
            call.cancel()

    def _notice(self, event: t.Any) -> ChangeItem:
        replay_id = bytes(event.replay_id)
        try:
            schema, body = self.schemas.decode(event.event.schema_id, bytes(event.event.payload))
            header = body["ChangeEventHeader"]
            return ChangeNotice(entity=str(header["entityName"]), record_ids=tuple(header["recordIds"]), change_type=str(header["changeType"]),
                                commit_ms=int(header["commitTimestamp"]), position=replay_id, changed_fields=field_names(schema, header.get("changedFields") or []))
        except (ValueError, KeyError, TypeError, EOFError, IndexError) as exc:
            log.warning("change event %s (schema %s) could not be decoded: %s", replay_id.hex(), event.event.schema_id, exc)
            return ChangeGap(f"change event {replay_id.hex()} could not be decoded ({type(exc).__name__})", replay_id)
