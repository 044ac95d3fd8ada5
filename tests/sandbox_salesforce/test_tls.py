"""HTTPS with a CA generated at start: trusted through a session with trust_env=False, refused otherwise."""

from __future__ import annotations

import os

import pytest
import requests
from simple_salesforce import Salesforce

from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import trusting_session


def test_simple_salesforce_over_https_with_a_trusting_session(sandbox: SalesforceSandbox) -> None:
    assert sandbox.instance_url.startswith("https://127.0.0.1:")
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_path
    sf = Salesforce(instance_url=sandbox.instance_url, session_id=sandbox.new_session(), session=session)
    assert sf.query("SELECT Id FROM User WHERE IsActive = true")["totalSize"] == 8
    assert sf.base_url == f"{sandbox.instance_url}/services/data/v59.0/"


def test_system_trust_store_refuses_the_sandbox_certificate(sandbox: SalesforceSandbox) -> None:
    session = requests.Session()
    session.trust_env = False  # verify=True: the system CAs, which never signed the sandbox certificate
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{sandbox.instance_url}/services/data")


def test_environment_bundle_wins_over_session_verify_unless_trust_env_is_off(sandbox: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    naive = requests.Session()
    naive.verify = sandbox.ca_path  # ignored: requests merges REQUESTS_CA_BUNDLE over it
    with pytest.raises(requests.exceptions.SSLError):
        naive.get(f"{sandbox.instance_url}/services/data")
    assert trusting_session(sandbox.ca_path).get(f"{sandbox.instance_url}/services/data").status_code == 200


def test_ca_file_is_a_pem_certificate_removed_at_stop() -> None:
    sandbox = SalesforceSandbox()
    sandbox.start()
    path = sandbox.ca_path
    with open(path, encoding="ascii") as handle:
        assert handle.read().startswith("-----BEGIN CERTIFICATE-----")
    sandbox.stop()
    assert not os.path.exists(path)
