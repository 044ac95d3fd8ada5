"""The foreground service stops cleanly: SIGTERM finishes the batch in flight, then exits 0."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
import typing as t

from connector.sync.scheduler import JobSpec, daily_trigger, schedule_trigger
from connector.sync.service import SyncService

SPECS = [JobSpec("hubspot", False, schedule_trigger(interval_seconds=3600)), JobSpec("hubspot", True, daily_trigger("03:00"))]


def _batches(log: list[str], stop: threading.Event, n: int = 50, pause: float = 0.05) -> None:
    """A fake sync: n batches, each one started and finished, stopping between batches."""
    for i in range(n):
        if stop.is_set():
            log.append("stopped")
            return
        log.append(f"start {i}")
        time.sleep(pause)
        log.append(f"done {i}")
    log.append("complete")


def test_stop_event_finishes_the_batch_in_flight(tmp_path: pathlib.Path) -> None:
    events: list[str] = []
    service = SyncService(f"sqlite:///{tmp_path / 's.db'}", SPECS, lambda crm, full, stop: _batches(events, stop))
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(service.run(install_signal_handlers=False)))
    thread.start()
    deadline = time.monotonic() + 5
    while "done 2" not in events and time.monotonic() < deadline:
        time.sleep(0.01)
    service.stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert result == [0]
    assert events[-1] == "stopped"
    starts = [e for e in events if e.startswith("start")]
    dones = [e for e in events if e.startswith("done")]
    assert len(starts) == len(dones), "a batch was cut in the middle"


def test_failed_run_does_not_end_the_service(tmp_path: pathlib.Path) -> None:
    calls: list[str] = []

    def failing(crm: str, full: bool, stop: threading.Event) -> None:
        calls.append(crm)
        raise RuntimeError("CRM down")

    service = SyncService(f"sqlite:///{tmp_path / 's.db'}", SPECS, failing)
    thread = threading.Thread(target=service.run, kwargs={"install_signal_handlers": False})
    thread.start()
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert thread.is_alive()
    service.stop.set()
    thread.join(10)
    assert calls == ["hubspot"]


SCRIPT = textwrap.dedent(
    """
    import sys, threading, time, logging
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from connector.sync.scheduler import JobSpec, schedule_trigger
    from connector.sync.service import SyncService
    out = open(sys.argv[2], "a", buffering=1)
    def sync(crm, full, stop):
        for i in range(1000):
            if stop.is_set():
                out.write("stopped\\n"); return
            out.write(f"start {i}\\n"); time.sleep(0.05); out.write(f"done {i}\\n")
    spec = [JobSpec("hubspot", False, schedule_trigger(interval_seconds=3600))]
    sys.exit(SyncService(sys.argv[1], spec, sync).run())
    """
)


def test_sigterm_in_a_real_process_exits_zero_after_the_batch(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "svc.py"
    script.write_text(SCRIPT)
    marks = tmp_path / "marks.txt"
    proc = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 's.db'}", str(marks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if marks.exists() and "done 3" in marks.read_text():
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    text = marks.read_text().splitlines()
    assert text[-1] == "stopped"
    assert sum(1 for line in text if line.startswith("start")) == sum(1 for line in text if line.startswith("done"))
    assert "SIGTERM received" in err and "stopped cleanly" in err


def test_second_signal_exits_at_once(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "svc.py"
    script.write_text(SCRIPT.replace("time.sleep(0.05)", "time.sleep(30)"))
    marks = tmp_path / "marks.txt"
    proc = subprocess.Popen([sys.executable, str(script), f"sqlite:///{tmp_path / 's.db'}", str(marks)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (marks.exists() and "start 0" in marks.read_text()):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert proc.poll() is None, "the first signal waits for the batch in flight"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130


def test_json_log_lines_parse() -> None:
    import io
    import json
    import logging

    from connector.sync.service import setup_logging

    buf = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("json", "INFO", stream=buf)
        logging.getLogger("connector.test").info("hello %s", "world")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("connector.test").exception("failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert lines[0]["message"] == "hello world" and lines[0]["level"] == "INFO" and lines[0]["ts"].endswith("+00:00")
    assert lines[1]["level"] == "ERROR" and "ValueError: boom" in lines[1]["exc"]


def test_run_command_refuses_to_start_without_config_or_credentials(tmp_path: pathlib.Path, monkeypatch: t.Any) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    repo = pathlib.Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    monkeypatch.delenv("H7_MISSING_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2 and "connector.yaml: configuration not found" in result.output

    config = tmp_path / "c.yaml"
    config.write_text(
        f"crms:\n  - name: x\n    adapter: hubspot\n    mapping: {repo / 'mappings' / 'hubspot.yaml'}\n"
        f"    models: [{repo / 'mappings' / 'models' / 'b2b-saas.yaml'}]\n    credentials: {{access_token: H7_MISSING_TOKEN}}\n"
        f"database_url: sqlite:///{tmp_path / 's.db'}\n"
    )
    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2 and "H7_MISSING_TOKEN" in result.output
