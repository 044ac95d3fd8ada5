"""``connector sandbox hubspot`` prints NAME=value lines and serves until interrupted."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import typing as t

import requests
from typer.testing import CliRunner

from connector.cli import app


@contextlib.contextmanager
def _serving(*options: str) -> t.Iterator[dict[str, str]]:
    """``connector sandbox hubspot --port 0 OPTIONS`` in its own process; yields its printed settings."""
    proc = subprocess.Popen([sys.executable, "-m", "connector", "sandbox", "hubspot", "--port", "0", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        yield dict(proc.stdout.readline().strip().split("=", 1) for _ in range(5))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else proc.returncode


def test_cli_serves_and_prints_settings() -> None:
    with _serving("--seed", "empty", "--token", "tok-1") as settings:
        assert settings["HUBSPOT_ACCESS_TOKEN"] == "tok-1"
        base = settings["HUBSPOT_BASE_URL"]
        assert base.startswith("http://127.0.0.1:")
        answer = requests.get(base + "/crm/v3/owners", headers={"Authorization": "Bearer tok-1"})
        assert answer.status_code == 200 and answer.json()["results"]


def test_cli_rejects_bad_options() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["sandbox", "hubspot", "--seed", "huge"]).exit_code != 0
    bad_rate = runner.invoke(app, ["sandbox", "hubspot", "--rate-limit", "fast"])
    assert bad_rate.exit_code != 0 and "190/10s" in bad_rate.output
    bad_kind = runner.invoke(app, ["sandbox", "hubspot", "--port", "0", "--fault-kinds", "418"])
    assert bad_kind.exit_code == 2 and "418" in bad_kind.output


def test_frozen_clock_runs_are_identical_and_tier_sets_the_limits() -> None:
    seen = []
    for _ in range(2):
        with _serving("--seed", "demo", "--seed-contacts", "40", "--frozen-at", "2026-01-01T00:00:00Z", "--tier", "starter",
                      "--token", "tok-2") as settings:
            base, auth = settings["HUBSPOT_BASE_URL"], {"Authorization": "Bearer tok-2"}
            assert requests.get(base + "/_sandbox/clock").json()["iso"] == "2026-01-01T00:00:00.000Z"
            page = requests.post(base + "/crm/v3/objects/contacts/search", headers=auth, json={
                "limit": 100, "properties": ["email", "industry", "hubspot_owner_id"],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]})
            mail = requests.get(base + "/email/public/v1/events", headers=auth, params={"limit": 1000})
            assert mail.headers["X-HubSpot-RateLimit-Max"] == "100" and mail.headers["X-HubSpot-RateLimit-Daily"] == "250000"
            events = requests.get(base + "/events/v3/events", headers=auth, params={"objectType": "contact"})
            assert events.status_code == 403, "a Starter portal has no web-analytics events API"
            seen.append((page.json(), requests.get(base + "/_sandbox/state").json()["objects"], mail.json()["events"]))
    assert seen[0] == seen[1]
    assert max(e["created"] for e in seen[0][2]) <= 1_767_225_600_000, "no e-mail event after the portal's now"


def test_cli_rejects_bad_tier_and_clock_options() -> None:
    runner = CliRunner()
    bad_tier = runner.invoke(app, ["sandbox", "hubspot", "--tier", "platinum"])
    assert bad_tier.exit_code == 2 and "starter" in bad_tier.output
    bad_instant = runner.invoke(app, ["sandbox", "hubspot", "--frozen-at", "yesterday"])
    assert bad_instant.exit_code == 2 and "ISO-8601" in bad_instant.output
    both = runner.invoke(app, ["sandbox", "hubspot", "--frozen-at", "2026-01-01", "--start-at", "2026-01-01"])
    assert both.exit_code == 2 and "not both" in both.output
