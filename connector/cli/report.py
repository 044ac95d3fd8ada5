"""CLI command: ``connector report``: the KPI report of one CRM as an HTML page, PNG charts and tables.

Thin: the numbers are :mod:`connector.sync.reportdata`'s, the drawing :mod:`connector.report`'s.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import typing as t

import typer

from connector.cli.common import fail, load_config_or_fail, open_state_or_fail

__all__ = ["register", "report_command"]


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--since {value!r} is not a date: use YYYY-MM-DD (or an ISO 8601 time)", code=2)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def report_command(
    output: t.Annotated[pathlib.Path, typer.Option("--output", "-o", help="Folder for report.html and the PNG charts (created).")],
    config: t.Annotated[str | None, typer.Option("--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG or ./connector.yaml)")] = None,
    crm: t.Annotated[str | None, typer.Option("--crm", help="Which configured CRM (default: the only one)")] = None,
    since: t.Annotated[str | None, typer.Option("--since", help="Dated figures (stage moves, firings, runs, quarantine, outcomes) from this date on.")] = None,
) -> None:
    """Write the KPI report (report.html, self-contained, and one PNG per chart) and print a summary."""
    from rich.console import Console

    from connector.report import make_report
    from connector.report.summary import print_summary
    from connector.scoring.loader import load_models
    from connector.yamlfile import YamlFileError

    start = _since(since)
    cfg = load_config_or_fail(config)
    try:
        entry = cfg.crm(crm)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)
    try:
        models = load_models(entry.models)
    except YamlFileError as exc:
        fail(f"a model of {entry.name} is not valid:\n{exc}", code=2)
    engine = open_state_or_fail(cfg)
    try:
        page, data = make_report(engine, entry.name, models, output, since=start)
    finally:
        engine.dispose()
    console = Console()
    print_summary(data, console)
    console.print(f"report: {page}")


def register(app: typer.Typer) -> None:
    """Add this module's command to app."""
    app.command("report")(report_command)
