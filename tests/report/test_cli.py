"""``connector report``: the command writes the page and prints the summary; bad input gets a clear error."""

from __future__ import annotations

import pathlib

from typer.testing import CliRunner

from connector.cli import app
from tests.report.seed import seed
from tests.sync.conftest import write_config


def test_report_command(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    seed(url)
    path = write_config(tmp_path, url)
    # the seeded rows are those of CRM "hs", scored with b2b-saas: point the config's only CRM at them
    (tmp_path / "model.yaml").write_text((pathlib.Path(__file__).parents[2] / "mappings" / "models" / "b2b-saas.yaml").read_text())
    path.write_text(path.read_text().replace("name: main", "name: hs"))
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(app, ["report", "--config", str(path), "--output", str(out), "--since", "2026-09-01"])
    assert done.exit_code == 0, done.output
    assert "Sync health" in done.output and "conversion by score band" in done.output and f"report: {out / 'report.html'}" in done.output.replace("\n", "")
    assert (out / "report.html").is_file() and (out / "funnel-b2b-saas.png").is_file()
    bad = runner.invoke(app, ["report", "--config", str(path), "--output", str(out), "--since", "last week"])
    assert bad.exit_code == 2 and "is not a date" in bad.output
    unknown = runner.invoke(app, ["report", "--config", str(path), "--output", str(out), "--crm", "nope"])
    assert unknown.exit_code == 2 and "no CRM named 'nope'" in unknown.output
