"""The Salesforce mapping file (``mappings/salesforce.yaml``): the only place Salesforce names meet canonical ones.

Loaded with :func:`connector.yamlfile.load_yaml_model`, so every error names file, line and key.
``mappings/salesforce.yaml`` comments every key; ``docs/salesforce.md`` is the reference.
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
    "CampaignMembersMap",
    "ConversionError",
    "EventsMap",
    "FieldMap",
    "ListsMap",
    "OutputsMap",
    "PeopleMap",
    "PersonObjectMap",
    "PushMap",
    "SalesforceMapping",
    "TasksMap",
    "convert",
    "is_custom_field",
    "load_mapping",
    "parse_sf_time",
]

FieldType = t.Literal["string", "number", "integer", "bool", "datetime", "date", "enumeration", "multipicklist"]
#: A field name, or one relationship level up (``Account.Industry``).
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_STEM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def is_custom_field(name: str) -> bool:
    """A custom field's API name: a letter, then letters, digits and single underscores (at most 40), then ``__c``."""
    stem = name.removesuffix("__c")
    return name.endswith("__c") and bool(_STEM.match(stem)) and "__" not in stem and not stem.endswith("_")


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a mapping must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(_Strict):
    """One Salesforce field feeding one canonical property, with its type."""

    field: str
    type: FieldType = "string"
    #: Salesforce value -> canonical value (e.g. ``Technology: Software``); others pass unchanged.
    values: dict[str, t.Any] = Field(default_factory=dict)

    @field_validator("field")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _FIELD.match(value):
            raise ValueError(f"{value!r} is not a Salesforce field name (Name, or one relationship up: Account.Industry)")
        return value


class PersonObjectMap(_Strict):
    """Lead or Contact: whether it is pulled, and which fields feed which canonical properties."""

    enabled: bool = True
    email_field: str = "Email"
    owner_field: str = "OwnerId"
    #: canonical name -> field (a bare string means a ``string`` field of that name).
    fields: dict[str, FieldMap] = Field(default_factory=dict)
    #: model stage name -> date or date/time field holding when the person entered that stage (a
    #: custom ``MQL_Date__c``, a flow-stamped field...): fills ``Contact.stage_dates``, which seeds
    #: the stage history on the first sync so ``reset_on_enter`` does not wipe existing MQLs.
    stage_dates: dict[str, str] = Field(default_factory=dict)

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, value: t.Any) -> t.Any:
        if isinstance(value, dict):
            return {k: {"field": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("stage_dates")
    @classmethod
    def _date_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for stage, name in value.items():
            if not _FIELD.match(name):
                raise ValueError(f"stage {stage!r}: {name!r} is not a Salesforce field name (Name, or one relationship up: Account.Field__c)")
        return value

    def soql_fields(self, extra: t.Sequence[str]) -> list[str]:
        """Fields a pull asks for: the mapping's, plus bookkeeping."""
        names = ["Id", "SystemModstamp", "IsDeleted", self.email_field, self.owner_field, *extra]
        names += [spec.field for spec in self.fields.values()]
        names += list(self.stage_dates.values())
        return list(dict.fromkeys(names))


class PeopleMap(_Strict):
    """The two Salesforce objects that are people to score."""

    lead: PersonObjectMap = Field(default_factory=PersonObjectMap)
    contact: PersonObjectMap = Field(default_factory=PersonObjectMap)


class TasksActivityMap(_Strict):
    """Tasks (logged e-mails and calls) by ``TaskSubtype``, then by ``Type``."""

    enabled: bool = True
    subtypes: dict[str, str] = Field(default_factory=lambda: {"Email": "email_sent", "Call": "call"})
    types: dict[str, str] = Field(default_factory=lambda: {"Email": "email_sent", "Call": "call"})


class EventsMap(_Strict):
    """Events (meetings): a subject containing a key (case-insensitive) gives its type, else ``default``."""

    enabled: bool = True
    default: str | None = "meeting"
    subjects: dict[str, str] = Field(default_factory=lambda: {"demo": "demo_request"})


class CampaignMembersMap(_Strict):
    """Campaign responses: campaign ``Type`` -> member ``Status`` -> canonical type."""

    enabled: bool = True
    types: dict[str, dict[str, str]] = Field(default_factory=dict)


class ActivitiesMap(_Strict):
    """The three activity sources."""

    tasks: TasksActivityMap = Field(default_factory=TasksActivityMap)
    events: EventsMap = Field(default_factory=EventsMap)
    campaign_members: CampaignMembersMap = Field(default_factory=CampaignMembersMap)


class OutputsMap(_Strict):
    """Canonical output name -> custom field (on Lead and Contact alike); default ``<output>__c``."""

    fields: dict[str, str] = Field(default_factory=dict)

    def field_for(self, output: str) -> str:
        """The custom field an output is written to."""
        return self.fields.get(output) or (output if output.endswith("__c") else f"{output}__c")


class ScoreBand(_Strict):
    """A campaign holding the people whose ``output`` (a number) lies in ``[min, max)``."""

    name: str
    output: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> ScoreBand:
        if self.min is None and self.max is None:
            raise ValueError("a score band needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("'min' must be below 'max'")
        return self

    def holds(self, value: t.Any) -> bool:
        """Whether a score ``value`` belongs in this band."""
        if value is None or isinstance(value, bool):
            return False
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return (self.min is None or number >= self.min) and (self.max is None or number < self.max)


class ListsMap(_Strict):
    """Lists are campaigns: one per stage (and per score band), members kept by diff on every write."""

    #: stage output -> campaign name pattern with ``{stage}`` (``"b2b-saas: {stage}"``): one campaign per stage.
    stage_campaigns: dict[str, str] = Field(default_factory=dict)
    score_bands: list[ScoreBand] = Field(default_factory=list)
    #: Member status of people added (must be a status of the campaign; ``Sent`` exists in every new one).
    member_status: str = "Sent"


class TasksMap(_Strict):
    """``create_task`` trigger actions."""

    #: Owner (User id) for tasks of people without an owner.
    default_owner_id: str | None = None
    priority: t.Literal["High", "Normal", "Low"] = "High"
    #: The custom activity field holding the trigger action's idempotency key (created by setup).
    key_field: str = "Connector_Action_Key__c"


class PushMap(_Strict):
    """How values are written: sObject Collections for small pushes, Bulk API 2.0 for large ones."""

    #: A push call with at least this many records goes through one Bulk API 2.0 job per object.
    bulk_threshold: int = Field(default=2000, ge=1)
    #: Largest push call the sync may make (records per Bulk job).
    max_push: int = Field(default=10000, ge=200, le=150_000)
    #: Seconds between polls of a Bulk job's state.
    bulk_poll_seconds: float = Field(default=2.0, gt=0)


class LimitsMap(_Strict):
    """The org's daily API allowance."""

    #: Fraction of the daily allowance the connector never spends (kept for other integrations).
    daily_reserve: float = Field(default=0.10, ge=0, lt=1)


class OutcomesMap(_Strict):
    """Which outcomes the connector reads for learning and the KPI report (see :mod:`.outcomes`)."""

    #: A converted lead counts as ``converted`` for the contact it became.
    converted_leads: bool = True
    #: A won opportunity counts as ``closed_won`` for its primary contact.
    won_opportunities: bool = True


class SalesforceMapping(_Strict):
    """A whole Salesforce mapping file."""

    crm: t.Literal["salesforce"]
    people: PeopleMap = Field(default_factory=PeopleMap)
    activities: ActivitiesMap = Field(default_factory=ActivitiesMap)
    outputs: OutputsMap = Field(default_factory=OutputsMap)
    lists: ListsMap = Field(default_factory=ListsMap)
    tasks: TasksMap = Field(default_factory=TasksMap)
    push: PushMap = Field(default_factory=PushMap)
    limits: LimitsMap = Field(default_factory=LimitsMap)
    outcomes: OutcomesMap = Field(default_factory=OutcomesMap)

    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_check(self) -> SalesforceMapping:
        for obj in ("lead", "contact"):
            for canonical in getattr(self.people, obj).fields:
                if not _NAME.match(canonical):
                    raise LocatedError(("people", obj, "fields", canonical), f"canonical name {canonical!r} must start with a letter and use letters, digits or _")
        targets: dict[str, str] = {}
        for output, name in self.outputs.fields.items():
            if not is_custom_field(name):
                raise LocatedError(("outputs", "fields", output), f"'{name}' is not a custom field API name (letters, digits, single underscores, ending in __c, at most 40 characters before it)")
            if name in targets:
                raise LocatedError(("outputs", "fields", output), f"outputs '{targets[name]}' and '{output}' both write field '{name}'")
            targets[name] = output
        for output, pattern in self.lists.stage_campaigns.items():
            if pattern.count("{stage}") != 1 or "{" in pattern.replace("{stage}", ""):
                raise LocatedError(("lists", "stage_campaigns", output), f"campaign name pattern {pattern!r} must contain '{{stage}}' once and no other braces")
        if not is_custom_field(self.tasks.key_field):
            raise LocatedError(("tasks", "key_field"), f"'{self.tasks.key_field}' is not a custom field API name")
        return self

    @property
    def source(self) -> str | None:
        """The file this mapping was loaded from (for ``file:line`` in problems)."""
        return self._source


def load_mapping(path: str | pathlib.Path) -> SalesforceMapping:
    """Load and validate a Salesforce mapping file; errors name file:line:key (``YamlFileError``)."""
    mapping = load_yaml_model(path, SalesforceMapping, what="Salesforce mapping")
    mapping._source = str(path)
    return mapping


class ConversionError(ValueError):
    """A Salesforce value that cannot be read as the type the mapping declares."""


def parse_sf_time(value: t.Any) -> dt.datetime:
    """Salesforce date-times: ``2025-01-15T12:00:00.000+0000`` (REST) or ISO 8601 with ``Z``."""
    if isinstance(value, dt.datetime):
        return utc(value)
    text = str(value).strip()
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        return utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ConversionError(f"cannot read {value!r} as a date-time") from None


def convert(value: t.Any, spec: FieldMap) -> t.Any:
    """A JSON value of a Salesforce field as the declared type; blanks are ``None``.

    Raises :class:`ConversionError` with a readable reason.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if spec.values and spec.type != "multipicklist":
        text = str(value).strip()
        folded = {str(k).lower(): v for k, v in spec.values.items()}
        if text in spec.values:
            return spec.values[text]
        if text.lower() in folded:
            return folded[text.lower()]
    kind = spec.type
    if kind == "multipicklist":
        items = [part.strip() for part in str(value).split(";") if part.strip()]
        return [spec.values.get(item, item) for item in items]
    if kind in ("string", "enumeration"):
        return str(value)
    if kind in ("number", "integer"):
        if isinstance(value, bool):
            raise ConversionError(f"{value!r} is not a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConversionError(f"cannot read {value!r} as a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ConversionError(f"{value!r} is not a finite number")
        if kind == "integer":
            if not number.is_integer():
                raise ConversionError(f"{value!r} is not a whole number")
            return int(number)
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ConversionError(f"cannot read {value!r} as true/false")
    if kind == "datetime":
        return parse_sf_time(value)
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise ConversionError(f"cannot read {value!r} as a date") from None
    raise ConversionError(f"unknown type {kind!r}")  # pragma: no cover - Literal guards it
