"""Lists as campaigns: Salesforce has no contact lists like HubSpot's, so membership is a CampaignMember.

* Trigger actions (``add_to_list`` / ``remove_from_list``) name a campaign; it is created on first
  use (``Type: Other``, active).
* Stage and score-band campaigns (``lists.stage_campaigns``, ``lists.score_bands`` in the mapping)
  are kept by diff whenever a push writes a stage or score: the people written are looked up among
  the members of that output's campaigns (one query per 200 people), added where they belong and
  removed where they no longer do.

Members are created through ``POST /composite/sobjects`` (200 per call, ``allOrNone: false``;
``DUPLICATE_VALUE`` "Already a campaign member" counts as done) and removed through
``DELETE /composite/sobjects?ids=...`` (200 per call). A lead's membership carries ``LeadId``, a
contact's ``ContactId`` (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_campaignmember.htm).
Every name and id goes into SOQL through ``format_soql``.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import typing as t

from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError
from simple_salesforce.format import format_soql

from connector.adapters.base import CRMError
from connector.adapters.salesforce.client import sf_error
from connector.adapters.salesforce.mapping import SalesforceMapping
from connector.adapters.salesforce.writer import COLLECTION_SIZE, object_of

if t.TYPE_CHECKING:
    from connector.adapters.salesforce.client import SalesforceClient

__all__ = ["Campaigns"]

log = logging.getLogger(__name__)


def _chunks(items: t.Sequence[str], size: int = COLLECTION_SIZE) -> t.Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class Campaigns:
    """Campaign look-ups (cached per adapter), membership changes and the stage/band diff."""

    def __init__(self, client: SalesforceClient, mapping: SalesforceMapping) -> None:
        self.client = client
        self.mapping = mapping
        self._ids: dict[str, str] = {}
        self._families: dict[str, set[str]] = {}

    # -- campaigns ---------------------------------------------------------------------------------

    def find(self, names: t.Sequence[str]) -> dict[str, str]:
        """Name -> id of the campaigns that exist among ``names`` (one query per 200 names)."""
        wanted = [n for n in dict.fromkeys(names) if n not in self._ids]
        for part in _chunks(wanted):
            for record in self.client.query(format_soql("SELECT Id, Name FROM Campaign WHERE Name IN {}", part)):
                self._ids.setdefault(str(record["Name"]), str(record["Id"]))
        return {n: self._ids[n] for n in names if n in self._ids}

    def ensure(self, name: str) -> tuple[str, bool]:
        """The campaign's id, creating it if needed; and whether it was created."""
        found = self.find([name])
        if name in found:
            return found[name], False
        answer = self.client.rest("POST", "sobjects/Campaign", json={"Name": name, "IsActive": True, "Type": "Other", "Status": "In Progress",
                                                                    "Description": "Kept by the lead-scoring connector."})
        self._ids[name] = str(answer["id"])
        for pattern, names in self._families.items():
            if _matches(pattern, name):
                names.add(name)
        return self._ids[name], True

    # -- members -----------------------------------------------------------------------------------

    def members(self, campaign_ids: t.Sequence[str], people: t.Sequence[str]) -> list[tuple[str, str, str]]:
        """(member id, campaign id, person id) of ``people`` in these campaigns.

        The cheaper of two reads: one query per 200 people, or -- when the campaigns hold fewer
        members than that would cost calls (a first sync: none) -- every member of the campaigns,
        2,000 per page, after one ``COUNT()``.
        """
        out: list[tuple[str, str, str]] = []
        unique = list(dict.fromkeys(people))
        if not campaign_ids or not unique:
            return out
        base = format_soql("SELECT Id, CampaignId, LeadId, ContactId FROM CampaignMember WHERE CampaignId IN {}", list(campaign_ids))
        chunked = math.ceil(len(unique) / COLLECTION_SIZE)
        if chunked > 1:
            count = self.client.query_count(base.replace("SELECT Id, CampaignId, LeadId, ContactId", "SELECT COUNT()", 1))
            if math.ceil(count / 2000) < chunked:
                wanted = set(unique)
                for r in self.client.query(base):
                    person = r.get("ContactId") if r.get("ContactId") in wanted else r.get("LeadId")
                    if person in wanted:
                        out.append((str(r["Id"]), str(r["CampaignId"]), str(person)))
                return out
        for part in _chunks(unique):
            who = [format_soql(f"{field} IN {{}}", ids) for field, kind in (("LeadId", "Lead"), ("ContactId", "Contact")) if (ids := [p for p in part if object_of(p) == kind])]
            if not who:
                continue
            # ``base`` and ``who`` are made of format_soql output only.
            for r in self.client.query(base + f" AND ({' OR '.join(who)})"):
                person = r.get("ContactId") if r.get("ContactId") in part else r.get("LeadId")
                out.append((str(r["Id"]), str(r["CampaignId"]), str(person)))
        return out

    def add(self, pairs: t.Sequence[tuple[str, str]]) -> None:
        """Make each ``(campaign id, person id)`` a member (idempotent): Collections, or one Bulk insert job from the threshold."""
        status = self.mapping.lists.member_status
        rows = [{"CampaignId": cid, ("LeadId" if object_of(pid) == "Lead" else "ContactId"): pid, "Status": status} for cid, pid in pairs]
        bad: list[str] = []
        if len(rows) >= self.mapping.push.bulk_threshold:
            bad = self._bulk("insert", [{"CampaignId": r["CampaignId"], "LeadId": r.get("LeadId", ""), "ContactId": r.get("ContactId", ""), "Status": status} for r in rows])
        else:
            for start in range(0, len(rows), COLLECTION_SIZE):
                batch = rows[start : start + COLLECTION_SIZE]
                records = [{"attributes": {"type": "CampaignMember"}, **r} for r in batch]
                results = self.client.rest("POST", "composite/sobjects", json={"allOrNone": False, "records": records})
                for row, result in zip(batch, results or [], strict=False):
                    errors = [e for e in (result or {}).get("errors") or [] if e.get("statusCode") != "DUPLICATE_VALUE"]
                    if not result.get("success") and errors:
                        bad.append(f"{row.get('LeadId') or row.get('ContactId')} -> {row['CampaignId']}: {errors[0].get('statusCode')}: {errors[0].get('message')}")
        if bad:
            raise CRMError(f"Salesforce refused {len(bad)} campaign membership(s): " + "; ".join(bad[:5]))

    def delete(self, member_ids: t.Sequence[str]) -> None:
        """Delete campaign members (already deleted ones count as done): Collections, or one Bulk delete job from the threshold."""
        if len(member_ids) >= self.mapping.push.bulk_threshold:
            bad = [b for b in self._bulk("delete", [{"Id": i} for i in member_ids]) if "ENTITY_IS_DELETED" not in b]
            if bad:
                raise CRMError(f"Salesforce refused to remove {len(bad)} campaign membership(s): " + "; ".join(bad[:5]))
            return
        for part in _chunks(list(member_ids)):
            self.client.rest("DELETE", format_soql("composite/sobjects?allOrNone=false&ids={:literal}", ",".join(part)))

    def _bulk(self, operation: t.Literal["insert", "delete"], rows: list[dict[str, str]]) -> list[str]:
        """One Bulk API 2.0 job on CampaignMember; the refused rows (``DUPLICATE_VALUE`` counts as done)."""
        job = t.cast(t.Any, self.client.sf.bulk2).CampaignMember
        try:
            jobs = getattr(job, operation)(records=rows, wait=self.mapping.push.bulk_poll_seconds)
            failed = [job.get_failed_records(j["job_id"]) for j in jobs]
        except SalesforceOperationError as exc:
            raise CRMError(f"Bulk API {operation} of {len(rows)} campaign members failed: {exc}", retryable=True) from None
        except SalesforceError as exc:
            raise sf_error(exc, f"Bulk API {operation} of campaign members") from None
        return [f"{row.get('sf__Id') or row.get('Id') or ''}: {row.get('sf__Error')}" for text in failed for row in csv.DictReader(io.StringIO(text))
                if not str(row.get("sf__Error") or "").startswith("DUPLICATE_VALUE")]

    def change(self, name: str, people: t.Sequence[str], *, add: bool) -> None:
        """Add ``people`` to (or remove them from) the campaign ``name``."""
        people = [p for p in dict.fromkeys(people) if object_of(p)]
        if not people:
            return
        if add:
            cid, _ = self.ensure(name)
            present = {pid for _, _, pid in self.members([cid], people)}
            self.add([(cid, p) for p in people if p not in present])
            return
        found = self.find([name])
        if name in found:
            self.delete([mid for mid, _, _ in self.members([found[name]], people)])

    # -- stage and band campaigns, by diff ---------------------------------------------------------

    def family(self, pattern: str) -> set[str]:
        """The campaigns named by a stage pattern (``"b2b-saas: {stage}"``), read once per adapter."""
        if pattern not in self._families:
            head, _, tail = pattern.partition("{stage}")
            soql = format_soql("SELECT Id, Name FROM Campaign WHERE Name LIKE '{:like}%{:like}'", head, tail)
            names = set()
            for record in self.client.query(soql):
                if _matches(pattern, str(record["Name"])):
                    self._ids.setdefault(str(record["Name"]), str(record["Id"]))
                    names.add(str(record["Name"]))
            self._families[pattern] = names
        return self._families[pattern]

    def targets(self, values: t.Mapping[str, t.Any]) -> dict[str, tuple[list[str], str | None]]:
        """For each kept output in ``values``: (its campaign names, the one this value belongs in)."""
        lists = self.mapping.lists
        out: dict[str, tuple[list[str], str | None]] = {}
        for output, pattern in lists.stage_campaigns.items():
            if output in values:
                stage = values[output]
                out[output] = ([], pattern.format(stage=stage) if stage not in (None, "") else None)
        bands = [b for b in lists.score_bands if b.output in values]
        for band in bands:
            names, chosen = out.setdefault(f"band:{band.output}", ([], None))
            names.append(band.name)
            if chosen is None and band.holds(values[band.output]):
                out[f"band:{band.output}"] = (names, band.name)
        return out

    def sync(self, written: t.Mapping[str, t.Mapping[str, t.Any]]) -> None:
        """Move the people written into the stage/band campaigns their new values belong in."""
        wanted: dict[str, set[str]] = {}
        scope: dict[str, set[str]] = {}  # person -> campaign names of the outputs they had written
        for pid, values in written.items():
            for output, (names, target) in self.targets(values).items():
                family = set(names) if output.startswith("band:") else self.family(self.mapping.lists.stage_campaigns[output])
                if target is not None:
                    family.add(target)
                    wanted.setdefault(pid, set()).add(target)
                scope.setdefault(pid, set()).update(family)
        if not scope:
            return
        for target in sorted({n for names in wanted.values() for n in names}):
            self.ensure(target)
        ids = self.find(sorted({n for names in scope.values() for n in names}))
        by_id = {cid: name for name, cid in ids.items()}
        present: dict[str, set[str]] = {}
        stale: list[str] = []
        for mid, cid, pid in self.members(list(ids.values()), list(scope)):
            member_of = by_id.get(cid)
            if member_of is None or member_of not in scope.get(pid, set()):
                continue
            if member_of in wanted.get(pid, set()):
                present.setdefault(pid, set()).add(member_of)
            else:
                stale.append(mid)
        self.add([(ids[name], pid) for pid, names in wanted.items() for name in sorted(names - present.get(pid, set())) if name in ids])
        self.delete(stale)


def _matches(pattern: str, name: str) -> bool:
    """Whether ``name`` is ``pattern`` (with ``{stage}``) filled in."""
    head, _, tail = pattern.partition("{stage}")
    return name.startswith(head) and name.endswith(tail) and len(name) >= len(head) + len(tail)
