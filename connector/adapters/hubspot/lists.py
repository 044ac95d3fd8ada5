"""Lists v3: DYNAMIC lists that follow the output properties, MANUAL lists that triggers fill.

API: https://developers.hubspot.com/docs/api/crm/lists -- ``POST /crm/v3/lists``,
``GET /crm/v3/lists/object-type-id/0-1/name/{name}``, ``PUT /crm/v3/lists/{id}/update-list-filters``,
``PUT /crm/v3/lists/{id}/memberships/add|remove`` (body: record ids). Filters:
https://developers.hubspot.com/docs/api/crm/lists/list-filters (root ``OR`` branch of ``AND``
branches of ``PROPERTY`` filters).

SDK 12 cannot parse a ``filterBranch`` in an answer with client-side validation on (its generated
model only accepts ``ASSOCIATION`` branches), so calls whose answer carries one
(create, update-list-filters, get with ``includeFilters``) read the raw JSON
(``_preload_content=False``); requests are still built and sent by the SDK.
"""

from __future__ import annotations

import json
import typing as t
import urllib.parse

from hubspot.crm.lists import ListCreateRequest, ListFilterUpdateRequest

from connector.adapters.base import CRMError

if t.TYPE_CHECKING:
    from connector.adapters.hubspot.client import HubSpotClient

__all__ = ["CONTACT_OBJECT_TYPE_ID", "ListManager", "band_filter", "enumeration_filter"]

CONTACT_OBJECT_TYPE_ID = "0-1"
MEMBERSHIP_CHUNK = 500


def _root(filters: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    return {
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [{"filterBranchType": "AND", "filters": filters, "filterBranches": []}],
    }


def enumeration_filter(property_name: str, values: t.Sequence[str]) -> dict[str, t.Any]:
    """Contacts whose enumeration property is any of ``values`` (e.g. the stage output = ``mql``)."""
    return _root(
        [{"filterType": "PROPERTY", "property": property_name, "operation": {"operationType": "ENUMERATION", "operator": "IS_ANY_OF", "values": list(values)}}]
    )


def band_filter(property_name: str, low: float | None, high: float | None) -> dict[str, t.Any]:
    """Contacts whose number property lies in ``[low, high)``."""
    filters = []
    if low is not None:
        filters.append({"filterType": "PROPERTY", "property": property_name, "operation": {"operationType": "NUMBER", "operator": "IS_GREATER_THAN_OR_EQUAL_TO", "value": low}})
    if high is not None:
        filters.append({"filterType": "PROPERTY", "property": property_name, "operation": {"operationType": "NUMBER", "operator": "IS_LESS_THAN", "value": high}})
    return _root(filters)


def _essence(branch: t.Any) -> t.Any:
    """The parts of a filter branch we set, so HubSpot's added defaults do not count as a change."""
    if isinstance(branch, dict):
        keep = {"filterBranchType", "filters", "filterBranches", "filterType", "property", "operation", "operationType", "operator", "value", "values"}
        out = {k: _essence(v) for k, v in branch.items() if k in keep}
        if "value" in out and isinstance(out["value"], (int, float, str)):
            try:
                out["value"] = float(out["value"])
            except (TypeError, ValueError):
                pass
        return out
    if isinstance(branch, list):
        return [_essence(v) for v in branch]
    return branch


class ListManager:
    """Finds or creates lists by name (cached per adapter) and changes MANUAL memberships."""

    def __init__(self, client: HubSpotClient) -> None:
        self._client = client
        self._ids: dict[str, str] = {}

    def _raw_json(self, method: str, path: str, fn: t.Callable[..., t.Any], **kwargs: t.Any) -> dict[str, t.Any]:
        response = self._client.call(method, path, fn, _preload_content=False, **kwargs)
        try:
            raw = response.data
        finally:
            response.release_conn()
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise CRMError(f"HubSpot answered {method} {path} with invalid JSON") from None
        return data if isinstance(data, dict) else {}

    def find(self, name: str, *, include_filters: bool = False) -> dict[str, t.Any] | None:
        """The list named ``name`` as HubSpot's JSON (``listId``, ``processingType``, ...), or None."""
        path = f"/crm/v3/lists/object-type-id/{CONTACT_OBJECT_TYPE_ID}/name/{urllib.parse.quote(name, safe='')}"
        try:
            data = self._raw_json(
                "GET", path, self._client.lists.get_by_name, list_name=name, object_type_id=CONTACT_OBJECT_TYPE_ID, include_filters=include_filters
            )
        except CRMError as exc:
            if exc.status == 404:
                return None
            raise
        found = data.get("list")
        if isinstance(found, dict) and found.get("listId") is not None:
            self._ids[name] = str(found["listId"])
            return found
        return None

    def _create(self, name: str, processing_type: str, filter_branch: dict[str, t.Any] | None) -> str:
        request = ListCreateRequest(name=name, object_type_id=CONTACT_OBJECT_TYPE_ID, processing_type=processing_type, filter_branch=filter_branch)
        try:
            data = self._raw_json("POST", "/crm/v3/lists", self._client.lists.create, list_create_request=request)
        except CRMError as exc:
            if exc.status == 409:  # created meanwhile (or by a retried request that did land)
                again = self.find(name)
                if again is not None:
                    return str(again["listId"])
            raise
        list_id = str((data.get("list") or {}).get("listId") or "")
        if not list_id:
            raise CRMError(f"HubSpot created list '{name}' but its answer carries no listId")
        self._ids[name] = list_id
        return list_id

    def ensure_dynamic(self, name: str, filter_branch: dict[str, t.Any]) -> str | None:
        """Create or correct a DYNAMIC list; returns ``created``/``updated``, or None if already right."""
        existing = self.find(name, include_filters=True)
        if existing is None:
            self._create(name, "DYNAMIC", filter_branch)
            return "created"
        if existing.get("processingType") != "DYNAMIC":
            raise CRMError(f"HubSpot list '{name}' exists but is {existing.get('processingType')}, not DYNAMIC; rename or delete it")
        if _essence(existing.get("filterBranch")) == _essence(filter_branch):
            return None
        list_id = str(existing["listId"])
        self._raw_json(
            "PUT", f"/crm/v3/lists/{list_id}/update-list-filters", self._client.lists.update_list_filters,
            list_id=list_id, list_filter_update_request=ListFilterUpdateRequest(filter_branch=filter_branch),
        )
        return "updated"

    def manual_list_id(self, name: str, *, create: bool = True) -> str | None:
        """The id of the MANUAL list ``name``, creating it when asked."""
        if name in self._ids:
            return self._ids[name]
        existing = self.find(name)
        if existing is not None:
            if existing.get("processingType") not in ("MANUAL", "SNAPSHOT"):
                raise CRMError(f"HubSpot list '{name}' is {existing.get('processingType')}: contacts cannot be added to it by hand")
            return str(existing["listId"])
        return self._create(name, "MANUAL", None) if create else None

    def change(self, name: str, contact_ids: t.Sequence[str], *, add: bool) -> None:
        """Add or remove contacts (idempotent: HubSpot ignores present/absent ids)."""
        ids = [str(i) for i in dict.fromkeys(contact_ids)]
        if not ids:
            return
        list_id = self.manual_list_id(name, create=add)
        if list_id is None:
            return  # removing from a list that does not exist: nothing to do
        api = self._client.memberships
        fn = api.add if add else api.remove
        verb = "add" if add else "remove"
        for start in range(0, len(ids), MEMBERSHIP_CHUNK):
            self._client.call("PUT", f"/crm/v3/lists/{list_id}/memberships/{verb}", fn, list_id=list_id, request_body=ids[start : start + MEMBERSHIP_CHUNK])
