"""The query resource's paging: server-side cursors behind ``nextRecordsUrl``.

A query answers at most ``batchSize`` records (2,000 by default; ``Sforce-Query-Options: batchSize=N``
asks for 200..2,000, values outside are clamped) with ``totalSize``, ``done`` and, when more remain,
``nextRecordsUrl: /services/data/vXX.X/query/01g...-2000`` (REST API Developer Guide, "Query" and
"Query Options Header"). The matching rows are fixed when the query runs; each page renders its rows
when fetched. As in Salesforce, a user keeps at most 10 open cursors (opening an 11th closes the
oldest), a cursor dies 15 minutes after its last use and when its last page was read, and a dead or
unknown locator answers 400 ``INVALID_QUERY_LOCATOR``.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import threading
import time
import typing as t

from connector.sandbox.salesforce.errors import ApiError
from connector.sandbox.salesforce.org import Org, Record
from connector.sandbox.salesforce.schema import FieldDef, ObjectDef
from connector.sandbox.salesforce.soql import Result, Source, render

__all__ = ["DEFAULT_BATCH", "Cursors", "OrgSource", "batch_size"]

DEFAULT_BATCH = 2000
MAX_CURSORS_PER_USER = 10
CURSOR_IDLE_S = 15 * 60


class OrgSource:
    """What a user's query reads: every object, FLS-filtered fields, REST record URLs of one API version."""

    def __init__(self, org: Org, user_id: str | None, version: str) -> None:
        self.org, self.user_id, self.version = org, user_id, version

    def sobject(self, name: str) -> ObjectDef | None:
        """The object named so."""
        return self.org.obj(name)

    def rows(self, obj: ObjectDef, include_deleted: bool) -> t.Iterable[Record]:
        """Records in id order; recycle-bin rows only for queryAll."""
        table = self.org.table(obj).values()
        return table if include_deleted else (r for r in table if not r.get("IsDeleted"))

    def lookup(self, record_id: str) -> tuple[ObjectDef, Record] | None:
        """The object and record of an id."""
        return self.org.find(record_id)

    def visible(self, obj: ObjectDef, field: FieldDef) -> bool:
        """Field-level security of the user."""
        return self.org.can_read(obj, field, self.user_id)

    def url(self, obj: ObjectDef, record_id: str) -> str:
        """``/services/data/vXX.X/sobjects/Type/Id``."""
        return f"/services/data/v{self.version}/sobjects/{obj.name}/{record_id}"


def batch_size(header: str) -> int:
    """The batch size asked by a ``Sforce-Query-Options`` header (``batchSize=N``), clamped to 200..2,000."""
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdecimal():
            return max(200, min(DEFAULT_BATCH, int(value.strip())))
    return DEFAULT_BATCH


@dataclasses.dataclass
class _Cursor:
    user_id: str
    result: Result
    source: Source
    version: str
    batch: int
    position: int = 0
    last_used: float = dataclasses.field(default_factory=time.monotonic)


class Cursors:
    """Open query cursors of an org, by locator id."""

    def __init__(self, clock: t.Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._open: collections.OrderedDict[str, _Cursor] = collections.OrderedDict()

    def first_page(self, user_id: str, result: Result, source: Source, version: str, batch: int) -> dict[str, t.Any]:
        """The answer to a query: a page, and a cursor when more remain."""
        if result.count_only:
            return {"totalSize": len(result.rows), "done": True, "records": []}
        cursor = _Cursor(user_id, result, source, version, batch)
        if len(result.rows) <= batch:
            return self._page(cursor, None)
        with self._lock:
            self._expire_idle()
            mine = [key for key, c in self._open.items() if c.user_id == user_id]
            for key in mine[: max(0, len(mine) - MAX_CURSORS_PER_USER + 1)]:
                del self._open[key]
            locator = f"01g5g{next(self._ids):010d}"
            self._open[locator] = cursor
        return self._page(cursor, locator)

    def next_page(self, user_id: str, locator: str) -> dict[str, t.Any]:
        """The page a ``nextRecordsUrl`` names (``<id>-<offset>``); 400 ``INVALID_QUERY_LOCATOR`` when gone."""
        key, _, offset = locator.partition("-")
        with self._lock:
            self._expire_idle()
            cursor = self._open.get(key)
            if cursor is None or cursor.user_id != user_id or not offset.isdecimal() or int(offset) != cursor.position:
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = self._clock()
        return self._page(cursor, key)

    def _page(self, cursor: _Cursor, locator: str | None) -> dict[str, t.Any]:
        rows = cursor.result.rows[cursor.position:cursor.position + cursor.batch]
        cursor.position += len(rows)
        done = cursor.position >= len(cursor.result.rows)
        page: dict[str, t.Any] = {"totalSize": len(cursor.result.rows), "done": done}
        if not done and locator is not None:
            page["nextRecordsUrl"] = f"/services/data/v{cursor.version}/query/{locator}-{cursor.position}"
        elif locator is not None:
            with self._lock:
                self._open.pop(locator, None)
        page["records"] = [render(cursor.result, row, cursor.source) for row in rows]
        return page

    def _expire_idle(self) -> None:
        now = self._clock()
        for key in [k for k, c in self._open.items() if now - c.last_used > CURSOR_IDLE_S]:
            del self._open[key]

    def clear(self) -> None:
        """Close every cursor (the org was reset)."""
        with self._lock:
            self._open.clear()

    @property
    def open_count(self) -> int:
        """Cursors still open."""
        with self._lock:
            return len(self._open)
