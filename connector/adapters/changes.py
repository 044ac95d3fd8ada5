"""What a CRM's change feed tells the sync, in CRM-neutral words: which records changed, and where the feed stands.

A feed (Salesforce Change Data Capture through the Pub/Sub API today) is a :class:`ChangeSource`:
an iterator of :class:`ChangeNotice` (records changed), :class:`FeedPosition` (everything up to
this position was delivered; a keepalive) and :class:`ChangeGap` (changes may have been missed:
pull incrementally). Positions are the feed's opaque bytes (Salesforce replay ids), stored by the
sync only after the run that handled them committed. Vendor-neutral: the sync imports this module,
never an adapter's feed implementation.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

if t.TYPE_CHECKING:
    from connector.adapters.base import AdapterSettings  # base imports this module: for types only

__all__ = ["ChangeFeed", "ChangeGap", "ChangeItem", "ChangeNotice", "ChangeSource", "FeedPosition", "OpenChangeFeed"]


@dataclasses.dataclass(frozen=True)
class ChangeNotice:
    """Records of one entity changed (created, updated, deleted, undeleted; ``GAP_*``: changed, details unknown)."""

    entity: str
    record_ids: tuple[str, ...]
    change_type: str
    commit_ms: int
    position: bytes
    changed_fields: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class FeedPosition:
    """Every change up to ``position`` has been delivered (a keepalive, or the end of a batch)."""

    position: bytes


@dataclasses.dataclass(frozen=True)
class ChangeGap:
    """Changes may have been missed (stored position refused or too old, an undecodable event): do an incremental pull.

    ``position`` is where the feed resumed (``None``: from its tip, the old position is lost).
    """

    reason: str
    position: bytes | None = None


ChangeItem = ChangeNotice | FeedPosition | ChangeGap


class ChangeSource(t.Protocol):
    """A CRM's change feed, resumable from a stored position."""

    def changes(self, start: bytes | None, stop: threading.Event) -> t.Iterator[ChangeItem]:
        """Items from just after ``start`` (``None``: from now on) until ``stop`` is set; reconnects by itself."""
        ...


@dataclasses.dataclass(frozen=True)
class ChangeFeed:
    """An opened change feed: its source, how to recognise the echo of the connector's own writes, how to close it."""

    source: ChangeSource
    #: True for a notice that only the connector's own write-back caused (it moves the position, no run).
    is_echo: t.Callable[[ChangeNotice], bool]
    close: t.Callable[[], None]


#: What an adapter declares to offer a change feed (``AdapterSpec.change_feed``): given the CRM's
#: settings (:class:`~connector.adapters.base.AdapterSettings`), the topic and the canonical names
#: of the outputs the connector writes, an opened (logged-in) :class:`ChangeFeed`; raises ``CRMError``.
OpenChangeFeed = t.Callable[["AdapterSettings", str, t.Sequence[str]], ChangeFeed]

