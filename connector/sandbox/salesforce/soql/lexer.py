r"""SOQL tokens, with the positions Salesforce reports in its ``ERROR at Row:r:Column:c`` messages.

String literals keep their raw text (between the quotes, escapes not yet applied), because what a
backslash means depends on where the string is used: ``\%`` and ``\_`` are legal only in a LIKE
pattern (SOQL and SOSL Reference, "Quoted String Escape Sequences":
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm).
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["SoqlSyntaxError", "Token", "decode_string", "like_regex", "position", "tokenize"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}|[+-]\d{4}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_SIMPLE_ESCAPES = {"n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b", "f": "\f", "F": "\f",
                   '"': '"', "'": "'", "\\": "\\"}


class SoqlSyntaxError(Exception):
    """A query Salesforce would refuse as ``MALFORMED_QUERY`` (position = character offset, or -1)."""

    def __init__(self, message: str, pos: int = -1, echo: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.echo = echo


@dataclasses.dataclass(frozen=True)
class Token:
    """One token: kind (``ident``, ``string``, ``number``, ``date``, ``datetime``, ``op``, ``punct``, ``eof``), text, offset."""

    kind: str
    text: str
    pos: int

    def is_word(self, *words: str) -> bool:
        """Whether this is an identifier equal (any case) to one of words."""
        return self.kind == "ident" and self.text.upper() in words


def position(query: str, pos: int) -> tuple[int, int]:
    """1-based (row, column) of a character offset, as Salesforce counts them."""
    before = query[:pos]
    row = before.count("\n") + 1
    column = pos - (before.rfind("\n") + 1) + 1
    return row, column


def tokenize(query: str) -> list[Token]:
    """The tokens of a query, ending with an ``eof`` token; raises ``SoqlSyntaxError``."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        if query[i] == "'":
            j = i + 1
            while j < n and query[j] != "'":
                j += 2 if query[j] == "\\" else 1
            if j >= n:
                row, column = position(query, n)
                raise SoqlSyntaxError(f"line {row}:{column - 1} mismatched character '<EOF>' expecting '''", echo=False)
            tokens.append(Token("string", query[i + 1:j], i))
            i = j + 1
            continue
        found = _TOKEN.match(query, i)
        if found is None:
            raise SoqlSyntaxError(f"unexpected token: '{query[i]}'", i)
        kind = found.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, found.group(), i))
        i = found.end()
    tokens.append(Token("eof", "<EOF>", n))
    return tokens


def _illegal(raw: str, seq: str) -> SoqlSyntaxError:
    return SoqlSyntaxError(f"Invalid string literal '{raw}'. Illegal character sequence '{seq}' in string literal.", echo=False)


def _decode(raw: str, like: bool) -> list[tuple[str, bool]]:
    """Characters of a raw literal with a flag telling whether each was escaped."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append((ch, False))
            i += 1
            continue
        nxt = raw[i + 1:i + 2]
        if nxt in _SIMPLE_ESCAPES:
            out.append((_SIMPLE_ESCAPES[nxt], True))
            i += 2
        elif nxt in ("%", "_") and like:
            out.append((nxt, True))
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2:i + 6]):
            out.append((chr(int(raw[i + 2:i + 6], 16)), True))
            i += 6
        else:
            raise _illegal(raw, "\\" + nxt)
    return out


def decode_string(raw: str) -> str:
    r"""A string literal's value outside LIKE (``\%``/``\_`` are illegal there)."""
    return "".join(ch for ch, _ in _decode(raw, like=False))


def like_regex(raw: str) -> re.Pattern[str]:
    """A LIKE pattern as a case-insensitive regex: unescaped ``%`` any run, ``_`` one character."""
    parts = []
    for ch, escaped in _decode(raw, like=True):
        if ch == "%" and not escaped:
            parts.append(".*")
        elif ch == "_" and not escaped:
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
