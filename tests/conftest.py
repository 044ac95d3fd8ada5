"""Shared fixtures.

``database_url`` runs a state-store test on SQLite and, when ``TEST_DATABASE_URL`` names a
PostgreSQL server (``.ci/run`` sets it), on PostgreSQL too, each test in a schema of its own so
parallel runs and earlier runs never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import typing as t
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
# ../shared beside the main checkout; a worktree under /work/wt/<name> finds it one level further up.
SHARED = next((d / "shared" for d in (REPO.parent, REPO.parent.parent) if (d / "shared").is_dir()), REPO.parent / "shared")


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> t.Iterator[str]:
    """A fresh, empty database: an SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url = postgres_url()
    if not url:
        pytest.skip("PostgreSQL state-store tests skipped: set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it")
    with postgres_schema(url) as scoped:
        yield scoped


@contextlib.contextmanager
def postgres_schema(url: str) -> t.Iterator[str]:
    """A new schema on the PostgreSQL server at ``url``, dropped after: the URL whose connections use it."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc.orig}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def shared_leads() -> pathlib.Path:
    """The public X Education leads file from ../shared, or a clean skip where it is absent."""
    path = SHARED / "data" / "x-education-leads" / "leads_train.csv"
    if not path.exists():
        pytest.skip(f"shared data set not found at {path}; these tests need ../shared beside the project")
    return path
