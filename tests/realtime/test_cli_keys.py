"""``connector keys create|list|revoke``: the key is printed once, listed without its secret, refused once revoked."""

from __future__ import annotations

import datetime as dt
import re

from typer.testing import CliRunner

from connector.cli import app
from connector.sync.apikeys import authenticate
from connector.sync.db import open_database
from tests.sync.conftest import write_config


def test_create_list_revoke(tmp_path, monkeypatch) -> None:
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    created = CliRunner().invoke(app, ["keys", "create", "--name", "website", "--rate", "120"])
    assert created.exit_code == 0, created.output
    key = re.search(r"ck_[a-z0-9]{12}_\S+", created.output).group(0)
    key_id = key.split("_")[1]
    listed = CliRunner().invoke(app, ["keys", "list"])
    assert key_id in listed.output and "website" in listed.output and "120/min" in listed.output and "active" in listed.output
    assert key.split("_", 2)[2] not in listed.output
    engine = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    assert authenticate(engine, key, dt.datetime.now(dt.UTC)) is not None
    assert CliRunner().invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert authenticate(engine, key, dt.datetime.now(dt.UTC)) is None
    again = CliRunner().invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1 and "no active key" in again.output
    assert CliRunner().invoke(app, ["keys", "create", "--name", "x", "--crm", "nope"]).exit_code == 1
    engine.dispose()
