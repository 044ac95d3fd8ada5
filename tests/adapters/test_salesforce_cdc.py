"""The change-event subscriber against the Salesforce sandbox over real sockets (HTTPS for writes, gRPC+TLS for events)."""

from __future__ import annotations

import queue
import threading
import time
import typing as t

import pytest

from connector.adapters.base import CRMError
from connector.adapters.changes import ChangeGap, ChangeItem, ChangeNotice, FeedPosition
from connector.adapters.salesforce.cdc import PubSubAuth, PubSubFeed, pubsub_target
from connector.adapters.salesforce.cdc_auth import FeedSettings, client_credentials
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import trusting_session


@pytest.fixture(scope="module")
def sandbox() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(seed="empty", pubsub_port=0, pubsub_keepalive_s=0.5) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: SalesforceSandbox) -> SalesforceSandbox:
    sandbox.reset("empty")
    return sandbox


def login(sb: SalesforceSandbox) -> tuple[FeedSettings, t.Callable[[], PubSubAuth]]:
    env = sb.env()
    settings = FeedSettings.from_environment(env)
    return settings, lambda: client_credentials(settings, env)


class Running:
    """A feed consumed in a thread, its items in a queue (as the sync's listener consumes it)."""

    def __init__(self, feed: PubSubFeed, start: bytes | None) -> None:
        self.feed = feed
        self.stop = threading.Event()
        self.items: queue.Queue[ChangeItem] = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self.thread.start()

    def _run(self, start: bytes | None) -> None:
        for item in self.feed.changes(start, self.stop):
            self.items.put(item)

    def notices(self, count: int, timeout: float = 10.0) -> list[ChangeItem]:
        """The next ``count`` notices or gaps (positions skipped); ``queue.Empty`` when they do not come within ``timeout``."""
        found: list[ChangeItem] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            item = self.items.get(timeout=max(0.0, deadline - time.monotonic()))
            if not isinstance(item, FeedPosition):
                found.append(item)
        return found

    def position(self, timeout: float = 10.0) -> bytes:
        while True:
            item = self.items.get(timeout=timeout)
            if isinstance(item, FeedPosition):
                return item.position

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.feed.close()
        assert not self.thread.is_alive()


def feed_of(sb: SalesforceSandbox, credentials: t.Callable[[], PubSubAuth] | None = None, **options: t.Any) -> PubSubFeed:
    settings, fresh = login(sb)
    return PubSubFeed(settings.pubsub_target, credentials or fresh, ca_path=settings.ca_bundle, **options)


def rest_patch(sb: SalesforceSandbox, lead: str, fields: dict[str, t.Any]) -> None:
    session = trusting_session(sb.ca_path)
    answer = session.patch(f"{sb.instance_url}/services/data/v59.0/sobjects/Lead/{lead}", json=fields, headers={"Authorization": f"Bearer {sb.new_session()}"})
    assert answer.status_code == 204, answer.text


def test_a_lead_changed_through_the_rest_api_arrives_as_a_notice(sb: SalesforceSandbox) -> None:
    lead = sb.insert("Lead", [{"LastName": "Ng", "Company": "Acme"}])[0]
    running = Running(feed_of(sb), None)
    try:
        running.position()  # subscribed (the LATEST keepalive)
        rest_patch(sb, lead, {"Title": "CMO", "Rating": "Hot"})
        (notice,) = running.notices(1)
        assert isinstance(notice, ChangeNotice)
        assert (notice.entity, notice.record_ids, notice.change_type) == ("Lead", (lead,), "UPDATE")
        assert set(notice.changed_fields) == {"Title", "Rating", "LastModifiedDate"}
        assert notice.commit_ms > 0 and notice.position
    finally:
        running.close()


def test_restart_from_a_checkpoint_loses_and_repeats_nothing(sb: SalesforceSandbox) -> None:
    leads = sb.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(6)])
    first = Running(feed_of(sb), None)
    try:
        first.position()
        for lead in leads[:3]:
            rest_patch(sb, lead, {"Title": "VP"})
        seen = first.notices(3)
    finally:
        first.close()  # "killed" after the third notice; its replay id is the checkpoint
    checkpoint = seen[-1].position
    assert checkpoint is not None
    for lead in leads[3:]:
        rest_patch(sb, lead, {"Title": "VP"})  # changed while no subscriber ran
    second = Running(feed_of(sb), checkpoint)
    try:
        resumed = second.notices(3)
        assert [n.record_ids for n in resumed if isinstance(n, ChangeNotice)] == [(lead,) for lead in leads[3:]]
        with pytest.raises(queue.Empty):
            second.notices(1, timeout=1.5)  # nothing repeated, nothing extra
    finally:
        second.close()


def test_a_stale_replay_id_signals_a_gap_and_resubscribes_from_latest(sb: SalesforceSandbox) -> None:
    lead = sb.insert("Lead", [{"LastName": "Ng", "Company": "Acme"}])[0]
    running = Running(feed_of(sb), (10**9).to_bytes(8, "big"))  # never issued by this org
    try:
        (gap,) = running.notices(1)
        assert isinstance(gap, ChangeGap) and gap.position is None and "72-hour" in gap.reason
        running.position()
        rest_patch(sb, lead, {"Title": "CFO"})
        (notice,) = running.notices(1)
        assert isinstance(notice, ChangeNotice) and notice.record_ids == (lead,)
    finally:
        running.close()


def test_flow_control_small_batches_deliver_everything_in_order_and_schemas_are_fetched_once(sb: SalesforceSandbox) -> None:
    feed = feed_of(sb, batch=2)
    running = Running(feed, None)
    try:
        running.position()
        ids = sb.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(9)])
        notices = running.notices(9)
        assert [n.record_ids[0] for n in notices if isinstance(n, ChangeNotice)] == ids
        assert feed.schemas.fetches == 1
    finally:
        running.close()


def test_an_expired_session_is_renewed_through_the_credentials_provider(sb: SalesforceSandbox) -> None:
    settings, fresh = login(sb)
    stale = fresh()
    sb.expire_sessions(stale.access_token)
    handed: list[PubSubAuth] = [stale]

    def credentials() -> PubSubAuth:
        auth = handed.pop() if handed else fresh()
        return auth

    lead = sb.insert("Lead", [{"LastName": "Ng", "Company": "Acme"}])[0]
    feed = PubSubFeed(settings.pubsub_target, credentials, ca_path=settings.ca_bundle, max_backoff_s=0.2)
    running = Running(feed, None)
    try:
        running.position(timeout=15)
        rest_patch(sb, lead, {"Title": "CEO"})
        (notice,) = running.notices(1)
        assert isinstance(notice, ChangeNotice) and feed.reconnects >= 1
    finally:
        running.close()


def test_feed_settings_name_what_is_missing_and_refused_logins_hide_the_secret(sb: SalesforceSandbox) -> None:
    with pytest.raises(CRMError, match="SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET"):
        FeedSettings.from_environment({"SALESFORCE_LOGIN_URL": sb.instance_url})
    env = sb.env() | {"SALESFORCE_CLIENT_SECRET": "wrong-secret-canary"}
    with pytest.raises(CRMError, match="refused") as caught:
        client_credentials(FeedSettings.from_environment(env), env)
    assert "wrong-secret-canary" not in str(caught.value)
    assert "canary" not in repr(PubSubAuth("secret-canary", "https://x", "00D"))
    assert pubsub_target(None) == "api.pubsub.salesforce.com:7443" and pubsub_target("https://127.0.0.1:9/") == "127.0.0.1:9"


def test_a_dropped_server_is_resubscribed_after_the_last_replay_id(sb: SalesforceSandbox) -> None:
    from connector.sandbox.salesforce.pubsub import PubSubServer

    leads = sb.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(3)])
    feed = feed_of(sb, max_backoff_s=0.5)
    running = Running(feed, None)
    try:
        running.position()
        rest_patch(sb, leads[0], {"Title": "VP"})
        assert [n.record_ids for n in running.notices(1)] == [(leads[0],)]
        assert sb.pubsub is not None
        port = sb.pubsub.port
        sb.pubsub.stop()  # the Pub/Sub service goes away mid-subscription
        rest_patch(sb, leads[1], {"Title": "VP"})  # published on the bus while nobody is connected
        sb.pubsub = PubSubServer(sb.app, sb.tls, port, keepalive_s=0.5)
        sb.pubsub.start()
        rest_patch(sb, leads[2], {"Title": "VP"})
        resumed = running.notices(2, timeout=15)
        assert [n.record_ids for n in resumed] == [(leads[1],), (leads[2],)]  # nothing lost, nothing repeated
        assert feed.reconnects >= 1
    finally:
        running.close()


def test_gap_events_arrive_as_notices_of_their_records(sb: SalesforceSandbox) -> None:
    leads = sb.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(2)])
    admin = trusting_session(sb.ca_path)
    assert admin.post(f"{sb.instance_url}/_sandbox/changes/Lead/gap", json={"recordIds": []}).status_code == 400
    assert admin.post(f"{sb.instance_url}/_sandbox/changes/Account/gap", json={"recordIds": ["001x"]}).status_code == 400
    running = Running(feed_of(sb), None)
    try:
        running.position()
        assert admin.post(f"{sb.instance_url}/_sandbox/changes/Lead/gap", json={"recordIds": leads, "changeType": "GAP_UPDATE"}).status_code == 204
        (notice,) = running.notices(1)
        assert isinstance(notice, ChangeNotice)
        assert (notice.entity, notice.record_ids, notice.change_type, notice.changed_fields) == ("Lead", tuple(leads), "GAP_UPDATE", ())
    finally:
        running.close()


def test_own_writes_tells_echoes_of_the_connectors_output_fields() -> None:
    from connector.adapters.salesforce.cdc import own_writes

    is_echo = own_writes({"Score__c", "Grade__c"})

    def notice(change_type: str, *fields: str) -> ChangeNotice:
        return ChangeNotice("Lead", ("00Q1",), change_type, 0, b"\x01", fields)

    assert is_echo(notice("UPDATE", "Score__c", "LastModifiedDate", "LastModifiedById"))
    assert not is_echo(notice("UPDATE", "Score__c", "Title", "LastModifiedDate"))  # a person changed something too
    assert not is_echo(notice("UPDATE", "LastModifiedDate"))  # a save that changed nothing we know of
    assert not is_echo(notice("CREATE"))
    assert not is_echo(notice("GAP_UPDATE"))
