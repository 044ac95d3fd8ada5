"""``connector run`` as a real process against a sandbox: SIGTERM mid-sync exits 0 after the batch in flight.

The service starts, its first sync begins at once; when the push has written a few batches the test
sends SIGTERM. The process must exit 0, having recorded every batch the CRM received (nothing written
but unrecorded), with the run marked ``stopped``; the next run then writes exactly what was left and a
further run writes nothing.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from connector.sync.config import load_config
from connector.sync.pipeline import run_sync
from tests.sync.test_crash import env_for, make_sandbox, setup_crm, write_config

CONTACTS = 150


def _config(folder: pathlib.Path) -> pathlib.Path:
    # slow enough that SIGTERM lands mid-push: 10 contacts per batch, 8 requests per second
    path = write_config(folder, "svc", rate_limit={"requests": 8, "per_seconds": 1, "searches_per_second": 100}, batch={"push_size": 10}, log_format="json", lease=None)
    text = path.read_text().replace("  rate_limit:", "  schedule:\n    interval_minutes: 60\n    full_rescore_at: null\n  rate_limit:")
    path.write_text(text)
    return path


def _updates(sandbox: object) -> int:
    return sum(1 for r in sandbox.requests if r.path.endswith("/batch/update") and r.status == 200)  # type: ignore[attr-defined]


def test_sigterm_mid_sync_exits_zero_after_the_batch_and_the_next_run_resumes(tmp_path: pathlib.Path) -> None:
    with make_sandbox(CONTACTS) as crm:
        config_path = _config(tmp_path)
        setup_crm(config_path, crm)
        env = {**os.environ, **env_for(crm)}
        env.pop("DATABASE_URL", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "run", "--config", str(config_path)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            while _updates(crm) < 3 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert _updates(crm) >= 3, "the push never started"
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err[-3000:]
        assert '"SIGTERM received' in err and "stopped cleanly" in err, err[-2000:]
        assert crm.token not in err, "the access token reached the logs"

        config = load_config(config_path)
        engine = sa.create_engine(config.effective_database_url())
        with engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM runs ORDER BY id DESC LIMIT 1")).scalar()
            done = conn.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE status = 'done'")).scalar()
            pending = conn.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")).scalar()
        engine.dispose()
        with crm.store.lock:
            written_in_crm = sum(1 for rec in crm.store.objects("contacts").records.values() if rec.properties.get("b2b_saas_score") not in (None, ""))
        assert status == "stopped"
        assert pending > 0, "the run finished before SIGTERM; the test proves nothing"
        assert done == written_in_crm, "a batch the CRM received was not recorded, or the other way round"

        creds = env_for(crm)
        from connector.sync.connect import connect

        factory = lambda c, gate: connect(c, gate, environ=creds)  # noqa: E731
        resumed = run_sync(config, adapter_factory=factory)
        assert resumed.status == "ok", resumed.error
        assert resumed.written == pending
        again = run_sync(config, adapter_factory=factory)
        assert again.written == 0
        with crm.store.lock:
            scored = sum(1 for rec in crm.store.objects("contacts").records.values() if rec.properties.get("b2b_saas_score") not in (None, ""))
        assert scored == CONTACTS
