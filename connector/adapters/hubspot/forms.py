"""Forms by name: HubSpot's form GUIDs read through the forms API, so mappings and models can say "Contact us".

A form submission names its form only by GUID (``hs_form_id``); the name people know is in the
forms API: ``GET /marketing/v3/forms`` (``{"results": [{"id": <GUID>, "name": ...}], "paging":
{"next": {"after": ...}}}``, at most 100 per page,
https://developers.hubspot.com/docs/api-reference/marketing-forms-v3/forms/get-marketing-v3-forms-)
and ``GET /marketing/v3/forms/{formId}`` for one (an archived form too, with ``archived=true``).
The answers are read as plain JSON: with client-side validation on, SDK 12's form models cannot
parse a real form (a field model requires the attributes of every field type at once).

Read lazily, once per adapter: a pull with no form submission reads no form. A GUID missing from
the list (a form created, or archived, since) is read on its own, once.
"""

from __future__ import annotations

import typing as t

from connector.adapters.base import CRMError
from connector.adapters.hubspot.client import call_json

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["FormNames"]

PATH = "/marketing/v3/forms"
PAGE = 100


class FormNames:
    """The portal's forms, GUID -> name, for one adapter."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._names: dict[str, str | None] | None = None
        #: Why no form has a name (the app lacks the ``forms`` scope: 403), else ``None``.
        self.notice: str | None = None

    def listing(self) -> dict[str, str]:
        """Every live form of every type: GUID -> name (read once; empty when the forms API is refused)."""
        if self._names is None:
            try:
                self._names = self._read_all()
            except CRMError as exc:
                if exc.status != 403:
                    raise
                from connector.adapters.hubspot.web_events import stable

                self._names = {}
                self.notice = (
                    "HubSpot refused to list the portal's forms (403: the app needs the 'forms' scope). Form submissions "
                    f"carry no form name, so rules on a form score nothing. HubSpot said: {stable(exc)}"
                )
        return {k: v for k, v in self._names.items() if v is not None}

    def _read_all(self) -> dict[str, str | None]:
        """Every form, every page of ``GET /marketing/v3/forms`` (``formTypes=all``)."""
        names: dict[str, str | None] = {}
        after: str | None = None
        while True:
            kwargs: dict[str, t.Any] = {"limit": PAGE, "form_types": ["all"]}
            if after:
                kwargs["after"] = after
            body = call_json(self.client, "GET", PATH, self.client.forms.get_page, **kwargs)
            results = body.get("results")
            if not isinstance(results, list):
                raise CRMError(f"HubSpot answered GET {PATH} without a 'results' list: {str(body)[:200]}")
            for form in results:
                if isinstance(form, dict) and form.get("id") and isinstance(form.get("name"), str):
                    names[str(form["id"])] = form["name"]
            nxt = (body.get("paging") or {}).get("next") if isinstance(body.get("paging"), dict) else None
            after = str(nxt["after"]) if isinstance(nxt, dict) and nxt.get("after") else None
            if not after:
                break
        return names

    def name_of(self, form_id: str) -> str | None:
        """The form's name (an archived form's too); ``None`` when HubSpot has no such form."""
        self.listing()
        assert self._names is not None
        if form_id not in self._names and self.notice is None:
            self._names[form_id] = None
            for archived in (False, True):
                try:
                    body = call_json(self.client, "GET", f"{PATH}/{form_id}", self.client.forms.get_by_id, form_id, archived=archived)
                except CRMError as exc:
                    if exc.status == 404:
                        continue
                    raise
                if isinstance(body.get("name"), str):
                    self._names[form_id] = body["name"]
                    break
        return self._names.get(form_id)

    def ids_named(self, name: str) -> list[str]:
        """GUIDs of the live forms called ``name`` (HubSpot does not enforce unique names)."""
        return sorted(i for i, n in self.listing().items() if n == name)
