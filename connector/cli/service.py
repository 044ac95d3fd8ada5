"""CLI command: ``connector run``, the scheduler service.

Thin: load and check the configuration, build the objects, hand over to :mod:`connector.sync.service`.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import threading

import typer

from connector.cli.common import fail

__all__ = ["register", "run_command"]


def run_command(
    config: pathlib.Path | None = typer.Option(None, "--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG, else ./connector.yaml)."),
    misfire_grace: int = typer.Option(3600, "--misfire-grace", min=1, help="Seconds a missed run may be late and still run once at start."),
) -> None:
    """Run the scheduled syncs as a foreground service (stop with SIGTERM or Ctrl-C)."""
    from connector.adapters.base import CRMError, NoGate
    from connector.sync.config import config_path, load_config
    from connector.sync.connect import connect
    from connector.sync.db import open_database
    from connector.sync.modelversions import learn_if_due
    from connector.sync.pipeline import run_sync
    from connector.sync.scheduler import job_specs
    from connector.sync.scorers import ScorerSet
    from connector.sync.service import SyncService, setup_logging
    from connector.yamlfile import YamlFileError

    path = config_path(config)
    if not path.is_file():
        fail(f"{path}: configuration not found (give --config or set CONNECTOR_CONFIG; see connector.example.yaml)", code=2)
    try:
        cfg = load_config(path)
        scorers = {crm.name: ScorerSet.load(crm.models) for crm in cfg.crms}
    except YamlFileError as exc:
        fail(str(exc), code=2)
    setup_logging(cfg.log_format, cfg.log_level)
    # Fail at start, not at the first run, when a credential is missing.
    for crm in cfg.crms:
        try:
            connect(crm, NoGate(), env_file=cfg.env_file).close()
        except CRMError as exc:
            fail(str(exc), code=2)
    url = cfg.effective_database_url()
    engine = open_database(url)

    def sync(crm: str, full: bool, stop: threading.Event) -> object:
        summary = run_sync(cfg, crm, full=full, stop=stop, engine=engine, scorers=scorers[crm])
        if not stop.is_set():
            learn_if_due(engine, cfg.crm(crm), dt.datetime.now(dt.UTC))  # learn.every_days: on the schedule
        return summary

    service = SyncService(url, job_specs(cfg), sync, misfire_grace_seconds=misfire_grace, config_path=str(path.resolve()))
    try:
        code = service.run()
    finally:
        engine.dispose()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("run")(run_command)
