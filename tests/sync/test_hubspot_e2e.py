"""End to end against the HubSpot sandbox, over real sockets through the real adapter and SDK.

First run, incremental run after new activity (only affected contacts written), a run with
nothing new (zero writes), a decay day (sandbox clock and sync clock advanced together: only
decayed contacts written); secrets never reach logs or the state database.
"""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
import shutil
import typing as t

import pytest
import sqlalchemy as sa

from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import SandboxClock
from connector.sync.config import ConnectorConfig, crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter

DATA = pathlib.Path(__file__).resolve().parent / "data"
T0 = 1_768_478_400_000  # 2026-01-15T12:00:00Z
DAY = 86_400_000


@pytest.fixture
def sandbox() -> t.Iterator[HubSpotSandbox]:
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, faults=0.0, clock=SandboxClock(frozen_ms=T0)) as sb:
        yield sb


@pytest.fixture
def config(tmp_path: pathlib.Path, database_url: str, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> ConnectorConfig:
    return sandbox_config(tmp_path, database_url, sandbox, monkeypatch)


def sandbox_config(
    tmp_path: pathlib.Path, database_url: str, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch, *, model: pathlib.Path = DATA / "model.yaml", mapping: pathlib.Path = DATA / "hubspot.yaml"
) -> ConnectorConfig:
    """A connector.yaml with one HubSpot CRM ``portal-a`` on ``sandbox``, its output properties set up."""
    shutil.copy(model, tmp_path / "model.yaml")
    shutil.copy(mapping, tmp_path / "hubspot.yaml")
    entry = crm_entry(
        "portal-a", "hubspot", "hubspot.yaml", ["model.yaml"], credentials={"access_token": "E2E_PORTAL_A_TOKEN"}, base_url_env="E2E_PORTAL_A_URL",
        rate_limit={"requests": 1000, "per_seconds": 1, "searches_per_second": 1000},
    )
    write_config(tmp_path / "connector.yaml", [entry], database_url=database_url, overlap_minutes=5)
    monkeypatch.setenv("E2E_PORTAL_A_TOKEN", sandbox.token)
    monkeypatch.setenv("E2E_PORTAL_A_URL", sandbox.base_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = load_config(tmp_path / "connector.yaml")
    from connector.scoring.loader import load_models

    adapter = connect(cfg.crms[0], RateLimiter.from_limits(cfg.crms[0].limits), env_file=tmp_path / ".env")
    adapter.setup(specs_from_models(load_models(cfg.crms[0].models)))  # what `connector setup` does once
    adapter.close()
    return cfg


def _clock(sb: HubSpotSandbox) -> t.Callable[[], dt.datetime]:
    return lambda: dt.datetime.fromtimestamp(sb.clock.now_ms() / 1000, tz=dt.UTC)


def _seed(sb: HubSpotSandbox) -> list[str]:
    ids = sb.store.add_contacts(
        [
            {"email": "ann@example.com", "jobtitle": "Head of Marketing"},
            {"email": "bob@example.com", "jobtitle": "Engineer"},
            {"email": "cy@example.com", "jobtitle": "Marketing Analyst"},
        ]
    )
    sb.store.add_events([{"objectId": ids[0], "eventType": "e_visited_page", "occurredAt": T0 - 2 * DAY, "properties": {"hs_url": "https://x.io/pricing"}}])
    sb.store.add_email_events([{"recipient": "bob@example.com", "type": "OPEN", "created": T0 - DAY}])
    sb.clock.advance(ms=1000)
    return ids


def _writes(sb: HubSpotSandbox) -> list[t.Any]:
    return [r for r in sb.requests if r.method == "POST" and r.path.endswith("/batch/update")]


def _prop(sb: HubSpotSandbox, cid: str, name: str) -> t.Any:
    return sb.store.get("contacts", cid).properties.get(name)


def test_first_incremental_idle_and_decay_runs(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    ids = _seed(sandbox)
    clock = _clock(sandbox)

    first = run_sync(config, "portal-a", clock=clock)
    assert first.status == "ok", first.error
    assert (first.pulled_contacts, first.scored, first.written) == (3, 3, 3)
    assert _prop(sandbox, ids[0], "test_model_grade") == "A"
    assert _prop(sandbox, ids[1], "test_model_grade") == "B"
    assert "job title Marketing" in _prop(sandbox, ids[0], "test_model_reasons")
    assert float(_prop(sandbox, ids[0], "test_model_engagement")) == pytest.approx(round(10 * 0.5 ** (2 / 7), 2))
    assert first.api_calls > 0

    # Incremental: new activity for one contact -> only that contact is written.
    sandbox.clock.advance(seconds=60)
    sandbox.store.add_events([{"objectId": ids[2], "eventType": "e_submitted_form", "occurredAt": sandbox.clock.now_ms() - 1000, "properties": {}}])
    sandbox.requests_clear()
    second = run_sync(config, "portal-a", clock=clock)
    assert second.status == "ok", second.error
    assert second.written == 1 and second.scored == 1
    assert len(_writes(sandbox)) == 1
    assert _prop(sandbox, ids[2], "test_model_stage") == "mql"

    # Nothing new: zero writes (our own writes bumped lastmodifieddate, but nothing changed).
    sandbox.clock.advance(seconds=60)
    sandbox.requests_clear()
    idle = run_sync(config, "portal-a", clock=clock)
    assert idle.status == "ok", idle.error
    assert idle.written == 0 and _writes(sandbox) == []

    # Decay day: only contacts whose activity decayed are written.
    sandbox.clock.advance(days=1)
    sandbox.requests_clear()
    decay = run_sync(config, "portal-a", clock=clock)
    assert decay.status == "ok", decay.error
    assert (decay.scored, decay.written, len(_writes(sandbox))) == (1, 1, 1)
    assert float(_prop(sandbox, ids[0], "test_model_engagement")) == pytest.approx(round(10 * 0.5 ** (3 / 7), 2))


def test_email_event_is_linked_to_the_contact_by_email(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    ids = _seed(sandbox)
    run_sync(config, "portal-a", clock=_clock(sandbox))
    engine = make_engine(config.effective_database_url())
    with engine.connect() as conn:
        anon = conn.execute(sa.text("SELECT anonymous_id FROM activities WHERE type = 'email_open'")).scalar_one()
    engine.dispose()
    assert anon == "email:bob@example.com"
    from connector.sync.admin import explain

    engine = make_engine(config.effective_database_url())
    found = explain(engine, "portal-a", ids[1])
    engine.dispose()
    assert found is not None and found.email == "bob@example.com"


def test_token_never_reaches_logs_or_the_database(config: ConnectorConfig, sandbox: HubSpotSandbox, caplog: pytest.LogCaptureFixture) -> None:
    _seed(sandbox)
    caplog.set_level(logging.DEBUG)
    summary = run_sync(config, "portal-a", clock=_clock(sandbox))
    assert summary.status == "ok"
    assert sandbox.token not in caplog.text
    engine = make_engine(config.effective_database_url())
    dump = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            dump += [repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    assert dump and not any(sandbox.token in row for row in dump)


def test_missing_token_names_the_variable(config: ConnectorConfig, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.adapters.base import CRMError

    monkeypatch.delenv("E2E_PORTAL_A_TOKEN")
    with pytest.raises(CRMError, match="E2E_PORTAL_A_TOKEN"):
        run_sync(config, "portal-a", clock=_clock(sandbox))
