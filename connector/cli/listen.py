"""``connector listen --crm NAME``: near-real-time sync from the CRM's change feed (Salesforce Change Data Capture).

Thin: loads the config, opens the CRM's change feed through the registry (``AdapterSpec.change_feed``), the run
(``run_sync`` of that CRM, the same the scheduler calls) and the listener
(:mod:`connector.sync.changes`), and listens until Ctrl-C/SIGTERM, which finish the run in flight.
HubSpot has no pulled feed: its changes arrive as webhooks through ``connector serve``.
"""

from __future__ import annotations

import signal
import threading
import typing as t

import typer

from connector.cli.common import fail, load_config_or_fail, open_state_or_fail

__all__ = ["register"]

ConfigOpt = t.Annotated[str | None, typer.Option("--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG or ./connector.yaml)")]
CrmOpt = t.Annotated[str | None, typer.Option("--crm", help="Which configured CRM (default: the only one)")]


def listen_command(
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    topic: t.Annotated[str, typer.Option("--topic", help="Pub/Sub API topic: /data/ChangeEvents (all selected objects) or /data/LeadChangeEvent...")] = "/data/ChangeEvents",
    debounce: t.Annotated[float, typer.Option("--debounce", min=0.0, help="Seconds of quiet after the last change before a sync run starts")] = 1.0,
    max_delay: t.Annotated[float, typer.Option("--max-delay", min=0.0, help="Longest wait in seconds after the first pending change, however busy the feed")] = 10.0,
) -> None:
    """Listen to the CRM's change events and run an incremental sync a second after changes (Salesforce CDC)."""
    from connector.adapters.base import CRMError
    from connector.sync.changes import ChangeListener, FeedPositions
    from connector.sync.pipeline import run_sync
    from connector.sync.service import setup_logging

    cfg = load_config_or_fail(config)
    try:
        entry = cfg.crm(crm)
    except KeyError as exc:
        fail(str(exc.args[0]))
    setup_logging(cfg.log_format, cfg.log_level)
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models
    from connector.sync.connect import open_change_feed
    from connector.yamlfile import YamlFileError

    try:
        feed = open_change_feed(entry, topic, [spec.name for spec in specs_from_models(load_models(entry.models))], env_file=cfg.env_file)
    except (CRMError, YamlFileError) as exc:
        fail(str(exc))
    engine = open_state_or_fail(cfg)
    stop = threading.Event()
    listener = ChangeListener(feed.source, lambda: run_sync(cfg, entry.name, engine=engine, stop=stop), FeedPositions(engine, entry.name, topic),
                              debounce_s=debounce, max_delay_s=max_delay, stop=stop, is_echo=feed.is_echo)

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    typer.echo(f"listening to {topic} of {entry.name} (Ctrl-C to stop)", err=True)
    try:
        stats = listener.listen()
    except CRMError as exc:
        fail(str(exc))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        feed.close()
        engine.dispose()
    typer.echo(f"stopped: {stats.notices} change(s), {stats.echoes} echo(es) of our writes, {stats.runs} run(s) ({stats.failed_runs} failed), {stats.gaps} gap(s)", err=True)


def register(app: typer.Typer) -> None:
    """Add ``listen`` to ``app``."""
    app.command("listen")(listen_command)
