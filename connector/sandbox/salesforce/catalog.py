"""The standard objects the sandbox org holds, with the fields a lead-scoring connector meets.

Names, types, lengths and picklist values follow the Object Reference for Salesforce and Lightning
Platform (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/).
Only the fields an adapter plausibly reads or writes are modelled; a query naming any other standard
field gets ``INVALID_FIELD`` as a missing custom field would. Picklists marked "org value" are values
a typical org adds (e.g. Campaign types ``Content`` and ``Web Form``).
"""

from __future__ import annotations

import typing as t

from connector.sandbox.salesforce.schema import FieldDef, ObjectDef

__all__ = ["KEY_PREFIXES", "standard_objects"]

KEY_PREFIXES = {
    "Account": "001", "Contact": "003", "Lead": "00Q", "User": "005", "Task": "00T", "Event": "00U",
    "Campaign": "701", "CampaignMember": "00v", "Opportunity": "006", "OpportunityContactRole": "00K",
    "PermissionSet": "0PS", "PermissionSetAssignment": "0Pa", "FieldPermissions": "01k",
}

LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
LEAD_SOURCE = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "Webinar", "Trade Show", "Advertisement")
INDUSTRY = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction", "Consulting",
    "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental", "Finance", "Food & Beverage",
    "Government", "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation", "Utilities", "Other",
    "Software", "SaaS", "Internet", "Financial Services",  # org values: B2B SaaS orgs add them to the standard list
)
SALUTATION = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
RATING = ("Hot", "Warm", "Cold")
STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers", "Perception Analysis",
          "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")
CAMPAIGN_TYPES = ("Advertisement", "Banner Ads", "Conference", "Direct Mail", "Email", "Partners", "Public Relations",
                  "Referral Program", "Telemarketing", "Trade Show", "Webinar", "Other", "Content", "Web Form")
ACTIVITY_TYPES = ("Call", "Email", "Meeting", "Other")


def _s(name: str, length: int, **kw: t.Any) -> FieldDef:
    return FieldDef(name, "string", length=length, **kw)


def _p(name: str, values: t.Sequence[str], **kw: t.Any) -> FieldDef:
    return FieldDef(name, "picklist", length=255, picklist=tuple(values), **kw)


def _ref(name: str, to: t.Sequence[str], rel: str | None, **kw: t.Any) -> FieldDef:
    return FieldDef(name, "reference", length=18, reference_to=tuple(to), relationship_name=rel, **kw)


def _b(name: str, default: bool = False, **kw: t.Any) -> FieldDef:
    return FieldDef(name, "boolean", nillable=False, default=default, default_on_create=True, **kw)


def _money(name: str) -> FieldDef:
    return FieldDef(name, "currency", precision=18, scale=0)


def _ro(field: FieldDef) -> FieldDef:
    field.createable = False
    field.updateable = False
    return field


def _audit(recycle: bool = True) -> list[FieldDef]:
    fields = [
        FieldDef("Id", "id", label="Record ID", length=18, nillable=False, createable=False, updateable=False, default_on_create=True, id_lookup=True, permissionable=False),
    ]
    if recycle:
        fields.append(_ro(_b("IsDeleted", label="Deleted", permissionable=False)))
    for name, kind in (("CreatedDate", "datetime"), ("LastModifiedDate", "datetime"), ("SystemModstamp", "datetime")):
        fields.append(_ro(FieldDef(name, kind, nillable=False, default_on_create=True, permissionable=False)))
    for name, rel in (("CreatedById", "CreatedBy"), ("LastModifiedById", "LastModifiedBy")):
        fields.append(_ro(_ref(name, ["User"], rel, nillable=False, default_on_create=True, permissionable=False)))
    return fields


def _obj(name: str, label_plural: str, fields: list[FieldDef], recycle: bool = True, **kw: t.Any) -> ObjectDef:
    """An object: ``Id`` first, then its own fields, then the audit fields (``IsDeleted`` only with a recycle bin)."""
    obj = ObjectDef(name, KEY_PREFIXES[name], label_plural.removesuffix("s") if name != "Opportunity" else name, label_plural, **kw)
    audit = _audit(recycle)
    for field in [audit[0], *fields, *audit[1:]]:
        obj.add(field)
    return obj


def _person_fields(address: str) -> list[FieldDef]:
    return [
        _s("LastName", 80, nillable=False, name_field=False),
        _s("FirstName", 40),
        _p("Salutation", SALUTATION),
        _ro(_s("Name", 121, label="Full Name", name_field=True, calculated=True, nillable=False)),
        _s("Title", 128),
        FieldDef(f"{address}Street", "textarea", length=255),
        _s(f"{address}City", 40), _s(f"{address}State", 80), _s(f"{address}PostalCode", 20), _s(f"{address}Country", 80),
        FieldDef("Phone", "phone", length=40), FieldDef("MobilePhone", "phone", length=40),
        FieldDef("Email", "email", length=80, id_lookup=True),
        FieldDef("Description", "textarea", length=32000),
        _p("LeadSource", LEAD_SOURCE),
        _ref("OwnerId", ["User"], "Owner", nillable=False, default_on_create=True, permissionable=False),
        _b("HasOptedOutOfEmail", label="Email Opt Out"),
        _ro(FieldDef("LastActivityDate", "date")),
    ]


def _activity_fields(kind: str) -> list[FieldDef]:
    fields = [
        _ref("WhoId", ["Contact", "Lead"], "Who", label="Name ID"),
        _ref("WhatId", ["Account", "Opportunity", "Campaign"], "What", label="Related To ID"),
        FieldDef("Subject", "combobox", length=255, picklist=("Call", "Email", "Send Letter", "Send Quote", "Other")),
        FieldDef("Description", "textarea", length=32000),
        _ref("OwnerId", ["User"], "Owner", nillable=False, default_on_create=True, permissionable=False),
        _p("Type", ACTIVITY_TYPES),
        FieldDef("ActivityDate", "date", label="Due Date Only"),
    ]
    if kind == "Task":
        fields += [
            _p("Status", ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"), nillable=False, default="Not Started", default_on_create=True),
            _p("Priority", ("High", "Normal", "Low"), nillable=False, default="Normal", default_on_create=True),
            FieldDef("TaskSubtype", "picklist", length=40, picklist=("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"), updateable=False, default_on_create=True, default="Task"),
            _ro(_b("IsClosed", label="Closed", calculated=True)),
            FieldDef("CompletedDateTime", "datetime", createable=False, updateable=False),
            FieldDef("CallDurationInSeconds", "int", digits=8),
            _p("CallType", ("Internal", "Inbound", "Outbound")),
        ]
    else:
        fields += [
            FieldDef("Location", "string", length=255),
            _b("IsAllDayEvent", label="All-Day Event"),
            FieldDef("ActivityDateTime", "datetime", label="Due Date Time"),
            FieldDef("StartDateTime", "datetime"), FieldDef("EndDateTime", "datetime"),
            FieldDef("DurationInMinutes", "int", digits=8),
            FieldDef("EventSubtype", "picklist", length=40, picklist=("Event",), updateable=False, default_on_create=True, default="Event"),
        ]
    return fields


def standard_objects() -> dict[str, ObjectDef]:
    """A fresh copy of every standard object definition, keyed by lower-case name."""
    objects = [
        _obj("Lead", "Leads", [
            _ref("MasterRecordId", ["Lead"], "MasterRecord", createable=False, updateable=False, permissionable=False),
            *_person_fields(""),
            _s("Company", 255, nillable=False),
            FieldDef("Website", "url", length=255),
            _p("Status", LEAD_STATUS, nillable=False, default="Open - Not Contacted", default_on_create=True, label="Lead Status"),
            _p("Industry", INDUSTRY), _p("Rating", RATING),
            _money("AnnualRevenue"), FieldDef("NumberOfEmployees", "int", digits=8, label="Employees"),
            _ro(_b("IsConverted", label="Converted")), _ro(FieldDef("ConvertedDate", "date")),
            _ro(_ref("ConvertedAccountId", ["Account"], "ConvertedAccount")),
            _ro(_ref("ConvertedContactId", ["Contact"], "ConvertedContact")),
            _ro(_ref("ConvertedOpportunityId", ["Opportunity"], "ConvertedOpportunity")),
            _b("IsUnreadByOwner", label="Unread By Owner"),
        ], mergeable=True),
        _obj("Contact", "Contacts", [
            _ref("MasterRecordId", ["Contact"], "MasterRecord", createable=False, updateable=False, permissionable=False),
            _ref("AccountId", ["Account"], "Account"),
            *_person_fields("Mailing"),
            _s("Department", 80), FieldDef("Birthdate", "date"), _b("DoNotCall"),
        ], mergeable=True),
        _obj("Account", "Accounts", [
            _ref("MasterRecordId", ["Account"], "MasterRecord", createable=False, updateable=False, permissionable=False),
            _s("Name", 255, nillable=False, name_field=True, label="Account Name"),
            _p("Type", ("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other")),
            _ref("ParentId", ["Account"], "Parent"),
            FieldDef("BillingStreet", "textarea", length=255), _s("BillingCity", 40), _s("BillingState", 80), _s("BillingPostalCode", 20), _s("BillingCountry", 80),
            FieldDef("Phone", "phone", length=40), FieldDef("Website", "url", length=255),
            _p("Industry", INDUSTRY), _money("AnnualRevenue"), FieldDef("NumberOfEmployees", "int", digits=8, label="Employees"),
            FieldDef("Description", "textarea", length=32000), _p("AccountSource", LEAD_SOURCE),
            _ref("OwnerId", ["User"], "Owner", nillable=False, default_on_create=True, permissionable=False),
        ], mergeable=True),
        _obj("User", "Users", [
            _s("Username", 80, nillable=False, unique=True, id_lookup=True),
            _s("LastName", 80, nillable=False), _s("FirstName", 40),
            _ro(_s("Name", 121, label="Full Name", name_field=True, calculated=True, nillable=False)),
            FieldDef("Email", "email", length=128, nillable=False), _s("Alias", 8, nillable=False), _s("Title", 80),
            _s("Department", 80), _b("IsActive", default=True, label="Active"),
            FieldDef("UserType", "picklist", length=40, picklist=("Standard", "AutomatedProcess", "CloudIntegrationUser"), createable=False, updateable=False, default_on_create=True, default="Standard"),
        ], recycle=False, deletable=False),
        _obj("Task", "Tasks", _activity_fields("Task")),
        _obj("Event", "Events", _activity_fields("Event")),
        _obj("Campaign", "Campaigns", [
            _s("Name", 80, nillable=False, name_field=True), _ref("ParentId", ["Campaign"], "Parent"),
            _p("Type", CAMPAIGN_TYPES), _p("Status", ("Planned", "In Progress", "Completed", "Aborted")),
            FieldDef("StartDate", "date"), FieldDef("EndDate", "date"), _b("IsActive", label="Active"),
            FieldDef("Description", "textarea", length=32000),
            _ref("OwnerId", ["User"], "Owner", nillable=False, default_on_create=True, permissionable=False),
            _ro(FieldDef("NumberOfLeads", "int", digits=9, calculated=True)), _ro(FieldDef("NumberOfContacts", "int", digits=9, calculated=True)),
            _ro(FieldDef("NumberOfResponses", "int", digits=9, calculated=True)),
        ]),
        _obj("CampaignMember", "Campaign Members", [
            _ref("CampaignId", ["Campaign"], "Campaign", nillable=False, updateable=False),
            _ref("LeadId", ["Lead"], "Lead", updateable=False), _ref("ContactId", ["Contact"], "Contact", updateable=False),
            FieldDef("Status", "picklist", length=40, picklist=(), default_on_create=True),
            _ro(_b("HasResponded", label="Responded", calculated=True)), _ro(FieldDef("FirstRespondedDate", "date")),
            _ro(FieldDef("LeadOrContactId", "reference", length=18, reference_to=("Lead", "Contact"), calculated=True)),
            _ro(FieldDef("Type", "string", length=40, calculated=True)),
        ]),
        _obj("Opportunity", "Opportunities", [
            _ref("AccountId", ["Account"], "Account"), _ref("ContactId", ["Contact"], "Contact"),
            _s("Name", 120, nillable=False, name_field=True),
            _p("StageName", STAGES, nillable=False, label="Stage"), _money("Amount"),
            FieldDef("Probability", "percent", precision=3, scale=0), FieldDef("CloseDate", "date", nillable=False),
            _p("Type", ("Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer")),
            _p("LeadSource", LEAD_SOURCE), _ref("CampaignId", ["Campaign"], "Campaign"),
            _ro(_b("IsClosed", label="Closed", calculated=True)), _ro(_b("IsWon", label="Won", calculated=True)),
            _ref("OwnerId", ["User"], "Owner", nillable=False, default_on_create=True, permissionable=False),
        ]),
        _obj("OpportunityContactRole", "Opportunity Contact Roles", [
            _ref("OpportunityId", ["Opportunity"], "Opportunity", nillable=False, updateable=False),
            _ref("ContactId", ["Contact"], "Contact", nillable=False),
            _p("Role", ("Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other")),
            _b("IsPrimary", label="Primary"),
        ]),
        _obj("PermissionSet", "Permission Sets", [
            _s("Name", 80, nillable=False, unique=True), _s("Label", 80, nillable=False),
            FieldDef("Description", "textarea", length=255), _ro(_b("IsOwnedByProfile")), _ro(_b("IsCustom", default=True)),
            _ro(_s("NamespacePrefix", 15)),
        ], recycle=False, custom_setup=True),
        _obj("PermissionSetAssignment", "Permission Set Assignments", [
            _ref("AssigneeId", ["User"], "Assignee", nillable=False, updateable=False),
            _ref("PermissionSetId", ["PermissionSet"], "PermissionSet", nillable=False, updateable=False),
            _ro(_b("IsActive", default=True)),
        ], recycle=False, custom_setup=True),
        _obj("FieldPermissions", "Field Permissions", [
            _ref("ParentId", ["PermissionSet"], "Parent", nillable=False, updateable=False),
            _s("SobjectType", 40, nillable=False, updateable=False), _s("Field", 255, nillable=False, updateable=False),
            _b("PermissionsRead", label="Read Permission"), _b("PermissionsEdit", label="Edit Permission"),
        ], recycle=False, custom_setup=True),
    ]
    return {obj.name.lower(): obj for obj in objects}
