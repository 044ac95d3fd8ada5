"""Bearer-token auth, HubSpot's 401 body, OAuth refresh and token expiry on the sandbox clock."""

from __future__ import annotations

import requests

from connector.sandbox.hubspot import HubSpotSandbox


def test_missing_or_wrong_token_is_401_with_hubspot_body(sandbox: HubSpotSandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {sandbox.token}"}):
        answer = requests.get(sandbox.base_url + "/crm/v3/owners", headers=headers)
        assert answer.status_code == 401
        body = answer.json()
        assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
        assert sandbox.token not in answer.text


def test_refresh_gives_a_token_that_expires_on_the_sandbox_clock(sandbox: HubSpotSandbox) -> None:
    creds = sandbox.oauth
    form = {"grant_type": "refresh_token", "client_id": creds.client_id, "client_secret": creds.client_secret, "refresh_token": creds.refresh_token}
    answer = requests.post(sandbox.base_url + "/oauth/v1/token", data=form)
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    assert requests.get(sandbox.base_url + "/crm/v3/owners", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    sandbox.clock.advance(seconds=1801)
    expired = requests.get(sandbox.base_url + "/crm/v3/owners", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and expired.json()["category"] == "EXPIRED_AUTHENTICATION"
    bad = requests.post(sandbox.base_url + "/oauth/v1/token", data={**form, "refresh_token": "stolen"})
    assert bad.status_code == 400 and bad.json()["status"] == "BAD_REFRESH_TOKEN"
    bad_client = requests.post(sandbox.base_url + "/oauth/v1/token", data={**form, "client_secret": "x"})
    assert bad_client.status_code == 400 and bad_client.json()["status"] == "BAD_CLIENT_ID"


def test_unknown_path_is_404_and_wrong_method_405(sandbox: HubSpotSandbox, http: requests.Session) -> None:
    assert http.get(sandbox.base_url + "/crm/v3/nothing/here").status_code == 404
    assert http.delete(sandbox.base_url + "/crm/v3/owners").status_code == 405
