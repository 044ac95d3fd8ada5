"""Webhook actions: signed with HMAC-SHA256, retried with backoff, recorded, sent once per firing.

A real HTTP receiver on 127.0.0.1 checks every request the way docs/sync.md tells a receiver to.
"""

from __future__ import annotations

import http.server
import json
import pathlib
import threading
import typing as t

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from connector.adapters.base import CRMError
from connector.sync.config import load_config
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.tables import actions
from connector.sync.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, encode_body, sign, verify
from tests.fakecrm import T0
from tests.sync.conftest import write_config

SECRET = "s3cr3t-for-tests"


class Receiver:
    """A webhook receiver: answers each POST with the next status of ``statuses`` (then 200), records it."""

    def __init__(self, statuses: t.Sequence[int] = ()) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k: v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self) -> list[dict[str, t.Any]]:
        """The bodies of requests whose signature checks out with the shared secret."""
        out = []
        for headers, body in self.requests:
            assert verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body), headers
            out.append(json.loads(body))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> t.Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _sender(**kw: t.Any) -> tuple[WebhookSender, list[float]]:
    sleeps: list[float] = []
    return WebhookSender(SecretStr(SECRET), "HOOK_SECRET", timeout_seconds=5, attempts=kw.pop("attempts", 4), backoff_seconds=0.5, sleep=sleeps.append, **kw), sleeps


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = encode_body({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'.encode()
    sig = sign(SECRET, 1700000000, body)
    import hashlib
    import hmac

    assert sig == "sha256=" + hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert verify(SECRET, "1700000000", sig, body, now=1700000100)
    assert not verify(SECRET, "1700000000", sig, body + b" ", now=1700000100)  # body changed
    assert not verify("other", "1700000000", sig, body, now=1700000100)  # wrong secret
    assert not verify(SECRET, "1700000000", sig, body, now=1700000000 + 301)  # too old: a replay
    assert not verify(SECRET, "soon", sig, body)


def test_sender_posts_signed_json_with_the_key(receiver: Receiver) -> None:
    sender, _ = _sender(clock=lambda: 1700000000.0)
    assert sender(receiver.url, {"key": "k1", "contact_id": "c1"}, "k1") == "HTTP 200"
    ((headers, body),) = receiver.requests
    assert headers["Idempotency-Key"] == "k1" and headers["Content-Type"] == "application/json"
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert headers[SIGNATURE_HEADER] == sign(SECRET, 1700000000, body)
    assert SECRET not in json.dumps(headers)


def test_5xx_and_429_are_retried_with_backoff() -> None:
    r = Receiver([503, 429, 500])
    try:
        sender, sleeps = _sender()
        assert sender(r.url, {"k": 1}, "k") == "HTTP 200 after 4 tries"
        assert len(r.requests) == 4 and sleeps == [0.5, 1.0, 2.0]
        r.statuses = [502] * 4
        with pytest.raises(CRMError, match="after 4 tries") as failed:
            sender(r.url, {"k": 1}, "k")
        assert failed.value.retryable
    finally:
        r.close()


def test_4xx_is_not_retried_and_no_secret_sends_nothing() -> None:
    r = Receiver([400])
    try:
        sender, sleeps = _sender()
        with pytest.raises(CRMError, match="HTTP 400") as refused:
            sender(r.url, {"k": 1}, "k")
        assert not refused.value.retryable and len(r.requests) == 1 and sleeps == []
        with pytest.raises(CRMError, match="set the environment variable HOOK_SECRET") as missing:
            WebhookSender(None, "HOOK_SECRET")(r.url, {"k": 1}, "k")
        assert not missing.value.retryable and len(r.requests) == 1
    finally:
        r.close()


def test_unreachable_is_retryable() -> None:
    sender, sleeps = _sender(attempts=2)
    with pytest.raises(CRMError, match="not reachable") as failed:
        sender("http://127.0.0.1:9/hook", {"k": 1}, "k")
    assert failed.value.retryable and sleeps == [0.5]


def _config(tmp_path: pathlib.Path, database_url: str, url: str) -> t.Any:
    path = write_config(tmp_path, database_url, webhooks={"secret_env": "HOOK_SECRET", "attempts": 2, "backoff_seconds": 0})
    model = tmp_path / "model.yaml"
    model.write_text(model.read_text().replace("      - {type: create_task, subject: Call this lead}", f"      - {{type: webhook, url: '{url}'}}"))
    return load_config(path)


def _hot(crm: t.Any) -> None:
    crm.add_contact("c1", T0, email="a@x.com", job_title="Marketing")
    crm.add_activity("d1", "demo_request", T0, contact_id="c1")


def test_a_firing_is_posted_once_signed_and_recorded(tmp_path, database_url, fake_crm, factory, clock, receiver, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = _config(tmp_path, database_url, receiver.url)
    _hot(fake_crm)
    assert run_sync(config, "main", clock=clock, adapter_factory=factory).actions == 2  # list + webhook
    (body,) = receiver.verified()
    assert body["event"] == "trigger.fired" and body["contact_id"] == "c1" and body["trigger"] == "hot" and body["key"].endswith(":hot:1#1")
    clock.advance(days=1)
    run_sync(config, "main", clock=clock, adapter_factory=factory, full=True)
    assert len(receiver.requests) == 1, "a done webhook is never sent again"
    engine = make_engine(config.effective_database_url())
    with engine.connect() as conn:
        row = conn.execute(sa.select(actions.c.status, actions.c.result, actions.c.attempts).where(actions.c.type == "webhook")).one()
    engine.dispose()
    assert tuple(row) == ("done", "HTTP 200", 0)


def test_a_send_cut_off_by_a_crash_is_resent_with_the_same_key_and_body(tmp_path, database_url, fake_crm, factory, clock, receiver, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = _config(tmp_path, database_url, receiver.url)
    _hot(fake_crm)
    run_sync(config, "main", clock=clock, adapter_factory=factory)
    engine = make_engine(config.effective_database_url())
    with engine.begin() as conn:  # as a run killed after the POST and before recording it leaves it
        conn.execute(sa.update(actions).where(actions.c.type == "webhook").values(status="running", result=None))
    clock.advance(minutes=5)
    run_sync(config, "main", clock=clock, adapter_factory=factory)
    first, second = receiver.requests
    assert first[0]["Idempotency-Key"] == second[0]["Idempotency-Key"] and first[1] == second[1]
    with engine.connect() as conn:
        assert conn.execute(sa.select(actions.c.status).where(actions.c.type == "webhook")).scalar_one() == "done"
    engine.dispose()


def test_failures_stay_pending_then_quarantine_and_a_missing_secret_quarantines_at_once(tmp_path, database_url, fake_crm, factory, clock, monkeypatch) -> None:
    r = Receiver([503] * 20)
    try:
        monkeypatch.setenv("HOOK_SECRET", SECRET)
        config = _config(tmp_path, database_url, r.url)
        _hot(fake_crm)
        run_sync(config, "main", clock=clock, adapter_factory=factory)
        engine = make_engine(config.effective_database_url())
        with engine.connect() as conn:
            assert tuple(conn.execute(sa.select(actions.c.status, actions.c.attempts).where(actions.c.type == "webhook")).one()) == ("pending", 1)
        monkeypatch.delenv("HOOK_SECRET")
        clock.advance(minutes=5)
        run_sync(config, "main", clock=clock, adapter_factory=factory)
        with engine.connect() as conn:
            status, error = conn.execute(sa.select(actions.c.status, actions.c.last_error).where(actions.c.type == "webhook")).one()
            reason = conn.execute(sa.text("SELECT reason FROM quarantine WHERE stream = 'actions'")).scalar_one()
        engine.dispose()
        assert status == "quarantined" and "HOOK_SECRET" in error and "HOOK_SECRET" in reason and SECRET not in reason
        assert len(r.requests) == 2  # two tries in the first run, none without a secret
    finally:
        r.close()
