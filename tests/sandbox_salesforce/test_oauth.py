"""OAuth 2.0 token endpoint: client credentials, JWT bearer, refresh token and password grants, and their errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import jwt
import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connector.sandbox.salesforce import INTEGRATION_USERNAME, SalesforceSandbox
from connector.sandbox.salesforce.sandbox import _rsa_key_pair
from connector.sandbox.testing import trusting_session


def token(sandbox: SalesforceSandbox, **form: str) -> tuple[int, dict[str, str]]:
    answer = trusting_session(sandbox.ca_path).post(f"{sandbox.instance_url}/services/oauth2/token", data=form)
    return answer.status_code, answer.json()


def test_client_credentials_through_simple_salesforce(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    sf = Salesforce(consumer_key=env["SALESFORCE_CLIENT_ID"], consumer_secret=env["SALESFORCE_CLIENT_SECRET"], domain=env["SALESFORCE_DOMAIN"],
                    session=trusting_session(sandbox.ca_path))
    assert sf.auth_type == "client-credentials"
    assert sf.sf_instance == sandbox.instance_url.removeprefix("https://")
    me = sf.query(f"SELECT Username FROM User WHERE Id = '{sandbox.integration_user_id}'")
    assert me["records"][0]["Username"] == INTEGRATION_USERNAME


def test_token_answer_has_salesforce_fields_and_a_valid_signature(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    status, body = token(sandbox, grant_type="client_credentials", client_id=env["SALESFORCE_CLIENT_ID"], client_secret=env["SALESFORCE_CLIENT_SECRET"])
    assert status == 200
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert body["token_type"] == "Bearer" and body["instance_url"] == sandbox.instance_url
    assert body["id"] == f"{sandbox.instance_url}/id/{sandbox.org.org_id}/{sandbox.integration_user_id}"
    expected = hmac.new(env["SALESFORCE_CLIENT_SECRET"].encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert base64.b64decode(body["signature"]) == expected
    identity = trusting_session(sandbox.ca_path).get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert identity.json()["username"] == INTEGRATION_USERNAME


def test_jwt_bearer_through_simple_salesforce(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    sf = Salesforce(username=env["SALESFORCE_USERNAME"], consumer_key=env["SALESFORCE_CLIENT_ID"], privatekey_file=env["SALESFORCE_JWT_KEY_FILE"],
                    domain=env["SALESFORCE_DOMAIN"], session=trusting_session(sandbox.ca_path))
    assert sf.auth_type == "jwt-bearer"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 8


def _assertion(sandbox: SalesforceSandbox, key: bytes | None = None, **claims: object) -> str:
    body = {"iss": sandbox.connected_app.client_id, "sub": INTEGRATION_USERNAME, "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180}
    body.update(claims)
    return jwt.encode(body, key or open(sandbox.jwt_key_path, "rb").read(), algorithm="RS256")


@pytest.mark.parametrize(("claims", "error", "description"), [
    ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
    ({"aud": "https://evil.example"}, "invalid_grant", "audience is invalid"),
    ({"exp": int(time.time()) - 600}, "invalid_grant", "expired authorization code"),
    ({"sub": "nobody@sandbox-org.example"}, "invalid_grant", "user hasn't approved this consumer"),
])
def test_jwt_claims_are_checked(sandbox: SalesforceSandbox, claims: dict[str, object], error: str, description: str) -> None:
    status, body = token(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=_assertion(sandbox, **claims))
    assert status == 400
    assert body == {"error": error, "error_description": description}


def test_jwt_signed_by_another_key_is_refused(sandbox: SalesforceSandbox) -> None:
    other_key, _ = _rsa_key_pair()
    status, body = token(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=_assertion(sandbox, key=other_key))
    assert (status, body["error"], body["error_description"]) == (400, "invalid_grant", "invalid assertion")
    status, body = token(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion="not.a.jwt")
    assert body["error"] == "invalid_grant"


def test_refresh_token_and_password_grants(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    status, body = token(sandbox, grant_type="refresh_token", client_id=env["SALESFORCE_CLIENT_ID"], refresh_token=env["SALESFORCE_REFRESH_TOKEN"])
    assert status == 200 and "refresh_token" not in body
    status, body = token(sandbox, grant_type="refresh_token", client_id=env["SALESFORCE_CLIENT_ID"], refresh_token="stale")
    assert (status, body) == (400, {"error": "invalid_grant", "error_description": "expired access/refresh token"})
    status, body = token(sandbox, grant_type="password", client_id=env["SALESFORCE_CLIENT_ID"], client_secret=env["SALESFORCE_CLIENT_SECRET"],
                         username=env["SALESFORCE_USERNAME"], password=env["SALESFORCE_PASSWORD"] + env["SALESFORCE_SECURITY_TOKEN"])
    assert status == 200 and body["access_token"]
    status, body = token(sandbox, grant_type="password", client_id=env["SALESFORCE_CLIENT_ID"], client_secret=env["SALESFORCE_CLIENT_SECRET"],
                         username=env["SALESFORCE_USERNAME"], password=env["SALESFORCE_PASSWORD"])
    assert (status, body) == (400, {"error": "invalid_grant", "error_description": "authentication failure"})


def test_client_and_grant_errors(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    assert token(sandbox, grant_type="client_credentials", client_id="nope", client_secret="x")[1] == {"error": "invalid_client_id", "error_description": "client identifier invalid"}
    assert token(sandbox, grant_type="client_credentials", client_id=env["SALESFORCE_CLIENT_ID"], client_secret="wrong")[1]["error"] == "invalid_client"
    assert token(sandbox, grant_type="magic")[1] == {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        Salesforce(consumer_key=env["SALESFORCE_CLIENT_ID"], consumer_secret="wrong", domain=env["SALESFORCE_DOMAIN"], session=trusting_session(sandbox.ca_path))
    assert failed.value.code == "invalid_client"


def test_login_calls_do_not_count_against_the_daily_allowance(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    for _ in range(3):
        token(sandbox, grant_type="client_credentials", client_id=env["SALESFORCE_CLIENT_ID"], client_secret=env["SALESFORCE_CLIENT_SECRET"])
    assert sandbox.app.daily.used == 0
