"""The KPI report: charts (PNG), one self-contained HTML page and a terminal summary.

Thin: every number comes from :func:`connector.sync.reportdata.report_data`; this package only draws
(:mod:`.charts`), fills the page (:mod:`.html`) and prints tables (:mod:`.summary`).
"""

from __future__ import annotations

import datetime as dt
import pathlib
import typing as t

from connector.report.html import write_report
from connector.sync.reportdata import ReportData, report_data

if t.TYPE_CHECKING:
    import sqlalchemy as sa

    from connector.scoring.model import ScoringModel

__all__ = ["make_report", "write_config_reports", "write_report"]


def make_report(
    engine: sa.Engine, crm: str, models: t.Sequence[ScoringModel], output: pathlib.Path, *, since: dt.datetime | None = None
) -> tuple[pathlib.Path, ReportData]:
    """Read the figures of ``crm`` and write the page and charts into ``output``; the page's path and the figures."""
    data = report_data(engine, crm, models, since=since)
    return write_report(data, output), data


def write_config_reports(config_path: pathlib.Path, output: pathlib.Path) -> list[pathlib.Path]:
    """The report of every CRM of a ``connector.yaml`` (``connector demo``); the pages' paths.

    One CRM: ``output/report.html``; several: ``output/<crm>/report.html``.
    """
    from connector.scoring.loader import load_models
    from connector.sync.config import load_config
    from connector.sync.db import open_database

    config = load_config(config_path)
    engine = open_database(config.effective_database_url())
    try:
        return [
            make_report(engine, crm.name, load_models(crm.models), output if len(config.crms) == 1 else output / crm.name)[0].resolve()
            for crm in config.crms
        ]
    finally:
        engine.dispose()
