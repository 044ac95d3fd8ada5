"""Running a parsed SOQL query against an org: names resolved with FLS, filters type-checked, rows sorted.

Semantics follow the SOQL and SOSL Reference: text comparisons and ORDER BY are case-insensitive;
``!=`` and ``NOT IN`` match records whose field is null (SOQL has no three-valued logic); ORDER BY puts
nulls first unless ``NULLS LAST``; without ORDER BY rows come in id order. A filter value of the wrong
type is refused with Salesforce's message ("value of filter criterion for field 'X' must be of type
boolean and should not be enclosed in quotes"), an id literal that is not an id with
``INVALID_QUERY_FILTER_OPERATOR`` ("invalid ID field: abc"). Relationship paths go one level up
(``Owner.Email``, ``Account.Industry``, ``Who.Type``); a null reference renders the relationship as null.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from connector.sandbox.salesforce import timefmt
from connector.sandbox.salesforce.ids import normalize_id
from connector.sandbox.salesforce.schema import NUMERIC_TYPES, FieldDef, ObjectDef
from connector.sandbox.salesforce.soql.lexer import SoqlSyntaxError
from connector.sandbox.salesforce.soql.parser import And, Comparison, Count, Expr, Includes, InList, Like, Literal, Not, Or, Path, Query, parse
from connector.sandbox.salesforce.values import output_value

__all__ = ["QueryError", "Result", "Source", "execute", "render"]

Record = dict[str, t.Any]
Getter = t.Callable[[Record], t.Any]
Predicate = t.Callable[[Record], bool]
_TYPE_FIELD = FieldDef("Type", "string", length=40, createable=False, updateable=False)
_FIELD_HINT = ("If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
               "Please reference your WSDL or the describe call for the appropriate names.")
_KIND_NAMES = {"boolean": "boolean", "double": "double", "currency": "currency", "percent": "percent", "int": "integer", "date": "date", "datetime": "dateTime"}


class QueryError(Exception):
    """A refused query: Salesforce error code, message and the character offset it points at (-1: none)."""

    def __init__(self, error_code: str, message: str, pos: int = -1, echo: bool = True) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.pos = pos
        self.echo = echo

    def render(self, query: str) -> str:
        """Salesforce's message with the query line, a caret and ``ERROR at Row:r:Column:c`` when it has a position."""
        if self.pos < 0 or not self.echo:
            return self.message
        from connector.sandbox.salesforce.soql.lexer import position

        row, column = position(query, self.pos)
        line = query.split("\n")[row - 1]
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.message}"


class Source(t.Protocol):
    """Where a query reads: objects, rows, id lookups and field visibility (FLS) for one user."""

    def sobject(self, name: str) -> ObjectDef | None:
        """The object named so, or None."""

    def rows(self, obj: ObjectDef, include_deleted: bool) -> t.Iterable[Record]:
        """The object's records in id order."""

    def lookup(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        """The object and record of an id."""

    def visible(self, obj: ObjectDef, field: FieldDef) -> bool:
        """Whether the user sees the field."""

    def url(self, obj: ObjectDef, record_id: str) -> str:
        """The record's ``attributes.url``."""


@dataclasses.dataclass(frozen=True)
class Column:
    """A resolved field path: the field, and the relationship it is read through (if any)."""

    field: FieldDef
    relation: FieldDef | None
    getter: Getter


@dataclasses.dataclass
class Result:
    """Matching rows (already ordered, limited and offset) and how to render them."""

    obj: ObjectDef
    rows: list[Record]
    columns: list[Column]
    count_only: bool


def _no_column(obj: ObjectDef, path: Path) -> QueryError:
    if len(path.parts) > 1:
        return QueryError("INVALID_FIELD", f"Didn't understand relationship '{path.parts[0]}' in field path. If you are attempting to use a custom relationship, "
                          "be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", path.pos)
    return QueryError("INVALID_FIELD", f"No such column '{path.parts[0]}' on entity '{obj.name}'. {_FIELD_HINT}", path.pos)


def _resolve(source: Source, obj: ObjectDef, path: Path) -> Column:
    if len(path.parts) > 2:
        raise QueryError("INVALID_FIELD", f"Didn't understand relationship '{path.parts[1]}' in field path. The sandbox follows one relationship level.", path.pos)
    if len(path.parts) == 1:
        field = obj.field(path.parts[0])
        if field is None or not source.visible(obj, field):
            raise _no_column(obj, path)
        name = field.name
        return Column(field, None, lambda record: record.get(name))
    relation = obj.relationship(path.parts[0])
    if relation is None or not source.visible(obj, relation):
        raise _no_column(obj, path)
    targets = [o for o in (source.sobject(n) for n in relation.reference_to) if o is not None]
    wanted = path.parts[1]
    field = next((f for o in targets if (f := o.field(wanted)) is not None and source.visible(o, f)), None)
    if field is None and wanted.lower() == "type" and len(targets) > 1:
        field = _TYPE_FIELD
    if field is None:
        target_name = targets[0].name if len(targets) == 1 else "Name"
        raise QueryError("INVALID_FIELD", f"No such column '{wanted}' on entity '{target_name}'. {_FIELD_HINT}", path.pos)
    ref_name, lower = relation.name, wanted.lower()

    def getter(record: Record) -> t.Any:
        ref = record.get(ref_name)
        found = source.lookup(ref) if ref else None
        if found is None:
            return None
        target, row = found
        if lower == "type" and field is _TYPE_FIELD:
            return target.name
        tf = target.field(lower)
        return row.get(tf.name) if tf is not None and source.visible(target, tf) else None

    return Column(field, relation, getter)


# ---- filter values ------------------------------------------------------------------------------------
def _criterion_error(field: FieldDef, literal: Literal) -> QueryError:
    kind = _KIND_NAMES.get(field.type, "string")
    quoted = " and should not be enclosed in quotes" if literal.kind == "string" else ""
    return QueryError("INVALID_FIELD", f"value of filter criterion for field '{field.name}' must be of type {kind}{quoted}", literal.pos)


def _date_range(name: str, n: int, now_ms: int) -> tuple[int, int]:
    """[start, end) epoch ms of a date literal, by UTC days (the sandbox org's time zone is GMT)."""
    today = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = dt.timedelta(days=1)
    week_start = today - dt.timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday (en_US)
    month_start = today.replace(day=1)

    def months(start: dt.datetime, k: int) -> dt.datetime:
        total = start.year * 12 + start.month - 1 + k
        return start.replace(year=total // 12, month=total % 12 + 1)

    year_start = today.replace(month=1, day=1)
    ranges = {
        "TODAY": (today, today + day), "YESTERDAY": (today - day, today), "TOMORROW": (today + day, today + 2 * day),
        "THIS_WEEK": (week_start, week_start + 7 * day), "LAST_WEEK": (week_start - 7 * day, week_start), "NEXT_WEEK": (week_start + 7 * day, week_start + 14 * day),
        "THIS_MONTH": (month_start, months(month_start, 1)), "LAST_MONTH": (months(month_start, -1), month_start), "NEXT_MONTH": (months(month_start, 1), months(month_start, 2)),
        "LAST_90_DAYS": (today - 90 * day, today + day), "NEXT_90_DAYS": (today + day, today + 91 * day),
        "THIS_YEAR": (year_start, year_start.replace(year=year_start.year + 1)), "LAST_YEAR": (year_start.replace(year=year_start.year - 1), year_start),
        "NEXT_YEAR": (year_start.replace(year=year_start.year + 1), year_start.replace(year=year_start.year + 2)),
        "LAST_N_DAYS": (today - n * day, today + day), "NEXT_N_DAYS": (today + day, today + (n + 1) * day),
        "N_DAYS_AGO": (today - n * day, today - (n - 1) * day), "N_DAYS_FROM_NOW": (today + n * day, today + (n + 1) * day),
        "LAST_N_WEEKS": (week_start - 7 * n * day, week_start), "NEXT_N_WEEKS": (week_start + 7 * day, week_start + 7 * (n + 1) * day),
        "LAST_N_MONTHS": (months(month_start, -n), month_start), "NEXT_N_MONTHS": (months(month_start, 1), months(month_start, n + 1)),
    }
    if name in ("LAST_N_HOURS", "NEXT_N_HOURS"):
        hour = 3_600_000
        return (now_ms - n * hour, now_ms) if name == "LAST_N_HOURS" else (now_ms, now_ms + n * hour)
    start, end = ranges[name]
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _scalar(field: FieldDef, literal: Literal) -> t.Any:
    """A literal as a value comparable with the field's stored values (text casefolded); raises QueryError."""
    kind = field.type
    if literal.kind == "null":
        return None
    if kind in ("id", "reference"):
        if literal.kind != "string":
            raise _criterion_error(field, literal)
        normalized = normalize_id(literal.value)
        if normalized is None:
            raise QueryError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}", literal.pos)
        return normalized
    if kind == "boolean":
        if literal.kind != "boolean":
            raise _criterion_error(field, literal)
        return literal.value
    if kind in NUMERIC_TYPES:
        if literal.kind != "number":
            raise _criterion_error(field, literal)
        return literal.value
    if kind == "date":
        if literal.kind != "date":
            raise _criterion_error(field, literal)
        return literal.value
    if kind == "datetime":
        if literal.kind != "datetime":
            raise _criterion_error(field, literal)
        return timefmt.parse_datetime(literal.value)
    if kind == "complexvalue":
        raise QueryError("INVALID_FIELD", f"field '{field.name}' can not be filtered in a query call", literal.pos)
    if literal.kind != "string":
        raise _criterion_error(field, literal)
    return literal.value.casefold()


def _fold(field: FieldDef) -> t.Callable[[t.Any], t.Any]:
    if field.type in ("id", "reference") or field.type not in ("string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"):
        return lambda v: v
    return lambda v: v.casefold() if isinstance(v, str) else v


class _Compiler:
    def __init__(self, source: Source, obj: ObjectDef, now_ms: int, include_deleted: bool) -> None:
        self.source, self.obj, self.now_ms, self.include_deleted = source, obj, now_ms, include_deleted

    def compile(self, expr: Expr) -> Predicate:
        if isinstance(expr, And):
            parts = [self.compile(e) for e in expr.items]
            return lambda r: all(p(r) for p in parts)
        if isinstance(expr, Or):
            parts = [self.compile(e) for e in expr.items]
            return lambda r: any(p(r) for p in parts)
        if isinstance(expr, Not):
            inner = self.compile(expr.expr)
            return lambda r: not inner(r)
        column = _resolve(self.source, self.obj, expr.path)
        if isinstance(expr, Comparison):
            return self.comparison(column, expr)
        if isinstance(expr, InList):
            return self.in_list(column, expr)
        if isinstance(expr, Like):
            if column.field.type not in ("string", "textarea", "email", "phone", "url", "picklist", "combobox"):
                raise QueryError("INVALID_FIELD", f"invalid operator on field '{column.field.name}': LIKE", expr.pos)
            get, pattern = column.getter, expr.pattern
            return lambda r: (v := get(r)) is not None and pattern.fullmatch(str(v)) is not None
        assert isinstance(expr, Includes)
        if column.field.type != "multipicklist":
            raise QueryError("INVALID_FIELD", f"invalid operator on field '{column.field.name}': {'EXCLUDES' if expr.negated else 'INCLUDES'}", expr.path.pos)
        wanted = [frozenset(v.casefold().split(";")) for v in expr.values]
        get, negated = column.getter, expr.negated
        return lambda r: negated != any(w <= frozenset(str(get(r) or "").casefold().split(";")) for w in wanted)

    def comparison(self, column: Column, expr: Comparison) -> Predicate:
        field, get, op, literal = column.field, column.getter, expr.op, expr.value
        if literal.kind == "null" and op not in ("=", "!="):
            raise QueryError("MALFORMED_QUERY", f"invalid operator on null: {op}", literal.pos)
        if literal.kind == "dateliteral" and field.type in ("date", "datetime"):
            start, end = _date_range(literal.value[0], literal.value[1], self.now_ms)
            if field.type == "date":
                lo, hi = timefmt.ms_to_date(start), timefmt.ms_to_date(end)
            else:
                lo, hi = start, end  # type: ignore[assignment]
            tests: dict[str, t.Callable[[t.Any], bool]] = {
                "=": lambda v: lo <= v < hi, "!=": lambda v: not lo <= v < hi, "<": lambda v: v < lo,
                ">": lambda v: v >= hi, "<=": lambda v: v < hi, ">=": lambda v: v >= lo,
            }
            test = tests[op]
            return lambda r: (v := get(r)) is not None and test(v) if op != "!=" else (v := get(r)) is None or test(v)
        if literal.kind == "dateliteral":
            raise _criterion_error(field, literal)
        value = _scalar(field, literal)
        fold = _fold(field)
        if op == "=":
            return lambda r: fold(get(r)) == value
        if op == "!=":
            return lambda r: fold(get(r)) != value
        ordered = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]
        if field.type == "boolean":
            raise QueryError("INVALID_FIELD", f"invalid operator on field '{field.name}': {op}", literal.pos)
        return lambda r: (v := fold(get(r))) is not None and ordered(v, value)

    def in_list(self, column: Column, expr: InList) -> Predicate:
        if expr.subquery is not None:
            if column.field.type not in ("id", "reference"):
                raise QueryError("INVALID_FIELD", f"Semi join sub-selects are only allowed for Id and reference fields: {column.field.name}", expr.path.pos)
            sub = _plan(self.source, expr.subquery, self.now_ms, False)
            if sub.count_only or len(sub.columns) != 1 or sub.columns[0].field.type not in ("id", "reference"):
                raise QueryError("MALFORMED_QUERY", "The inner select field must be an Id or a reference field", expr.subquery.sobject_pos)
            values: set[t.Any] = {sub.columns[0].getter(r) for r in sub.rows} - {None}
        else:
            if any(v.kind == "dateliteral" for v in expr.values):
                raise QueryError("MALFORMED_QUERY", "date literals are not allowed in an IN list", expr.values[0].pos)
            values = {_scalar(column.field, v) for v in expr.values}
        fold, get = _fold(column.field), column.getter
        if expr.negated:
            return lambda r: fold(get(r)) not in values
        return lambda r: fold(get(r)) in values


def _sort(rows: list[Record], query: Query, source: Source, obj: ObjectDef) -> list[Record]:
    for item in reversed(query.order):
        column = _resolve(source, obj, item.path)
        if not column.field.sortable:
            raise QueryError("INVALID_FIELD", f"field '{column.field.name}' can not be sorted in a query call", item.path.pos)
        get, fold = column.getter, _fold(column.field)
        nulls = [r for r in rows if get(r) is None]
        present = [r for r in rows if get(r) is not None]
        present.sort(key=lambda r: fold(get(r)), reverse=item.descending)
        rows = present + nulls if item.nulls_last else nulls + present
    return rows


def _plan(source: Source, query: Query, now_ms: int, include_deleted: bool) -> Result:
    obj = source.sobject(query.sobject)
    if obj is None:
        raise QueryError("INVALID_TYPE", f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' "
                         "after the entity name. Please reference your WSDL or the describe call for the appropriate names.", query.sobject_pos)
    columns = [] if query.count_only else [_resolve(source, obj, p) for p in query.items if isinstance(p, Path)]
    seen: set[str] = set()
    for item, column in zip([p for p in query.items if not isinstance(p, Count)], columns, strict=False):
        key = (f"{column.relation.relationship_name}." if column.relation else "") + column.field.name.lower()
        if key.lower() in seen:
            raise QueryError("MALFORMED_QUERY", f"duplicate field selected: {item.text}", item.pos)
        seen.add(key.lower())
    predicate = _Compiler(source, obj, now_ms, include_deleted).compile(query.where) if query.where is not None else None
    if query.offset is not None and query.offset > 2000:
        raise QueryError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is 2000: {query.offset}", -1)
    rows = [r for r in source.rows(obj, include_deleted) if predicate is None or predicate(r)]
    if query.order:
        rows = _sort(rows, query, source, obj)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return Result(obj, rows[start:end], columns, query.count_only)


def execute(text: str, source: Source, now_ms: int, include_deleted: bool = False) -> Result:
    """Parse and run a query; raises ``QueryError`` with Salesforce's code and message."""
    try:
        query = parse(text)
    except SoqlSyntaxError as exc:
        raise QueryError("MALFORMED_QUERY", exc.message, exc.pos, exc.echo) from exc
    return _plan(source, query, now_ms, include_deleted)


def render(result: Result, row: Record, source: Source) -> dict[str, t.Any]:
    """One record as the query resource returns it: ``attributes`` then the selected fields."""
    out: dict[str, t.Any] = {"attributes": {"type": result.obj.name, "url": source.url(result.obj, row["Id"])}}
    for column in result.columns:
        if column.relation is None:
            out[column.field.name] = output_value(column.field, row.get(column.field.name))
            continue
        rel_name = column.relation.relationship_name or column.relation.name
        ref = row.get(column.relation.name)
        found = source.lookup(ref) if ref else None
        if found is None or ref is None:
            out[rel_name] = None
            continue
        target, _ = found
        nested = out.get(rel_name)
        if nested is None:
            nested = {"attributes": {"type": target.name, "url": source.url(target, ref)}}
            out[rel_name] = nested
        nested[column.field.name] = output_value(column.field, column.getter(row))
    return out
