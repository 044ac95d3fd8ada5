"""Every value put into SOQL goes through format_soql: hostile campaign names, task keys and stage patterns.

Quotes, backslashes, ``%``, ``_``, newlines and ``' OR Id != '`` must neither break a query
(``MALFORMED_QUERY``) nor widen it (find more than the one record named).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from connector.adapters.base import FieldUpdate, TaskRequest
from connector.adapters.specs import specs_from_models
from connector.sandbox.salesforce import SalesforceSandbox
from connector.scoring.loader import load_models
from tests.adapters.salesforce.conftest import MAPPING, MODEL, T0, make_adapter

HOSTILE = ["it's", 'say "hi"', "back\\slash", "100%", "a_b", "line\nbreak", "' OR Id != '", "x' OR Name LIKE '%", "\\' OR '1'='1", "tab\there"]


def test_hostile_values_through_every_query_path(sandbox: SalesforceSandbox, tmp_path: object) -> None:
    mapping = tmp_path / "hostile.yaml"  # type: ignore[operator]
    pattern = "it's 100%_\\ {stage}"
    mapping.write_text(MAPPING.read_text().replace('b2b_saas_stage: "b2b-saas: {stage}"', f"b2b_saas_stage: {json.dumps(pattern)}"))
    admin = make_adapter(sandbox, mapping=mapping)
    admin.setup(specs_from_models(load_models([MODEL])))
    leads = sandbox.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme", "OwnerId": sandbox.integration_user_id} for i in range(3)])
    sandbox.insert("Campaign", [{"Name": "innocent bystander"}])
    adapter = make_adapter(sandbox, mapping=mapping)
    try:
        # campaign names: find, create, add, find again, remove
        for name in HOSTILE:
            adapter.add_to_list(name, leads[:2])
            adapter.add_to_list(name, leads[:2])  # idempotent: found, not created twice
        found = adapter.campaigns.find([*HOSTILE, "innocent bystander"])
        assert set(found) == {*HOSTILE, "innocent bystander"} and len(set(found.values())) == len(HOSTILE) + 1
        members = {c: sorted(m for m in sandbox.app.org.members_of(cid)) for c, cid in found.items()}
        assert all(members[name] == sorted(leads[:2]) for name in HOSTILE) and members["innocent bystander"] == []
        for name in HOSTILE:
            adapter.remove_from_list(name, leads[:1])
        assert all(sorted(sandbox.app.org.members_of(found[name])) == [leads[1]] for name in HOSTILE)

        # task keys: created once, looked up exactly (a key that looks like a widening clause finds only itself)
        due = dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)
        tasks = [TaskRequest(key=k, contact_id=leads[0], subject="Call", body=None, due_at=due, owner_id=sandbox.integration_user_id) for k in HOSTILE]
        first = adapter.create_tasks(tasks)
        again = adapter.create_tasks([dataclasses.replace(t, attempted=True) for t in tasks])
        assert first.created == again.created and len(first.created) == len(HOSTILE)
        assert len(adapter.client.query("SELECT Id FROM Task")) == len(HOSTILE)

        # stage campaigns: the LIKE pattern with %, _ and quotes finds only its own campaigns
        adapter.push([FieldUpdate(leads[2], {"b2b_saas_stage": "mql"})])
        mql = adapter.campaigns.find([pattern.format(stage="mql")])
        assert list(sandbox.app.org.members_of(next(iter(mql.values())))) == [leads[2]]
        adapter.push([FieldUpdate(leads[2], {"b2b_saas_stage": "sql"})])
        assert list(sandbox.app.org.members_of(next(iter(mql.values())))) == []
        sql = adapter.campaigns.find([pattern.format(stage="sql")])
        assert list(sandbox.app.org.members_of(next(iter(sql.values())))) == [leads[2]]
        assert not [r for r in sandbox.requests if r.status == 400], [r.path for r in sandbox.requests if r.status == 400]
    finally:
        adapter.close()
        admin.close()


@pytest.mark.parametrize("value", HOSTILE)
def test_format_soql_is_the_only_way_in(value: str) -> None:
    from simple_salesforce.format import format_soql

    assert format_soql("{}", value).startswith("'") and "\n" not in format_soql("{}", value)
