"""``connector check --crm hubspot``: the mapping file against the portal's real properties.

Every property the mapping reads or writes must exist with a compatible type, outputs must be
writable, and mapped web event types must be among the portal's event types
(``GET /events/v3/events/event-types``). Each problem names the mapping file and line.
"""

from __future__ import annotations

import typing as t

from connector.adapters.base import CRMError, MappingProblem
from connector.adapters.hubspot.forms import FormNames
from connector.adapters.hubspot.mapping import HubSpotMapping
from connector.adapters.hubspot.properties import fetch_properties
from connector.adapters.hubspot.web_events import events_unavailable
from connector.adapters.problems import MappingReport, hint

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["check_mapping", "compatible"]

#: mapping type -> HubSpot property types it can read.
_READS: dict[str, set[str]] = {
    "string": {"string", "enumeration", "phone_number"},
    "enumeration": {"enumeration", "string"},
    "number": {"number"},
    "integer": {"number"},
    "bool": {"bool", "enumeration"},
    "range": {"enumeration", "string"},
    "datetime": {"datetime", "date"},
    "date": {"date", "datetime"},
}


def compatible(mapping_type: str, hubspot_type: str) -> bool:
    """Whether a HubSpot property of ``hubspot_type`` can be read as the mapping's type."""
    return hubspot_type in _READS.get(mapping_type, set())


def check_mapping(
    client: HubSpotClient, mapping: HubSpotMapping, *, output_names: t.Sequence[str] = (), forms: FormNames | None = None
) -> list[MappingProblem]:
    """All problems of ``mapping`` against the portal; ``output_names`` adds the models' outputs."""
    report = MappingReport(mapping.source)
    problems: list[MappingProblem] = report.problems

    portal = fetch_properties(client)
    contacts = mapping.contacts
    for key in ("email_property", "owner_property"):
        name = getattr(contacts, key)
        if name not in portal:
            report(("contacts", key), f"HubSpot has no contact property '{name}'{hint(name, portal)}")
    for canonical, spec in contacts.properties.items():
        loc: tuple[str, ...] = ("contacts", "properties", canonical, "property")
        prop = portal.get(spec.property)
        if prop is None:
            report(loc, f"HubSpot has no contact property '{spec.property}'{hint(spec.property, portal)}")
        elif not compatible(spec.type, prop.type):
            report(("contacts", "properties", canonical), f"'{spec.property}' is a HubSpot {prop.type} property; cannot read it as {spec.type}")
    for stage, name in contacts.stage_dates.items():
        prop = portal.get(name)
        if prop is None:
            report(("contacts", "stage_dates", stage), f"HubSpot has no contact property '{name}'{hint(name, portal)}")
        elif not compatible("datetime", prop.type):
            report(("contacts", "stage_dates", stage), f"'{name}' is a HubSpot {prop.type} property; a stage date must be a datetime or date")
    targets = {name: mapping.outputs.property_for(name) for name in output_names}
    targets.update(mapping.outputs.properties)
    for output, hs_name in targets.items():
        loc = ("outputs", "properties", output) if output in mapping.outputs.properties else ("outputs",)
        prop = portal.get(hs_name)
        if prop is None:
            report(loc, f"output '{output}' goes to HubSpot property '{hs_name}', which does not exist (run `connector setup --crm hubspot`){hint(hs_name, portal)}")
        elif prop.read_only:
            report(loc, f"output '{output}' goes to HubSpot property '{hs_name}', which is read-only")
    for i, band in enumerate(mapping.lists.score_bands):
        prop = portal.get(mapping.outputs.property_for(band.output))
        if prop is not None and prop.type != "number":
            report(("lists", "score_bands", i, "output"), f"score band list '{band.name}' filters on '{prop.name}', a {prop.type} property (needs number)")
    customer = mapping.outcomes.customer
    if customer is not None and customer.enabled:
        prop = portal.get(customer.date_property)
        loc = ("outcomes", "customer", "date_property")
        if prop is None:
            report(loc, f"HubSpot has no contact property '{customer.date_property}'{hint(customer.date_property, portal)}")
        elif prop.type not in ("datetime", "date"):
            report(loc, f"'{customer.date_property}' is a HubSpot {prop.type} property; the customer outcome needs a date")
    web = mapping.activities.web_events
    if web.enabled and web.types:
        try:
            answer = client.call("GET", "/events/v3/events/event-types", client.events.get_types)
            known = set(answer.event_types or [])
        except CRMError as exc:
            report(("activities", "web_events", "types"), f"cannot read the portal's event types: {exc}")
        else:
            for event_type in web.types:
                if event_type not in known:
                    report(("activities", "web_events", "types", event_type), f"the portal has no web event type '{event_type}'{hint(event_type, sorted(known))}")
        unavailable = _probe_events(client)
        if unavailable:
            report(("activities", "web_events", "enabled"), unavailable)
    if web.enabled and web.forms:
        forms = forms or FormNames(client)
        names = set(forms.listing().values())
        if forms.notice is not None:
            report(("activities", "web_events", "forms"), forms.notice)
        for name in web.forms if forms.notice is None else ():
            if name not in names:
                report(("activities", "web_events", "forms", name), f"the portal has no form named {name!r}{hint(name, sorted(names), quoted=True)}; submissions of it cannot be recognised")
    return problems


def _probe_events(client: HubSpotClient) -> str | None:
    """Why the portal offers no web analytics events, or ``None`` when one query answers.

    The event-types list answers on every tier ("an event type only available to Enterprise
    subscriptions is returned for an account with a Professional subscription",
    https://developers.hubspot.com/docs/guides/api/analytics-and-events/event-analytics), so only an
    events query tells: a portal without an Enterprise hub answers it 403. A 400 (a portal that
    serves one record at a time) is fine: the pull then reads per contact.
    """
    try:
        answer = client.call("GET", "/events/v3/events", client.events.get_page, object_type="contact", limit=1, _preload_content=False)
        answer.release_conn()
    except CRMError as exc:
        return events_unavailable(exc)
    return None
