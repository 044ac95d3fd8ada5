"""The org's Pub/Sub API: a gRPC server (``eventbus.v1.PubSub``) serving its change events, over TLS.

The interface is Salesforce's published ``pubsub_api.proto`` (vendored in
:mod:`connector.vendor.salesforce_pubsub`); the behaviour follows the Pub/Sub API guide:

- Auth: every call carries the metadata ``accesstoken`` (a session of this org), ``instanceurl``
  (the org's URL) and ``tenantid`` (the org id) -- "Supported Authentication". A bad or expired
  session, or a URL / org id of another org: ``UNAUTHENTICATED`` with the trailer ``error-code:
  sfdc.platform.eventbus.grpc.service.auth.error`` ("Handle Errors"). The session is checked when a
  call starts; an open subscription is not cut when the session later expires.
- Topics: ``/data/LeadChangeEvent``, ``/data/ContactChangeEvent`` and the standard channel
  ``/data/ChangeEvents`` (both). ``GetTopic`` answers ``can_publish`` false (change events are
  published by Salesforce only) and the current schema id of a single-entity channel (empty for
  ``/data/ChangeEvents``, which carries several schemas). Another topic name: ``NOT_FOUND`` with
  ``error-code: sfdc.platform.eventbus.grpc.subscription.topic.not.found`` (sandbox choice: the guide
  lists topic errors without naming this one).
- ``GetSchema``: the Avro schema JSON of any schema id an event carried; unknown id ``NOT_FOUND``.
- ``Subscribe``: pull-based flow control. The first ``FetchRequest`` names the topic, the replay
  start (``LATEST`` default, ``EARLIEST``, ``CUSTOM`` + ``replay_id``) and ``num_requested``; later
  requests add to the credit (a different ``topic_name`` there: ``INVALID_ARGUMENT``). The server
  never sends more events than requested, in batches of at most 100; with nothing to deliver it
  sends an empty ``FetchResponse`` with ``latest_replay_id`` every ``keepalive_s`` (Salesforce:
  within 270 s), also when the credit is used up. A refused replay id: see :mod:`cdc_bus`.
- ``Publish``/``PublishStream``/``ManagedSubscribe``: ``UNIMPLEMENTED`` (not needed for CDC).
"""

from __future__ import annotations

import concurrent.futures
import threading
import typing as t
import uuid

import grpc

from connector.sandbox.salesforce.cdc_bus import BusEvent, ChangeBus, ReplayRefused
from connector.sandbox.salesforce.errors import ApiError
from connector.vendor.salesforce_pubsub import pb2, pb2_grpc

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp
    from connector.sandbox.tls import TestAuthority

__all__ = ["TOPICS", "PubSubServer"]

TOPICS: dict[str, frozenset[str]] = {
    "/data/LeadChangeEvent": frozenset({"Lead"}),
    "/data/ContactChangeEvent": frozenset({"Contact"}),
    "/data/ChangeEvents": frozenset({"Lead", "Contact"}),
}
_BATCH = 100
_PRESETS = {pb2.LATEST: "LATEST", pb2.EARLIEST: "EARLIEST", pb2.CUSTOM: "CUSTOM"}


def _abort(context: grpc.ServicerContext, status: grpc.StatusCode, error_code: str, message: str) -> t.NoReturn:
    rpc_id = str(uuid.uuid4())
    context.set_trailing_metadata((("error-code", error_code), ("rpc-id", rpc_id)))
    context.abort(status, f"{message} rpcId: {rpc_id}")
    raise AssertionError("unreachable")  # context.abort raises


class _Credit:
    """Events the subscriber asked for and has not received yet; fed by a thread reading its FetchRequests."""

    def __init__(self, initial: int) -> None:
        self.value = max(0, initial)
        self.closed = False
        self.error: str | None = None
        self.cond = threading.Condition()

    def read(self, requests: t.Iterator[t.Any], topic: str) -> None:
        try:
            for request in requests:
                with self.cond:
                    if request.topic_name and request.topic_name != topic:
                        self.error = f"topic_name {request.topic_name} differs from the subscription's topic {topic}"
                    self.value += max(0, request.num_requested)
                    self.cond.notify_all()
        except grpc.RpcError:
            pass  # the call ended
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def wait(self, timeout: float) -> int:
        with self.cond:
            if self.value <= 0 and not self.closed:
                self.cond.wait(timeout)
            return self.value


class _Servicer(pb2_grpc.PubSubServicer):
    def __init__(self, app: SalesforceApp, bus: ChangeBus, keepalive_s: float) -> None:
        self.app = app
        self.bus = bus
        self.keepalive_s = keepalive_s
        self.stopping = threading.Event()

    def _authenticate(self, context: grpc.ServicerContext) -> None:
        metadata = {key.lower(): value for key, value in context.invocation_metadata() if isinstance(value, str)}
        token, url, tenant = metadata.get("accesstoken", ""), metadata.get("instanceurl", "").rstrip("/"), metadata.get("tenantid", "")
        try:
            self.app.sessions.authenticate(f"Bearer {token}")
        except ApiError:
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, "sfdc.platform.eventbus.grpc.service.auth.error", "An authentication exception occurred: the session is invalid or expired.")
        org_id = self.app.org.org_id
        if url != self.app.base_url.rstrip("/") or tenant not in (org_id, org_id[:15]):
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, "sfdc.platform.eventbus.grpc.service.auth.error",
                   "An authentication exception occurred: instanceurl or tenantid does not match the session's org.")

    def _entities(self, context: grpc.ServicerContext, topic: str) -> frozenset[str]:
        entities = TOPICS.get(topic)
        if entities is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, "sfdc.platform.eventbus.grpc.subscription.topic.not.found", f"Topic {topic!r} not found.")
        return entities

    def GetTopic(self, request: t.Any, context: grpc.ServicerContext) -> t.Any:
        self._authenticate(context)
        entities = self._entities(context, request.topic_name)
        schema_id = ""
        if len(entities) == 1:
            obj = self.app.org.obj(next(iter(entities)))
            with self.app.org.lock:
                schema_id = self.bus.schemas.for_object(obj).schema_id if obj is not None else ""
        return pb2.TopicInfo(topic_name=request.topic_name, tenant_guid=self.app.org.org_id, can_publish=False, can_subscribe=True,
                             schema_id=schema_id, rpc_id=str(uuid.uuid4()))

    def GetSchema(self, request: t.Any, context: grpc.ServicerContext) -> t.Any:
        self._authenticate(context)
        schema = self.bus.schemas.by_id.get(request.schema_id)
        if schema is None:
            _abort(context, grpc.StatusCode.NOT_FOUND, "sfdc.platform.eventbus.grpc.schema.not.found", f"Schema {request.schema_id!r} not found.")
        return pb2.SchemaInfo(schema_json=schema.json, schema_id=schema.schema_id, rpc_id=str(uuid.uuid4()))

    def Subscribe(self, request_iterator: t.Iterator[t.Any], context: grpc.ServicerContext) -> t.Iterator[t.Any]:
        self._authenticate(context)
        first = next(request_iterator, None)
        if first is None:
            return
        entities = self._entities(context, first.topic_name)
        try:
            seq = self.bus.start_after(_PRESETS.get(first.replay_preset, "LATEST"), bytes(first.replay_id))
        except ReplayRefused as exc:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted", str(exc))
        credit = _Credit(first.num_requested)
        threading.Thread(target=credit.read, args=(request_iterator, first.topic_name), name="pubsub-fetch-requests", daemon=True).start()
        idle = 0.0
        while context.is_active() and not self.stopping.is_set():
            if credit.error is not None:
                _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch", credit.error)
            wanted = credit.wait(0.25)
            events: list[BusEvent] = []
            if wanted > 0:
                events, newest = self.bus.wait_after(seq, entities, min(wanted, _BATCH), 0.25)
            else:
                newest = self.bus.latest_seq()
                if newest > seq and self.bus.wait_after(seq, entities, 1, 0)[0]:
                    newest = seq  # events of this topic wait for credit: the latest replay id must not skip them
            if events:
                with credit.cond:
                    credit.value -= len(events)
                    left = credit.value
                seq = events[-1].seq if len(events) == min(wanted, _BATCH) else newest
                idle = 0.0
                yield pb2.FetchResponse(events=[self._consumer_event(e) for e in events], latest_replay_id=seq.to_bytes(8, "big"),
                                        rpc_id=str(uuid.uuid4()), pending_num_requested=left)
                continue
            seq = max(seq, newest)
            idle += 0.25
            if idle >= self.keepalive_s:
                idle = 0.0
                yield pb2.FetchResponse(latest_replay_id=seq.to_bytes(8, "big"), rpc_id=str(uuid.uuid4()), pending_num_requested=max(0, credit.value))

    @staticmethod
    def _consumer_event(event: BusEvent) -> t.Any:
        return pb2.ConsumerEvent(event=pb2.ProducerEvent(id=event.event_id, schema_id=event.schema_id, payload=event.payload), replay_id=event.replay_id)


class PubSubServer:
    """The gRPC server of one sandbox org: started next to its HTTPS server, same CA."""

    def __init__(self, app: SalesforceApp, tls: TestAuthority, port: int = 0, keepalive_s: float = 270.0) -> None:
        self.bus = app.enable_change_events()
        self._servicer = _Servicer(app, self.bus, keepalive_s)
        self._server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="pubsub"))
        pb2_grpc.add_PubSubServicer_to_server(self._servicer, self._server)
        key, chain = tls.server_pem()
        self.port = self._server.add_secure_port(f"127.0.0.1:{port}", grpc.ssl_server_credentials([(key, chain)]))
        if self.port == 0:
            raise OSError(f"cannot listen on 127.0.0.1:{port} for the Pub/Sub API")

    @property
    def target(self) -> str:
        """``127.0.0.1:<port>``, the gRPC target (``SALESFORCE_PUBSUB_URL``; ``api.pubsub.salesforce.com:7443`` in production)."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in grpc's own threads."""
        self._server.start()

    def stop(self) -> None:
        """End every subscription and stop serving."""
        self._servicer.stopping.set()
        self.bus.wake()
        self._server.stop(grace=0.5).wait(2.0)
