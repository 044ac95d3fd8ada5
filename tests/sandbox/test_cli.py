"""``connector sandbox hubspot`` prints NAME=value lines and serves until interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests
from typer.testing import CliRunner

from connector.cli import app


def test_cli_serves_and_prints_settings() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "connector", "sandbox", "hubspot", "--port", "0", "--seed", "empty", "--token", "tok-1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        settings = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(5))
        assert settings["HUBSPOT_ACCESS_TOKEN"] == "tok-1"
        base = settings["HUBSPOT_BASE_URL"]
        assert base.startswith("http://127.0.0.1:")
        answer = requests.get(base + "/crm/v3/owners", headers={"Authorization": "Bearer tok-1"})
        assert answer.status_code == 200 and answer.json()["results"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_cli_rejects_bad_options() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["sandbox", "hubspot", "--seed", "huge"]).exit_code != 0
    bad_rate = runner.invoke(app, ["sandbox", "hubspot", "--rate-limit", "fast"])
    assert bad_rate.exit_code != 0 and "190/10s" in bad_rate.output
    bad_kind = runner.invoke(app, ["sandbox", "hubspot", "--port", "0", "--fault-kinds", "418"])
    assert bad_kind.exit_code == 2 and "418" in bad_kind.output
