"""Salesforce's error answers, raised by handlers and rendered once by the app.

REST API errors are a JSON list of ``{"message", "errorCode"}`` objects, plus ``"fields"`` where the
error concerns fields (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
Record-level results of sObject Collections use ``statusCode`` instead of ``errorCode`` (the SOAP
``SaveResult`` shape). The OAuth endpoints answer ``{"error", "error_description"}`` (RFC 6749 §5.2).
"""

from __future__ import annotations

import dataclasses
import typing as t

__all__ = [
    "ApiError",
    "OAuthError",
    "RecordError",
    "entity_deleted",
    "invalid_field",
    "malformed_request",
    "not_found",
]

NOT_FOUND_MESSAGE = "The requested resource does not exist"


class ApiError(Exception):
    """An error answer: HTTP status plus one Salesforce error object."""

    def __init__(self, status: int, error_code: str, message: str, fields: t.Sequence[str] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None
        self.headers = headers or {}

    @property
    def body(self) -> list[dict[str, t.Any]]:
        """``[{"message", "errorCode"[, "fields"]}]``."""
        item: dict[str, t.Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


@dataclasses.dataclass(frozen=True)
class RecordError(Exception):
    """A save error of one record (collections, single-record writes, Bulk API result rows)."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, t.Any]:
        """The ``errors[]`` item of a SaveResult."""
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}

    def to_rest(self) -> ApiError:
        """The same error answered by a single-record endpoint (400 with ``errorCode``)."""
        return ApiError(400, self.status_code, self.message, list(self.fields))

    def to_bulk(self) -> str:
        """The ``sf__Error`` column of a Bulk API 2.0 failed-results row: ``CODE:message:fields --``."""
        return f"{self.status_code}:{self.message}:{','.join(self.fields)} --"


class OAuthError(Exception):
    """An OAuth token endpoint error (400 unless said otherwise)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    @property
    def body(self) -> dict[str, str]:
        """``{"error", "error_description"}``."""
        return {"error": self.error, "error_description": self.description}


def not_found() -> ApiError:
    """404 NOT_FOUND, Salesforce's answer to an unknown resource or record id."""
    return ApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def entity_deleted() -> ApiError:
    """404 ENTITY_IS_DELETED: the record is in the recycle bin."""
    return ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])


def invalid_field(message: str, fields: t.Sequence[str] | None = None) -> ApiError:
    """400 INVALID_FIELD."""
    return ApiError(400, "INVALID_FIELD", message, fields)


def malformed_request(message: str) -> ApiError:
    """400 JSON_PARSER_ERROR, the answer to a body Salesforce cannot deserialize."""
    return ApiError(400, "JSON_PARSER_ERROR", message)
