"""The sandbox's Pub/Sub API over a real TLS socket, spoken with the vendor's generated stubs and fastavro."""

from __future__ import annotations

import io
import json
import pathlib
import queue
import typing as t

import fastavro
import grpc
import pytest
import requests

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.salesforce.ops import convert_lead
from connector.sandbox.testing import trusting_session
from connector.vendor.salesforce_pubsub import pb2, pb2_grpc

T0 = 1_736_942_400_000


@pytest.fixture(scope="module")
def sandbox() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(seed="empty", clock=SandboxClock(frozen_ms=T0), pubsub_port=0, pubsub_keepalive_s=0.5) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: SalesforceSandbox) -> SalesforceSandbox:
    sandbox.reset("empty")
    return sandbox


class Client:
    """A Pub/Sub API client as Salesforce's quick start builds one: stub, metadata, a request queue per subscription."""

    def __init__(self, sb: SalesforceSandbox, token: str | None = None, tenant: str | None = None) -> None:
        self.sb = sb
        self.channel = grpc.secure_channel(sb.pubsub.target, grpc.ssl_channel_credentials(pathlib.Path(sb.ca_path).read_bytes()))
        self.stub = pb2_grpc.PubSubStub(self.channel)
        self.metadata = (("accesstoken", token or sb.new_session()), ("instanceurl", sb.instance_url), ("tenantid", tenant or sb.org.org_id))
        self.requests: queue.Queue[t.Any] = queue.Queue()

    def subscribe(self, topic: str = "/data/ChangeEvents", preset: int = pb2.EARLIEST, replay_id: bytes = b"", n: int = 100) -> t.Iterator[t.Any]:
        self.requests.put(pb2.FetchRequest(topic_name=topic, replay_preset=preset, replay_id=replay_id, num_requested=n))

        def feed() -> t.Iterator[t.Any]:
            while (item := self.requests.get()) is not None:
                yield item

        return self.stub.Subscribe(feed(), metadata=self.metadata, timeout=10)

    def decode(self, event: t.Any) -> dict[str, t.Any]:
        info = self.stub.GetSchema(pb2.SchemaRequest(schema_id=event.event.schema_id), metadata=self.metadata)
        return fastavro.schemaless_reader(io.BytesIO(event.event.payload), fastavro.parse_schema(json.loads(info.schema_json)))

    def close(self) -> None:
        self.requests.put(None)
        self.channel.close()


def events_of(stream: t.Iterator[t.Any], count: int) -> list[t.Any]:
    found: list[t.Any] = []
    for response in stream:
        found.extend(response.events)
        if len(found) >= count:
            return found
    return found


def rest(sb: SalesforceSandbox) -> requests.Session:
    session = trusting_session(sb.ca_path)
    session.headers["Authorization"] = f"Bearer {sb.new_session()}"
    return session


def changed_names(client: Client, event: t.Any, body: dict[str, t.Any]) -> list[str]:
    """Decode the changedFields bitmap as the Pub/Sub API guide says: bit i = field i of the schema."""
    schema = json.loads(client.stub.GetSchema(pb2.SchemaRequest(schema_id=event.event.schema_id), metadata=client.metadata).schema_json)
    bits = body["ChangeEventHeader"]["changedFields"]
    if not bits:
        return []
    value = int(bits[0], 16)
    return [f["name"] for i, f in enumerate(schema["fields"]) if value >> i & 1]


def test_rest_writes_become_change_events(sb: SalesforceSandbox) -> None:
    api = rest(sb)
    base = f"{sb.instance_url}/services/data/v59.0"
    lead = api.post(f"{base}/sobjects/Lead", json={"LastName": "Ng", "Company": "Acme"}).json()["id"]
    assert api.patch(f"{base}/sobjects/Lead/{lead}", json={"Title": "CMO", "Company": "Acme"}).status_code == 204
    contact = sb.insert("Contact", [{"LastName": "Ito"}])[0]
    assert api.delete(f"{base}/sobjects/Lead/{lead}").status_code == 204
    client = Client(sb)
    try:
        events = events_of(client.subscribe(), 4)
        bodies = [client.decode(e) for e in events]
        headers = [b["ChangeEventHeader"] for b in bodies]
        assert [(h["entityName"], h["changeType"], h["recordIds"]) for h in headers] == [
            ("Lead", "CREATE", [lead]), ("Lead", "UPDATE", [lead]), ("Contact", "CREATE", [contact]), ("Lead", "DELETE", [lead])]
        assert bodies[0]["LastName"] == "Ng" and bodies[0]["Company"] == "Acme"
        assert changed_names(client, events[1], bodies[1]) == ["Title", "LastModifiedDate"]  # Company did not change
        assert bodies[1]["Title"] == "CMO" and bodies[1]["Company"] is None  # unchanged fields are null
        assert headers[1]["changeOrigin"] == "com/salesforce/api/rest/59.0" and headers[1]["commitTimestamp"] == T0
        assert headers[1]["commitUser"] == sb.integration_user_id
        replay_ids = [e.replay_id for e in events]
        assert replay_ids == sorted(replay_ids) and len(set(replay_ids)) == 4
    finally:
        client.close()


def test_topics_filter_and_custom_replay_resumes_after_the_id(sb: SalesforceSandbox) -> None:
    leads = sb.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(3)])
    sb.insert("Contact", [{"LastName": "C"}])
    client = Client(sb)
    try:
        events = events_of(client.subscribe("/data/LeadChangeEvent"), 3)
        assert [client.decode(e)["ChangeEventHeader"]["recordIds"][0] for e in events] == leads
        client.close()
        client = Client(sb)
        resumed = events_of(client.subscribe("/data/LeadChangeEvent", pb2.CUSTOM, events[0].replay_id), 2)
        assert [e.replay_id for e in resumed] == [e.replay_id for e in events[1:]]
    finally:
        client.close()


def test_flow_control_sends_no_more_than_requested(sb: SalesforceSandbox) -> None:
    sb.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(5)])
    client = Client(sb)
    try:
        stream = client.subscribe(n=2)
        got = 0
        responses = []
        for response in stream:
            responses.append(response)
            got += len(response.events)
            if not response.events:  # a keepalive: the server waits for more credit
                break
        assert got == 2 and responses[-1].pending_num_requested == 0
        assert responses[-1].latest_replay_id == [e for r in responses for e in r.events][-1].replay_id  # not past the undelivered events
        client.requests.put(pb2.FetchRequest(num_requested=10))
        assert len(events_of(stream, 3)) == 3
    finally:
        client.close()


def test_latest_starts_at_the_tip_and_keepalives_carry_the_latest_replay_id(sb: SalesforceSandbox) -> None:
    sb.insert("Lead", [{"LastName": "Old", "Company": "Acme"}])
    client = Client(sb)
    try:
        stream = client.subscribe(preset=pb2.LATEST)
        first = next(stream)
        assert sb.app.changes is not None
        assert not first.events and int.from_bytes(first.latest_replay_id, "big") == sb.app.changes.latest_seq()
        sb.insert("Lead", [{"LastName": "New", "Company": "Acme"}])
        event = events_of(stream, 1)[0]
        assert client.decode(event)["LastName"] == "New"
    finally:
        client.close()


def test_replay_id_outside_the_retention_window_is_refused_as_salesforce_does(sb: SalesforceSandbox) -> None:
    sb.insert("Lead", [{"LastName": "A", "Company": "Acme"}, {"LastName": "B", "Company": "Acme"}])
    client = Client(sb)
    try:
        old = events_of(client.subscribe(), 2)[0].replay_id
    finally:
        client.close()
    sb.clock.advance(hours=73)
    sb.insert("Lead", [{"LastName": "C", "Company": "Acme"}])
    for replay_id in (old, b"\x00\x00\x00\x00\x00\x00\x99\x99", b"junk"):
        client = Client(sb)
        try:
            with pytest.raises(grpc.RpcError) as caught:
                events_of(client.subscribe(preset=pb2.CUSTOM, replay_id=replay_id), 1)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert ("error-code", "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted") in caught.value.trailing_metadata()
            assert "rpcId:" in caught.value.details()
        finally:
            client.close()
    client = Client(sb)
    try:  # EARLIEST now starts after the purged events
        assert [client.decode(e)["LastName"] for e in events_of(client.subscribe(), 1)] == ["C"]
    finally:
        client.close()


@pytest.mark.parametrize("problem", ["token", "tenant", "expired"])
def test_bad_auth_metadata_is_unauthenticated(sb: SalesforceSandbox, problem: str) -> None:
    token = sb.new_session()
    if problem == "expired":
        sb.expire_sessions(token)
    client = Client(sb, token="00Dxx!bogus" if problem == "token" else token, tenant="00D000000000000AAA" if problem == "tenant" else None)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            client.stub.GetTopic(pb2.TopicRequest(topic_name="/data/LeadChangeEvent"), metadata=client.metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert ("error-code", "sfdc.platform.eventbus.grpc.service.auth.error") in caught.value.trailing_metadata()
    finally:
        client.close()


def test_get_topic_and_unknown_topic(sb: SalesforceSandbox) -> None:
    client = Client(sb)
    try:
        info = client.stub.GetTopic(pb2.TopicRequest(topic_name="/data/ContactChangeEvent"), metadata=client.metadata)
        assert info.can_subscribe and not info.can_publish and info.tenant_guid == sb.org.org_id and info.schema_id
        schema = json.loads(client.stub.GetSchema(pb2.SchemaRequest(schema_id=info.schema_id), metadata=client.metadata).schema_json)
        assert schema["name"] == "ContactChangeEvent" and schema["fields"][0]["name"] == "ChangeEventHeader"
        with pytest.raises(grpc.RpcError) as caught:
            client.stub.GetTopic(pb2.TopicRequest(topic_name="/data/AccountChangeEvent"), metadata=client.metadata)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as caught:
            client.stub.GetSchema(pb2.SchemaRequest(schema_id="nope"), metadata=client.metadata)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        client.close()


def test_a_new_custom_field_changes_the_schema_id_and_conversions_merges_publish(sb: SalesforceSandbox) -> None:
    lead = sb.insert("Lead", [{"LastName": "A", "Company": "Acme"}])[0]
    sb.app.custom_fields.create("Lead.Score__c", {"type": "Number", "label": "Score", "precision": 18, "scale": 0})
    sb.update("Lead", lead, {"Score__c": 42})
    with sb.org.lock:
        convert_lead(sb.org, sb.app.writer, lead)
    client = Client(sb)
    try:
        events = events_of(client.subscribe(), 4)
        bodies = [client.decode(e) for e in events]
        kinds = [(b["ChangeEventHeader"]["entityName"], b["ChangeEventHeader"]["changeType"]) for b in bodies]
        assert kinds == [("Lead", "CREATE"), ("Lead", "UPDATE"), ("Contact", "CREATE"), ("Lead", "UPDATE")]
        assert events[0].event.schema_id != events[1].event.schema_id and bodies[1]["Score__c"] == 42
        assert bodies[3]["IsConverted"] is True
    finally:
        client.close()
