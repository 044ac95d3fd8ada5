"""A ``connector sync`` killed while its scoring worker runs leaves nothing behind on the terminal.

The worker used to sit behind a ``ProcessPoolExecutor``, whose queues use named POSIX semaphores;
a run killed with SIGKILL cannot unlink them, and Python's resource tracker then printed
"resource_tracker: There appear to be N leaked semaphore objects to clean up at shutdown".
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import pytest

from tests.fakecrm import T0, FakeCRM
from tests.sync.conftest import write_config
from tests.sync.test_score_worker import _running, _workers_of

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Runs ``connector sync`` and parks the run once its scoring worker is up (it starts at the second page).
SCRIPT = """
import sys, time
from connector.sync.store import Store
save, pages = Store.save_contacts, []
def slow(self, records, now):
    pages.append(records)
    if len(pages) == 4:
        print('worker up', flush=True)
        time.sleep(3)  # SIGKILL comes meanwhile; after SIGTERM the run goes on and stops after this page
    return save(self, records, now)
Store.save_contacts = slow
from connector.cli import main
sys.argv = ['connector', 'sync']
main()
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_sync_leaves_no_leaked_semaphore_warning(tmp_path: pathlib.Path, sig: signal.Signals) -> None:
    state = tmp_path / "crm.json"
    crm = FakeCRM()
    for i in range(30):
        crm.add_contact(f"c{i}", T0, email=f"p{i}@example.com", job_title="Marketing Manager")
    crm.save(state)
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    config.write_text(config.read_text().replace("TEST_TOKEN_VAR", "FAKECRM_TOKEN").replace("batch:\n", "batch:\n  score_worker_after: 1\n", 1))
    env = {**os.environ, "CONNECTOR_CONFIG": str(config), "FAKECRM_STATE": str(state), "FAKECRM_TOKEN": "t", "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        while "worker up" not in (line := proc.stdout.readline()):
            assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        workers = _workers_of(proc.pid)
        assert workers, "the run never started its scoring worker: the test proves nothing"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)  # EOF once every process holding stderr (the resource tracker too) has ended
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "leaked" not in err and "resource_tracker" not in err, err
    assert not [w for w in workers if _running(w)], "a scoring worker outlived its run"
