"""The one CSV/JSON Lines reader: rows that do not fit the header, bad bytes and odd encodings are
reported by physical line, and what a broken row swallowed is read again."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.scoring.readers import RecordError, read_contacts
from connector.scoring.rows import BadRow, Row, read_rows

B2B = pathlib.Path(__file__).resolve().parents[2] / "mappings" / "models" / "b2b-saas.yaml"

# Eight contacts; line 4 opens a quote it never closes, line 7 is not CSV at all.
EIGHT = (
    "id,company,job_title\n"
    "c1,Acme,VP Marketing\n"
    "c2,Beta,CTO\n"
    'c3,"Gamma,Marketing Manager\n'
    "c4,Delta,Engineer\n"
    "c5,Eps,Head of Sales\n"
    "garbage line with no commas\n"
    "c6,Zeta,Intern\n"
    "c7,Eta,VP Sales\n"
    "c8,Theta,CMO\n"
)


def rows_of(path: pathlib.Path, **kwargs: object) -> tuple[list[Row], list[BadRow]]:
    good: list[Row] = []
    bad: list[BadRow] = []
    for row in read_rows(path, **kwargs):  # type: ignore[arg-type]
        (bad if isinstance(row, BadRow) else good).append(row)  # type: ignore[arg-type]
    return good, bad


def test_an_unclosed_quote_costs_its_row_only_and_garbage_is_not_a_contact(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(EIGHT, encoding="utf-8")
    errors: list[RecordError] = []
    contacts = list(read_contacts(path, on_error=errors.append))
    assert [c.id for c in contacts] == ["c1", "c2", "c4", "c5", "c6", "c7", "c8"]
    assert [(e.line, e.message.split(" (")[0].split(":")[0]) for e in errors] == [
        (4, "a quoted value that starts in this row is never closed"),
        (7, "1 value(s) where the header has 3 columns"),
    ]
    assert "lines 5-10 are read again" in errors[0].message


def test_cli_strict_stops_on_the_broken_row_and_lenient_lists_it(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(EIGHT, encoding="utf-8")
    base = ["score", "--model", str(B2B), "--contacts", str(path), "--as-of", "2026-11-01T00:00:00Z"]
    strict = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "s.jsonl"), "--strict"])
    assert strict.exit_code == 1 and f"{path}:4: a quoted value" in strict.output.replace("\n", "")
    lenient = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "o.jsonl")])
    assert lenient.exit_code == 0, lenient.output
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 7
    assert "2 input problem(s)" in lenient.output and f"{path}:7:" in lenient.output.replace("\n", "")


def test_text_after_a_closing_quote_short_rows_and_sound_multiline_values(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('id,note,n\n1,"two\nlines",5\n2,"x"y,6\n3,only two\n4,"a ""quoted"" word",7\n\n,,\n', encoding="utf-8")
    good, bad = rows_of(path)
    assert [(r.line, r.values) for r in good] == [(2, {"id": "1", "note": "two\nlines", "n": "5"}), (6, {"id": "4", "note": 'a "quoted" word', "n": "7"})]
    assert [(b.line, b.message[:30]) for b in bad] == [(4, "text follows a closing quote: "), (5, "2 value(s) where the header ha")]


def test_a_quote_closed_lines_later_reads_the_swallowed_lines_again(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('id,name\n1,"Ann\n2,Bob\n3,"Cy, Jr",x\n4,Dee\n', encoding="utf-8")
    good, bad = rows_of(path)
    assert [r.values["id"] for r in good] == ["2", "4"]
    assert [b.line for b in bad] == [2, 4]
    assert "on line 4" in bad[0].message and "lines 3-4 are read again" in bad[0].message


def test_a_run_on_quote_closed_by_another_values_opening_quote_is_two_rows_not_one(tmp_path: pathlib.Path) -> None:
    """Line 2's quote is closed by the quote that opens ``",0"`` on line 3: the glued "record" has
    the header's column count, but its loose quote (``0"``) gives it away. Found by the fuzz test."""
    path = tmp_path / "c.csv"
    path.write_text('a,b,c\n"unclosed,,x\n1,",0",z\n2,y,z\n', encoding="utf-8")
    good, bad = rows_of(path)
    assert [(r.line, r.values) for r in good] == [(3, {"a": "1", "b": ",0", "c": "z"}), (4, {"a": "2", "b": "y", "c": "z"})]
    assert [b.line for b in bad] == [2]
    assert "runs on to line 3" in bad[0].message and "lines 3-3 are read again" in bad[0].message


def test_inch_marks_on_one_line_and_quoted_line_breaks_around_them_still_read(tmp_path: pathlib.Path) -> None:
    """The loose-quote rule applies to records spanning lines only; quoted quotes are not loose."""
    path = tmp_path / "c.csv"
    text = 'id,item,note\n1,27" monitor,ok\n2,"27"" monitor","two\nlines"\n3,x,"a ""b"",\n""c"""\n'
    path.write_text(text, encoding="utf-8")
    good, bad = rows_of(path)
    assert bad == []
    assert [r.values for r in good] == [
        {"id": "1", "item": '27" monitor', "note": "ok"},
        {"id": "2", "item": '27" monitor', "note": "two\nlines"},
        {"id": "3", "item": "x", "note": 'a "b",\n"c"'},
    ]


def test_header_with_a_column_twice_or_without_a_needed_one(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,email,Email ,email\n1,a,b,c\n", encoding="utf-8")
    assert rows_of(path) == ([], [BadRow(1, "column 'email' appears twice in the header (columns 2 and 4); rename one", final=True)])
    path.write_text("\n\nname\nx\n", encoding="utf-8")
    good, bad = rows_of(path, required=["id"])
    assert good == [] and bad == [BadRow(3, "no column 'id' in the header (columns: name)", final=True)]


def test_bad_bytes_cost_their_line_in_csv_and_jsonl(tmp_path: pathlib.Path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_bytes(b"id,city\n1,Paris\n2,Z\xfcrich\n3,Berlin\n")
    good, bad = rows_of(csv_path)
    assert [r.values["id"] for r in good] == ["1", "3"]
    assert bad == [BadRow(3, "byte 0xFC at column 4 is not UTF-8 (files must be UTF-8, or UTF-16 with a byte-order mark)")]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_bytes(b'{"id": "1"}\n{"id": "2", "city": "Z\xfcrich"}\n{"id": "3"}\n')
    good, bad = rows_of(jsonl)
    assert [r.values["id"] for r in good] == ["1", "3"] and [b.line for b in bad] == [2]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
def test_byte_order_marks_utf8_and_utf16(tmp_path: pathlib.Path, encoding: str) -> None:
    text = "id,city\n1,Zürich\n2,Kraków\n"
    if encoding.endswith("-bom"):
        raw = ("\ufeff" + text).encode(encoding.removesuffix("-bom"))
    else:
        raw = text.encode(encoding)
    path = tmp_path / "c.csv"
    path.write_bytes(raw)
    good, bad = rows_of(path)
    assert bad == [] and [r.values for r in good] == [{"id": "1", "city": "Zürich"}, {"id": "2", "city": "Kraków"}]


def test_utf16_without_a_byte_order_mark_is_diagnosed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("id,city\n1,x\n".encode("utf-16-le"))
    assert rows_of(path) == ([], [BadRow(1, "this looks like UTF-16 text without a byte-order mark; save the file as UTF-8", final=True)])


def test_jsonl_repeated_keys_deep_nesting_huge_numbers_and_non_objects(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.jsonl"
    lines = [
        '{"id": "a", "id": "b"}',
        "[" * 100_000 + "]" * 100_000,
        '{"n": ' + "9" * 5000 + "}",
        "null",
        '"text"',
        json.dumps({"id": "ok", "note": "\u0000\u202e\U0001f600"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    good, bad = rows_of(path)
    assert [r.line for r in good] == [6] and good[0].values["note"] == "\u0000\u202e\U0001f600"
    assert [(b.line, b.message.split(":")[0]) for b in bad] == [
        (1, "key 'id' appears twice in one object"),
        (2, "not usable JSON"),
        (3, "not usable JSON"),
        (4, "expected a JSON object, got null"),
        (5, "expected a JSON object, got a string"),
    ]


def test_unsupported_extension_and_missing_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "c.xlsx").write_bytes(b"PK")
    assert rows_of(tmp_path / "c.xlsx")[1] == [BadRow(None, "unsupported file type '.xlsx': use .csv or .jsonl (JSON Lines)", final=True)]
    assert rows_of(tmp_path / "none.jsonl")[1] == [BadRow(None, "file not found", final=True)]
