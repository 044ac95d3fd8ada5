"""Readers: JSON Lines and CSV into canonical records; bad lines named by file:line."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from connector.scoring.readers import RecordError, read_activities, read_adjustments, read_contacts, read_identities

UTC = dt.UTC


def write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_contacts_with_id_column_and_select_placeholders(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "leads.csv",
        "Prospect ID,email,Lead Source,TotalVisits,Specialization,City\n"
        "p1,ann@acme.com,Google,5,Select,Mumbai\n"
        "p2,,  ,0,Finance Management,select\n",
    )
    contacts = list(read_contacts(path, id_column="Prospect ID"))
    assert [c.id for c in contacts] == ["p1", "p2"]
    assert contacts[0].email == "ann@acme.com"
    assert contacts[0].properties == {"email": "ann@acme.com", "Lead Source": "Google", "TotalVisits": "5", "City": "Mumbai"}
    assert contacts[1].email is None
    assert contacts[1].properties == {"TotalVisits": "0", "Specialization": "Finance Management"}


def test_custom_placeholders(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "c.csv", "id,industry\n1,--\n2,Select\n")
    contacts = list(read_contacts(path, placeholders=["--"]))
    assert contacts[0].properties == {}
    assert contacts[1].properties == {"industry": "Select"}


def test_jsonl_contacts(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "c.jsonl",
        '{"id": "c1", "email": "a@b.com", "properties": {"size": 50, "tags": ["x", ""], "blank": " "}, "updated_at": "2026-01-02T03:04:05"}\n\n'
        '{"id": 7, "properties": {"email": "x@y.com"}}\n',
    )
    first, second = read_contacts(path)
    assert first.properties == {"size": 50, "tags": ["x", ""]}
    assert first.updated_at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (second.id, second.email) == ("7", "x@y.com")


def test_bad_lines_are_reported_with_line_numbers_and_reading_goes_on(tmp_path: pathlib.Path) -> None:
    path = write(
        tmp_path,
        "c.jsonl",
        '{"id": "c1"}\n'
        "{not json\n"
        "\n"
        '["a list"]\n'
        '{"email": "x@y.com"}\n'
        '{"id": "c1"}\n'
        '{"id": "c2", "properties": "oops"}\n'
        '{"id": "c3", "updated_at": "yesterday"}\n'
        '{"id": "c4"}\n',
    )
    errors: list[RecordError] = []
    contacts = list(read_contacts(path, on_error=errors.append))
    assert [c.id for c in contacts] == ["c1", "c4"]
    assert [e.line for e in errors] == [2, 4, 5, 6, 7, 8]
    assert str(errors[0]).startswith(f"{path}:2: not valid JSON")
    assert "id: required" in str(errors[2])
    assert "already appeared on line 1" in str(errors[3])
    assert "ISO 8601" in str(errors[5])


def test_without_on_error_the_first_bad_line_raises(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "c.jsonl", '{"id": "c1"}\n{broken\n')
    with pytest.raises(RecordError, match=r"c\.jsonl:2:"):
        list(read_contacts(path))


def test_csv_missing_id_column_is_one_problem_and_ragged_rows(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "c.csv", 'name,email\n"multi\nline",a@b.com\nb,b@c.com\n')
    errors: list[RecordError] = []
    assert list(read_contacts(path, on_error=errors.append)) == []
    (only,) = errors
    assert only.line == 1 and "no column 'id'" in only.message and "name, email" in only.message
    ragged = write(tmp_path, "r.csv", 'id,Email\n1,"multi\nline@x.com"\n2,b@c.com,extra\n3,c@d.com\n')
    errors.clear()
    contacts = list(read_contacts(ragged, on_error=errors.append))
    assert [(c.id, c.email) for c in contacts] == [("1", "multi\nline@x.com"), ("3", "c@d.com")]
    assert [e.line for e in errors] == [4]
    assert errors[0].message == "3 value(s) where the header has 2 columns"


def test_missing_file_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(RecordError, match="nope.jsonl: file not found"):
        list(read_contacts(tmp_path / "nope.jsonl"))


def test_activities_jsonl_and_csv(tmp_path: pathlib.Path) -> None:
    jsonl = write(
        tmp_path,
        "a.jsonl",
        '{"id": "a1", "contact_id": "c1", "type": "page_view", "occurred_at": "2026-05-01T09:30:00Z", "attributes": {"url": "/pricing"}}\n'
        '{"id": "a2", "anonymous_id": "v9", "type": "page_view", "occurred_at": "2026-05-01"}\n'
        '{"id": "a3", "type": "page_view", "occurred_at": "2026-05-01"}\n'
        '{"id": "a4", "contact_id": "c1", "type": "page_view", "occurred_at": 1714555800}\n'
        '{"id": "a5", "contact_id": "c1", "occurred_at": "2026-05-01"}\n',
    )
    errors: list[RecordError] = []
    acts = list(read_activities(jsonl, on_error=errors.append))
    assert [(a.id, a.contact_id, a.anonymous_id) for a in acts] == [("a1", "c1", None), ("a2", None, "v9")]
    assert acts[0].occurred_at == dt.datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert acts[1].occurred_at == dt.datetime(2026, 5, 1, tzinfo=UTC)
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [(3, "needs a contact_id or an anonymous_id"), (4, "occurred_at"), (5, "type")]
    csv_path = write(tmp_path, "a.csv", "id,contact_id,type,occurred_at,url,form_id\na1,c1,form_submit,2026-05-01T10:00:00+02:00,/demo,Select\n")
    (row,) = read_activities(csv_path)
    assert row.attributes == {"url": "/demo"}
    assert row.occurred_at == dt.datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_adjustments_and_identities(tmp_path: pathlib.Path) -> None:
    adj = write(
        tmp_path,
        "adj.jsonl",
        '{"contact_id": "c1", "dimension": "fit", "points": "15", "reason": "met at event", "by": "sam", "at": "2026-05-01T00:00:00Z"}\n'
        '{"contact_id": "c1", "dimension": "fit", "points": "lots", "reason": "x", "by": "sam", "at": "2026-05-01"}\n'
        '{"contact_id": "c1", "dimension": "fit", "points": 5, "by": "sam", "at": "2026-05-01"}\n',
    )
    errors: list[RecordError] = []
    (one,) = read_adjustments(adj, on_error=errors.append)
    assert (one.points, one.reason, one.by) == (15.0, "met at event", "sam")
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [(2, "points"), (3, "reason")]
    ids = write(tmp_path, "ids.csv", "anonymous_id,contact_id\nv1,c1\nv2,\n")
    errors.clear()
    assert [(i.anonymous_id, i.contact_id) for i in read_identities(ids, on_error=errors.append)] == [("v1", "c1")]
    assert errors[0].line == 3
