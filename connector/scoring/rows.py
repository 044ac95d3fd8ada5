"""Rows of a CSV or JSON Lines file, each with the physical line it starts on; bad rows reported.

The one reader of record files in the project: ``connector score``'s readers
(:mod:`connector.scoring.readers`) and the learner's data set (``connector.learn.dataset``) both
read through :func:`read_rows`, so a file is understood, and misunderstood, the same way
everywhere. What it guarantees:

- **A bad row costs that row, never the file.** A line that is not JSON, not an object, or whose
  bytes are not UTF-8 is a :class:`BadRow` with its line; reading goes on.
- **A CSV row must fill the header's columns.** ``csv.DictReader`` pads a short row with
  ``None`` and swallows everything after an unclosed quote into one field; an export with an
  unterminated quote on line 4 once scored 3 contacts of 8 without a word, and a line
  ``garbage line with no commas`` became a contact id. Here a row with another number of values
  than the header has columns is bad, quoting is parsed strictly (text after a closing quote is
  an error), and when a bad record spans several lines (a quote that runs on), the lines after
  its first are read again as rows of their own, so the rows it swallowed are not lost. A quoted
  value may still span lines when the record is otherwise sound (Excel writes notes that way); a
  multi-line record with a quote loose in an unquoted value is bad (see :func:`_stray_quote`).
- **Encodings:** UTF-8, with or without a byte-order mark, or UTF-16 with a byte-order mark. A
  byte that is not UTF-8 makes its line bad (named with the byte and the column); a file that
  looks like UTF-16 without a byte-order mark is refused on line 1 with that diagnosis.
- **JSON objects with a key written twice** are bad rows (JSON parsers keep the last silently).

File-level problems (no such file, an unsupported extension, a CSV header without a needed
column or with a column twice) are a :class:`BadRow` with ``final=True``: nothing more is read.
"""

from __future__ import annotations

import collections
import csv
import dataclasses as dc
import io
import json
import pathlib
import typing as t

__all__ = ["BadRow", "Row", "file_kind", "read_rows"]

#: Extensions read as JSON Lines (one object per line); ``.csv`` is CSV.
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dc.dataclass(frozen=True, slots=True)
class Row:
    """One record: CSV values by (stripped) header name, or the JSON object of a line."""

    line: int
    values: dict[str, t.Any]


@dc.dataclass(frozen=True, slots=True)
class BadRow:
    """A record, or the file (``final``), that cannot be read, and why; ``line`` is 1-based."""

    line: int | None
    message: str
    #: Nothing after this was read: the problem concerns the file as a whole.
    final: bool = False


Line = tuple[int, str, str | None]  # (number, text with its line end, why its bytes are bad)


def file_kind(path: str | pathlib.Path) -> t.Literal["csv", "jsonl"] | None:
    """``csv`` or ``jsonl`` by the file's extension; ``None`` for any other."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    return "jsonl" if suffix in JSONL_SUFFIXES else None


def read_rows(path: str | pathlib.Path, *, required: t.Sequence[str] = ()) -> t.Iterator[Row | BadRow]:
    """Every row of a ``.csv`` or JSON Lines file, or the problem that row (or the file) has.

    ``required`` names CSV columns the caller cannot do without: a header lacking one gives one
    final problem on its line, not one per row of a million-line export.
    """
    path = pathlib.Path(path)
    kind = file_kind(path)
    if kind is None:
        yield BadRow(None, f"unsupported file type '{path.suffix or '(none)'}': use .csv or .jsonl (JSON Lines)", final=True)
        return
    try:
        with path.open("rb") as fh:
            lines = _lines(fh)
            yield from (_csv_rows(lines, required) if kind == "csv" else _jsonl_rows(lines))
    except FileNotFoundError:
        yield BadRow(None, "file not found", final=True)
    except _Unreadable as exc:
        yield BadRow(exc.line, exc.message, final=True)
    except OSError as exc:
        yield BadRow(None, f"cannot read file: {exc.strerror or exc}", final=True)


class _Unreadable(Exception):
    """The rest of the file cannot be decoded (UTF-16 without a byte-order mark, broken UTF-16)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _lines(fh: t.BinaryIO) -> t.Iterator[Line]:
    """Physical lines, decoded; a line whose bytes are not UTF-8 carries why, its text has U+FFFD."""
    head = fh.read(4)
    fh.seek(0)
    if head.startswith(_UTF16_BOMS):
        text = io.TextIOWrapper(fh, encoding="utf-16", newline="")
        number = 0
        try:
            for number, line in enumerate(text, start=1):
                yield number, line, None
        except UnicodeDecodeError as exc:
            raise _Unreadable(number + 1, f"not valid UTF-16 from here on ({exc.reason}); save the file as UTF-8") from None
        return
    for number, raw in enumerate(fh, start=1):
        if number == 1:
            if raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM) :]
            elif raw.count(b"\x00") * 4 >= len(raw) > 2:
                raise _Unreadable(1, "this looks like UTF-16 text without a byte-order mark; save the file as UTF-8")
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
            why = f"byte 0x{raw[exc.start]:02X} at column {column} is not UTF-8 (files must be UTF-8, or UTF-16 with a byte-order mark)"
            yield number, raw.decode("utf-8", "replace"), why


class _DuplicateKey(ValueError):
    """A JSON object that names one key twice."""


def _object(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    """``json`` object hook: a dict, unless a key repeats (the parser would keep the last one)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"key {key!r} appears twice in one object")
            seen.add(key)
    return out


def _jsonl_rows(lines: t.Iterable[Line]) -> t.Iterator[Row | BadRow]:
    for number, text, bad in lines:
        if bad is not None:
            yield BadRow(number, bad)
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text, object_pairs_hook=_object)
        except json.JSONDecodeError as exc:
            yield BadRow(number, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except _DuplicateKey as exc:
            yield BadRow(number, str(exc))
            continue
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            yield BadRow(number, f"not usable JSON: {exc}")
            continue
        except RecursionError:
            yield BadRow(number, "not usable JSON: nested too deeply")
            continue
        if isinstance(data, dict):
            yield Row(number, data)
        else:
            yield BadRow(number, f"expected a JSON object, got {_json_kind(data)}")


def _json_kind(value: t.Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


class _Feed:
    """Physical lines for ``csv.reader``, remembering the lines the current record used.

    Lines pushed back (the continuation lines of a broken multi-line record) are handed out
    again before new ones.
    """

    def __init__(self, lines: t.Iterator[Line]) -> None:
        self.source = lines
        self.pending: collections.deque[Line] = collections.deque()
        self.used: list[Line] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        item = self.pending.popleft() if self.pending else next(self.source)
        self.used.append(item)
        return item[1]

    def push_back(self, lines: t.Sequence[Line]) -> None:
        self.pending.extendleft(reversed(lines))


def _csv_error(message: str, start: int, end: int) -> str:
    """``csv`` module errors in an admin's words."""
    if message == "unexpected end of data":
        return f"a quoted value that starts in this row is never closed (it runs to the end of the file, line {end})"
    if message.startswith("',' expected after '\"'"):
        where = f" on line {end}" if end != start else ""
        return f"text follows a closing quote{where}: a quoted value must end at a comma or at the end of the line (write a quote inside a value as \"\")"
    if message.startswith("new-line character seen in unquoted field"):
        return "a carriage return inside an unquoted value (values with line breaks must be quoted; a file with old Mac line ends, CR only, must be saved with Windows or Unix ones)"
    if message.startswith("field larger than field limit"):
        return f"a value is longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV: {message}"


def _csv_rows(lines: t.Iterator[Line], required: t.Sequence[str]) -> t.Iterator[Row | BadRow]:
    feed = _Feed(lines)
    reader = csv.reader(feed, strict=True)
    header: list[str] | None = None
    while True:
        feed.used = []
        try:
            fields: list[str] | None = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as exc:
            fields, error = None, str(exc)
        used = feed.used
        if not used:
            return
        start, end = used[0][0], used[-1][0]
        if fields is not None and not any(f.strip() for f in fields):
            continue  # a blank line, or only separators: nothing to read, nothing lost
        bad_bytes = next(((n, why) for n, _, why in used if why is not None), None)
        if header is None:
            if error is not None or bad_bytes is not None or fields is None:
                why = f"line {bad_bytes[0]}: {bad_bytes[1]}" if bad_bytes else _csv_error(t.cast(str, error), start, end)
                yield BadRow(start, f"cannot read the header row: {why}", final=True)
                return
            header = [name.strip() for name in fields]
            problem = _header_problem(header, required)
            if problem is not None:
                yield BadRow(start, problem, final=True)
                return
            continue
        stray = _stray_quote("".join(text for _, text, _ in used)) if end > start and error is None else None
        if error is None and fields is not None and len(fields) == len(header) and stray is None:
            if bad_bytes is not None:
                yield BadRow(bad_bytes[0], bad_bytes[1])
            else:
                yield Row(start, {name: value for name, value in zip(header, fields, strict=True) if name})
            continue
        if error is not None:
            message = _csv_error(error, start, end)
        elif stray is not None:
            message = (
                f"a quoted value that starts in this row runs on to line {start + stray}, where a quote inside an unquoted value"
                " shows it closed on the wrong quote (a value that holds a quote must be quoted, the quote written as \"\")"
            )
        else:
            message = f"{len(t.cast(list[str], fields))} value(s) where the header has {len(header)} columns"
        if end > start:  # a quote ran on: what it swallowed is read again, line by line
            feed.push_back(used[1:])
            reader = csv.reader(feed, strict=True)
            message += f"; lines {start + 1}-{end} are read again as rows of their own"
        yield BadRow(start, message)


def _stray_quote(record: str) -> int | None:
    """How many line breaks precede the first quote inside an unquoted value of ``record``, if any.

    Asked only of a record that spans lines and parsed cleanly. A line break belongs inside a
    quoted value, and RFC 4180 (section 2, rules 5-7) says a value holding a quote is quoted too.
    So a quote loose in an unquoted value means the quote that opened the run-on value was closed by
    a quote meant to open another value (``"unclosed`` on one line, ``a,",0",b`` on the next),
    and the "record" is two rows glued together. On a single line a stray inch mark (``27" monitor``)
    is kept, as ``csv`` keeps it: such a row cannot have swallowed another.
    """
    i, size = 0, len(record)
    while i < size:
        if record[i] == '"':  # a quoted value: to its closing quote ("" is a quote inside it)
            i += 1
            while i < size and (record[i] != '"' or record.startswith('""', i)):
                i += 2 if record[i] == '"' else 1
            i += 1  # the closing quote; strict parsing put a comma or the line end after it
        else:
            while i < size and record[i] not in ',\r\n':
                if record[i] == '"':
                    return record.count("\n", 0, i)
                i += 1
        i += 1  # the comma or line-end character after the value
    return None


def _header_problem(header: t.Sequence[str], required: t.Sequence[str]) -> str | None:
    """Why a header row cannot be used: a needed column missing, or a column named twice."""
    first: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name and name in first:
            return f"column '{name}' appears twice in the header (columns {first[name]} and {i}); rename one"
        first.setdefault(name, i)
    absent = [c for c in required if c not in first]
    if absent:
        shown = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
        return f"no column {', '.join(repr(c) for c in absent)} in the header (columns: {shown})"
    return None
