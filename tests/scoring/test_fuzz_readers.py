"""Property-based tests of the record readers: odd Unicode, nulls, wrong types, huge strings, broken
quoting and bad bytes give a reported bad line, never an exception, and nothing valid is lost."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import pathlib
import tempfile
import typing as t

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.scoring.readers import RecordError, read_activities, read_adjustments, read_contacts, read_identities
from connector.scoring.rows import BadRow, Row, read_rows

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: For examples made of nested JSON values (slower to draw).
FEWER = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as exports carry it: any Unicode (combining marks, right-to-left, emoji, NUL, quotes,
# separators, line breaks), sometimes long.
odd_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40) | st.text(alphabet='",\n\r ;\t\x00é€\u202e\U0001f600', max_size=20)
header_name = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), min_size=1, max_size=12)
json_scalar = st.none() | st.booleans() | st.integers(min_value=-(10**400), max_value=10**400) | st.floats() | odd_text | st.text(min_size=2000, max_size=2500)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3), max_leaves=8)


@contextlib.contextmanager
def _file(suffix: str, raw: bytes) -> t.Iterator[pathlib.Path]:
    """A file holding ``raw`` for one example (hypothesis runs many per test, so no ``tmp_path``)."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / f"records{suffix}"
        path.write_bytes(raw)
        yield path


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as Excel writes: values with CR or LF get quoted
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(header_name.map(str.strip).filter(bool), min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(odd_text, min_size=len(header), max_size=len(header)), max_size=8))
    return header, rows


@FAST
@given(csv_tables(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_any_valid_csv_reads_back_row_for_row(table: tuple[list[str], list[list[str]]], encoding: str) -> None:
    header, rows = table
    with _file(".csv", _csv_text(header, rows).encode(encoding)) as path:
        got = list(read_rows(path))
        assert all(isinstance(r, Row) for r in got), got
        kept = [row for row in rows if any(v.strip() for v in row)]  # all-blank rows carry nothing and are skipped
        assert [[r.values[h] for h in header] for r in got if isinstance(r, Row)] == kept


@FAST
@given(csv_tables(), st.data())
def test_one_broken_line_costs_at_most_that_row(table: tuple[list[str], list[list[str]]], data: st.DataObject) -> None:
    """Replace one row with garbage (a stray quote, a row too short or too long, a bad byte): every other
    row that was not swallowed reads back; what went wrong is reported by line."""
    header, rows = table
    rows = [r for r in rows if any(v.strip() for v in r) and not any("\n" in v or "\r" in v for v in r)]  # one physical line each
    if not rows:
        return
    bad_at = data.draw(st.integers(0, len(rows) - 1))
    garbage = data.draw(st.sampled_from([b'"unclosed,' + b",x" * len(header), b"\xff\xfe\xfa", b"a" + b",a" * (len(header) + 1), b"only"]))
    lines = _csv_text(header, rows).encode().split(b"\r\n")
    lines[bad_at + 1] = garbage
    with _file(".csv", b"\r\n".join(lines)) as path:
        got = list(read_rows(path))
        good = {r.line: [r.values[h] for h in header] for r in got if isinstance(r, Row)}
        bad = [r for r in got if isinstance(r, BadRow)]
        for i, row in enumerate(rows):
            if i != bad_at:
                assert good.get(i + 2) == row, (i, got)
        if garbage != b"only" or len(header) != 1:
            assert any(b.line == bad_at + 2 for b in bad), got


@FAST
@given(st.binary(max_size=400), st.sampled_from([".csv", ".jsonl"]))
def test_arbitrary_bytes_never_raise(raw: bytes, suffix: str) -> None:
    with _file(suffix, raw) as path:
        got = list(read_rows(path, required=["id"]))
        assert all(isinstance(r, (Row, BadRow)) for r in got)
        assert sum(1 for r in got if isinstance(r, BadRow) and r.final) <= 1
        for reader in (read_contacts, read_activities, read_adjustments, read_identities):
            errors: list[RecordError] = []
            list(reader(path, on_error=errors.append))  # type: ignore[operator]
            assert all(str(e).startswith(str(path)) for e in errors)


@FEWER
@given(st.lists(st.dictionaries(odd_text, json_value, max_size=4) | json_value, max_size=6), st.lists(st.binary(max_size=30).filter(lambda b: b"\n" not in b), max_size=3))
def test_jsonl_valid_objects_survive_garbage_lines_around_them(objects: list[t.Any], garbage: list[bytes]) -> None:
    lines: list[bytes] = []
    expected: dict[int, dict[str, t.Any]] = {}
    for i, obj in enumerate(objects):
        lines.append(json.dumps(obj).encode())
        if isinstance(obj, dict):
            expected[len(lines)] = obj
        if i < len(garbage):
            lines.append(garbage[i])
    with _file(".jsonl", b"\n".join(lines)) as path:
        got = list(read_rows(path))
        rows = {r.line: r.values for r in got if isinstance(r, Row)}
        for line, obj in expected.items():
            assert line in rows and json.dumps(rows[line]) == json.dumps(obj)


record_keys = st.sampled_from(["id", "email", "properties", "updated_at", "contact_id", "anonymous_id", "type", "occurred_at", "attributes", "dimension", "points", "reason", "by", "at"])
iso = st.datetimes().map(lambda d: d.isoformat()) | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-30", "yesterday", ""])


@FEWER
@given(st.lists(st.dictionaries(record_keys, json_value | iso, max_size=8), min_size=1, max_size=6))
def test_records_of_wrong_types_are_bad_lines_not_crashes(objects: list[dict[str, t.Any]]) -> None:
    with _file(".jsonl", "\n".join(json.dumps(o) for o in objects).encode()) as path:
        for reader in (read_contacts, read_activities, read_adjustments, read_identities):
            errors: list[RecordError] = []
            records = list(reader(path, on_error=errors.append))  # type: ignore[operator]
            assert len(records) + len(errors) <= len(objects)
            assert all(e.line is not None and 1 <= e.line <= len(objects) for e in errors)
