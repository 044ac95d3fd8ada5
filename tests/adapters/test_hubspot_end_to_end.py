"""Pull contacts and activity from the sandbox, score them, write back, read back through the SDK."""

from __future__ import annotations

import datetime as dt

from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

from connector.adapters.base import FieldUpdate
from connector.adapters.hubspot import HubSpotAdapter
from connector.adapters.hubspot.writer import format_value
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.testing import sdk_client
from connector.scoring.engine import Scorer
from connector.scoring.explain import summary
from connector.scoring.loader import load_model
from tests.adapters.conftest import MODEL, T0, at

DAY = 86_400_000


def test_pull_score_push_and_read_back(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    model = load_model(MODEL)
    adapter.setup(specs_from_models([model]))
    people = [
        {"email": "vp@northwind.io", "jobtitle": "VP Marketing", "industry": "COMPUTER_SOFTWARE", "numemployees": "100-500", "country": "Germany"},
        {"email": "student@gmail.com", "jobtitle": "Student", "industry": "EDUCATION_MANAGEMENT", "numemployees": "1-5", "country": "Brazil"},
        {"email": "cto@globex.com", "jobtitle": "CTO", "industry": "FINANCIAL_SERVICES", "numemployees": "1000+", "country": "United States"},
    ]
    ids = sandbox.store.add_contacts(people, modified_at_ms=T0 - DAY)
    sandbox.store.add_events(
        [{"objectId": ids[0], "eventType": "e_visited_page", "occurredAt": T0 - DAY + i * 1000, "properties": {"hs_url": "https://x.io/pricing"}} for i in range(3)]
        + [{"objectId": ids[2], "eventType": "e_submitted_form", "occurredAt": T0 - DAY, "properties": {"hs_form_id": "demo"}}]
    )
    sandbox.store.add_email_events([{"recipient": "VP@northwind.io", "type": "CLICK", "created": T0 - DAY, "url": "https://x.io/pricing"}])
    sandbox.store.add_engagement("meetings", {"hs_timestamp": str(T0 - DAY), "hs_meeting_title": "Demo"}, contact_ids=[ids[2]])

    until = at(T0)
    contacts = [c for p in adapter.pull_contacts(None, until) for c in p.records]
    activities = [a for p in adapter.pull_activities(None, until) for a in p.records]
    assert sorted(c.id for c in contacts) == sorted(ids)
    by_email = {c.email.lower(): c.id for c in contacts if c.email}
    # what the sync engine does with email events: resolve "email:<address>" to the contact
    resolved = [
        dc_replace(a, contact_id=by_email.get(a.anonymous_id.removeprefix("email:"))) if a.anonymous_id and a.anonymous_id.startswith("email:") else a
        for a in activities
    ]
    assert any(a.type == "email_click" and a.contact_id == ids[0] for a in resolved)

    scorer = Scorer(model)
    names = model.output_names()
    updates = []
    for contact in contacts:
        result = scorer.score(contact, [a for a in resolved if a.contact_id == contact.id], [], until)
        values = {names["score"]: result.score, names["grade"]: result.grade, names["matrix"]: result.matrix, names["stage"]: result.stage,
                  names["reasons"]: summary(result, 255), names["scored_at"]: result.as_of}
        values.update({names[f"dimension:{d}"]: v for d, v in result.dimensions.items()})
        updates.append(FieldUpdate(contact.id, values))
    assert len({u.values[names["score"]] for u in updates}) > 1, "the three contacts score differently"

    pushed = adapter.push(updates)
    assert sorted(pushed.written) == sorted(ids) and pushed.failed == {}

    # read back through the official SDK, as a separate client would, property by property
    sdk = sdk_client(sandbox)
    props = sorted({k for u in updates for k in u.values})
    answer = sdk.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(properties=props, inputs=[SimplePublicObjectId(id=i) for i in ids]), archived=False
    )
    stored = {r.id: r.properties for r in answer.results}
    portal = adapter.portal_properties(refresh=True)
    for update in updates:
        for name, value in update.values.items():
            expected = format_value(value, portal[name])
            got = stored[update.contact_id].get(name)
            if portal[name].type == "datetime":
                assert got is not None and _ms(got) == int(value.timestamp() * 1000), name
            else:
                assert (got or "") == expected, (update.contact_id, name, got, expected)

    calls = adapter.stats.calls
    assert adapter.push([]).written == [] and adapter.stats.calls == calls


def _ms(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def dc_replace(activity: object, **changes: object) -> object:
    import dataclasses

    return dataclasses.replace(activity, **changes)  # type: ignore[type-var]
