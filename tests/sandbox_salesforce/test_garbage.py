"""Garbage in: malformed JSON, wrong types, unknown fields and paths get Salesforce's error bodies, never a crash."""

from __future__ import annotations

import random

import pytest
import requests

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads, api


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "JSON_PARSER_ERROR"),
    (b"[1, 2]", "JSON_PARSER_ERROR"),
    (b"", "JSON_PARSER_ERROR"),
    (b'{"LastName": "x", "Company": "y", "NumberOfEmployees": "many"}', "JSON_PARSER_ERROR"),
    (b'{"LastName": "x", "Company": "y", "HasOptedOutOfEmail": "yes"}', "JSON_PARSER_ERROR"),
    (b'{"LastName": {"nested": 1}, "Company": "y"}', "JSON_PARSER_ERROR"),
    (b'{"LastName": "x", "Company": "y", "CreatedDate": 5}', "INVALID_FIELD_FOR_INSERT_UPDATE"),
    (b'{"LastName": "x", "Company": "y", "Favourite_Colour__c": "red"}', "INVALID_FIELD"),
])
def test_bad_create_bodies(http: requests.Session, sandbox: SalesforceSandbox, body: bytes, code: str) -> None:
    answer = http.post(api(sandbox, "sobjects/Lead"), data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()[0]
    assert error["errorCode"] == code and error["message"]
    assert sandbox.org.counts()["Lead"] == 0


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "sobjects/Lead/notanid", 404, "NOT_FOUND"),
    ("GET", "nothing/here", 404, "NOT_FOUND"),
    ("PUT", "sobjects/Lead", 405, "METHOD_NOT_ALLOWED"),
    ("GET", "query", 400, "MALFORMED_QUERY"),
    ("PATCH", "composite/sobjects", 400, "JSON_PARSER_ERROR"),
    ("DELETE", "composite/sobjects", 400, "MISSING_ARGUMENT"),
])
def test_bad_requests(http: requests.Session, sandbox: SalesforceSandbox, method: str, path: str, status: int, code: str) -> None:
    answer = http.request(method, api(sandbox, path), data=b"")
    assert answer.status_code == status
    assert answer.json()[0]["errorCode"] == code


def test_unsupported_api_version(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    assert http.get(f"{sandbox.instance_url}/services/data/v20.0/limits").status_code == 404
    assert http.get(f"{sandbox.instance_url}/services/data/v61.0/limits").status_code == 200
    versions = requests.get(f"{sandbox.instance_url}/services/data", verify=sandbox.ca_path).json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions


def test_collection_records_of_the_wrong_shape(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {})[0]
    for body in ({"records": "nope"}, {"records": [1, 2]}, {"allOrNone": "maybe", "records": []}):
        answer = http.patch(api(sandbox, "composite/sobjects"), json=body)
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    typed = http.patch(api(sandbox, "composite/sobjects"), json={"records": [{"attributes": {"type": "Lead"}, "id": lead, "NumberOfEmployees": [1]}]})
    assert typed.status_code == 400 and typed.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_random_junk_never_crashes(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    rng = random.Random(5)
    paths = ["sobjects/Lead", "composite/sobjects", "jobs/ingest", "tooling/sobjects/CustomField", "query", "sobjects/Lead/describe"]
    for _ in range(120):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT"])
        answer = http.request(method, api(sandbox, rng.choice(paths)), data=junk, params={"q": junk.decode("latin-1")} if method == "GET" else None)
        assert answer.status_code < 500, (method, junk, answer.text)
        assert isinstance(answer.json(), (list, dict))


def test_token_endpoint_garbage(sandbox: SalesforceSandbox) -> None:
    url = f"{sandbox.instance_url}/services/oauth2/token"
    for body in (b"", b"\xff\xfe", b"grant_type=", b"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=a.b.c"):
        answer = requests.post(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, verify=sandbox.ca_path)
        assert answer.status_code == 400 and set(answer.json()) == {"error", "error_description"}
    answer = requests.post(url, json={"grant_type": "client_credentials"}, verify=sandbox.ca_path)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
