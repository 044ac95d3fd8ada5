"""Search and batch-update answers are read as plain JSON: the shape we rely on is still checked."""

from __future__ import annotations

import json
import typing as t

import pytest

from connector.adapters.base import CRMError
from connector.adapters.hubspot.search import SearchRecord, read_search_answer
from connector.adapters.hubspot.writer import read_batch_answer

PATH = "/crm/v3/objects/contacts/search"


def test_search_answer_records_keep_id_properties_and_updated_at() -> None:
    body = {"total": 2, "results": [
        {"id": "7", "properties": {"email": "a@x.io", "lastmodifieddate": "2024-05-01T10:00:00.123Z"}, "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-05-01T10:00:00.123Z", "archived": False},
        {"id": 8, "properties": {"email": None}},
    ]}
    records = read_search_answer(json.dumps(body).encode(), PATH)
    assert records == [
        SearchRecord("7", {"email": "a@x.io", "lastmodifieddate": "2024-05-01T10:00:00.123Z"}, "2024-05-01T10:00:00.123Z"),
        SearchRecord("8", {"email": None}, None),
    ]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b'["a"]', "no 'results' list"),
        (b'{"total": 1}', "no 'results' list"),
        (b'{"results": ["x"]}', "result 0 is not an object"),
        (b'{"results": [{"properties": {}}]}', "result 0 has no id"),
        (b'{"results": [{"id": "", "properties": {}}]}', "result 0 has no id"),
        (b'{"results": [{"id": "3", "properties": "email=a"}]}', "result 0 (id 3) has no 'properties' object"),
    ],
)
def test_an_unreadable_search_answer_is_a_crm_error_naming_the_endpoint(data: bytes, why: str) -> None:
    with pytest.raises(CRMError) as info:
        read_search_answer(data, PATH)
    assert PATH in str(info.value) and why in str(info.value)


def test_batch_answer_207_keeps_landed_ids_and_errors() -> None:
    body = {"status": "COMPLETE", "results": [{"id": "1", "properties": {}}, {"id": 2}],
            "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "bad", "context": {"ids": ["3"]}}]}
    answer = read_batch_answer(json.dumps(body))
    assert answer.landed == {"1", "2"}
    assert [(e.category, e.message, e.context) for e in answer.errors] == [("VALIDATION_ERROR", "bad", {"ids": ["3"]})]


@pytest.mark.parametrize("data", [b"", b"null", b'{"status": "COMPLETE"}', b'{"results": [], "errors": ["x"]}'])
def test_an_unreadable_batch_answer_is_retryable(data: bytes) -> None:
    with pytest.raises(CRMError) as info:
        read_batch_answer(data)
    assert info.value.retryable and "unreadable" in str(info.value)


class _Raw:
    """A not-preloaded urllib3 answer: ``data`` and ``release_conn``."""

    def __init__(self, body: object) -> None:
        self.data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.released = False

    def release_conn(self) -> None:
        self.released = True


class _EventsClient:
    """Hands out canned pages of ``GET /events/v3/events``."""

    def __init__(self, *pages: object) -> None:
        self.pages = [_Raw(p) for p in pages]
        self.calls: list[dict[str, object]] = []
        self.events = type("Events", (), {"get_page": staticmethod(lambda **kw: None)})()

    def call(self, method: str, path: str, fn: object, **kwargs: object) -> _Raw:
        assert kwargs.pop("_preload_content") is False
        self.calls.append(kwargs)
        return self.pages[len(self.calls) - 1]


def test_web_events_from_raw_json_bad_events_are_rejects_and_paging_is_followed(mapping) -> None:  # type: ignore[no-untyped-def]
    from connector.adapters.hubspot.web_events import WebEventPull

    until = 1_800_000_000_000
    client = _EventsClient(
        {"results": [
            {"id": "e1", "objectId": 7, "eventType": "e_visited_page", "occurredAt": "2026-01-01T10:00:00.000Z", "properties": {"hs_url": "https://x.io/pricing"}},
            {"id": "e2", "objectId": 7, "occurredAt": "yesterday"},
            {"objectId": 7, "occurredAt": "2026-01-01T10:00:00Z"},
            "garbage",
        ], "paging": {"next": {"after": "abc"}}},
        {"results": [{"id": "e3", "objectId": None, "occurredAt": "2026-01-02T10:00:00Z", "properties": {}}]},
    )
    pages = list(WebEventPull(t.cast(t.Any, client), mapping, None, until)._walk({"event_type": "e_visited_page"}, windowed=True))
    (first, bad), (second, none) = pages
    assert [(a.id, a.contact_id, a.attributes["url"]) for a in first] == [("hs-event:e1", "7", "https://x.io/pricing")]
    assert sorted(r.reason.split(":")[0] for r in bad) == ["web event 'occurredAt'", "web event that is not a JSON object", "web event without id or occurredAt"]
    assert second[0].anonymous_id == "hs-event-visitor:e3" and none == []
    assert client.calls[1]["after"] == "abc"
    assert all(p.released for p in client.pages)


def test_an_events_answer_without_results_fails_the_pull(mapping) -> None:  # type: ignore[no-untyped-def]
    from connector.adapters.hubspot.web_events import WebEventPull

    with pytest.raises(CRMError, match="without a 'results' list"):
        list(WebEventPull(t.cast(t.Any, _EventsClient({"status": "error"})), mapping, None, 1)._walk({"event_type": "e_visited_page"}, windowed=True))
