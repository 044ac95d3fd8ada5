"""Marketing forms (forms API v3): a form is a GUID with a human name.

A form submission names its form only by ``hs_form_id``, the form's GUID (e.g.
``b6336282-50ec-465e-894e-e368146fa25f``); the name ("Contact us") lives in the forms API
(https://developers.hubspot.com/docs/api-reference/marketing-forms-v3/forms/get-marketing-v3-forms-
shows ``{"id": "b6336282-...", "name": "Contact us", ...}``). A connector that wants rules on "the
contact-us form" must resolve names to GUIDs there.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t
import uuid

from connector.sandbox.hubspot.clock import iso_ms
from connector.sandbox.hubspot.errors import not_found

__all__ = ["Form", "FormStore"]

#: The SDK 12 model accepts only these group types (HubSpot's own doc example also shows "default").
_GROUP_TYPE = "default_group"
_STYLE = {
    "fontFamily": "arial, helvetica, sans-serif", "backgroundWidth": "100%", "labelTextColor": "#33475b",
    "labelTextSize": "13px", "helpTextColor": "#7C98B6", "helpTextSize": "11px", "legalConsentTextColor": "#33475b",
    "legalConsentTextSize": "14px", "submitColor": "#ff7a59", "submitAlignment": "left", "submitFontColor": "#ffffff",
    "submitSize": "12px",
}
#: contact property -> (label, field type) of the form field that fills it.
_FIELDS = {"email": ("Email", "email"), "firstname": ("First name", "single_line_text"), "lastname": ("Last name", "single_line_text"),
           "company": ("Company name", "single_line_text"), "jobtitle": ("Job title", "single_line_text"), "message": ("Message", "multi_line_text")}


@dataclasses.dataclass
class Form:
    """One ``hubspot`` form."""

    id: str
    name: str
    created_ms: int
    updated_ms: int
    fields: tuple[str, ...] = ("email", "firstname", "lastname")
    archived: bool = False
    form_type: str = "hubspot"

    def to_json(self) -> dict[str, t.Any]:
        """HubSpot's ``HubSpotFormDefinition`` (shape of the forms v3 reference example)."""
        groups = []
        for name in self.fields:
            label, field_type = _FIELDS.get(name, (name.capitalize(), "single_line_text"))
            field: dict[str, t.Any] = {"objectTypeId": "0-1", "name": name, "label": label, "required": name == "email",
                                       "hidden": False, "fieldType": field_type, "dependentFields": []}
            if name == "email":
                field["validation"] = {"blockedEmailDomains": [], "useDefaultBlockList": False}
            groups.append({"groupType": _GROUP_TYPE, "richTextType": "text", "fields": [field]})
        return {
            "formType": self.form_type, "id": self.id, "name": self.name,
            "createdAt": iso_ms(self.created_ms), "updatedAt": iso_ms(self.updated_ms), "archived": self.archived,
            "fieldGroups": groups,
            "configuration": {
                "language": "en", "cloneable": True, "editable": True, "archivable": True, "recaptchaEnabled": False,
                "notifyContactOwner": False, "notifyRecipients": [], "createNewContactForNewEmail": False,
                "prePopulateKnownValues": True, "allowLinkToResetKnownValues": False,
                "postSubmitAction": {"type": "thank_you", "value": "Thanks for submitting the form."},
                "lifecycleStages": [{"objectTypeId": "0-1", "value": "lead"}],
            },
            "displayOptions": {"renderRawHtml": False, "theme": "default_style", "submitButtonText": "Submit", "style": dict(_STYLE)},
            "legalConsentOptions": {"type": "none"},
        }


class FormStore:
    """The portal's forms, oldest first (the listing order)."""

    def __init__(self) -> None:
        self._forms: dict[str, Form] = {}
        self._lock = threading.Lock()

    def add(self, name: str, created_ms: int, *, form_id: str | None = None, fields: t.Sequence[str] | None = None) -> Form:
        """Create a form; its id is a GUID (random unless given, e.g. from a seeded generator)."""
        form = Form(form_id or str(uuid.uuid4()), name, created_ms, created_ms, tuple(fields) if fields else Form.fields)
        with self._lock:
            self._forms[form.id] = form
        return form

    def archive(self, form_id: str) -> None:
        """Archive a form (it leaves the default listing; ``archived=true`` lists it)."""
        with self._lock:
            self.require(form_id).archived = True

    def all(self, *, archived: bool = False, form_types: t.Collection[str] = ("hubspot",)) -> list[Form]:
        """Forms in creation order; ``all`` among ``form_types`` means every type."""
        with self._lock:
            forms = sorted(self._forms.values(), key=lambda f: (f.created_ms, f.id))
        return [f for f in forms if f.archived == archived and ("all" in form_types or f.form_type in form_types)]

    def by_name(self, name: str) -> Form | None:
        """The live form with exactly this name, or None."""
        return next((f for f in self.all() if f.name == name), None)

    def require(self, form_id: str) -> Form:
        """A form by id, or 404."""
        form = self._forms.get(form_id)
        if form is None:
            raise not_found(f"Form {form_id} was not found", context={"formId": [form_id]})
        return form
