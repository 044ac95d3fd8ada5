"""Reading request bodies within a size limit, and the one shape of every error answer.

A body is read in chunks and refused (413) as soon as it passes the limit, so an oversized or
endless upload costs at most the limit in memory; ``Content-Length`` over the limit is refused
before reading anything. Every refusal is ``{"error": reason, "message": ...}`` with a fixed
reason label (the same label the metrics count): clients and dashboards see the same word.
"""

from __future__ import annotations

import typing as t

from fastapi import Request
from fastapi.responses import JSONResponse

__all__ = ["Refused", "read_body", "refusal"]


class Refused(Exception):
    """A request refused with ``status`` and a fixed ``reason`` label."""

    def __init__(self, status: int, reason: str, message: str, headers: t.Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = dict(headers or {})


def refusal(exc: Refused) -> JSONResponse:
    """The JSON answer of a refusal (never echoing the request's content)."""
    return JSONResponse({"error": exc.reason, "message": exc.message}, status_code=exc.status, headers=exc.headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes; raises :class:`Refused` (413) beyond it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdecimal():
            raise Refused(400, "bad_content_length", "Content-Length is not a number")
        if int(declared) > limit:
            raise Refused(413, "body_too_large", f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body_too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
