"""Forms by name: submissions carry the form's name and the mapping's value; ``check`` finds unknown names.

Also the free-text ``industry`` of real portals, translated by the shipped mapping without codes.
"""

from __future__ import annotations

import pathlib

from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping, load_mapping
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import T0, at, make_adapter


def test_a_submission_names_its_form_and_the_mapped_value(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    contact_us = sandbox.store.forms.add("Contact us", T0 - 1000).id
    other = sandbox.store.forms.add("Partner application", T0 - 1000).id
    gone = sandbox.store.forms.add("Old webinar", T0 - 1000).id
    sandbox.store.forms.archive(gone)
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    sandbox.store.add_events([
        {"objectId": cid, "eventType": "e_submitted_form", "occurredAt": T0 + 1 + i, "properties": {"hs_form_id": form}}
        for i, form in enumerate([contact_us, other, gone, "no-such-form"])
    ])
    sandbox.requests_clear()
    acts = sorted((a for p in adapter.pull_activities(at(T0), at(T0 + 10)) for a in p.records), key=lambda a: a.occurred_at)
    assert [(a.attributes.get("form"), a.attributes.get("form_name"), a.attributes["form_id"]) for a in acts] == [
        ("contact-us", "Contact us", contact_us),          # the shipped mapping's value for the name
        ("Partner application", "Partner application", other),  # not in the mapping: its name
        ("Old webinar", "Old webinar", gone),              # archived since: read on its own
        (None, None, "no-such-form"),
    ]
    forms_calls = [r for r in sandbox.requests if r.path.startswith("/marketing/v3/forms")]
    assert len(forms_calls) == 1 + 2 + 2, "the list once, the archived form and the unknown id each live then archived"
    again = list(adapter.pull_activities(at(T0), at(T0 + 10)))
    assert again and len([r for r in sandbox.requests if r.path.startswith("/marketing/v3/forms")]) == 5, "names are read once per adapter"


def test_check_reports_a_form_name_no_form_has(sandbox: HubSpotSandbox, mapping: HubSpotMapping, tmp_path: pathlib.Path) -> None:
    for name in ("Contact us", "Request a demo", "Newsletter signup", "Download the e-book"):
        sandbox.store.forms.add(name, T0)
    assert [p for p in make_adapter(sandbox, mapping).check([]) if "form" in p.key] == []
    path = tmp_path / "hubspot.yaml"
    path.write_text("crm: hubspot\nactivities:\n  web_events:\n    forms:\n      Contact Us: contact-us\n      Newsletter signup: newsletter\n")
    (problem,) = [p for p in make_adapter(sandbox, load_mapping(path)).check([]) if "form" in p.key]
    assert (problem.file, problem.line, problem.key) == (str(path), 5, "activities.web_events.forms.Contact Us")
    assert "no form named 'Contact Us' (did you mean 'Contact us'?)" in problem.message


def test_free_text_industry_is_translated_without_assuming_codes(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    typed = ["Computer Software", "software", "SaaS", "Banking", "COMPUTER_SOFTWARE", "Nonprofit", ""]
    sandbox.store.add_contacts([{"email": f"c{i}@x.io", "industry": v} for i, v in enumerate(typed)])
    pages = list(adapter.pull_contacts(None, at(T0 + 1)))
    assert [r for p in pages for r in p.rejects] == []
    got = {c.email: c.properties.get("industry") for p in pages for c in p.records}
    assert [got[f"c{i}@x.io"] for i in range(len(typed))] == ["Software", "software", "SaaS", "Financial Services", "Software", "Nonprofit", None]


def test_without_the_forms_scope_submissions_keep_their_guid_and_the_run_is_told() -> None:
    import typing as t

    from connector.adapters.base import CRMError
    from connector.adapters.hubspot.forms import FormNames

    class Refusing:
        """A client whose app lacks the ``forms`` scope (the sandbox has no scopes to take away)."""

        forms = type("FormsApi", (), {"get_page": None, "get_by_id": None})()
        calls = 0

        def call(self, method: str, path: str, fn: object, *args: object, **kwargs: object) -> t.NoReturn:
            Refusing.calls += 1
            raise CRMError("HubSpot token is missing scope forms (403 on GET /marketing/v3/forms: ...)", status=403)

    names = FormNames(t.cast(t.Any, Refusing()))
    assert names.name_of("b6336282-50ec-465e-894e-e368146fa25f") is None and names.listing() == {}
    assert Refusing.calls == 1, "refused once, not asked again per form"
    assert names.notice is not None and "'forms' scope" in names.notice and "score nothing" in names.notice
