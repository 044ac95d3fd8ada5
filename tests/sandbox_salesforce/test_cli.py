"""`connector sandbox salesforce` prints the SALESFORCE_* settings, serves until stopped, and refuses bad options."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from simple_salesforce import Salesforce

from connector.sandbox.testing import trusting_session

CONNECTOR = os.path.join(os.path.dirname(sys.executable), "connector")  # the console script installed by `make install`
NAMES = ["SALESFORCE_INSTANCE_URL", "SALESFORCE_LOGIN_URL", "SALESFORCE_DOMAIN", "SALESFORCE_API_VERSION", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET",
         "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_JWT_KEY_FILE", "SALESFORCE_REFRESH_TOKEN", "SALESFORCE_CA_BUNDLE"]


def test_prints_settings_that_work_then_cleans_up_on_sigterm() -> None:
    process = subprocess.Popen([CONNECTOR, "sandbox", "salesforce", "--port", "0", "--seed", "empty"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        env = dict(process.stdout.readline().strip().split("=", 1) for _ in NAMES)
        assert list(env) == NAMES
        assert process.stdout.readline().startswith("SALESFORCE_PUBSUB_URL=127.0.0.1:")  # the Pub/Sub API, any free port with --port 0
        sf = Salesforce(consumer_key=env["SALESFORCE_CLIENT_ID"], consumer_secret=env["SALESFORCE_CLIENT_SECRET"], domain=env["SALESFORCE_DOMAIN"],
                        session=trusting_session(env["SALESFORCE_CA_BUNDLE"]))
        assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 8
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert not os.path.exists(env["SALESFORCE_CA_BUNDLE"])


def test_bad_options_exit_2() -> None:
    for args in (["--seed", "huge"], ["--frozen-at", "yesterday"], ["--fault-kinds", "429"], ["--frozen-at", "2025-01-01T00:00:00Z", "--start-at", "2025-01-01T00:00:00Z"]):
        done = subprocess.run([CONNECTOR, "sandbox", "salesforce", "--port", "0", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
