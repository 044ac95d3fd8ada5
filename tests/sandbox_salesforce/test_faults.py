"""Seeded faults: 500, 502, 503, dropped connections and slow answers, reproducible, all-or-nothing for writes."""

from __future__ import annotations

import time

import pytest
import requests

from connector.sandbox.faults import FaultInjector
from connector.sandbox.salesforce import SalesforceFaultPlan, SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads, api


def test_same_seed_same_faults() -> None:
    one, two = FaultInjector(SalesforceFaultPlan(rate=0.3, seed=9)), FaultInjector(SalesforceFaultPlan(rate=0.3, seed=9))
    draws = [one.draw() for _ in range(1000)]
    assert draws == [two.draw() for _ in range(1000)]
    assert 200 < sum(1 for d in draws if d) < 400 and set(draws) - {None} == {"500", "502", "503", "drop", "slow"}


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        SalesforceFaultPlan(kinds=("429",))  # Salesforce's REST API never answers 429
    with pytest.raises(ValueError):
        SalesforceFaultPlan(rate=1.5)


@pytest.mark.parametrize(("kind", "status", "code"), [("500", 500, "UNKNOWN_EXCEPTION"), ("503", 503, "SERVER_UNAVAILABLE"), ("502", 502, None)])
def test_each_kind(http: requests.Session, sandbox: SalesforceSandbox, kind: str, status: int, code: str | None) -> None:
    sandbox.set_faults(rate=1.0, kinds=(kind,))
    answer = http.get(api(sandbox, "limits"))
    assert answer.status_code == status
    if code is None:
        assert answer.headers["Content-Type"] == "text/html" and "Bad Gateway" in answer.text
    else:
        assert answer.json()[0]["errorCode"] == code
    assert sandbox.requests[-1].fault == kind


def test_drop_and_slow(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    sandbox.set_faults(rate=1.0, kinds=("drop",))
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(api(sandbox, "limits"))
    sandbox.set_faults(rate=1.0, kinds=("slow",), slow_seconds=0.3)
    started = time.monotonic()
    assert http.get(api(sandbox, "limits")).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(("writes", "applied"), [("skip", False), ("apply", True)])
def test_faulted_write_is_all_or_nothing(http: requests.Session, sandbox: SalesforceSandbox, writes: str, applied: bool) -> None:
    ids = add_leads(sandbox, {}, {})
    sandbox.set_faults(rate=1.0, kinds=("500",), writes=writes)
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "id": i, "Title": "New"} for i in ids]}
    assert http.patch(api(sandbox, "composite/sobjects"), json=body).status_code == 500
    titles = {sandbox.get("Lead", i)["Title"] for i in ids}  # type: ignore[index]
    assert titles == ({"New"} if applied else {None})


def test_admin_routes_are_never_faulted(sandbox: SalesforceSandbox) -> None:
    requests.post(f"{sandbox.instance_url}/_sandbox/faults", json={"rate": 1.0, "kinds": ["500"]}, verify=sandbox.ca_path).raise_for_status()
    assert requests.get(f"{sandbox.instance_url}/_sandbox/state", verify=sandbox.ca_path).json()["faults"]["rate"] == 1.0
    bad = requests.post(f"{sandbox.instance_url}/_sandbox/faults", json={"rate": 1.0, "kinds": ["429"]}, verify=sandbox.ca_path)
    assert bad.status_code == 400
