"""SOQL: a lexer and recursive-descent parser (:mod:`.parser`) and an evaluator over an org (:mod:`.engine`)."""

from __future__ import annotations

from connector.sandbox.salesforce.soql.engine import QueryError, Result, Source, execute, render
from connector.sandbox.salesforce.soql.lexer import SoqlSyntaxError
from connector.sandbox.salesforce.soql.parser import Query, parse

__all__ = ["Query", "QueryError", "Result", "SoqlSyntaxError", "Source", "execute", "parse", "render"]
