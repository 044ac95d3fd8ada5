"""Reading labelled contacts: label spellings, unlabelled rows, broken rows set aside with their line."""

from __future__ import annotations

import pathlib

import pytest

from connector.learn.dataset import DataError, parse_label, read_activities, read_labelled_contacts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("0", 0), ("Yes", 1), ("no", 0), ("TRUE", 1), ("false", 0), (" y ", 1), (1, 1), (0.0, 0), (True, 1), ("maybe", None), ("2", None)],
)
def test_label_spellings(raw: object, expected: int | None) -> None:
    assert parse_label(raw) == expected


def test_csv_unknown_labels_and_blanks(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,Converted,Source\na,yes,x\nb,,y\nc,perhaps,z\nd,no,w\nd,yes,v\n")
    contacts, labels, columns, skipped, unlabelled = read_labelled_contacts(path, label="Converted", id_column="id")
    assert [c.id for c in contacts] == ["a", "d"] and labels == [1, 0]
    assert columns == ["Source"] and unlabelled == 1
    assert [(s.line, "perhaps" in s.reason or "duplicate" in s.reason) for s in skipped] == [(4, True), (6, True)]
    assert "Converted" not in contacts[0].properties


def test_jsonl_bad_line_is_set_aside(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "won": true, "n": 3}\n{broken\n[1]\n{"id": "b", "won": false}\n')
    contacts, labels, _, skipped, _ = read_labelled_contacts(path, label="won", id_column="id")
    assert labels == [1, 0] and contacts[0].properties == {"n": 3}
    assert [s.line for s in skipped] == [2, 3]


def test_missing_label_or_id_column_and_file_type(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,Source\na,x\n")
    with pytest.raises(DataError, match="no label column 'Converted'"):
        read_labelled_contacts(path, label="Converted")
    with pytest.raises(DataError, match="no id column 'key'"):
        read_labelled_contacts(path, label="Source", id_column="key")
    other = tmp_path / "c.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match="use .csv or .jsonl"):
        read_labelled_contacts(other, label="x")
    with pytest.raises(DataError, match="file not found"):
        read_labelled_contacts(tmp_path / "none.csv", label="x")


def test_activities_need_contact_type_and_date(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,contact_id,type,occurred_at,url\n1,a,page_view,2026-01-01T10:00:00Z,/p\n2,,page_view,2026-01-01,\n3,b,email_open,yesterday,\n")
    acts, skipped = read_activities(path)
    assert list(acts) == ["a"] and acts["a"][0].attributes == {"url": "/p"}
    assert acts["a"][0].occurred_at.tzinfo is not None
    assert [s.line for s in skipped] == [3, 4] and "ISO 8601" in skipped[1].reason


def test_jsonl_in_connector_score_shape_and_default_id(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "email": "a@x.io", "properties": {"Source": "Ads", "won": "yes"}}\n{"id": "b", "properties": {"won": "no"}}\n')
    contacts, labels, columns, _, _ = read_labelled_contacts(path, label="won")
    assert [c.id for c in contacts] == ["a", "b"] and labels == [1, 0]
    assert contacts[0].properties == {"email": "a@x.io", "Source": "Ads"} and contacts[0].email == "a@x.io"
    assert "id" not in columns


def test_csv_rows_that_do_not_fit_the_header_are_set_aside_by_physical_line(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b'id,won,Source\na,yes,"Ads\nb,no,Web\ngarbage line with no commas\nc,yes,Caf\xe9\nd,no,Mail\n')
    contacts, labels, _, skipped, _ = read_labelled_contacts(path, label="won", id_column="id")
    assert [c.id for c in contacts] == ["b", "d"] and labels == [0, 0]
    assert [s.line for s in skipped] == [2, 4, 5]
    assert "never closed" in skipped[0].reason and "not UTF-8" in skipped[2].reason
