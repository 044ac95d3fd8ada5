"""What users do in Salesforce's UI that the API cannot: merge records and convert leads (admin operations).

Merge (Lead, Contact or Account; "Merge Duplicate Records" in the Salesforce Help): the losers go
to the recycle bin with ``MasterRecordId`` set to the master (so ``queryAll`` shows them, ``query``
does not), their activities, campaign memberships and child records move to the master, and the
master's ``SystemModstamp`` moves. Lead conversion ("Convert Leads"): the lead gets
``IsConverted``, ``ConvertedDate``, ``ConvertedAccountId``, ``ConvertedContactId`` (and
``ConvertedOpportunityId``) and a converted status; a contact (and an account, an opportunity) are
created from it unless given; its activities move to the contact and its campaign memberships gain
the ``ContactId``. A converted lead cannot be updated through the API any more.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.errors import ApiError
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.org import Org, Record
from connector.sandbox.salesforce.schema import ObjectDef
from connector.sandbox.salesforce.writes import Writer

__all__ = ["convert_lead", "merge"]

_CHILDREN = {  # object merged -> (child object, reference field) pairs that follow the master
    "Lead": (("Task", "WhoId"), ("Event", "WhoId"), ("CampaignMember", "LeadId")),
    "Contact": (("Task", "WhoId"), ("Event", "WhoId"), ("CampaignMember", "ContactId"), ("OpportunityContactRole", "ContactId"), ("Opportunity", "ContactId")),
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId"), ("Task", "WhatId"), ("Event", "WhatId")),
}


def _live(org: Org, sobject: str, raw_id: t.Any) -> Record:
    record_id = normalize_id(str(raw_id or ""))
    obj = org.obj(sobject)
    record = org.table(obj).get(record_id) if obj is not None and record_id else None
    if record is None:
        raise ApiError(404, "NOT_FOUND", f"no {sobject} with id {raw_id}")
    if record.get("IsDeleted"):
        raise ApiError(400, "ENTITY_IS_DELETED", f"{sobject} {raw_id} is deleted")
    return record


def merge(org: Org, sobject: str, master_id: t.Any, loser_ids: t.Sequence[t.Any]) -> dict[str, t.Any]:
    """Merge up to two losers into a master; returns ``{"masterId", "mergedIds"}``."""
    if sobject not in _CHILDREN:
        raise ApiError(400, "INVALID_TYPE", f"merge is for Lead, Contact or Account, not {sobject}")
    if not 1 <= len(loser_ids) <= 2:
        raise ApiError(400, "INVALID_OPERATION", "merge takes one or two records to merge into the master")
    master = _live(org, sobject, master_id)
    losers = [_live(org, sobject, i) for i in loser_ids]
    if any(loser["Id"] == master["Id"] for loser in losers):
        raise ApiError(400, "INVALID_OPERATION", "a record cannot be merged into itself")
    when = org.stamp()
    for loser in losers:
        for child, ref in _CHILDREN[sobject]:
            table = org.tables[child.lower()]
            for row in table.values():
                if row.get(ref) != loser["Id"] or row.get("IsDeleted"):
                    continue
                if child == "CampaignMember" and any(m.get(ref) == master["Id"] and m["CampaignId"] == row["CampaignId"] and not m.get("IsDeleted") for m in table.values()):
                    row.update({"IsDeleted": True, "SystemModstamp": when, "LastModifiedDate": when})
                    continue
                row.update({ref: master["Id"], "SystemModstamp": when, "LastModifiedDate": when})
                if child == "CampaignMember":
                    row["LeadOrContactId"] = row.get("ContactId") or row.get("LeadId")
        loser.update({"IsDeleted": True, "MasterRecordId": master["Id"], "SystemModstamp": when, "LastModifiedDate": when})
    master.update({"SystemModstamp": when, "LastModifiedDate": when})
    org.reindex_members()
    obj = t.cast("ObjectDef", org.obj(sobject))
    for loser in losers:
        org.changed(obj, loser, "DELETE", ("MasterRecordId",))
    org.changed(obj, master, "UPDATE", ("LastModifiedDate",))
    return {"masterId": master["Id"], "mergedIds": [loser["Id"] for loser in losers]}


def convert_lead(org: Org, writer: Writer, lead_id: t.Any, *, account_id: t.Any = None, contact_id: t.Any = None,
                 create_opportunity: bool = False, opportunity_name: str | None = None, converted_status: str = "Closed - Converted",
                 when_ms: int | None = None) -> dict[str, t.Any]:
    """Convert a lead; returns the ids ``{"leadId", "accountId", "contactId", "opportunityId"}``."""
    lead = _live(org, "Lead", lead_id)
    if lead.get("IsConverted"):
        raise ApiError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    stamp = org.stamp() if when_ms is None else timefmt.truncate_to_second(when_ms)
    obj = {name: t.cast(t.Any, org.obj(name)) for name in ("Account", "Contact", "Opportunity", "Lead")}
    if account_id:
        account = _live(org, "Account", account_id)
    else:
        account = writer.create(obj["Account"], {
            "Name": lead.get("Company") or f"{lead.get('LastName')} Account", "Industry": lead.get("Industry"), "NumberOfEmployees": lead.get("NumberOfEmployees"),
            "AnnualRevenue": lead.get("AnnualRevenue"), "BillingCountry": lead.get("Country"), "BillingCity": lead.get("City"), "BillingState": lead.get("State"),
            "Website": lead.get("Website"), "Phone": lead.get("Phone"), "OwnerId": lead.get("OwnerId"), "AccountSource": lead.get("LeadSource"), "CreatedDate": stamp,
        }, None)
    if contact_id:
        contact = _live(org, "Contact", contact_id)
    else:
        contact = writer.create(obj["Contact"], {
            "AccountId": account["Id"], "FirstName": lead.get("FirstName"), "LastName": lead.get("LastName"), "Salutation": lead.get("Salutation"),
            "Email": lead.get("Email"), "Title": lead.get("Title"), "Phone": lead.get("Phone"), "MobilePhone": lead.get("MobilePhone"),
            "LeadSource": lead.get("LeadSource"), "OwnerId": lead.get("OwnerId"), "HasOptedOutOfEmail": lead.get("HasOptedOutOfEmail"),
            "MailingStreet": lead.get("Street"), "MailingCity": lead.get("City"), "MailingState": lead.get("State"), "MailingPostalCode": lead.get("PostalCode"),
            "MailingCountry": lead.get("Country"), "Description": lead.get("Description"), "CreatedDate": stamp,
        }, None)
    opportunity_id = None
    day = timefmt.ms_to_date(stamp)
    if create_opportunity:
        close = (dt.date.fromisoformat(day) + dt.timedelta(days=30)).isoformat()
        opportunity = writer.create(obj["Opportunity"], {
            "Name": opportunity_name or f"{account['Name']}-", "AccountId": account["Id"], "ContactId": contact["Id"], "StageName": "Prospecting",
            "CloseDate": close, "LeadSource": lead.get("LeadSource"), "OwnerId": lead.get("OwnerId"), "CreatedDate": stamp,
        }, None)
        opportunity_id = opportunity["Id"]
    for child in ("task", "event"):
        for row in org.tables[child].values():
            if row.get("WhoId") == lead["Id"]:
                row.update({"WhoId": contact["Id"], "SystemModstamp": stamp, "LastModifiedDate": stamp})
    for member in org.tables["campaignmember"].values():
        if member.get("LeadId") == lead["Id"] and not member.get("ContactId"):
            member.update({"ContactId": contact["Id"], "SystemModstamp": stamp, "LastModifiedDate": stamp})
    org.reindex_members()
    converted = {"IsConverted": True, "ConvertedDate": day, "ConvertedAccountId": account["Id"], "ConvertedContactId": contact["Id"],
                 "ConvertedOpportunityId": opportunity_id, "Status": converted_status, "SystemModstamp": stamp, "LastModifiedDate": stamp}
    lead.update(converted)
    org.changed(obj["Lead"], lead, "UPDATE", tuple(converted))
    return {"leadId": lead["Id"], "accountId": account["Id"], "contactId": contact["Id"], "opportunityId": opportunity_id}
