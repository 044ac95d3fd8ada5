"""``connector demo`` (what ``make demo`` runs) writes the demo portal's KPI report and prints its path."""

from __future__ import annotations

import pathlib

from typer.testing import CliRunner

from connector.cli import app


def test_demo_writes_the_report_beside_its_database(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--contacts", "60", "--no-rate-limit", "--database", str(tmp_path / "d.db")])
    assert result.exit_code == 0, result.output
    for crm in ("hubspot-demo", "salesforce-demo"):  # two CRMs: a report each
        page = tmp_path / "d-report" / crm / "report.html"
        assert f"KPI report: {page}" in result.output.replace("\n", "")
        html = page.read_text()
        assert html.count('class="chart-img"') == 7 * 2 + 2  # two shipped models, then firings and sync health
        # The demo portal has customers and won deals; the demo org converted leads and won opportunities.
        assert "outcomes" in html and "none known yet" not in html, crm
