"""The org's event bus for Change Data Capture: every saved Lead and Contact becomes a change event.

What Salesforce documents and the bus does (Pub/Sub API guide, "Event Message Durability"): events
are kept for 72 hours (on the org clock here, so a test moves it with ``clock.advance``); each has
an opaque, increasing replay id (8 bytes, big-endian sequence number; not contiguous across topics,
since all entities share one sequence); a subscriber may start at the tip (``LATEST``), at the
oldest retained event (``EARLIEST``) or after a replay id it stored (``CUSTOM``). A custom replay id
whose successors were already purged, or one this bus never issued, is refused as Salesforce refuses
it: gRPC ``INVALID_ARGUMENT`` with the trailer ``error-code:
sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted`` ("Handle Errors", "Retry
Long-Lived RPC Calls": "One possible cause is that it's an old Replay ID outside the 72-hour
retention period").

Changes made in one API request share a ``transactionKey`` and number their events with
``sequenceNumber`` (Salesforce's per-transaction order); each record gets its own event (the
sandbox never merges same-change records into one event's ``recordIds``, which Salesforce may).
Reseeding or resetting the org empties the bus, as a new org would have none of the old events.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import typing as t
import uuid

from connector.sandbox.salesforce.cdc_schema import SchemaRegistry

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.org import Org, Record
    from connector.sandbox.salesforce.schema import ObjectDef

__all__ = ["CDC_ENTITIES", "RETENTION_MS", "BusEvent", "ChangeBus", "ReplayRefused"]

RETENTION_MS = 72 * 3600 * 1000
CDC_ENTITIES = ("Lead", "Contact")


@dataclasses.dataclass(frozen=True)
class BusEvent:
    """One stored change event."""

    seq: int
    entity: str
    commit_ms: int
    schema_id: str
    payload: bytes
    event_id: str

    @property
    def replay_id(self) -> bytes:
        """The opaque replay id a subscriber sees."""
        return self.seq.to_bytes(8, "big")


class ReplayRefused(ValueError):
    """A ``CUSTOM`` replay id that is malformed, unknown, or older than the retention window."""


class ChangeBus:
    """Stored change events of the org's CDC-enabled entities, and the condition subscribers wait on."""

    def __init__(self, org: Org, retention_ms: int = RETENTION_MS, entities: t.Sequence[str] = CDC_ENTITIES) -> None:
        self.org = org
        self.retention_ms = retention_ms
        self.entities = frozenset(entities)
        self.schemas = SchemaRegistry()
        self.paused = False
        self._events: list[BusEvent] = []  # consecutive sequence numbers: events[i].seq == events[0].seq + i
        self._seq = 0
        self._purged_through = 0
        self._cond = threading.Condition()
        self._txn = threading.local()
        org.change_hooks.append(self.record)

    # ---- publishing (called by the writer under the org lock) -------------------------------------------
    @contextlib.contextmanager
    def transaction(self, origin: str = "") -> t.Iterator[None]:
        """Changes made inside share a transaction key and count up ``sequenceNumber`` (one API request)."""
        self._txn.key, self._txn.sequence, self._txn.origin = uuid.uuid4().hex, 0, origin
        try:
            yield
        finally:
            self._txn.key = None

    def record(self, obj: ObjectDef, record: Record, change_type: str, changed: t.Sequence[str], user_id: str | None) -> None:
        """Publish the change event of one saved record (ignored for entities without CDC, and while paused)."""
        if self.paused or obj.name not in self.entities:
            return
        schema = self.schemas.for_object(obj)
        if change_type in ("CREATE", "UNDELETE"):
            shown = [f.name for f in schema.fields if record.get(f.name) is not None]
            changed_fields: list[str] = []
        elif change_type == "UPDATE":
            changed_fields = sorted({*changed, "LastModifiedDate"} & set(schema.position), key=schema.position.__getitem__)
            shown = changed_fields
        else:
            shown, changed_fields = [], []
        self._publish(obj, [record["Id"]], change_type, record, shown, changed_fields, user_id)

    def gap(self, obj: ObjectDef, record_ids: t.Sequence[str], change_type: str = "GAP_UPDATE") -> None:
        """Publish a gap event: Salesforce could not build the full event ("Gap Events" in the CDC guide); header only, every field null."""
        if change_type not in ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW"):
            raise ValueError(f"not a gap change type: {change_type}")
        if obj.name not in self.entities:
            raise ValueError(f"{obj.name} is not selected for Change Data Capture ({', '.join(sorted(self.entities))})")
        self._publish(obj, list(record_ids), change_type, {}, [], [], None)

    def _publish(self, obj: ObjectDef, record_ids: list[str], change_type: str, record: Record, shown: t.Sequence[str], changed_fields: t.Sequence[str],
                 user_id: str | None) -> None:
        schema = self.schemas.for_object(obj)
        key = getattr(self._txn, "key", None)
        if key is None:
            key, sequence, origin = uuid.uuid4().hex, 1, ""
        else:
            self._txn.sequence += 1
            sequence, origin = self._txn.sequence, self._txn.origin
        with self._cond:
            self._seq += 1
            commit_ms = self.org.clock.now_ms()
            header = {
                "entityName": obj.name, "recordIds": record_ids, "changeType": change_type, "changeOrigin": origin, "transactionKey": key,
                "sequenceNumber": sequence, "commitTimestamp": commit_ms, "commitNumber": 10_000_000_000 + self._seq,
                "commitUser": user_id or self.org.integration_user_id, "diffFields": [], "changedFields": schema.changed_bitmap(changed_fields),
            }
            nulled = [n for n in changed_fields if record.get(n) is None]
            payload = schema.encode(header, record, shown, nulled)
            self._events.append(BusEvent(self._seq, obj.name, commit_ms, schema.schema_id, payload, str(uuid.uuid4())))
            self._purge()
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget every event (a reseeded org); replay ids issued before are refused from now on."""
        with self._cond:
            self._purged_through = self._seq
            self._events.clear()
            self._cond.notify_all()

    # ---- subscribing ------------------------------------------------------------------------------------
    def _purge(self) -> None:
        oldest = self.org.clock.now_ms() - self.retention_ms
        expired = 0
        while expired < len(self._events) and self._events[expired].commit_ms < oldest:
            expired += 1
        if expired:
            self._purged_through = self._events[expired - 1].seq
            del self._events[:expired]

    def latest_seq(self) -> int:
        """The sequence number of the newest event (0: none yet)."""
        with self._cond:
            return self._seq

    def start_after(self, preset: str, replay_id: bytes = b"") -> int:
        """The sequence number after which a new subscription delivers.

        Raises:
            ReplayRefused: a CUSTOM replay id that is malformed, never issued, or whose successors were purged.
        """
        with self._cond:
            self._purge()
            if preset == "LATEST":
                return self._seq
            if preset == "EARLIEST":
                return self._purged_through
            if len(replay_id) != 8:
                raise ReplayRefused("Replay ID validation failed: malformed replay id")
            seq = int.from_bytes(replay_id, "big")
            if seq > self._seq or seq < self._purged_through:
                raise ReplayRefused("Replay ID validation failed: the replay id is not valid or is outside the retention window")
            return seq

    def wait_after(self, seq: int, entities: frozenset[str], limit: int, timeout: float) -> tuple[list[BusEvent], int]:
        """Up to ``limit`` retained events of ``entities`` after ``seq`` (waiting up to ``timeout`` s for one) and the newest sequence number."""
        with self._cond:
            found = self._after(seq, entities, limit)
            if not found and timeout > 0:
                self._cond.wait(timeout)
                found = self._after(seq, entities, limit)
            return found, self._seq

    def _after(self, seq: int, entities: frozenset[str], limit: int) -> list[BusEvent]:
        if not self._events or self._events[-1].seq <= seq:
            return []
        found = []
        for index in range(max(0, seq + 1 - self._events[0].seq), len(self._events)):
            event = self._events[index]
            if event.entity in entities:
                found.append(event)
                if len(found) >= limit:
                    break
        return found

    def wake(self) -> None:
        """Wake every waiting subscriber (shutdown)."""
        with self._cond:
            self._cond.notify_all()
