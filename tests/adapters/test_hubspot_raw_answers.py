"""Search and batch-update answers are read as plain JSON: the shape we rely on is still checked."""

from __future__ import annotations

import json

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
