"""API keys of ``POST /events``: created, listed, revoked, checked; only their hash is stored.

A key reads ``ck_<id>_<secret>``: the id (public, for listing and revoking) finds the row, the
secret (32 random bytes, URL-safe base64) is compared by its SHA-256 in constant time. A plain hash
is enough for a random 256-bit secret (no password to guess); the key itself is printed once, at
creation, and is nowhere else.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import hashlib
import hmac
import re
import secrets

import sqlalchemy as sa

from connector.sync.tables import api_keys

__all__ = ["ApiKey", "authenticate", "create_key", "list_keys", "revoke_key"]

_KEY = re.compile(r"^ck_([a-z0-9]{12})_([A-Za-z0-9_-]{20,100})$")


@dc.dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as listed (never its secret)."""

    id: str
    crm: str
    name: str
    rate_per_minute: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(engine: sa.Engine, crm: str, name: str, rate_per_minute: int, now: dt.datetime) -> tuple[ApiKey, str]:
    """A new key for ``crm``; returns it and the full key text (shown once, never stored)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = {"id": key_id, "crm": crm, "name": name[:128], "secret_hash": _digest(secret), "rate_per_minute": rate_per_minute, "created_at": now}
    with engine.begin() as conn:
        conn.execute(sa.insert(api_keys).values(row))
    return ApiKey(key_id, crm, name[:128], rate_per_minute, now, None, None), f"ck_{key_id}_{secret}"


def list_keys(engine: sa.Engine, crm: str | None = None) -> list[ApiKey]:
    """The keys (of ``crm``), oldest first."""
    c = api_keys.c
    query = sa.select(c.id, c.crm, c.name, c.rate_per_minute, c.created_at, c.revoked_at, c.last_used_at).order_by(c.created_at, c.id)
    if crm is not None:
        query = query.where(c.crm == crm)
    with engine.connect() as conn:
        return [ApiKey(*row) for row in conn.execute(query)]


def revoke_key(engine: sa.Engine, key_id: str, now: dt.datetime) -> bool:
    """Revoke a key by its id (or the full key); False when there is no such key."""
    match = _KEY.match(key_id)
    ident = match.group(1) if match else key_id
    with engine.begin() as conn:
        return bool(conn.execute(sa.update(api_keys).where(api_keys.c.id == ident, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount)


def authenticate(engine: sa.Engine, presented: str, now: dt.datetime) -> ApiKey | None:
    """The live key ``presented`` is, or ``None`` (malformed, unknown, revoked or wrong secret)."""
    match = _KEY.match(presented.strip())
    if match is None:
        return None
    key_id, secret = match.groups()
    c = api_keys.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(c.id, c.crm, c.name, c.rate_per_minute, c.created_at, c.revoked_at, c.last_used_at, c.secret_hash).where(c.id == key_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash.encode(), _digest(secret).encode()):
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        with engine.begin() as conn:
            conn.execute(sa.update(api_keys).where(c.id == key_id).values(last_used_at=now))
    return ApiKey(row.id, row.crm, row.name, row.rate_per_minute, row.created_at, row.revoked_at, row.last_used_at)
