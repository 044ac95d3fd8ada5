"""The HubSpot adapter: ``HubSpotAdapter`` implements ``connector.adapters.base.CRMAdapter``.

Everything goes through the official ``hubspot-api-client`` (see :mod:`.client` for how it is
pointed at a host and how every request is gated, counted, authenticated and retried). The data
path, top-down: :mod:`.contacts` / :mod:`.activity` pull and translate with :mod:`.mapping`;
:mod:`.writer` writes outputs back; :mod:`.setup`, :mod:`.lists`, :mod:`.tasks` and :mod:`.check`
serve ``connector setup``/``check`` and trigger actions.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.adapters.base import (
    ApiStats,
    FieldUpdate,
    MappingProblem,
    Page,
    PushResult,
    RequestGate,
    TaskRequest,
)
from connector.adapters.hubspot.activity import pull_activities
from connector.adapters.hubspot.check import check_mapping
from connector.adapters.hubspot.client import EnvNames, HubSpotClient, HubSpotSettings, settings_from_env
from connector.adapters.hubspot.contacts import pull_contacts
from connector.adapters.hubspot.lists import ListManager
from connector.adapters.hubspot.mapping import HubSpotMapping, load_mapping
from connector.adapters.hubspot.properties import PortalProperty, fetch_properties
from connector.adapters.hubspot.retry import RetryPolicy
from connector.adapters.hubspot.setup import OutputSpec, run_setup, specs_from_models, specs_from_names
from connector.adapters.hubspot.tasks import TaskWriter
from connector.adapters.hubspot.writer import BATCH_SIZE, push_updates
from connector.scoring.records import Activity, Contact

if t.TYPE_CHECKING:
    from connector.scoring.model import ScoringModel

__all__ = [
    "EnvNames",
    "HubSpotAdapter",
    "HubSpotMapping",
    "HubSpotSettings",
    "RetryPolicy",
    "load_mapping",
    "settings_from_env",
]


class HubSpotAdapter:
    """One HubSpot portal, as the sync engine sees it.

    Args:
        settings: where the portal is and its credentials (see :func:`settings_from_env`).
        mapping: the loaded ``mappings/hubspot.yaml``.
        gate: the sync engine's rate limiter (``NoGate`` by default).
        stats: counters to fill (a fresh ``ApiStats`` by default).
        policy: retry policy (tests shorten the backoff).
    """

    kind = "hubspot"
    max_batch_size = BATCH_SIZE

    def __init__(
        self,
        settings: HubSpotSettings,
        mapping: HubSpotMapping,
        *,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.mapping = mapping
        self.client = HubSpotClient(settings, gate=gate, stats=stats, policy=policy)
        self.stats = self.client.stats
        self.lists = ListManager(self.client)
        self._portal: dict[str, PortalProperty] | None = None
        self._tasks: TaskWriter | None = None

    @classmethod
    def from_env(cls, mapping_path: str, *, names: EnvNames | None = None, env_file: str | None = ".env", **kwargs: t.Any) -> HubSpotAdapter:
        """Build from environment/.env credentials and a mapping file (CLI convenience)."""
        return cls(settings_from_env(names, env_file=env_file), load_mapping(mapping_path), **kwargs)

    def portal_properties(self, *, refresh: bool = False) -> dict[str, PortalProperty]:
        """The portal's contact properties, read once per adapter (one call)."""
        if self._portal is None or refresh:
            self._portal = fetch_properties(self.client)
        return self._portal

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Contact]]:
        """Contacts modified in ``(since, until]``, oldest first (see :mod:`.search` for why none is missed)."""
        return pull_contacts(self.client, self.mapping, since, until)

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        """Web events, marketing email events and engagements that occurred in ``(since, until]``."""
        return pull_activities(self.client, self.mapping, since, until)

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        """Batch-update output values (100 per call); ``push([])`` makes no call."""
        return push_updates(self.client, self.mapping, updates, self.portal_properties)

    def set_property(self, contact_id: str, name: str, value: t.Any) -> PushResult:
        """``set_property`` trigger action: one value on one contact (``name`` is mapped like an output)."""
        return self.push([FieldUpdate(contact_id, {name: value})])

    def setup(self, output_names: t.Sequence[str], enumerations: t.Mapping[str, t.Sequence[str]]) -> list[str]:
        """Create missing group/properties/lists idempotently; return what was created or changed."""
        return self._setup(specs_from_names(output_names, enumerations))

    def setup_models(self, models: t.Sequence[ScoringModel]) -> list[str]:
        """Like :meth:`setup`, with exact types and options taken from the scoring models."""
        return self._setup(specs_from_models(models))

    def _setup(self, specs: list[OutputSpec]) -> list[str]:
        changed = run_setup(self.client, self.mapping, specs, self.lists)
        self._portal = None
        return changed

    def check(self, output_names: t.Sequence[str] = ()) -> list[MappingProblem]:
        """Compare the mapping (and the models' output names) with the portal."""
        return check_mapping(self.client, self.mapping, output_names=output_names)

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Add contacts to a MANUAL list, creating it if needed (idempotent)."""
        self.lists.change(list_name, contact_ids, add=True)

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Remove contacts from a MANUAL list (idempotent; a missing list is left alone)."""
        self.lists.change(list_name, contact_ids, add=False)

    @property
    def tasks(self) -> TaskWriter:
        """The task writer, built on first use (most runs create no task)."""
        if self._tasks is None:
            self._tasks = TaskWriter(self.client, self.mapping)
        return self._tasks

    def create_task(self, task: TaskRequest) -> str:
        """Create a task for the contact's owner (or the mapping's default owner), at most once per ``task.key``."""
        return self.tasks.create(task)

    def find_task(self, task: TaskRequest) -> str | None:
        """The id of the task already created for ``task.key`` (see :mod:`.tasks`), or None."""
        return self.tasks.find(task, recent=True) if task.key else None

    def close(self) -> None:
        """Release connections."""
        if self._tasks is not None:
            self._tasks.close()
        self.client.close()

    def __repr__(self) -> str:
        return f"HubSpotAdapter(base_url={self.client.base_url!r})"
