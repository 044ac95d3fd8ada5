"""CLI commands: ``connector serve``, ``connector keys create|list|revoke``, ``connector forget``.

Thin: load the configuration, open the state database, call into :mod:`connector.server` or
:mod:`connector.sync`.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import typing as t

import typer

from connector.cli.common import fail, load_config_or_fail, open_state_or_fail

if t.TYPE_CHECKING:
    from connector.sync.config import ConnectorConfig, CRMConfig

__all__ = ["register"]

_CONFIG = typer.Option(None, "--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG, else ./connector.yaml).")


def serve_command(
    config: pathlib.Path | None = _CONFIG,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default: serve.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (default: serve.port, 8080)."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=64, help="Server processes (default: serve.workers, 1)."),
) -> None:
    """Serve webhooks (POST /webhooks/<crm>), first-party events (POST /events), /health and /metrics."""
    import uvicorn

    from connector.server.app import create_app
    from connector.server.state import build_state
    from connector.sync.config import config_path
    from connector.sync.service import setup_logging

    cfg = load_config_or_fail(str(config) if config else None, code=2)
    setup_logging(cfg.log_format, cfg.log_level)
    serve = cfg.serve
    listen_host, listen_port, processes = host or serve.host, serve.port if port is None else port, workers or serve.workers
    log_level = cfg.log_level.lower()
    if processes == 1:
        engine = open_state_or_fail(cfg)
        try:
            uvicorn.run(create_app(build_state(cfg, engine)), host=listen_host, port=listen_port, log_level=log_level, access_log=False, server_header=False)
        finally:
            engine.dispose()
        return
    # Several processes: each imports the app from the environment (uvicorn's factory mode).
    open_state_or_fail(cfg).dispose()  # upgrade the schema once, before the processes start
    os.environ["CONNECTOR_CONFIG"] = str(config_path(str(config) if config else None).resolve())
    uvicorn.run(
        "connector.server.app:app_from_environment",
        factory=True,
        host=listen_host,
        port=listen_port,
        workers=processes,
        log_level=log_level,
        access_log=False,
        server_header=False,
    )


def _config_and_crm(config: pathlib.Path | None, crm: str | None) -> tuple[ConnectorConfig, CRMConfig]:
    """The configuration and the CRM entry ``--crm`` names (the only one by default), or a plain error."""
    cfg = load_config_or_fail(str(config) if config else None)
    try:
        return cfg, cfg.crm(crm)
    except KeyError as exc:
        fail(str(exc.args[0]))


keys_app = typer.Typer(help="API keys of POST /events (stored hashed; a key is shown once, when created).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", help="What the key is for (e.g. 'website')."),
    crm: str | None = typer.Option(None, "--crm", help="The CRM its events belong to (default: the only one)."),
    rate: int | None = typer.Option(None, "--rate", min=1, help="Requests per minute (default: serve.key_rate_per_minute)."),
    config: pathlib.Path | None = _CONFIG,
) -> None:
    """Create a key and print it (once: only its hash is stored)."""
    from connector.sync.apikeys import create_key

    cfg, entry = _config_and_crm(config, crm)
    engine = open_state_or_fail(cfg)
    try:
        key, text = create_key(engine, entry.name, name, rate or cfg.serve.key_rate_per_minute, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    typer.echo(f"key {key.id} for crm {key.crm} ({key.rate_per_minute}/min); store it now, it is not shown again:")
    typer.echo(text)


@keys_app.command("list")
def keys_list(config: pathlib.Path | None = _CONFIG) -> None:
    """List the keys (ids, names, CRMs, limits, use), never their secrets."""
    from connector.sync.apikeys import list_keys

    cfg = load_config_or_fail(str(config) if config else None)
    engine = open_state_or_fail(cfg)
    try:
        keys = list_keys(engine)
    finally:
        engine.dispose()
    if not keys:
        typer.echo("no API keys (create one with: connector keys create --name NAME)")
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        used = f"last used {key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
        typer.echo(f"{key.id}  {key.crm}  {key.name}  {key.rate_per_minute}/min  {state}  {used}")


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key's id (or the key)."), config: pathlib.Path | None = _CONFIG) -> None:
    """Revoke a key: its requests are refused (401) from now on."""
    from connector.sync.apikeys import revoke_key

    cfg = load_config_or_fail(str(config) if config else None)
    engine = open_state_or_fail(cfg)
    try:
        done = revoke_key(engine, key_id, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    if not done:
        fail("no active key with this id (see: connector keys list)")
    typer.echo("revoked")


def forget_command(
    who: str = typer.Argument(..., help="The contact's id in the CRM, or an e-mail address."),
    crm: str | None = typer.Option(None, "--crm", help="Which CRM (default: the only one)."),
    config: pathlib.Path | None = _CONFIG,
) -> None:
    """Remove a person from the state store (contact, scores, reasons, history, outbox, quarantine, events, identities)."""
    from connector.sync.forget import forget

    cfg, entry = _config_and_crm(config, crm)
    if not who.strip():
        fail("give a contact id or an e-mail address")
    engine = open_state_or_fail(cfg)
    try:
        with engine.begin() as conn:
            report = forget(conn, entry.name, who)
    finally:
        engine.dispose()
    tables = ", ".join(f"{name} {n}" for name, n in sorted(report.rows.items())) or "nothing stored"
    typer.echo(f"forgot {len(report.contact_ids)} contact(s) of crm {entry.name}: {report.total} rows ({tables})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("serve")(serve_command)
    app.add_typer(keys_app, name="keys")
    app.command("forget")(forget_command)
