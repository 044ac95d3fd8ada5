"""A recursive-descent parser for the SOQL subset an integration needs, into a small syntax tree.

Grammar (SOQL and SOSL Reference, "SOQL SELECT Syntax"), keywords case-insensitive::

    query      := SELECT items FROM ident [WHERE or] [ORDER BY order (',' order)*] [LIMIT int] [OFFSET int]
    items      := COUNT '(' ')' | path (',' path)*
    path       := ident ('.' ident)?                     -- one relationship level, e.g. Owner.Email
    or         := and (OR and)*        and := not (AND not)*        not := NOT not | atom
    atom       := '(' or ')' | path op value | path [NOT] IN '(' (values | query) ')'
                | path LIKE string | path INCLUDES/EXCLUDES '(' strings ')'
    value      := string | number | TRUE | FALSE | NULL | date | datetime | DATE_LITERAL[:n]
    order      := path [ASC|DESC] [NULLS (FIRST|LAST)]

Salesforce refuses ``a AND b OR c`` without parentheses ("unexpected token: 'OR'"), and so does this
parser: mixing the two at one level is ambiguous in SOQL. Everything else is a ``MALFORMED_QUERY``
with the position of the offending token. Field and object names are resolved later, against the
org's schema (:mod:`engine`), because that needs the user's field-level security.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from connector.sandbox.salesforce.soql.lexer import SoqlSyntaxError, Token, decode_string, like_regex, tokenize

__all__ = ["And", "Comparison", "Count", "Expr", "InList", "Like", "Literal", "Not", "Or", "OrderItem", "Path", "Query", "parse"]

DATE_LITERALS = frozenset({"YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH", "THIS_MONTH", "NEXT_MONTH",
                           "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR"})
DATE_N_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "N_DAYS_FROM_NOW", "LAST_N_HOURS", "NEXT_N_HOURS", "LAST_N_WEEKS",
                             "NEXT_N_WEEKS", "LAST_N_MONTHS", "NEXT_N_MONTHS"})
_RESERVED = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE",
                       "ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING", "INCLUDES", "EXCLUDES", "WITH", "FOR", "USING"})


@dataclasses.dataclass(frozen=True)
class Path:
    """A field reference: ``Email`` or ``Owner.Email`` (parts as written)."""

    parts: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        """The path as written."""
        return ".".join(self.parts)


@dataclasses.dataclass(frozen=True)
class Count:
    """``COUNT()``: the answer is a count, not records."""

    pos: int


@dataclasses.dataclass(frozen=True)
class Literal:
    """A value in a filter. ``kind``: string, number, boolean, null, date, datetime, dateliteral."""

    kind: str
    value: t.Any
    pos: int
    raw: str = ""


@dataclasses.dataclass(frozen=True)
class Comparison:
    """``path op literal`` with op one of ``= != < <= > >=``."""

    path: Path
    op: str
    value: Literal


@dataclasses.dataclass(frozen=True)
class InList:
    """``path [NOT] IN (values)`` or a semi-join ``path IN (SELECT f FROM ...)``."""

    path: Path
    negated: bool
    values: tuple[Literal, ...] = ()
    subquery: Query | None = None


@dataclasses.dataclass(frozen=True)
class Like:
    """``path LIKE 'pattern'`` (case-insensitive, ``%`` and ``_`` wildcards)."""

    path: Path
    pattern: re.Pattern[str]
    raw: str
    pos: int


@dataclasses.dataclass(frozen=True)
class Includes:
    """``path INCLUDES|EXCLUDES ('a;b', 'c')`` on a multi-select picklist."""

    path: Path
    negated: bool
    values: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Not:
    """``NOT expr``."""

    expr: Expr


@dataclasses.dataclass(frozen=True)
class And:
    """Every item holds."""

    items: tuple[Expr, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    """Some item holds."""

    items: tuple[Expr, ...]


Expr = t.Union[Comparison, InList, Like, Includes, Not, And, Or]  # noqa: UP007 - a runtime alias of dataclasses defined above


@dataclasses.dataclass(frozen=True)
class OrderItem:
    """One ORDER BY key."""

    path: Path
    descending: bool = False
    nulls_last: bool = False


@dataclasses.dataclass(frozen=True)
class Query:
    """A parsed SELECT."""

    items: tuple[Path | Count, ...]
    sobject: str
    sobject_pos: int
    where: Expr | None = None
    order: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None

    @property
    def count_only(self) -> bool:
        """``SELECT COUNT() FROM ...``."""
        return any(isinstance(item, Count) for item in self.items)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None) -> SoqlSyntaxError:
        tok = tok or self.tok
        text = "<EOF>" if tok.kind == "eof" else f"'{tok.text}'"
        return SoqlSyntaxError(f"unexpected token: {text}", tok.pos)

    def word(self, *words: str) -> Token:
        if not self.tok.is_word(*words):
            raise self.unexpected()
        return self.advance()

    def punct(self, text: str) -> Token:
        if self.tok.kind != "punct" or self.tok.text != text:
            raise self.unexpected()
        return self.advance()

    def at_punct(self, text: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == text

    # ---- query ------------------------------------------------------------------------------
    def query(self, nested: bool = False) -> Query:
        self.word("SELECT")
        items: list[Path | Count] = []
        while True:
            if self.tok.is_word("COUNT") and self.tokens[self.i + 1].text == "(":
                pos = self.advance().pos
                self.punct("(")
                self.punct(")")
                items.append(Count(pos))
            else:
                items.append(self.path())
            if not self.at_punct(","):
                break
            self.advance()
        if any(isinstance(x, Count) for x in items) and len(items) > 1:
            raise SoqlSyntaxError("COUNT() and fields cannot be selected together", items[1].pos if isinstance(items[1], Path) else -1)
        self.word("FROM")
        obj = self.advance()
        if obj.kind != "ident" or "." in obj.text or obj.text.upper() in _RESERVED:
            raise self.unexpected(obj)
        where = order = limit = offset = None
        if self.tok.is_word("WHERE"):
            self.advance()
            where = self.or_expr()
        if self.tok.is_word("ORDER"):
            self.advance()
            self.word("BY")
            order = [self.order_item()]
            while self.at_punct(","):
                self.advance()
                order.append(self.order_item())
        if self.tok.is_word("LIMIT"):
            self.advance()
            limit = self.integer()
        if self.tok.is_word("OFFSET"):
            self.advance()
            offset = self.integer()
        if not nested and self.tok.kind != "eof":
            raise self.unexpected()
        return Query(tuple(items), obj.text, obj.pos, where, tuple(order or ()), limit, offset)

    def integer(self) -> int:
        tok = self.advance()
        if tok.kind != "number" or not tok.text.isdecimal():
            raise self.unexpected(tok)
        return int(tok.text)

    def path(self) -> Path:
        tok = self.advance()
        if tok.kind != "ident" or tok.text.upper() in _RESERVED:
            raise self.unexpected(tok)
        return Path(tuple(tok.text.split(".")), tok.pos)

    def order_item(self) -> OrderItem:
        path = self.path()
        descending = False
        if self.tok.is_word("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_last = False
        if self.tok.is_word("NULLS"):
            self.advance()
            nulls_last = self.word("FIRST", "LAST").text.upper() == "LAST"
        return OrderItem(path, descending, nulls_last)

    # ---- conditions ---------------------------------------------------------------------------
    def or_expr(self) -> Expr:
        first, first_and = self.and_expr()
        items = [first]
        while self.tok.is_word("OR"):
            if first_and is not None:  # a AND b OR c: Salesforce wants parentheses
                raise self.unexpected()
            self.advance()
            nxt, and_tok = self.and_expr()
            if and_tok is not None:  # a OR b AND c
                raise self.unexpected(and_tok)
            items.append(nxt)
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> tuple[Expr, Token | None]:
        """An AND chain, and its first AND token when it has several unparenthesised items."""
        items = [self.not_expr()]
        first_and: Token | None = None
        while self.tok.is_word("AND"):
            tok = self.advance()
            first_and = first_and or tok
            items.append(self.not_expr())
        return (items[0], None) if len(items) == 1 else (And(tuple(items)), first_and)

    def not_expr(self) -> Expr:
        if self.tok.is_word("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.at_punct("("):
            self.advance()
            inner = self.or_expr()
            self.punct(")")
            return inner
        return self.condition()

    def condition(self) -> Expr:
        path = self.path()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(path, op, self.value())
        negated = False
        if tok.is_word("NOT"):
            self.advance()
            negated = True
            if not self.tok.is_word("IN"):
                raise self.unexpected()
        if self.tok.is_word("IN"):
            self.advance()
            self.punct("(")
            if self.tok.is_word("SELECT"):
                sub = self.query(nested=True)
                self.punct(")")
                return InList(path, negated, (), sub)
            values = [self.value()]
            while self.at_punct(","):
                self.advance()
                values.append(self.value())
            self.punct(")")
            return InList(path, negated, tuple(values))
        if self.tok.is_word("LIKE"):
            self.advance()
            pattern = self.advance()
            if pattern.kind != "string":
                raise self.unexpected(pattern)
            return Like(path, like_regex(pattern.text), pattern.text, pattern.pos)
        if self.tok.is_word("INCLUDES", "EXCLUDES"):
            excludes = self.advance().text.upper() == "EXCLUDES"
            self.punct("(")
            values = [self.value()]
            while self.at_punct(","):
                self.advance()
                values.append(self.value())
            self.punct(")")
            if any(v.kind != "string" for v in values):
                raise self.unexpected()
            return Includes(path, excludes, tuple(str(v.value) for v in values))
        raise self.unexpected()

    def value(self) -> Literal:
        tok = self.advance()
        if tok.kind == "string":
            return Literal("string", decode_string(tok.text), tok.pos, tok.text)
        if tok.kind == "number":
            return Literal("number", float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text), tok.pos, tok.text)
        if tok.kind == "date":
            return Literal("date", tok.text, tok.pos, tok.text)
        if tok.kind == "datetime":
            if re.search(r"[+-]\d{4}$", tok.text):  # SOQL wants +hh:mm (or Z), not +hhmm
                raise SoqlSyntaxError(f"line 1:{tok.pos} no viable alternative at character '{tok.text[-5]}'", tok.pos)
            return Literal("datetime", tok.text, tok.pos, tok.text)
        if tok.is_word("TRUE", "FALSE"):
            return Literal("boolean", tok.text.upper() == "TRUE", tok.pos, tok.text)
        if tok.is_word("NULL"):
            return Literal("null", None, tok.pos, tok.text)
        if tok.kind == "ident" and tok.text.upper() in DATE_LITERALS:
            return Literal("dateliteral", (tok.text.upper(), 0), tok.pos, tok.text)
        if tok.kind == "ident" and tok.text.upper() in DATE_N_LITERALS:
            self.punct(":")
            n = self.integer()
            return Literal("dateliteral", (tok.text.upper(), n), tok.pos, f"{tok.text}:{n}")
        raise self.unexpected(tok)


def parse(query: str) -> Query:
    """The syntax tree of a SOQL query; raises ``SoqlSyntaxError``."""
    if not query.strip():
        raise SoqlSyntaxError("unexpected token: <EOF>", 0)
    return _Parser(tokenize(query)).query()
