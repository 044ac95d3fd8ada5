"""The kept activity scan reads what a whole scan of the table reads, on every path by which activity changes.

Each check compares :func:`connector.sync.scankeep.kept_scan` with
:func:`connector.sync.activityscan.scan_activities`: the same rows (contact id, type, instant,
attribute text) in the same order, and the same codes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import pathlib
import typing as t

import pytest
import sqlalchemy as sa

from connector.scoring.loader import load_model
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity
from connector.sync import scankeep
from connector.sync.activityscan import ActivityScan, read_types, scan_activities
from connector.sync.db import open_database
from connector.sync.forget import merge_into
from connector.sync.scankeep import kept_scan, read_kept
from connector.sync.store import Store
from connector.sync.tables import activity_scans

REPO = pathlib.Path(__file__).resolve().parents[2]
T = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
CRM = "main"
KINDS = ["page_view", "email_open", "form_submit", "call", "not_scored_by_any_model"]


@pytest.fixture
def models() -> list[ScoringModel]:
    return [load_model(REPO / "mappings" / "models" / "b2b-saas.yaml")]


def _rows(scan: ActivityScan) -> list[tuple[str, str, int, str | None]]:
    return [(scan.contact_ids[c], scan.kinds[k], o, scan.texts[x]) for c, k, o, x in zip(scan.contact.tolist(), scan.type.tolist(), scan.occurred.tolist(), scan.text.tolist(), strict=True)]


def _add(store: Store, start: int, n: int) -> None:
    """``n`` activities from id ``start`` on: ten contacts, every kind, a few attribute sets, some anonymous."""
    records = [
        Activity(
            id=f"a{i:05d}", type=KINDS[i % len(KINDS)], occurred_at=T - dt.timedelta(hours=i % 50),
            contact_id=None if i % 13 == 0 else f"c{i % 10}", anonymous_id=f"v{i}" if i % 13 == 0 else None,
            attributes={"url": f"/p{i % 4}"} if i % 3 else {},
        )
        for i in range(start, start + n)
    ]  # fmt: skip
    store.save_activities(records, T)


def _same(engine: sa.Engine, models: list[ScoringModel]) -> ActivityScan:
    """The kept scan is the whole scan: the same rows in the same order, codes included."""
    kept, whole = kept_scan(engine, CRM, models, T), scan_activities(engine, CRM, models)
    assert _rows(kept) == _rows(whole)
    assert (kept.contact_ids, kept.kinds, kept.texts) == (whole.contact_ids, whole.kinds, whole.texts)
    for name in ("contact", "type", "occurred", "text"):
        assert getattr(kept, name).tolist() == getattr(whole, name).tolist()
    return kept


def _owned(engine: sa.Engine, models: list[ScoringModel]) -> int:
    """How many rows a whole scan reads for ``models``."""
    return len(scan_activities(engine, CRM, models).contact)


def _covered(engine: sa.Engine) -> int:
    """How many rows the kept columns hold (4 bytes a row in ``contact``)."""
    return len(_kept_row(engine)["contact"]) // 4


def _kept_row(engine: sa.Engine) -> t.Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(activity_scans).where(activity_scans.c.crm == CRM)).mappings().first()


def test_the_kept_scan_reads_what_a_whole_scan_reads_as_activity_is_added(database_url: str, models: list[ScoringModel], monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_database(database_url)
    store = Store(engine, CRM)
    _add(store, 0, 400)
    assert len(_same(engine, models).contact) > 0
    kept = _kept_row(engine)
    if engine.dialect.name != "sqlite":  # PostgreSQL: scanned every time, nothing kept
        assert kept is None
        _add(store, 400, 100)
        _same(engine, models)
        assert _kept_row(engine) is None
        return
    assert kept["epoch"] == 0 and _covered(engine) == _owned(engine, models) < 400  # anonymous rows and types no model reads are not the scan's
    assert (kept["upto_crm"], kept["upto_id"]) == (CRM, "a00399")
    first_kept_at = kept["kept_at"]

    # A few rows more: read after the kept columns, which are not written again for so few.
    _add(store, 400, 10)
    _same(engine, models)
    assert _covered(engine) < _owned(engine, models) and _kept_row(engine)["kept_at"] == first_kept_at
    # Enough rows more (KEEP_AGAIN of those kept): written again, covering them all.
    monkeypatch.setattr(scankeep, "KEEP_AGAIN", 0.1)
    _add(store, 410, 50)
    _same(engine, models)
    assert _covered(engine) == _owned(engine, models) and _kept_row(engine)["upto_id"] == "a00459"
    # An activity pulled again is not a new row (the store skips it): nothing moves.
    _add(store, 0, 5)
    _same(engine, models)
    # Models that read other types: the table is read whole, and that scan is kept instead.
    others = [load_model(REPO / "mappings" / "models" / "product-line-b.yaml")]
    assert read_types(others) != read_types(models)
    _same(engine, others)
    assert _kept_row(engine)["types"] == json.dumps(read_types(others)) and _kept_row(engine)["upto_id"] == "a00459"


def test_a_merge_or_a_deletion_drops_the_kept_scan_and_the_next_reads_the_table_whole(tmp_path: pathlib.Path, models: list[ScoringModel]) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    store = Store(engine, CRM)
    _add(store, 0, 300)
    _same(engine, models)
    with engine.begin() as conn:  # the CRM merged c1 into c2: their history moves
        merge_into(conn, CRM, "c2", ["c1"])
    gone = _kept_row(engine)  # the epoch counts every row changed
    assert gone["epoch"] > 0 and gone["contact"] is None and gone["upto"] is None
    merged = gone["epoch"]
    scan = _same(engine, models)
    assert "c1" not in {scan.contact_ids[c] for c in scan.contact.tolist()}
    assert _kept_row(engine)["epoch"] == merged and _covered(engine) == _owned(engine, models)

    with engine.begin() as conn:  # anyone's DELETE, here at an SQL prompt
        conn.execute(sa.text("DELETE FROM activities WHERE crm = :crm AND id = 'a00005'"), {"crm": CRM})
    assert _kept_row(engine)["epoch"] == merged + 1 and _kept_row(engine)["contact"] is None
    _same(engine, models)
    assert _covered(engine) == _owned(engine, models)
    # Another CRM's changes leave this one's kept scan alone.
    Store(engine, "other").save_activities([Activity(id="x", type="call", occurred_at=T, contact_id="c1")], T)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM activities WHERE crm = 'other'"))
    assert _kept_row(engine)["epoch"] == merged + 1 and _kept_row(engine)["contact"] is not None


def test_a_scan_whose_epoch_moved_meanwhile_is_not_kept(tmp_path: pathlib.Path, models: list[ScoringModel], monkeypatch: pytest.MonkeyPatch) -> None:
    """A merge committed between reading the epoch and writing the scan: the scan may predate it, so it is not kept."""
    engine = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    store = Store(engine, CRM)
    _add(store, 0, 200)
    real = scankeep.read_kept

    def then_a_merge(conn: sa.Connection, crm: str, types: t.Sequence[str]) -> tuple[int, scankeep.Kept | None]:
        got = real(conn, crm, types)
        with engine.begin() as other:
            merge_into(other, CRM, "c2", ["c1"])
        return got

    monkeypatch.setattr(scankeep, "read_kept", then_a_merge)
    kept_scan(engine, CRM, models, T)
    row = _kept_row(engine)
    assert row["epoch"] > 0 and row["contact"] is None
    monkeypatch.setattr(scankeep, "read_kept", real)
    _same(engine, models)
    assert _kept_row(engine)["contact"] is not None


def test_kept_columns_that_no_longer_cover_the_table_or_do_not_read_back_are_ignored(tmp_path: pathlib.Path, models: list[ScoringModel], caplog: pytest.LogCaptureFixture) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'state.db'}")
    store = Store(engine, CRM)
    _add(store, 0, 200)
    _same(engine, models)
    # Rowids renumbered after a row went (what a VACUUM may do; here by hand, the triggers set aside):
    # the row the kept columns end at is no longer at their last rowid.
    stale = _covered(engine)
    with engine.begin() as conn:
        for name in scankeep.TRIGGERS:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))
        conn.execute(sa.text("DELETE FROM activities WHERE id = 'a00007'"))
        conn.execute(sa.text("UPDATE activities SET rowid = rowid - 1 WHERE rowid > 8"))
    with engine.connect() as conn:
        assert read_kept(conn, CRM, read_types(models)) == (0, None)
    # Without the triggers nothing is kept or read from what is kept: the table is scanned.
    _same(engine, models)
    assert _covered(engine) == stale == _owned(engine, models) + 1

    engine = open_database(f"sqlite:///{tmp_path / 'again.db'}")
    store = Store(engine, CRM)
    _add(store, 0, 200)
    _same(engine, models)
    with engine.begin() as conn:  # damaged: a column cut short
        conn.execute(sa.update(activity_scans).values(occurred=b"\x00" * 16))
    with caplog.at_level(logging.WARNING, logger="connector.sync.scankeep"), engine.connect() as conn:
        assert read_kept(conn, CRM, read_types(models))[1] is None
    assert "does not read back (columns of different lengths)" in caplog.text
    with engine.begin() as conn:  # damaged: codes past their list
        conn.execute(sa.update(activity_scans).values(occurred=None, upto=None))
    _same(engine, models)
    with engine.begin() as conn:
        conn.execute(sa.update(activity_scans).values(kinds='["page_view"]'))
    with engine.connect() as conn:
        assert read_kept(conn, CRM, read_types(models))[1] is None
    _same(engine, models)
