"""``report.html`` in headless Chromium: no console message at all, every chart decoded, a screenshot drawn.

Chromium logs each console message (errors, uncaught exceptions, blocked network requests by the
page's Content-Security-Policy) as an ``INFO:CONSOLE`` line on stderr with ``--enable-logging=stderr``;
the page itself writes how many chart images decoded into ``data-charts-loaded`` on load, which
``--dump-dom`` shows. ``.ci/run`` installs Debian's ``chromium`` where it is missing.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import matplotlib.image
import pytest

from connector.report import make_report
from connector.sync.db import open_database
from tests.report.seed import CRM, seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium; .ci/run does it)")


def _chromium(tmp: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_report_opens_in_chromium_without_console_errors(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    s = seed(url)
    engine = open_database(url)
    page, _ = make_report(engine, CRM, [s.model], tmp_path / "out")
    engine.dispose()
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console(dom.stderr) == []
    expected = re.search(r'data-charts-expected="(\d+)"', dom.stdout)
    loaded = re.search(r'data-charts-loaded="(\d+)"', dom.stdout)
    assert expected and loaded, "the page's load handler did not run"
    assert int(expected.group(1)) == 9
    assert loaded.group(1) == expected.group(1)
    shot = tmp_path / "shot.png"
    run = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console(run.stderr) == []
    image = matplotlib.image.imread(shot)
    assert image.shape[0] == 4000 and image.shape[1] == 1280
    assert image.std() > 0.05  # charts drawn, not a blank page


def test_a_console_error_is_caught(tmp_path: pathlib.Path) -> None:
    """The check above can fail: a page that logs an error is seen."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); missing();</script></body></html>")
    run = _chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert any("boom" in line for line in _console(run.stderr))
