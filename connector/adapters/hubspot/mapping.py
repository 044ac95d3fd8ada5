"""The HubSpot mapping file (``mappings/hubspot.yaml``): the only place HubSpot names meet canonical ones.

Loaded with :func:`connector.yamlfile.load_yaml_model`, so every error names file, line and key.
The documented example is ``mappings/hubspot.yaml``; ``docs/hubspot.md`` explains each key.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re
import typing as t

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from connector.scoring.records import utc
from connector.yamlfile import LocatedError, load_yaml_model

__all__ = [
    "ActivitiesMap",
    "ContactsMap",
    "ConversionError",
    "EmailEventsMap",
    "EngagementsMap",
    "HubSpotMapping",
    "ListsMap",
    "OutputsMap",
    "PropertyMap",
    "PropertyType",
    "ScoreBandList",
    "TasksMap",
    "WebEventsMap",
    "convert",
    "load_mapping",
    "parse_hubspot_time",
]

PropertyType = t.Literal["string", "number", "integer", "bool", "datetime", "date", "enumeration", "range"]
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a mapping must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertyMap(_Strict):
    """One HubSpot contact property feeding one canonical property, with its type."""

    property: str
    type: PropertyType = "string"
    #: Multi-select (checkbox) values arrive as ``a;b;c``: split them into a list.
    multiple: bool = False
    #: HubSpot option value -> canonical value (e.g. ``COMPUTER_SOFTWARE: Software``); others pass unchanged.
    values: dict[str, t.Any] = Field(default_factory=dict)


class ContactsMap(_Strict):
    """Which contact properties are pulled, and under which canonical names."""

    email_property: str = "email"
    owner_property: str = "hubspot_owner_id"
    #: canonical name -> HubSpot property (a bare string means a ``string`` property of that name).
    properties: dict[str, PropertyMap] = Field(default_factory=dict)
    #: model stage name -> HubSpot datetime property holding when the contact entered that stage
    #: (``hs_lifecyclestage_<stage>_date``): fills ``Contact.stage_dates``, which seeds the stage
    #: history on the first sync so ``reset_on_enter`` does not wipe existing MQLs.
    stage_dates: dict[str, str] = Field(default_factory=dict)

    @field_validator("properties", mode="before")
    @classmethod
    def _shorthand(cls, value: t.Any) -> t.Any:
        if isinstance(value, dict):
            return {k: {"property": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class WebEventsMap(_Strict):
    """Web analytics events (``GET /events/v3/events``), by HubSpot event type name."""

    enabled: bool = True
    #: HubSpot event type -> canonical activity type.
    types: dict[str, str] = Field(default_factory=lambda: {"e_visited_page": "page_view", "e_submitted_form": "form_submit"})
    #: event property -> canonical attribute name; other event properties are kept under their own names.
    attributes: dict[str, str] = Field(default_factory=lambda: {"hs_url": "url", "hs_page_title": "title", "hs_form_id": "form_id"})
    #: HubSpot form name -> the value models match in the ``form`` attribute of a submission.
    #: Submissions name their form by GUID; the adapter resolves names through the forms API.
    #: A form not listed here still gets its HubSpot name in ``form`` (and always in ``form_name``).
    forms: dict[str, str] = Field(default_factory=dict)
    page_size: int = Field(default=100, gt=0, le=100)

    @field_validator("forms")
    @classmethod
    def _form_values(cls, value: dict[str, str]) -> dict[str, str]:
        for name, canonical in value.items():
            if not str(name).strip() or not str(canonical).strip():
                raise ValueError(f"form names and their values must not be empty (got {name!r}: {canonical!r})")
        return value


class EmailEventsMap(_Strict):
    """Marketing email events (``GET /email/public/v1/events``), identified by recipient email."""

    enabled: bool = True
    #: email event type -> canonical activity type. ``STATUSCHANGE`` counts only when it unsubscribes.
    types: dict[str, str] = Field(
        default_factory=lambda: {"SENT": "email_sent", "OPEN": "email_open", "CLICK": "email_click", "STATUSCHANGE": "unsubscribe"}
    )
    page_size: int = Field(default=1000, gt=0, le=1000)


EngagementKind = t.Literal["meetings", "calls", "emails"]
_ENGAGEMENT_TYPES: dict[EngagementKind, str] = {"meetings": "meeting", "calls": "call", "emails": "email_sent"}


class EngagementsMap(_Strict):
    """CRM engagements (meetings, calls, emails) found by their occurrence time ``hs_timestamp``."""

    enabled: bool = True
    types: dict[EngagementKind, str] = Field(default_factory=lambda: dict(_ENGAGEMENT_TYPES))


class ActivitiesMap(_Strict):
    """The three activity sources."""

    web_events: WebEventsMap = Field(default_factory=WebEventsMap)
    email_events: EmailEventsMap = Field(default_factory=EmailEventsMap)
    engagements: EngagementsMap = Field(default_factory=EngagementsMap)


class OutputsMap(_Strict):
    """Where scores are written: a property group and canonical output name -> HubSpot property."""

    group: str = "lead_scoring"
    group_label: str = "Lead scoring"
    #: canonical output name (``ScoringModel.output_names()`` values) -> HubSpot property; default: same name.
    properties: dict[str, str] = Field(default_factory=dict)

    def property_for(self, output: str) -> str:
        """The HubSpot property an output is written to."""
        return self.properties.get(output, output)


class ScoreBandList(_Strict):
    """A DYNAMIC list of contacts whose output (a number) lies in ``[min, max)``."""

    name: str
    output: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> ScoreBandList:
        if self.min is None and self.max is None:
            raise ValueError("a score band needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("'min' must be below 'max'")
        return self


class ListsMap(_Strict):
    """Which lists ``connector setup`` keeps, besides the MANUAL lists triggers name."""

    stage_lists: bool = True
    #: ``{model}`` and ``{stage}`` are replaced.
    stage_list_name: str = "{model}: {stage}"
    score_bands: list[ScoreBandList] = Field(default_factory=list)


class TasksMap(_Strict):
    """``create_task`` trigger actions."""

    #: Owner for tasks of contacts without ``hubspot_owner_id``; without it such tasks fail clearly.
    default_owner_id: str | None = None
    priority: t.Literal["LOW", "MEDIUM", "HIGH"] | None = None


class CustomerOutcomeMap(_Strict):
    """Contacts that became customers, dated by the stage-entry date HubSpot keeps per lifecycle stage."""

    enabled: bool = True
    #: HubSpot sets ``hs_lifecyclestage_<stage>_date`` when a contact enters the stage
    #: (https://knowledge.hubspot.com/records/use-lifecycle-stages); the walk is on this date.
    date_property: str = "hs_lifecyclestage_customer_date"


class DealOutcomeMap(_Strict):
    """Won deals, each an outcome of every contact associated with it."""

    enabled: bool = True
    #: ``"true"`` on a deal in a closed-won stage of any pipeline (HubSpot's calculated property).
    won_property: str = "hs_is_closed_won"
    date_property: str = "closedate"
    amount_property: str = "amount"


class OutcomesMap(_Strict):
    """What the connector reads as a contact's outcome; a source left out is not read (no request)."""

    customer: CustomerOutcomeMap | None = None
    deals: DealOutcomeMap | None = None


class HubSpotMapping(_Strict):
    """A whole HubSpot mapping file."""

    crm: t.Literal["hubspot"]
    contacts: ContactsMap = Field(default_factory=ContactsMap)
    activities: ActivitiesMap = Field(default_factory=ActivitiesMap)
    outputs: OutputsMap = Field(default_factory=OutputsMap)
    lists: ListsMap = Field(default_factory=ListsMap)
    tasks: TasksMap = Field(default_factory=TasksMap)
    outcomes: OutcomesMap = Field(default_factory=OutcomesMap)

    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_check(self) -> HubSpotMapping:
        hs_names: dict[str, str] = {}
        for canonical, spec in self.contacts.properties.items():
            if not _NAME.match(canonical):
                raise LocatedError(("contacts", "properties", canonical), f"canonical name {canonical!r} must start with a letter and use letters, digits or _")
            if spec.property in hs_names:
                raise LocatedError(("contacts", "properties", canonical, "property"), f"HubSpot property '{spec.property}' is already mapped to '{hs_names[spec.property]}'")
            hs_names[spec.property] = canonical
        targets: dict[str, str] = {}
        for output, prop in self.outputs.properties.items():
            if prop in targets:
                raise LocatedError(("outputs", "properties", output), f"outputs '{targets[prop]}' and '{output}' both write HubSpot property '{prop}'")
            targets[prop] = output
        return self

    @property
    def source(self) -> str | None:
        """The file this mapping was loaded from (for ``file:line`` in problems)."""
        return self._source

    def contact_properties(self) -> list[str]:
        """HubSpot properties a contact pull asks for: only those the mapping names (plus bookkeeping)."""
        names = [self.contacts.email_property, self.contacts.owner_property, "lastmodifieddate", "hs_object_id"]
        names += [spec.property for spec in self.contacts.properties.values()]
        names += list(self.contacts.stage_dates.values())
        return list(dict.fromkeys(names))


def load_mapping(path: str | pathlib.Path) -> HubSpotMapping:
    """Load and validate a HubSpot mapping file; errors name file:line:key (``YamlFileError``)."""
    mapping = load_yaml_model(path, HubSpotMapping, what="HubSpot mapping")
    mapping._source = str(path)
    return mapping


class ConversionError(ValueError):
    """A HubSpot value that cannot be read as the type the mapping declares."""


def parse_hubspot_time(value: t.Any) -> dt.datetime:
    """HubSpot datetimes come as ISO 8601 (``2024-05-01T10:00:00.123Z``) or epoch milliseconds."""
    if isinstance(value, dt.datetime):
        return utc(value)
    text = str(value).strip()
    if "T" not in text and re.fullmatch(r"-?\d+", text):  # ISO text (the usual form) skips the pattern
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    try:
        return utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ConversionError(f"cannot read {value!r} as a date-time") from None


def convert(value: t.Any, spec: PropertyMap) -> t.Any:
    """HubSpot sends every property value as a string (or null); give it the declared type.

    Blank values are ``None`` (not set). Raises :class:`ConversionError` with a readable reason.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = spec.type
    if spec.values and not spec.multiple:
        text = str(value).strip()
        if text in spec.values:
            return spec.values[text]
        folded = {str(k).lower(): v for k, v in spec.values.items()}
        if text.lower() in folded:
            return folded[text.lower()]
    if spec.multiple:
        items = [part.strip() for part in str(value).split(";") if part.strip()]
        return [convert(item, spec.model_copy(update={"multiple": False})) for item in items]
    if kind in ("string", "enumeration"):
        return str(value)
    if kind in ("number", "integer"):
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ConversionError(f"cannot read {value!r} as a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ConversionError(f"{value!r} is not a finite number")
        if kind == "integer":
            if not number.is_integer():
                raise ConversionError(f"{value!r} is not a whole number")
            return int(number)
        return number
    if kind == "range":
        # HubSpot range dropdowns ("25-50", "1000+", "10,000+"): the lower bound, as a number.
        match = re.match(r"^\s*([0-9][0-9,.]*)\s*(?:[-+]|$|to\b)", str(value))
        if not match:
            raise ConversionError(f"cannot read {value!r} as a range like '25-50' or '1000+'")
        return float(match.group(1).replace(",", ""))
    if kind == "bool":
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ConversionError(f"cannot read {value!r} as true/false")
    if kind == "datetime":
        return parse_hubspot_time(value)
    if kind == "date":
        text = str(value).strip()
        if re.fullmatch(r"\d+", text):
            return parse_hubspot_time(text).date()
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            raise ConversionError(f"cannot read {value!r} as a date") from None
    raise ConversionError(f"unknown type {kind!r}")  # pragma: no cover - Literal guards it
