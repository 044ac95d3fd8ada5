"""Write policy: small score moves are held back, crossings and stage changes are written, bad config is named."""

from __future__ import annotations

import datetime as dt
import pathlib
import shutil
import typing as t

import pytest

from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import SandboxClock
from connector.scoring.loader import load_models
from connector.sync.config import ConnectorConfig, crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter
from connector.sync.write_policy import OutputPolicy, held_back
from connector.yamlfile import YamlFileError

DATA = pathlib.Path(__file__).resolve().parent / "data"
T0 = 1_768_478_400_000  # 2026-01-15T12:00:00Z
DAY = 86_400_000

#: Score moves under 5 points are held back unless they cross 50; dimensions likewise; the reasons
#: summary only with the score, grade or stage.
POLICY = {
    "test_model_score": {"min_change": 5, "bands": [50]},
    "test_model_engagement": {"min_change": 5},
    "test_model_reasons": {"only_with": ["test_model_score", "test_model_grade", "test_model_stage"]},
}


def test_held_back_moves_crossings_companions_and_first_writes() -> None:
    policy = {"s": OutputPolicy(min_change=5, bands=(50,)), "r": OutputPolicy(only_with=("s", "g"))}
    assert held_back(policy, {"s": 12.0, "r": "x"}, {"s": 10.0, "r": "y"}) == {"s", "r"}, "a 2-point move and its reasons wait"
    assert held_back(policy, {"s": 15.0, "r": "x"}, {"s": 10.0, "r": "y"}) == set(), "5 points: written, with the reasons"
    assert held_back(policy, {"s": 51.0}, {"s": 49.0}) == set() and held_back(policy, {"s": 49.0}, {"s": 50.0}) == set(), "crossing 50 either way"
    assert held_back(policy, {"s": 12.0}, {}) == set(), "never written: always written"
    assert held_back(policy, {"r": "x", "g": "B"}, {"r": "y", "g": "A"}) == set(), "the grade carries the reasons"
    assert held_back(policy, {"x": 1.0}, {"x": 0.5}) == set(), "no policy: every change"


def _config(tmp_path: pathlib.Path, database_url: str, policy: t.Any, **env: str) -> pathlib.Path:
    shutil.copy(DATA / "model.yaml", tmp_path / "model.yaml")
    shutil.copy(DATA / "hubspot.yaml", tmp_path / "hubspot.yaml")
    entry = crm_entry(
        "portal", "hubspot", "hubspot.yaml", ["model.yaml"], credentials={"access_token": "WP_TOKEN"}, base_url_env="WP_URL",
        rate_limit={"requests": 1000, "per_seconds": 1, "searches_per_second": 1000}, write_policy=policy,
    )
    return write_config(tmp_path / "connector.yaml", [entry], database_url=database_url, overlap_minutes=5)


def test_a_bad_policy_is_named_with_file_line_and_key(tmp_path: pathlib.Path) -> None:
    bad = {"test_model_scor": {"min_change": 5}, "test_model_grade": {"min_change": 1}, "test_model_reasons": {"only_with": ["test_model_stag"]}}
    path = _config(tmp_path, "sqlite://", bad)
    with pytest.raises(YamlFileError) as err:
        load_config(path)
    text = str(err.value)
    lines = path.read_text().splitlines()
    at = {name: next(i for i, line in enumerate(lines, 1) if name in line) for name in ("test_model_scor:", "min_change: 1", "- test_model_stag")}
    assert f"connector.yaml:{at['test_model_scor:']}: crms[0].write_policy.test_model_scor: no model of this CRM writes an output 'test_model_scor' (did you mean test_model_score" in text
    assert f":{at['min_change: 1']}: crms[0].write_policy.test_model_grade.min_change: 'min_change' applies to numbers; output 'test_model_grade' is enumeration" in text
    assert f":{at['- test_model_stag']}: crms[0].write_policy.test_model_reasons.only_with[0]: no model of this CRM writes an output 'test_model_stag'" in text
    negative = _config(tmp_path, "sqlite://", {"test_model_score": {"min_change": -1}})
    with pytest.raises(YamlFileError, match=r"write_policy\.test_model_score\.min_change: .*greater than 0"):
        load_config(negative)


@pytest.fixture
def sandbox() -> t.Iterator[HubSpotSandbox]:
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, faults=0.0, clock=SandboxClock(frozen_ms=T0)) as sb:
        yield sb


def _ready(tmp_path: pathlib.Path, database_url: str, sb: HubSpotSandbox, policy: t.Any, monkeypatch: pytest.MonkeyPatch) -> ConnectorConfig:
    monkeypatch.setenv("WP_TOKEN", sb.token)
    monkeypatch.setenv("WP_URL", sb.base_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = load_config(_config(tmp_path, database_url, policy))
    adapter = connect(cfg.crms[0], RateLimiter.from_limits(cfg.crms[0].limits), env_file=tmp_path / ".env")
    adapter.setup(specs_from_models(load_models(cfg.crms[0].models)))
    adapter.close()
    return cfg


@pytest.mark.parametrize("policy", [None, POLICY], ids=["every-change", "policy"])
def test_decay_days_write_less_under_a_policy_and_crossings_still_land(
    tmp_path: pathlib.Path, database_url: str, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch, policy: t.Any
) -> None:
    cfg = _ready(tmp_path, database_url, sandbox, policy, monkeypatch)
    (cid,) = sandbox.store.add_contacts([{"email": "ann@example.com", "jobtitle": "Marketing Manager"}])  # fit 25, page view 10
    sandbox.store.add_events([{"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0 - DAY, "properties": {}}])
    sandbox.clock.advance(seconds=1)

    def clock() -> dt.datetime:
        return dt.datetime.fromtimestamp(sandbox.clock.now_ms() / 1000, tz=dt.UTC)

    def prop(name: str) -> t.Any:
        record = sandbox.store.get("contacts", cid)
        assert record is not None
        return record.properties.get(name)

    assert run_sync(cfg, "portal", clock=clock).written == 1
    first_scored_at = prop("test_model_scored_at")
    written = []
    for _ in range(5):  # five decay days: the page view's 10 points lose about 0.9 a day
        sandbox.clock.advance(days=1)
        written.append(run_sync(cfg, "portal", clock=clock).written)
    if policy is None:
        assert written == [1, 1, 1, 1, 1]
        assert prop("test_model_scored_at") != first_scored_at
    else:
        assert written == [0, 0, 0, 0, 0], "moves under 5 points are held back"
        assert float(prop("test_model_engagement")) == pytest.approx(round(10 * 0.5 ** (1 / 7), 2)), "the CRM keeps the first value"
        assert prop("test_model_scored_at") == first_scored_at, "no scored_at for a held-back decay"
    # A demo request (+40) crosses 50: written at once, stage and all.
    sandbox.clock.advance(seconds=60)
    sandbox.store.add_events([{"objectId": cid, "eventType": "e_submitted_form", "occurredAt": sandbox.clock.now_ms() - 1000, "properties": {}}])
    after = run_sync(cfg, "portal", clock=clock)
    assert after.written == 1 and prop("test_model_stage") == "mql"
    assert float(prop("test_model_score")) > 40 and prop("test_model_scored_at") != first_scored_at
