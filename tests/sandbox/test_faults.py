"""Fault injection: seeded, every kind answers as documented, and writes are all-or-nothing."""

from __future__ import annotations

import pytest
import requests

from connector.sandbox.hubspot import FaultPlan, HubSpotSandbox
from connector.sandbox.hubspot.faults import FaultInjector


def test_same_seed_same_faults() -> None:
    one, two = FaultInjector(FaultPlan(rate=0.3, seed=9)), FaultInjector(FaultPlan(rate=0.3, seed=9))
    assert [one.draw() for _ in range(200)] == [two.draw() for _ in range(200)]
    three = FaultInjector(FaultPlan(rate=0.3, seed=9))
    seq = [three.draw() for _ in range(1000)]
    assert 200 < sum(1 for d in seq if d) < 400
    assert set(seq) - {None} == {"429", "500", "502", "503", "drop", "slow"}


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ValueError):
        FaultPlan(rate=2)
    with pytest.raises(ValueError):
        FaultPlan(kinds=("418",))


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("502", 502), ("503", 503), ("429", 429)])
def test_each_kind_answers_with_its_status(kind: str, status: int) -> None:
    with HubSpotSandbox(rate_limit=None, search_rate=None, faults=1.0, fault_kinds=(kind,)) as sb:
        answer = requests.get(sb.base_url + "/crm/v3/owners", headers={"Authorization": f"Bearer {sb.token}"})
        assert answer.status_code == status
        if kind == "502":
            assert answer.headers["Content-Type"] == "text/html" and "Bad Gateway" in answer.text
        else:
            assert answer.json()["status"] == "error"
        if kind == "429":
            assert answer.headers["Retry-After"] == "1"
        assert sb.requests[-1].fault == kind


def test_dropped_connection_and_slow_answer() -> None:
    with HubSpotSandbox(rate_limit=None, faults=1.0, fault_kinds=("drop",)) as sb:
        with pytest.raises(requests.ConnectionError):
            requests.get(sb.base_url + "/crm/v3/owners", headers={"Authorization": f"Bearer {sb.token}"})
        sb.set_faults(rate=1.0, kinds=("slow",), slow_seconds=0.2)
        answer = requests.get(sb.base_url + "/crm/v3/owners", headers={"Authorization": f"Bearer {sb.token}"})
        assert answer.status_code == 200 and answer.elapsed.total_seconds() >= 0.2


@pytest.mark.parametrize(("writes", "applied"), [("skip", False), ("apply", True)])
def test_faulted_batch_write_is_applied_entirely_or_not_at_all(writes: str, applied: bool) -> None:
    with HubSpotSandbox(rate_limit=None, faults=1.0, fault_kinds=("500",), fault_writes=writes) as sb:
        ids = sb.store.add_contacts([{"email": f"{i}@x.io"} for i in range(50)])
        answer = requests.post(sb.base_url + "/crm/v3/objects/contacts/batch/update", headers={"Authorization": f"Bearer {sb.token}"},
                               json={"inputs": [{"id": i, "properties": {"jobtitle": "CEO"}} for i in ids]})
        assert answer.status_code == 500
        titles = {sb.store.get("contacts", i).properties.get("jobtitle") for i in ids}
        assert titles == ({"CEO"} if applied else {None})


def test_admin_endpoints_are_never_faulted() -> None:
    with HubSpotSandbox(rate_limit=None, faults=1.0, fault_kinds=("500",)) as sb:
        assert requests.get(sb.base_url + "/_sandbox/state").status_code == 200
        changed = requests.post(sb.base_url + "/_sandbox/faults", json={"rate": 0})
        assert changed.json()["rate"] == 0
        assert requests.get(sb.base_url + "/crm/v3/owners", headers={"Authorization": f"Bearer {sb.token}"}).status_code == 200
