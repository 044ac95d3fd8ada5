"""HubSpot's error bodies, raised as exceptions by handlers and rendered once by the app.

Shape (https://developers.hubspot.com/docs/api/error-handling):
``{"status":"error","message":...,"correlationId":...,"category":...}`` plus ``errors``/``context``
where HubSpot adds them.
"""

from __future__ import annotations

import typing as t
import uuid

__all__ = [
    "AUTH_MESSAGE",
    "ApiError",
    "error_body",
    "not_found",
    "validation_error",
]

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def error_body(message: str, category: str, **extra: t.Any) -> dict[str, t.Any]:
    """A HubSpot error body with a fresh correlation id."""
    body: dict[str, t.Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


class ApiError(Exception):
    """An error answer: status code plus HubSpot's body."""

    def __init__(self, status: int, message: str, category: str, **extra: t.Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, category, **extra)


def validation_error(message: str, **extra: t.Any) -> ApiError:
    """400 VALIDATION_ERROR, the answer to a malformed request."""
    return ApiError(400, message, "VALIDATION_ERROR", **extra)


def not_found(message: str, **extra: t.Any) -> ApiError:
    """404 OBJECT_NOT_FOUND."""
    return ApiError(404, message, "OBJECT_NOT_FOUND", **extra)
